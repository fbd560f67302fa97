"""The sweep: chapters 03-05 once per real fraction and training seed, each run into its
own folder, in parallel on a Dask cluster; then chapter 06 tabulates the runs.

    python -m grainlib sweep --profile demo --seeds 0 1 2

A run is one (fraction, seed). Its folder, ``runs/<profile>/sweep/<fraction>-<seed>/``,
holds the executed chapters (``03_transfer.ipynb``, ...), ``run.log`` (what the kernels
printed, each step and its time, any traceback), ``figures/`` (what its chapters draw),
``scores.csv`` (the per-patch table of :func:`grainlib.score.evaluate.score` for every training
set of :data:`grainlib.learn.segment.TRAINING_SETS` and the baselines) and, written last and
atomically, ``done.json`` with the fingerprint of the run's parameters.

Resuming. A run whose ``done.json`` matches its parameters (the profile's values, fraction,
seed, and the text of its chapters) and whose files are all there is skipped; any other is
executed again. Executing again is cheap for what was finished before: generators,
synthetic images, U-Nets and scores are stored by fingerprint and reused, and a training
killed half-way resumes from its checkpoint (:mod:`grainlib.learn.training`).

Order, and why no two workers ever write the same file. Runs share four kinds of
artifact: the datasets of chapter 02, and, per seed, the two U-Nets whose real fraction is
100 whatever the run's (Simulated_100% and Mixed(Real_100% + Simulated_100%),
:func:`grainlib.learn.segment.effective_fraction`) and chapter 05's U-Net of Supplementary
Table 1 (:func:`grainlib.score.evaluate.simulated_only`). These are made first, as tasks of
their own: one for the datasets, then one per shared U-Net and seed (so they train side
by side), and each run waits for its seed's. Everything else a run makes (its generator,
synthetic images, four other U-Nets, its scores) is its own. Making the shared artifacts
first costs nothing (every run needs them) and keeps each run free of locks.

Determinism. Every training draws its randomness from its seed and step alone, and every
run computes with ``sweep.threads`` torch threads whatever the number of workers (the
thread count changes a training's last bits); the tables therefore do not depend on the
cluster, on the order runs finish in, or on interruptions.

Parallelism. By default a ``LocalCluster`` of ``sweep.workers`` processes (the machine's
cores divided by ``sweep.threads``), one task at a time each. ``scheduler`` names an
existing Dask cluster instead, whose workers must import this project and see the run
folder at the same path (a shared file system); start them with one thread each
(``dask worker tcp://host:8786 --nthreads 1``). Kernels started by a worker get the thread
count through ``OMP_NUM_THREADS`` (torch reads it) and the run folder through
``GRAINLIB_RUNS``; each run's figures go to its own folder through ``GRAINLIB_FIGURES``.
Neither the local workers nor the kernels get Dask's ``MALLOC_TRIM_THRESHOLD_``, which
slows torch's training 1.8 times (:data:`NO_TRIM`); on a cluster of your own, start the
workers with ``--no-nanny`` (or that variable unset) for the shared U-Nets to train at
full speed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, NamedTuple

import pandas as pd

from grainlib.core import config
from grainlib.core.store import fingerprint
from grainlib.data import datasets
from grainlib.learn import segment
from grainlib.run.chapters import RunFailed, execute, select_chapters, shown
from grainlib.score import evaluate

VERSION = 3  # bump when what a run holds, or how it is made, changes (3: realism.csv)
MARKER = "done.json"
SCORES = "scores.csv"
SCORE_KEY = ["method", "training_set", "fraction", "seed", "patch"]  # one row per key
LOG = "run.log"
TOPIC = "grainlib-sweep"  # Dask event topic of the runs' progress


class Run(NamedTuple):
    """One run of the sweep: a real fraction (%) and a training seed."""

    fraction: int
    seed: int

    @property
    def name(self) -> str:
        return f"{self.fraction}-{self.seed}"


# --------------------------------------------------------------------------- plan


def sweep_dir(cfg) -> Path:
    """``runs/<profile>/sweep``: the runs' folders and the sweep's executed chapter 06."""
    return Path(cfg["run_dir"]) / "sweep"


def run_dir(cfg, run: Run) -> Path:
    """The folder of one run, ``runs/<profile>/sweep/<fraction>-<seed>``."""
    return sweep_dir(cfg) / run.name


def plan(cfg, fractions=None, seeds=None) -> list[Run]:
    """The runs of a sweep, fraction by fraction, each with every seed.

    Parameters
    ----------
    cfg : a loaded profile.
    fractions : real fractions in %, each one of ``data.fractions`` (None: the profile's
        ``sweep.fractions``, whose null means every one of ``data.fractions``; ``"all"``:
        every one of ``data.fractions``).
    seeds : training seeds (None: the profile's ``sweep.seeds``).
    """
    known = sorted(set(cfg["data"]["fractions"]))
    fractions = known if fractions == "all" else fractions or cfg["sweep"]["fractions"] or known
    seeds = cfg["sweep"]["seeds"] if seeds is None else seeds
    unknown = sorted(set(map(int, fractions)) - set(known))
    if unknown:
        raise ValueError(f"fractions {unknown} are not among the profile's data.fractions "
                         f"{known}")
    if not seeds:
        raise ValueError("a sweep needs at least one seed")
    return [Run(int(f), int(s)) for f in sorted(set(map(int, fractions)))
            for s in sorted(set(map(int, seeds)))]


def default_chapters() -> list[Path]:
    """The chapters each run executes: those numbered 03 to 05."""
    return [py for py in select_chapters() if "03" <= py.name[:2] <= "05"]


def shared_training_sets() -> list[str]:
    """The training sets whose U-Net is the same for every fraction (real fraction 100)."""
    return [name for name in segment.TRAINING_SETS if segment.effective_fraction(name, 1) == 100]


def parameters_key(cfg, run: Run) -> str:
    """Fingerprint of the parameters a run's scores depend on: the profile's values (not
    where figures go, nor how the sweep is spread), the fraction and the seed."""
    values = {k: v for k, v in cfg.items()
              if k not in ("description", "figures_dir", "run_dir", "cache_dir", "sweep")}
    return fingerprint({"version": VERSION, "profile": values, "fraction": run.fraction,
                        "seed": run.seed})


def run_key(cfg, run: Run, chapters) -> str:
    """Fingerprint of everything a run's outputs depend on: :func:`parameters_key` and
    the text of the chapters it executes."""
    return fingerprint({"parameters": parameters_key(cfg, run),
                        "chapters": {py.stem: fingerprint(Path(py).read_text())
                                     for py in chapters}})


def _marker(cfg, run: Run) -> dict | None:
    """A run's ``done.json``, when there and every file it lists is too."""
    folder = run_dir(cfg, run)
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    files = marker.get("files", [])
    return marker if all((folder / name).is_file() for name in files) else None


def is_complete(cfg, run: Run, chapters) -> bool:
    """Whether a run finished with these parameters and chapters, its files all there."""
    marker = _marker(cfg, run)
    return marker is not None and marker.get("key") == run_key(cfg, run, chapters)


def is_finished(cfg, run: Run) -> bool:
    """Whether a run's scores are there for the profile's present parameters (whatever
    chapters it executed)."""
    marker = _marker(cfg, run)
    return marker is not None and marker.get("parameters") == parameters_key(cfg, run)


def profile_reference(profile) -> str:
    """How notebooks and workers name the profile: its name when it lives in ``params/``,
    else its absolute path (kernels run in ``notebooks/``, not the caller's folder)."""
    path = config.profile_path(profile).resolve()
    return path.stem if path.parent == config.PARAMS_DIR.resolve() else str(path)


# --------------------------------------------------------------------------- results


def scores(cfg, fractions=None, seeds=None) -> pd.DataFrame:
    """The per-patch scores of every run of a sweep, each row once.

    Parameters
    ----------
    cfg : a loaded profile.
    fractions, seeds : which runs (:func:`plan`; None: the profile's
        ``sweep`` section).

    Returns
    -------
    DataFrame with the columns of :data:`grainlib.score.evaluate.COLUMNS`. The rows every run of
    a seed shares (the fraction-100 U-Nets, the baselines at a fraction) appear once.

    Raises
    ------
    FileNotFoundError naming the runs that are missing or were made with other parameters,
    and the command that makes them.
    """
    runs = plan(cfg, fractions, seeds)
    missing = [r for r in runs if not is_finished(cfg, r)]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of {len(runs)} runs of profile {cfg['profile']} are not complete "
            f"with its present parameters ({', '.join(r.name for r in missing)}); make them "
            f"with: python -m grainlib sweep --profile {cfg['profile']} --fractions "
            f"{' '.join(str(f) for f in sorted({r.fraction for r in runs}))} --seeds "
            f"{' '.join(str(s) for s in sorted({r.seed for r in runs}))}")
    frames = [evaluate.read_scores(run_dir(cfg, r) / SCORES)
              for r in runs]
    return pd.concat(frames, ignore_index=True).drop_duplicates(SCORE_KEY, ignore_index=True)


