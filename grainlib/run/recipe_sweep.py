"""Chapter 07 in the sweep: the U-Nets of every training recipe
(:mod:`grainlib.learn.recipes`) for each real fraction and seed, trained and scored in
parallel on a Dask cluster, then chapter 07 once over all of them.

    python -m grainlib sweep --profile demo --chapters 07 --fractions 5 35 --seeds 0 1 2
    python -m grainlib sweep --profile demo --chapters 07 --budgets equal-steps epoch-rule
    python -m grainlib sweep --profile iron-sections --chapters 07 --fractions 25 --test-sets test unseen
    python -m grainlib sweep --profile demo --chapters 07 --training-sets real real+synthetic

A run is one (fraction, seed), planned as in :func:`grainlib.run.sweep.plan`. It trains
what is missing of the training sets' U-Nets (all nine, or those named) under each budget
and scores them on the real patches of each test set
(:func:`grainlib.score.augmentation.scores`, kept in
``runs/<profile>/scores/augmentation-<fraction>-seed<seed>[-unseen].csv``); under
``equal-steps`` the paper's four training sets are chapter 04's U-Nets, so a run the main
sweep finished trains only the five new ones. Then chapter 07 is executed with every
fraction, seed, budget and training set, once per test set, into
``runs/<profile>/sweep/07_augmentation[_unseen].ipynb``; it re-reads the stored scores and
writes ``augmentation_<n>seeds[_unseen].*`` into the profile's figures folder.

Resuming. Every generator, U-Net and score table is stored by fingerprint, so a run whose
models and scores are there only re-reads them (seconds), a training killed half-way
resumes from its checkpoint, and an interrupted sweep run again does only what is left.

Runs share nothing but the chapter-02 datasets, made first: a run's generator, synthetic
and rendered images and U-Nets are its fraction's and seed's own. Do not run the main
sweep on the same runs folder at the same time: both would train chapter 04's U-Nets.
"""

from __future__ import annotations

import time
import traceback
import uuid
from pathlib import Path

from grainlib.core import config
from grainlib.learn import recipes
from grainlib.run import sweep
from grainlib.run.chapters import execute, select_chapters, shown
from grainlib.score import augmentation


def chapter() -> Path:
    """Chapter 07's notebook (``notebooks/07_augmentation.py``)."""
    return select_chapters(["07"])[0]


def is_recipe_chapter(py: Path) -> bool:
    """Whether a notebook given to ``sweep --chapters`` is chapter 07."""
    return Path(py).resolve() == chapter().resolve()


def score_run(cfg, run: sweep.Run, training_sets, budgets, test_sets=("test",),
              threads: int = 1, *after) -> dict:
    """Train what is missing of one run's U-Nets, each training set under each budget,
    and score them on each test set (names of
    :data:`grainlib.score.augmentation.TEST_SETS`). ``after``: Dask futures to wait for
    (the datasets).

    Returns
    -------
    dict as :func:`grainlib.run.sweep.run` gives per run: ``run``, ``status`` ("done" or
    "failed"), ``seconds``, ``message`` (the error and where), ``folder`` (the scores'
    table). Does not raise.
    """
    sweep.use_threads(threads)
    path = augmentation.scores_path(cfg, run.fraction, run.seed)
    started = time.perf_counter()
    outcome = {"run": run.name, "folder": str(path), "message": ""}
    try:
        for test_set in test_sets:
            augmentation.scores(cfg, run.fraction, run.seed, training_sets, budgets,
                                test_set=test_set)
    except Exception as err:  # reported with the run; the other runs go on
        where = traceback.extract_tb(err.__traceback__)[-1]
        message = " ".join(str(err).split())
        return {**outcome, "status": "failed", "seconds": time.perf_counter() - started,
                "message": f"{type(err).__name__}: {message} ({Path(where.filename).name}, "
                           f"line {where.lineno})"}
    return {**outcome, "status": "done", "seconds": time.perf_counter() - started}


