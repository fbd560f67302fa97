"""The command line as a user meets it: help with examples, one-line errors, exit status.

Error cases run ``python -m grainlib`` in a subprocess, as a user does, and check the exit
status, the one line on stderr and that no traceback is shown (only with ``--debug``).
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grainlib.core.config import PROJECT_ROOT
from grainlib.run import chapters, cli


def grainlib(*args, runs: Path, cwd=PROJECT_ROOT, timeout=300, env=None):
    """Run ``python -m grainlib ARGS`` with run folders under ``runs`` (``env``: more
    environment variables)."""
    env = {**os.environ, "GRAINLIB_RUNS": str(runs), **(env or {})}
    return subprocess.run([sys.executable, "-m", "grainlib", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def assert_one_error(result, status: int, pattern: str):
    """Exit ``status``, nothing but one line ``error: ...`` matching ``pattern`` on stderr."""
    assert result.returncode == status, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def write_profile(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- help


def subcommands() -> list[str]:
    parser = cli.build_parser()
    return list(parser._subparsers._group_actions[0].choices)


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommand_has_help_with_an_example(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text and f"python -m grainlib {name}" in text
    assert "--debug" in text


def test_top_level_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in subcommands())


# --------------------------------------------------------------------------- errors, fast


def test_usage_error_exits_2(tmp_path):
    result = grainlib("run", "--chapters", runs=tmp_path)  # --chapters needs a value
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == ("grainlib run: error: argument --chapters: "
                                              "expected at least one argument")


def test_unknown_profile(tmp_path):
    result = grainlib("run", "--profile", "nosuch", runs=tmp_path)
    assert_one_error(result, 2, r"error: unknown profile 'nosuch': no .*params/nosuch\.yaml; "
                                r"known profiles: .*smoke.*")


def test_missing_profile_file(tmp_path):
    result = grainlib("config", "--profile", tmp_path / "absent.yaml", runs=tmp_path)
    assert_one_error(result, 2, rf"error: profile file not found: {re.escape(str(tmp_path))}/absent\.yaml")


def test_bad_value_names_the_file_and_the_key(tmp_path):
    profile = write_profile(tmp_path, "hot", "extends: smoke\npotts:\n  kT: -1\n")
    result = grainlib("run", "--profile", profile, runs=tmp_path / "runs")
    assert_one_error(result, 2, rf"error: {re.escape(str(profile))}: 'potts\.kT' must be a "
                                r"number >= 0, got -1")
    assert not (tmp_path / "runs").exists()


def test_invalid_yaml_is_one_line(tmp_path):
    profile = write_profile(tmp_path, "broken", "potts: [1, 2\nseed: 3\n")
    result = grainlib("config", "--profile", profile, runs=tmp_path)
    assert_one_error(result, 2, rf"error: {re.escape(str(profile))}: not valid YAML: .*line \d+.*")


def test_debug_shows_the_traceback(tmp_path):
    profile = write_profile(tmp_path, "hot", "extends: smoke\npotts:\n  kT: -1\n")
    result = grainlib("run", "--profile", profile, "--debug", runs=tmp_path / "runs")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: ")


def test_missing_data_folder_stops_before_any_chapter(tmp_path):
    profile = write_profile(tmp_path, "mine", f"""extends: smoke
data:
  source: folder
  images_dir: {tmp_path}/nowhere/images
  labels_dir: {tmp_path}/nowhere/labels