def timings(cfg, fractions=None, seeds=None) -> pd.DataFrame:
    """The chapter-03 timings of every run of a sweep (each run's ``figures/table1.csv``),
    one row per (run, procedure); empty when no run has them. Table 1 averages them
    (:func:`grainlib.score.tables.table1`)."""
    frames = [pd.read_csv(path) for r in plan(cfg, fractions, seeds)
              if (path := run_dir(cfg, r) / "figures" / "table1.csv").is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["procedure", "ours_s", "paper_s", "ours_image_px"])


def realism(cfg, fractions=None, seeds=None) -> pd.DataFrame:
    """The chapter-03 realism table of every run of a sweep (each run's
    ``figures/realism.csv``: the real test images, the flat simulated, the synthetic ones
    and the real-real floor), one row per (run, set) with its ``fraction`` and ``seed``;
    empty when no run has one. :func:`grainlib.score.tables.premise` judges it."""
    frames = [pd.read_csv(path).assign(fraction=r.fraction, seed=r.seed)
              for r in plan(cfg, fractions, seeds)
              if (path := run_dir(cfg, r) / "figures" / "realism.csv").is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["set", "fraction", "seed"])


# --------------------------------------------------------------------------- one run


def thread_env(threads: int) -> dict:
    """Environment that limits torch, OpenMP, BLAS and numba to ``threads`` threads."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                            "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}


# Dask starts its workers with glibc's MALLOC_TRIM_THRESHOLD_=65536 (to hand freed memory
# back to the system), and every kernel a worker starts would inherit it. Setting it turns
# off glibc's adaptive mmap threshold, so each of torch's large per-step buffers is mapped
# and unmapped again: training runs 1.8 times slower (0.21 s against 0.11 s a step of the
# demo U-Net, measured here). The sweep's workers and kernels go without it.
NO_TRIM = "MALLOC_TRIM_THRESHOLD_"


def use_threads(threads: int):
    """Limit this process's torch to ``threads`` threads (numba too when loaded)."""
    import torch

    torch.set_num_threads(threads)
    try:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass


def _code_cells(py: Path) -> int:
    """Code cells papermill executes in a chapter: its own and the injected parameters."""
    import jupytext

    return 1 + sum(cell.cell_type == "code" and bool(cell.source.strip())
                   for cell in jupytext.read(py).cells)


def _write_atomic(path: Path, text: str):
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def execute_run(cfg, profile: str, run: Run, chapters, threads: int = 1,
                notify: Callable[[dict], None] | None = None) -> dict:
    """Execute a run's chapters, score its U-Nets, and mark it done.

    Parameters
    ----------
    cfg : the loaded profile.
    profile : the profile as the chapters are given it (:func:`profile_reference`).
    run : the fraction and seed.
    chapters : chapter notebooks (``.py``), executed in order with the parameters
        ``profile``, ``fraction`` and ``seed``.
    threads : torch threads, here and in the kernels.
    notify : called with ``{"run", "step", "done", "total"}`` after each cell and step.

    Returns
    -------
    dict: ``run`` (name), ``status`` ("done" or "failed"), ``seconds``, ``message`` (for a
    failure: the chapter, the cell and the executed notebook, or the step, the error and
    the log), ``folder``. Does not raise for a failing chapter or step.
    """
    folder = run_dir(cfg, run)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).unlink(missing_ok=True)
    use_threads(threads)
    env = {**thread_env(threads), "GRAINLIB_RUNS": str(Path(cfg["run_dir"]).parent),
           "GRAINLIB_FIGURES": str(folder / "figures"), NO_TRIM: None}
    parameters = {"profile": profile, "fraction": run.fraction, "seed": run.seed}
    progress = {"run": run.name, "step": "", "done": 0,
                "total": sum(_code_cells(py) for py in chapters) + 1}

    def tick(step: str):
        progress["step"] = step
        progress["done"] += 1
        if notify is not None:
            notify(dict(progress))

    started = time.perf_counter()
    seconds = {}
    outcome = {"run": run.name, "status": "failed", "folder": str(folder)}
    with open(folder / LOG, "a") as log:
        log.write(f"== run {run.name} of profile {cfg['profile']}, "
                  f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {threads} thread(s)\n")
        step = ""
        try:
            for py in chapters:
                step = py.stem
                log.write(f"-- {step}\n")
                log.flush()
                seconds[step] = execute(py, folder / f"{step}.ipynb", parameters, env=env,
                                        log=log, on_cell=lambda step=step: tick(step))
                log.write(f"-- {step} {seconds[step]:.1f} s\n")
            step = "scoring"
            log.write("-- scores\n")
            log.flush()
            start = time.perf_counter()
            table = evaluate.score(cfg, run.fraction, run.seed,
                                   training_sets=list(segment.TRAINING_SETS), progress=False)
            _write_atomic(folder / SCORES, table.to_csv(index=False))
            seconds["scores"] = time.perf_counter() - start
            tick("scores")
        except RunFailed as err:
            log.write(f"-- failed: {err}\n")
            return {**outcome, "message": str(err), "seconds": time.perf_counter() - started}
        except Exception as err:  # reported with the run; the other runs go on
            log.write(traceback.format_exc())
            message = " ".join(str(err).split())
            return {**outcome, "seconds": time.perf_counter() - started,
                    "message": f"{step} failed: {type(err).__name__}: {message} "
                               f"(log: {shown(folder / LOG)})"}
        total = time.perf_counter() - started
        log.write(f"== done in {total:.1f} s\n")
    files = [f"{py.stem}.ipynb" for py in chapters] + [SCORES]
    _write_atomic(folder / MARKER, json.dumps({
        "key": run_key(cfg, run, chapters), "parameters": parameters_key(cfg, run),
        "fraction": run.fraction, "seed": run.seed,
        "files": files, "seconds": seconds, "threads": threads,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1))
    return {**outcome, "status": "done", "seconds": total, "message": ""}


# --------------------------------------------------------------------------- shared steps


def prepare_datasets(cfg, threads: int | None = None) -> None:
    """The chapter-02 datasets every run reads (built when missing), with ``threads``
    threads (None: every core; the other tasks wait for this one, and the Potts volume
    does not depend on the thread count)."""
    use_threads(threads or cores())
    datasets.build(cfg, progress=False)


def prepare_model(cfg, training_set: str, seed: int, threads: int = 1, *after) -> None:
    """A U-Net every run of ``seed`` shares (trained when missing). ``after``: Dask
    futures to wait for (the datasets)."""
    use_threads(threads)
    segment.build(cfg, training_set, 100, seed, progress=False)


def prepare_simulated_only(cfg, seed: int, threads: int = 1, *after) -> None:
    """Supplementary Table 1's U-Net (chapter 05), the same for every run of ``seed``
    (trained when missing). ``after``: Dask futures to wait for (the datasets)."""
    use_threads(threads)
    evaluate.simulated_only(cfg, seed, progress=False)


# --------------------------------------------------------------------------- the sweep


def _in_worker(cfg, profile, run, chapters, threads, *after) -> dict:
    """:func:`execute_run` in a Dask worker, its progress sent to the client as events."""
    from distributed import get_worker

    worker = get_worker()
    return execute_run(cfg, profile, run, chapters, threads,
                       notify=lambda event: worker.log_event(TOPIC, event))


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@contextmanager
def cluster(scheduler: str | None, workers: int, threads: int):
    """A Dask client: of the cluster at ``scheduler``, or of a new local cluster of
    ``workers`` single-task processes. Yields ``(client, description)``."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            n = len(client.scheduler_info().get("workers", {}))
            yield client, f"the cluster at {scheduler} ({n} workers)"
        return
    # memory_limit=0: no worker is paused or restarted for its memory, the kernels doing
    # the work are outside Dask's view anyway. dashboard_address ":0": any free port (None
    # means Dask's 8787, and a second sweep on the machine warns that it is taken). A
    # nanny started before in this process left the trim threshold in its environment,
    # which the new workers would inherit.
    os.environ.pop(NO_TRIM, None)
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{NO_TRIM}": None}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         memory_limit=0, dashboard_address=":0",
                         silence_logs=logging.ERROR) as local, \
            Client(local) as client:
        yield client, (f"a local cluster of {workers} worker{'s' * (workers > 1)} x "
                       f"{threads} thread{'s' * (threads > 1)}")


class Bars:
    """One progress bar over all runs, and one per run while it runs (tqdm, stderr).

    Disabled (``enabled=False``), only the lines given to :meth:`finished` are printed.
    """

    def __init__(self, total: int, done: int, enabled: bool, say=print):
        from tqdm.auto import tqdm

        self.tqdm, self.enabled, self.say = tqdm, enabled, say
        self.overall = tqdm(total=total, initial=done, desc="sweep", unit="run",
                            disable=not enabled, dynamic_ncols=True)
        self.runs, self.ended = {}, set()
        self.lock = threading.Lock()  # events arrive on the Dask client's thread

    def event(self, event: dict):
        """A run's progress: ``{"run", "step", "done", "total"}``."""
        with self.lock:
            if not self.enabled or event["run"] in self.ended:
                return
            bar = self.runs.get(event["run"])
            if bar is None:
                bar = self.runs[event["run"]] = self.tqdm(
                    total=event["total"], desc=f"  {event['run']}", leave=False,
                    dynamic_ncols=True,
                    bar_format="{desc} {bar:24} {n_fmt}/{total_fmt} cells{postfix}")
            bar.set_postfix_str(event["step"], refresh=False)
            bar.update(event["done"] - bar.n)

    def finished(self, name: str, line: str):
        """A run ended: close its bar, advance the overall one, print ``line``."""
        with self.lock:
            self.ended.add(name)
            bar = self.runs.pop(name, None)
            if bar is not None:
                bar.close()
            self.overall.update()
            if self.enabled:
                self.overall.write(line)
            else:
                self.say(line)

    def close(self):
        with self.lock:
            for bar in self.runs.values():
                bar.close()
            self.overall.close()


def outcome_line(outcome: dict) -> str:
    if outcome["status"] == "done":
        return (f"{outcome['run']:<10} done    {outcome['seconds']:7.1f} s  -> "
                f"{shown(outcome['folder'])}")
    return f"{outcome['run']:<10} failed: {outcome['message']}"


def run(profile, fractions=None, seeds=None, chapters=None, workers: int | None = None,
        scheduler: str | None = None, progress: bool = False, say=print) -> list[dict]:
    """Execute every run of a sweep that is not complete yet.

    Parameters
    ----------
    profile : a profile name or YAML path.
    fractions, seeds : see :func:`plan`.
    chapters : chapter notebooks (``.py``) each run executes (None:
        :func:`default_chapters`).
    workers : processes of the local cluster (None: the profile's ``sweep.workers``, else
        the machine's cores divided by ``sweep.threads``); ignored with ``scheduler``.
    scheduler : address of an existing Dask scheduler (``tcp://host:8786``).
    progress : show the progress bars.
    say : prints one line (the plan, then one per finished run).

    Returns
    -------
    list of dicts, one per run in :func:`plan`'s order: ``run``, ``status`` ("done",
    "skipped" when complete before, "failed"), ``seconds``, ``message``, ``folder``.
    """
    cfg = config.load(profile)
    reference = profile_reference(profile)
    chapters = [Path(py) for py in (default_chapters() if chapters is None else chapters)]
    runs = plan(cfg, fractions, seeds)
    threads = cfg["sweep"]["threads"]
    outcomes = {r: {"run": r.name, "status": "skipped", "seconds": 0.0, "message": "",
                    "folder": str(run_dir(cfg, r))}
                for r in runs if is_complete(cfg, r, chapters)}
    todo = [r for r in runs if r not in outcomes]
    fractions_swept = sorted({r.fraction for r in runs})
    seeds_swept = sorted({r.seed for r in runs})
    workers = min(workers or cfg["sweep"]["workers"] or max(1, cores() // threads),
                  max(len(todo), 1))
    head = (f"sweep of profile {cfg['profile']}: {len(runs)} runs (fractions "
            f"{' '.join(map(str, fractions_swept))} x seeds {' '.join(map(str, seeds_swept))}), "
            f"{len(outcomes)} complete before")
    if not todo:
        say(head)
        return [outcomes[r] for r in runs]
    with cluster(scheduler, workers, threads) as (client, where):
        say(f"{head}, {len(todo)} to run on {where}; chapters "
            f"{' '.join(py.stem for py in chapters)} and scores")
        bars = Bars(len(runs), len(outcomes), progress, say)
        client.subscribe_topic(TOPIC, lambda event: bars.event(event[1]))
        try:
            outcomes.update(_submit_and_wait(client, cfg, reference, todo, chapters, threads,
                                             bars))
        finally:
            client.unsubscribe_topic(TOPIC)
            bars.close()
    return [outcomes[r] for r in runs]


def not_run(name: str, folder, err: BaseException) -> dict:
    """The outcome of a run whose task failed before it started (a step it needs)."""
    return {"run": name, "status": "failed", "seconds": 0.0, "folder": str(folder),
            "message": f"not run: a step it needs failed: {type(err).__name__}: "
                       f"{' '.join(str(err).split())}"}


def _submit_and_wait(client, cfg, reference, todo, chapters, threads, bars) -> dict:
    """Submit the shared steps and the runs (each after its seed's shared U-Nets, and
    Supplementary Table 1's when chapter 05 runs); wait for every run. A shared step that
    fails fails the runs that need it."""
    from distributed import as_completed

    tag = uuid.uuid4().hex[:8]
    data = client.submit(prepare_datasets, cfg, key=f"datasets-{tag}")
    shared = {seed: [client.submit(prepare_model, cfg, name, seed, threads, data,
                                   key=f"{name}-100-{seed}-{tag}")
                     for name in shared_training_sets()]
              for seed in sorted({r.seed for r in todo})}
    if any(Path(py).stem == "05_evaluate" for py in chapters):
        for seed, steps in shared.items():
            steps.append(client.submit(prepare_simulated_only, cfg, seed, threads, data,
                                       key=f"simulated-only-{seed}-{tag}"))
    futures = {client.submit(_in_worker, cfg, reference, r, chapters, threads, *shared[r.seed],
                             key=f"run-{r.name}-{tag}"): r
               for r in todo}
    outcomes = {}
    for future in as_completed(futures):
        r = futures[future]
        if future.status == "finished":
            outcome = future.result()
        else:
            outcome = not_run(r.name, run_dir(cfg, r), future.exception())
        outcomes[r] = outcome
        bars.finished(r.name, outcome_line(outcome))
    return outcomes


def execute_tables(profile, runs: list[Run], progress: bool = False) -> tuple[Path, float] | None:
    """Execute chapter 06 on the runs of a sweep, into ``runs/<profile>/sweep/``.

    Returns the executed notebook and its seconds, or None when there is no chapter 06.
    """
    found = [py for py in select_chapters() if py.name[:2] == "06"]
    if not found:
        return None
    output = sweep_dir(config.load(profile)) / f"{found[0].stem}.ipynb"
    seconds = execute(found[0], output, {
        "profile": profile_reference(profile),
        "fractions": sorted({r.fraction for r in runs}),
        "seeds": sorted({r.seed for r in runs})}, progress=progress)
    return output, seconds
