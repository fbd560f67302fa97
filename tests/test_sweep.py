"""The sweep as a user runs it: ``python -m grainlib sweep`` in a subprocess, at the smoke
profile (2 fractions x 2 seeds, seconds per run), killed, failing, and resumed.

The uninterrupted reference sweep is made once per session (``conftest.smoke_sweep``).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from test_cli import assert_one_error, grainlib

from grainlib.core import config
from grainlib.core.config import PROJECT_ROOT
from grainlib.learn import recipes
from grainlib.run import sweep
from grainlib.score import tables

TABLES = ("table3_2seeds.csv", "table4_2seeds.csv", "verdicts_2seeds.csv")

FAILS_AT_100 = '''# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
profile = "smoke"
fraction = 5
seed = 0

# %%
if fraction == 100:
    raise RuntimeError("a deliberate failure")
'''


def test_plan_takes_the_profile_defaults_and_checks_fractions(runs_dir):
    cfg = config.load("smoke")
    assert sweep.plan(cfg) == [sweep.Run(5, 0), sweep.Run(5, 1), sweep.Run(100, 0),
                               sweep.Run(100, 1)]
    assert [r.name for r in sweep.plan(cfg, [35], [2])] == ["35-2"]
    demo = config.load("demo")  # make demo: four fractions; make tables: --fractions all
    assert [r.fraction for r in sweep.plan(demo)] == [5, 15, 35, 100]
    assert [r.fraction for r in sweep.plan(demo, "all")] == sorted(demo["data"]["fractions"])
    with pytest.raises(ValueError, match=r"fractions \[40\] are not among"):
        sweep.plan(cfg, [5, 40])
    assert sweep.shared_training_sets() == ["simulated", "real+simulated"]


def test_unknown_fraction_is_a_usage_error(tmp_path):
    result = grainlib("sweep", "--profile", "smoke", "--fractions", "40", runs=tmp_path)
    assert_one_error(result, 2, r"error: fractions \[40\] are not among the profile's "
                                r"data\.fractions \[5, 10, .*, 100\]")
    result = grainlib("sweep", "--profile", "smoke", "--fractions", "all", "5", runs=tmp_path)
    assert_one_error(result, 2, r"error: --fractions: either real fractions or 'all', not both")
    result = grainlib("sweep", "--profile", "smoke", "--fractions", "most", runs=tmp_path)
    assert result.returncode == 2 and "a real fraction in % or 'all', got 'most'" in result.stderr


@pytest.mark.slow
def test_smoke_sweep_stores_every_run_and_the_tables(swept):
    cfg = config.load("smoke")
    root = swept / "smoke"
    for r in sweep.plan(cfg):
        folder = root / "sweep" / r.name
        marker = json.loads((folder / sweep.MARKER).read_text())
        assert (marker["fraction"], marker["seed"]) == (r.fraction, r.seed)
        assert {"03_transfer.ipynb", "04_segment.ipynb", "scores.csv"} <= set(marker["files"])
        assert all((folder / name).is_file() for name in marker["files"])
        assert (folder / "figures" / "table1.csv").is_file()  # each run's own figures
        assert "== done in" in (folder / sweep.LOG).read_text()
    figures = root / "figures"
    for name in (*TABLES, "table3_2seeds.md", "table1_runs_2seeds.csv",
                 "fig_fractions_2seeds.png", "realism_2seeds.csv"):
        assert (figures / name).is_file(), name
    assert (root / "sweep" / "06_tables.ipynb").is_file()


@pytest.mark.slow
def test_chapter_06_judges_c3_and_c4_on_the_realism_of_each_run(swept, monkeypatch):
    """Every run keeps chapter 03's realism table; chapter 06's premise is computed from
    them, and the smoke generator's images (a few steps of training) are not realistic,
    so the claims on synthetic data are not tested."""
    monkeypatch.setenv(config.ENV_RUNS, str(swept))
    cfg = config.load("smoke")
    rows = sweep.realism(cfg)
    assert sorted(set(zip(rows["fraction"], rows["seed"]))) == [(5, 0), (5, 1), (100, 0),
                                                                 (100, 1)]
    assert set(rows["set"]) == {"real test", "simulated (flat)", "synthetic", "floor"}
    premise = tables.premise(rows)
    assert list(premise.index) == [5, 100] and (premise["n_seeds"] == 2).all()
    stored = pd.read_csv(swept / "smoke" / "figures" / "realism_2seeds.csv", index_col="fraction")
    pd.testing.assert_frame_equal(stored, premise, check_dtype=False)
    verdicts = pd.read_csv(swept / "smoke" / "figures" / "verdicts_2seeds.csv", index_col="id")
    assert not premise["realistic"].any()
    assert verdicts.loc["C3", "verdict"] == tables.NOT_TESTED
    assert verdicts.loc["C3", "evidence"].startswith("synthetic images not realistic")


@pytest.mark.slow
def test_a_killed_sweep_resumes_to_the_same_tables(tmp_path, swept, monkeypatch):
    """Seed 0 on one worker, killed (SIGKILL to its whole process group) once its first run
    is done, then run again on two: the finished run is not executed again, and the tables
    are those of the uninterrupted sweep, digit for digit."""
    runs = tmp_path / "runs"
    folder = runs / "smoke" / "sweep"
    command = ["sweep", "--profile", "smoke", "--seeds", "0"]
    process = subprocess.Popen([sys.executable, "-m", "grainlib", *command, "--workers", "1"],
                               cwd=PROJECT_ROOT, env={**os.environ, "GRAINLIB_RUNS": str(runs)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while not list(folder.glob(f"*/{sweep.MARKER}")):
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no run finished in time"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in folder.glob(f"*/{sweep.MARKER}")}
    assert len(finished) == 1
    result = grainlib(*command, "--workers", "2", runs=runs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 complete before, 1 to run" in result.stdout
    for name, mtime in finished.items():
        assert (folder / name / sweep.MARKER).stat().st_mtime_ns == mtime
        assert (folder / name / sweep.LOG).read_text().count("== run") == 1
        assert not re.search(rf"^{name} ", result.stdout, re.M)
    monkeypatch.setenv("GRAINLIB_RUNS", str(swept))  # the uninterrupted sweep, seed 0
    cfg = config.load("smoke")
    scores = sweep.scores(cfg, seeds=[0])
    t3, t4 = tables.table3(scores), tables.table4(scores)
    premise = tables.premise(sweep.realism(cfg, seeds=[0]))
    expected = {"table3_1seed.csv": t3.to_csv(index=False),
                "table4_1seed.csv": t4.to_csv(index=False),
                "realism_1seed.csv": premise.to_csv(),
                "verdicts_1seed.csv": tables.verdicts(t3, t4, premise).to_csv()}
    for name, text in expected.items():
        assert (runs / "smoke" / "figures" / name).read_text() == text, name


@pytest.mark.slow
def test_a_failing_run_is_reported_and_the_others_complete(tmp_path, swept):
    """On an existing Dask cluster (--scheduler), with a chapter of our own that fails at
    fraction 100, in a copy of the smoke sweep's folder (its models are reused)."""
    from distributed import LocalCluster

    chapter = tmp_path / "fails_at_100.py"
    chapter.write_text(FAILS_AT_100)
    runs = tmp_path / "runs"
    shutil.copytree(swept, runs)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        result = grainlib("sweep", "--profile", "smoke", "--seeds", "0", "--chapters", chapter,
                          "--scheduler", cluster.scheduler_address, runs=runs)
    assert f"on the cluster at {cluster.scheduler_address} (2 workers)" in result.stdout
    folder = runs / "smoke" / "sweep"
    executed = folder / "100-0" / "fails_at_100.ipynb"
    assert re.search(rf"^100-0 +failed: chapter fails_at_100 failed in cell \d+: RuntimeError: "
                     rf"a deliberate failure \(executed notebook: {re.escape(str(executed))}\)$",
                     result.stdout, re.M), result.stdout
    assert re.search(r"^5-0 +done ", result.stdout, re.M), result.stdout
    assert_one_error(result, 1, r"error: 1 of 2 runs failed \(100-0\); chapter 06 not run\. .*")
    assert (folder / "5-0" / sweep.MARKER).is_file()
    assert not (folder / "100-0" / sweep.MARKER).exists()
    scores = pd.read_csv(folder / "5-0" / sweep.SCORES, keep_default_na=False)
    assert set(scores.loc[scores["method"] == "U-Net", "training_set"]) == {
        "real", "simulated", "real+simulated", "real+synthetic", "synthetic", "real+flips"}