""")
    result = grainlib("run", "--profile", profile, runs=tmp_path / "runs")
    assert_one_error(result, 2, rf"error: {re.escape(str(profile))}: data\.images_dir: images "
                                rf"folder not found: {re.escape(str(tmp_path))}/nowhere/images")
    assert result.stdout == ""  # no chapter ran
    assert not (tmp_path / "runs" / "mine").exists()


def test_missing_hdf5_file(tmp_path):
    profile = write_profile(tmp_path, "h5", "extends: smoke\ndata:\n  source: hdf5\n"
                                            "  hdf5_path: no/such/file.h5\n")
    result = grainlib("notebooks", "--profile", profile, "--out", tmp_path / "out",
                      runs=tmp_path / "runs")
    assert_one_error(result, 2, r"error: .*h5\.yaml: data\.hdf5_path: HDF5 file not found: "
                                r".*no/such/file\.h5")


def test_unknown_chapter(tmp_path):
    result = grainlib("run", "--profile", "smoke", "--chapters", "09", runs=tmp_path)
    assert_one_error(result, 2, r"error: unknown chapters: 09; chapters are 01_potts, .*")


def test_unknown_notebook_parameter(tmp_path):
    result = grainlib("notebooks", "--profile", "smoke", "--chapters", "01", "--out",
                      tmp_path / "out", "-p", "temperature", "3", runs=tmp_path)
    assert_one_error(result, 2, r"error: -p temperature: no such parameter in chapters 01_potts; "
                                r"their parameters: .*mcs.*")


@pytest.mark.parametrize("parameter, says", [
    (["L", "-5"], r"-p L -5: gives potts\.shape = \[-5, -5, -5\], which must be a list of 3 "
                  r"integers >= 2"),
    (["mcs", "abc"], r"-p mcs abc: must be an integer >= 1 \(it replaces the profile's "
                     r"potts\.mcs\), got 'abc'"),
    (["snapshots", "[0]"], r"-p snapshots \[0\]: must be a list of integers >= 1 .*"),
])
def test_bad_parameter_values_are_refused_before_any_kernel_starts(tmp_path, parameter, says):
    result = grainlib("notebooks", "--profile", "smoke", "--chapters", "1", "--out",
                      tmp_path / "out", "-p", *parameter, runs=tmp_path / "runs")
    assert_one_error(result, 2, "error: " + says)
    assert result.stdout == "" and not (tmp_path / "out").exists()


def test_run_parameters_must_be_among_the_profile_s(tmp_path):
    result = grainlib("notebooks", "--profile", "smoke", "--chapters", "segment", "--out",
                      tmp_path / "out", "-p", "fraction", "7", runs=tmp_path / "runs")
    assert_one_error(result, 2, r"error: -p fraction 7: must be one of the profile's "
                                r"data\.fractions \[5, .*, 100\], got 7")
    result = grainlib("notebooks", "--profile", "smoke", "--chapters", "06", "--out",
                      tmp_path / "out", "-p", "seeds", "[0, x]", runs=tmp_path / "runs")
    assert_one_error(result, 2, r"error: -p seeds \[0, x\]: must be a non-empty list of "
                                r"integers >= 0, got \[0, 'x'\]")


def test_chapters_by_number_or_name():
    assert chapters.select_chapters(["1", "data"]) == chapters.select_chapters(["01", "02"])
    assert [p.stem for p in chapters.select_chapters(["potts", "06_tables"])] == [
        "01_potts", "06_tables"]


def test_out_may_not_be_the_chapters_folder(tmp_path):
    for out in ("notebooks", chapters.NOTEBOOKS_DIR / "." ):
        result = grainlib("notebooks", "--profile", "smoke", "--chapters", "01", "--out", out,
                          "-p", "mcs", "3", runs=tmp_path / "runs")
        assert_one_error(result, 2, r"error: --out \S*notebooks/?\.?: the chapters themselves "
                                    r"are there; choose another folder .*")


def test_an_empty_profile_says_what_it_runs_on(tmp_path, capsys):
    empty = write_profile(tmp_path, "empty", "# to do\n")
    result = grainlib("config", "--profile", empty, runs=tmp_path / "runs")
    assert result.returncode == 0 and "potts:" in result.stdout
    assert result.stderr.splitlines() == [
        f"note: {empty} is empty: it runs on the schema's defaults (python -m grainlib "
        f"config --schema), not on the demo profile; add 'extends: demo' to start from that"]
    chapters.load_profile(empty)  # what run, notebooks and sweep check first
    assert "is empty" in capsys.readouterr().err
    chapters.load_profile(write_profile(tmp_path, "mine", "extends: smoke\n"))
    assert capsys.readouterr().err == ""


def test_inplace_refuses_other_profiles(tmp_path):
    result = grainlib("notebooks", "--inplace", "--profile", "smoke", runs=tmp_path)
    assert_one_error(result, 2, r"error: --inplace keeps the committed notebooks at the demo "
                                r"profile.*")


def test_inplace_runs_the_committed_notebooks_at_demo_whatever_the_environment(
        monkeypatch, capsys):
    """No parameters (papermill injects no cell) and the kernels' GRAINLIB_PROFILE set to
    demo, which the notebooks' ``profile = None`` reads."""
    calls = []
    monkeypatch.setattr(chapters, "execute", lambda py, output, parameters, progress, env, log:
                        calls.append((output, parameters, env)) or 0.0)
    monkeypatch.setenv("GRAINLIB_PROFILE", "smoke")
    assert cli.main(["notebooks", "--inplace", "--chapters", "01"]) == 0
    assert calls == [(chapters.NOTEBOOKS_DIR / "01_potts.ipynb", None, {"GRAINLIB_PROFILE": "demo"})]


def test_error_line_of_each_kind():
    assert cli.error_line(chapters.RunFailed("chapter x failed")) == ("chapter x failed", 1)
    assert cli.error_line(ValueError("bad\n  value")) == ("bad value", 2)
    missing = FileNotFoundError(2, "No such file or directory", "/x/y.png")
    assert cli.error_line(missing) == ("No such file or directory: /x/y.png", 2)
    message, status = cli.error_line(KeyError("k"))
    assert status == 1 and message.startswith("KeyError: 'k'") and "--debug" in message


def test_notebook_parameters_are_read_from_the_parameters_cell():
    import jupytext

    names = chapters.notebook_parameters(jupytext.read(PROJECT_ROOT / "notebooks" / "01_potts.py"))
    assert {"profile", "L", "mcs", "snapshots"} <= set(names)


# --------------------------------------------------------------------------- chapters (seconds)