def run(profile, fractions=None, seeds=None, budgets=("equal-steps",),
        test_sets=("test",), training_sets=tuple(recipes.ARMS), workers: int | None = None,
        scheduler: str | None = None, progress: bool = False, say=print) -> list[dict]:
    """Train and score every run's recipes (:func:`score_run`), in parallel.

    Parameters
    ----------
    profile : a profile name or YAML path.
    fractions, seeds : see :func:`grainlib.run.sweep.plan`.
    budgets : names from :data:`grainlib.learn.recipes.BUDGETS`.
    test_sets : names from :data:`grainlib.score.augmentation.TEST_SETS`.
    training_sets : names from :data:`grainlib.learn.recipes.ARMS`.
    workers, scheduler, progress, say : as :func:`grainlib.run.sweep.run`.

    Returns
    -------
    list of dicts, one per run in plan order (see :func:`score_run`).
    """
    from distributed import as_completed

    cfg = config.load(profile)
    budgets = [recipes.check_budget(name) for name in budgets]
    training_sets = [recipes.check_arm(name) for name in training_sets]
    test_sets = [augmentation.check_test_set(name) for name in test_sets]
    runs = sweep.plan(cfg, fractions, seeds)
    threads = cfg["sweep"]["threads"]
    workers = min(workers or cfg["sweep"]["workers"] or max(1, sweep.cores() // threads),
                  len(runs))
    with sweep.cluster(scheduler, workers, threads) as (client, where):
        say(f"chapter 07 of profile {cfg['profile']}: {len(runs)} run{'s' * (len(runs) > 1)} "
            f"(fractions {' '.join(str(f) for f in sorted({r.fraction for r in runs}))} x seeds "
            f"{' '.join(str(s) for s in sorted({r.seed for r in runs}))}), "
            f"{len(training_sets)} training sets x {', '.join(budgets)}, on {where}; "
            f"what is stored is re-read")
        bars = sweep.Bars(len(runs), 0, progress, say)
        tag = uuid.uuid4().hex[:8]
        data = client.submit(sweep.prepare_datasets, cfg, key=f"datasets-{tag}")
        futures = {client.submit(score_run, cfg, r, training_sets, budgets, test_sets,
                                 threads, data, key=f"recipes-{r.name}-{tag}"): r for r in runs}
        outcomes = {}
        try:
            for future in as_completed(futures):
                r = futures[future]
                outcomes[r] = (future.result() if future.status == "finished" else
                               sweep.not_run(r.name, augmentation.scores_path(cfg, *r),
                                             future.exception()))
                bars.finished(r.name, sweep.outcome_line(outcomes[r]))
        finally:
            bars.close()
    return [outcomes[r] for r in runs]


def execute_chapter(profile, runs: list[sweep.Run], budgets, test_set: str = "test",
                    progress: bool = False, training_sets=tuple(recipes.ARMS)
                    ) -> tuple[Path, float]:
    """Execute chapter 07 over every fraction, seed, budget and training set of a sweep,
    scored on one test set, into
    ``runs/<profile>/sweep/07_augmentation[_<test set>].ipynb``. Returns the notebook and
    its seconds."""
    py = chapter()
    output = (sweep.sweep_dir(config.load(profile))
              / f"{py.stem}{augmentation.file_suffix(test_set)}.ipynb")
    seconds = execute(py, output, {
        "profile": sweep.profile_reference(profile),
        "fractions": sorted({r.fraction for r in runs}),
        "seeds": sorted({r.seed for r in runs}),
        "training_sets": list(training_sets), "budgets": list(budgets),
        "test_set": test_set}, progress=progress)
    return output, seconds


def summary_line(output: Path, seconds: float) -> str:
    """The line the command prints for the executed chapter."""
    return f"{output.stem:<10} {seconds:7.1f} s  -> {shown(output)}"