def test_local_workers_run_without_dask_s_malloc_trim_threshold(monkeypatch):
    """Dask's MALLOC_TRIM_THRESHOLD_ slows torch's training 1.8 times (sweep.NO_TRIM), even
    where a nanny started before (another LocalCluster) left it in this process."""
    monkeypatch.setenv(sweep.NO_TRIM, "65536")
    with sweep.cluster(None, workers=1, threads=1) as (client, _):
        seen = client.run(lambda: os.environ.get(sweep.NO_TRIM))
    assert list(seen.values()) == [None]


def test_kernels_get_the_added_variables_and_not_the_removed_ones(tmp_path, monkeypatch):
    from grainlib.run.chapters import execute

    chapter = tmp_path / "env.py"
    chapter.write_text(FAILS_AT_100.split("# %% tags")[0] + "# %%\nimport os\n"
                       "print(os.environ.get('GRAINLIB_PROBE'), "
                       "os.environ.get('MALLOC_TRIM_THRESHOLD_'))\n")
    monkeypatch.setenv(sweep.NO_TRIM, "65536")
    out = tmp_path / "env.ipynb"
    execute(chapter, out, env={"GRAINLIB_PROBE": 7, sweep.NO_TRIM: None})
    printed = json.loads(out.read_text())["cells"][-1]["outputs"][0]["text"]
    assert "".join(printed).strip() == "7 None"