@pytest.mark.slow
def test_failing_chapter_names_the_cell_and_the_executed_notebook(tmp_path):
    """An unreadable image passes the pre-flight check (no image is decoded there) and
    fails inside chapter 02: one line with the chapter, cell, error and notebook."""
    for kind in ("images", "labels"):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "a.png").write_text("not a PNG")
    profile = write_profile(tmp_path, "damaged", f"""extends: smoke
data:
  source: folder
  images_dir: {tmp_path}/images
  labels_dir: {tmp_path}/labels
""")
    runs = tmp_path / "runs"
    result = grainlib("run", "--profile", profile, "--chapters", "02", runs=runs)
    executed = runs / "damaged" / "notebooks" / "02_data.ipynb"
    assert_one_error(result, 1, rf"error: chapter 02_data failed in cell (\d+): SourceError: "
                                rf"cannot read {re.escape(str(tmp_path))}/images/a\.png: not a "
                                rf"readable PNG image .*\(executed notebook: "
                                rf"{re.escape(str(executed))}\)")
    cell = int(re.search(r"in cell (\d+)", result.stderr).group(1))
    nb = nbformat.read(executed, as_version=4)
    failed = [c for c in nb.cells if c.get("execution_count") == cell]
    assert failed and any(o.get("ename") == "SourceError" for o in failed[0].outputs)


@pytest.mark.slow
def test_mcs_below_every_snapshot_runs_the_chapter(tmp_path):
    """``-p mcs 3`` at smoke (snapshots 5, 10, 20, 40): the chapter runs, says what it
    dropped, and skips the growth fit; the run is quiet (no kernel or other warnings)."""
    out = tmp_path / "out"
    result = grainlib("notebooks", "--profile", "smoke", "--chapters", "01", "--out", out,
                      "-p", "mcs", "3", runs=tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert re.match(r"01_potts +\d+\.\d s  -> ", result.stdout)
    assert (out / "kernels.log").is_file()  # the kernels' own lines: not on the terminal
    nb = nbformat.read(out / "01_potts.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs if o.get("name") == "stdout")
    assert "the snapshots at MCS [5, 10, 20, 40] are dropped; snapshots kept: [3]" in printed
    assert "after 3 MCS:" in printed and "no fit" in printed


# --------------------------------------------------------------------------- where outputs go

TINY = ("-p", "L", "16", "-p", "mcs", "10", "-p", "snapshots", "[5, 10]",
        "-p", "clock_L", "8", "-p", "clock_snapshots", "[5]")


def contents(folder: Path) -> dict:
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project_copy(tmp_path):
    """A copy of the project (code, chapters, profiles, committed figures) that commands
    and their kernels run as the project (through PYTHONPATH), so that a regression writes
    into the copy, never into the checkout."""
    root = tmp_path / "project"
    for name in ("grainlib", "notebooks", "params", "figures"):
        shutil.copytree(PROJECT_ROOT / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return root


@pytest.mark.slow
def test_only_the_committed_profiles_write_into_figures(project_copy, tmp_path):
    """A profile of one's own that extends demo, and ``notebooks --out`` with -p values at
    demo, write their figures into their own folder; figures/ and the chapters stay as
    committed, and each command's last line says where its notebooks and figures went."""
    root = project_copy
    committed = {name: contents(root / name) for name in ("figures", "notebooks")}
    env = {"PYTHONPATH": str(root)}
    mine = write_profile(tmp_path, "mine", "extends: demo\npotts:\n  shape: [16, 16, 16]\n"
                                           "  mcs: 10\n  snapshots: [5, 10]\n"
                                           "clock:\n  size: 8\n  snapshots: [5]\n")
    result = grainlib("run", "--profile", mine, "--chapters", "01", runs=root / "runs",
                      cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith(
        "(profile mine; notebooks in runs/mine/notebooks, figures in runs/mine/figures)")
    assert (root / "runs" / "mine" / "figures" / "fig1_potts.png").is_file()
    result = grainlib("notebooks", "--profile", "demo", "--chapters", "01", "--out", "out",
                      *TINY, runs=root / "runs", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith("(notebooks in out, figures in out/figures)")
    assert (root / "out" / "figures" / "fig1_potts.png").is_file()
    assert {name: contents(root / name) for name in ("figures", "notebooks")} == committed


@pytest.mark.slow
def test_kernels_get_a_relative_runs_folder_as_an_absolute_one(tmp_path, monkeypatch):
    """``GRAINLIB_RUNS=myruns``: a kernel, which runs in notebooks/, sees the runs folder
    of the caller's working folder (the sweep's chapter 06 failed on it)."""
    chapter = tmp_path / "where.py"
    chapter.write_text("# %%\nfrom grainlib.core import config\n"
                       "print(config.load('smoke')['run_dir'])\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRAINLIB_RUNS", "myruns")
    chapters.execute(chapter, tmp_path / "where.ipynb")
    nb = nbformat.read(tmp_path / "where.ipynb", as_version=4)
    assert nb.cells[0].outputs[0]["text"].strip() == str(tmp_path / "myruns" / "smoke")