def test_budgets_belong_to_chapter_07(tmp_path):
    result = grainlib("sweep", "--profile", "smoke", "--budgets", "epoch-rule", runs=tmp_path)
    assert_one_error(result, 2, r"error: --budgets is for chapter 07's training recipes: "
                                r"add --chapters 07")
    result = grainlib("sweep", "--profile", "smoke", "--chapters", "07", "--budgets", "most",
                      runs=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'most'" in result.stderr
    result = grainlib("sweep", "--profile", "smoke", "--test-sets", "unseen", runs=tmp_path)
    assert_one_error(result, 2, r"error: --test-sets is for chapter 07's training recipes: "
                                r"add --chapters 07")
    result = grainlib("sweep", "--profile", "smoke", "--training-sets", "real", runs=tmp_path)
    assert_one_error(result, 2, r"error: --training-sets is for chapter 07's training "
                                r"recipes: add --chapters 07")
    result = grainlib("sweep", "--profile", "smoke", "--chapters", "07", "--training-sets",
                      "real+flips", "synthetic", runs=tmp_path)
    assert_one_error(result, 2, r"error: --training-sets: add real, the set every gain is "
                                r"paired with")


@pytest.mark.slow
def test_chapter_07_in_the_sweep_trains_what_is_missing_and_resumes(tmp_path, swept):
    """``sweep --chapters 07`` in a copy of the smoke sweep's folder: every recipe's U-Net
    of the run is trained (chapter 04's four are the sweep's own, reused) and scored, then
    chapter 07 tabulates. A U-Net lost, as when a sweep is killed before training it, is
    the only one trained again, and a run for two training sets tabulates those two, digit
    for digit as before. The runs are scored on the test images and on the training images
    Real_5% leaves out."""
    runs = tmp_path / "runs"
    shutil.copytree(swept, runs)
    chapter04 = sorted((runs / "smoke" / "segment").glob("*5-seed0*.pt"))
    before = {p: p.stat().st_mtime_ns for p in chapter04}
    command = ["sweep", "--profile", "smoke", "--chapters", "07", "--fractions", "5",
               "--seeds", "0", "--workers", "1", "--test-sets", "test", "unseen"]
    first = grainlib(*command, runs=runs, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"^chapter 07 of profile smoke: 1 run \(fractions 5 x seeds 0\), 9 "
                     r"training sets x equal-steps", first.stdout, re.M), first.stdout
    assert re.search(r"^5-0 +done ", first.stdout, re.M)
    assert {p: p.stat().st_mtime_ns for p in chapter04} == before
    recipes_dir = runs / "smoke" / "segment" / "recipes"
    trained = {p.name: p.stat().st_mtime_ns for p in recipes_dir.glob("*.pt")}
    assert sorted(trained) == sorted(
        [f"{name}-5-seed0-equal-steps.pt" for name in (
            "real+flips+synthetic", "real+classical", "real+classical+synthetic",
            "real+rendered", "synthetic-then-real")]
        + ["synthetic-then-real-5-seed0-equal-steps-pretrained.pt"])
    table = runs / "smoke" / "figures" / "augmentation_1seed.csv"
    summary = pd.read_csv(table)
    assert sorted(summary["training_set"]) == sorted(recipes.ARMS)
    assert (runs / "smoke" / "sweep" / "07_augmentation.ipynb").is_file()
    # the same U-Nets on the training images Real_5% leaves out, in files of their own
    unseen = pd.read_csv(runs / "smoke" / "figures" / "augmentation_1seed_unseen.csv")
    assert sorted(unseen["training_set"]) == sorted(recipes.ARMS)
    assert not unseen["map_mean"].equals(summary["map_mean"])
    assert (runs / "smoke" / "sweep" / "07_augmentation_unseen.ipynb").is_file()
    lost = recipes_dir / "real+rendered-5-seed0-equal-steps.pt"
    lost.unlink()
    # run again for two of the sets: the lost one is trained, the table holds the two
    second = grainlib(*command, "--training-sets", "real", "real+rendered", runs=runs,
                      timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1 run (fractions 5 x seeds 0), 2 training sets x equal-steps" in second.stdout
    again = {p.name: p.stat().st_mtime_ns for p in recipes_dir.glob("*.pt")}
    assert sorted(again) == sorted(trained)
    assert [name for name in trained if again[name] != trained[name]] == [lost.name]
    two = pd.read_csv(table)
    assert sorted(two["training_set"]) == ["real", "real+rendered"]
    pd.testing.assert_frame_equal(
        two, summary[summary["training_set"].isin(two["training_set"])].reset_index(drop=True))
