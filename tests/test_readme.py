"""Every command in the README's code blocks runs as written, so the README cannot drift.

What is run. Every fenced block marked ``bash``, ``sh``, ``shell`` or ``console`` is split
into commands: one a line, a trailing backslash joins the next line, ``#`` comments and a
leading ``$`` prompt are dropped. A command added to the README is picked up by this test
with no change here. Blocks marked otherwise (``text``, ``yaml``, ``python``) are not run.

How it is made short, honestly. Each command runs in ``bash`` as written, with two
changes that only pick the small ``smoke`` profile (seconds) instead of a bigger one:

- the environment sets ``PROFILE=smoke``, the Makefile's own knob, so ``make demo`` runs
  the smoke profile;
- a profile named in the command (``--profile NAME``, ``-p profile NAME``,
  ``PROFILE=NAME``) is replaced by ``smoke``.

Nothing else is changed; the test id shows the command actually run. The commands run in
a sandbox: a temporary folder holding links to every top-level entry of the project but
``runs/``, with ``GRAINLIB_RUNS`` inside it, so what they write (``runs/...``, executed
notebooks, figures of profiles without ``figures_dir``) stays out of the project. Its
``runs/`` starts as a copy of the session's smoke sweep, as a user's would after one. Each
must exit 0 and print no traceback and no warning.

Exempting a command. Add it to :data:`EXEMPT`, exactly as the README writes it, with the
reason it cannot run here (it runs this test suite, needs a GPU, takes hours even at the
smoke profile). An entry that no longer matches a README command fails the test, so
exemptions do not outlive their command.
"""

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from grainlib.core.config import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"

# command as written in the README -> why it is not run by this test
EXEMPT = {
    "make test": "runs this test suite: it would run itself",
    "make tables": "sweeps every fraction of data.fractions with three seeds, at the smoke "
                   "profile too (eight fractions: 24 runs, over the 600 s a command may take "
                   "here); tests/test_sweep.py checks --fractions all, and the smoke sweep of "
                   "this suite runs the same code on the smoke profile's two fractions",
    ".venv/bin/python -m grainlib data fetch iron-sections":
        "downloads from the internet, which tests never reach; the same fetch runs against "
        "a local server in tests/test_data.py",
    ".venv/bin/dask scheduler --port 8786": "a Dask scheduler serves until stopped",
    ".venv/bin/dask worker tcp://host:8786 --nthreads 1 --nworkers 2":
        "needs a running Dask scheduler; tests/test_sweep.py runs a sweep on one",
    ".venv/bin/python -m grainlib sweep --profile demo --seeds 0 1 2 --scheduler "
    "tcp://host:8786": "needs a running Dask scheduler; tests/test_sweep.py runs a sweep on one",
    ".venv/bin/python -m grainlib segment micrographs/*.png --out my-grains":
        "segments the reader's own micrographs, which the project does not have; "
        "tests/test_models.py runs it with the shipped iron U-Net on a real section, "
        "tests/test_segment_cli.py with other U-Nets on synthetic micrographs",
    ".venv/bin/python -m grainlib segment --model runs/demo/segment/real-100-seed0.pt "
    "micrographs/*.png --out my-grains":
        "segments the reader's own micrographs, which the project does not have, with a "
        "demo U-Net; tests/test_segment_cli.py runs the command on synthetic micrographs",
}

RUN_LANGUAGES = {"bash", "sh", "shell", "console"}
SMALL_PROFILE = "smoke"


def readme_commands(text: str) -> list[str]:
    """The commands of the runnable code blocks of a Markdown text, in order."""
    commands = []
    for language, body in re.findall(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.M | re.S):
        if language.lower() not in RUN_LANGUAGES:
            continue
        pending = ""
        for line in body.splitlines():
            line = pending + line.strip()
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1].rstrip() + " "
                continue
            command = _strip_comment(line.removeprefix("$ ")).strip()
            if command:
                commands.append(" ".join(command.split()))
    return commands


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` outside quotes after a blank)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def shortened(command: str) -> str:
    """The command with any profile it names replaced by the smoke profile."""
    command = re.sub(r"(--profile[ =])\S+", rf"\g<1>{SMALL_PROFILE}", command)
    command = re.sub(r"(-p profile )\S+", rf"\g<1>{SMALL_PROFILE}", command)
    return re.sub(r"\bPROFILE=\S+", f"PROFILE={SMALL_PROFILE}", command)


def distinct(commands: list[str]) -> list[str]:
    """The commands that do different things once shortened, each the first as written: a
    ``PROFILE=smoke`` assignment changes nothing where the environment already sets it, so
    ``make demo PROFILE=iron-sections`` is run once, as ``make demo``."""
    seen, kept = set(), []
    for command in commands:
        key = " ".join(re.sub(rf"\bPROFILE={SMALL_PROFILE}\b", "", shortened(command)).split())
        if key not in seen:
            seen.add(key)
            kept.append(command)
    return kept


COMMANDS = readme_commands(README.read_text())


def test_the_readme_has_commands_and_every_exemption_matches_one():
    assert any("grainlib" in c for c in COMMANDS), COMMANDS
    stale = set(EXEMPT) - set(COMMANDS)
    assert not stale, f"EXEMPT names commands no longer in the README: {sorted(stale)}"


FIRST_SCREEN = 60  # lines


def test_the_first_screen_shows_the_committed_three_seed_results():
    """Table 4 (MAP) and the verdicts of the committed three-seed sweep, as written by
    chapter 06, so that the README cannot drift from ``figures/``."""
    screen = "\n".join(README.read_text().splitlines()[:FIRST_SCREEN])
    figures = PROJECT_ROOT / "figures"
    if not (figures / "table4_map_3seeds.md").is_file():
        pytest.skip("the three-seed sweep's results are not committed yet (make tables)")
    assert (figures / "table4_map_3seeds.md").read_text().strip() in screen
    assert "(figures/fig_fractions_3seeds.png)" in screen
    verdicts = pd.read_csv(figures / "verdicts_3seeds.csv", index_col="id")
    stated = dict(re.findall(r"\*\*(C\d)\*\*[^*]*?\*(reproduced|not reproduced|inconclusive|not tested)\*",
                             screen))
    assert stated == verdicts["verdict"].to_dict()


def test_the_first_commands_install_then_run_the_demo_in_the_time_stated_everywhere():
    """``make venv`` installs alone; ``make demo``'s time is one figure wherever it is
    given, and the smoke profile is not sold as seconds."""
    text = " ".join(README.read_text().split())
    assert COMMANDS[:2] == ["make venv", "make demo"]
    assert text.count("about 27 min on 2 cores") == 2
    assert "about 25 min" not in text and "23 min" not in text
    assert "tests, seconds" not in text and "chapters that run in seconds" not in text


def test_commands_that_only_name_the_smoke_profile_again_run_once():
    assert distinct(["make demo", "make test", "make demo PROFILE=iron-sections",
                     "PROFILE=demo make tables", "make tables", "make demo PROFILE=smoke x"]) == [
        "make demo", "make test", "PROFILE=demo make tables", "make demo PROFILE=smoke x"]


def test_commands_are_extracted_as_a_reader_sees_them():
    text = ("```bash\n$ make demo   # minutes\n.venv/bin/python -m grainlib run \\\n"
            "    --profile demo  # all\necho '#1'\n```\n```text\nerror: not run\n```\n")
    assert readme_commands(text) == ["make demo", ".venv/bin/python -m grainlib run "
                                     "--profile demo", "echo '#1'"]
    assert shortened("x --profile paper -p profile demo PROFILE=demo make demo") == (
        "x --profile smoke -p profile smoke PROFILE=smoke make demo")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, swept):
    """A folder that looks like the project (links to its entries) but has its own runs/,
    which starts as a copy of the session's smoke sweep (``conftest.smoke_sweep``), so that
    the sweep in ``make demo`` is not trained a second time."""
    root = tmp_path_factory.mktemp("readme")
    for entry in PROJECT_ROOT.iterdir():
        if entry.name != "runs":
            (root / entry.name).symlink_to(entry)
    shutil.copytree(swept, root / "runs")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c in distinct(COMMANDS) if c not in EXEMPT] or [None],
                         ids=lambda c: shortened(c) if c else "none")
def test_readme_command_runs(command, sandbox):
    if command is None:
        pytest.skip("no README command to run")
    env = {**os.environ, "PROFILE": SMALL_PROFILE, "GRAINLIB_RUNS": str(sandbox / "runs")}
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)
    result = subprocess.run(["bash", "-c", "set -o pipefail; " + shortened(command)],
                            cwd=sandbox, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command!r} exited {result.returncode}:\n{output}"
    assert "traceback" not in output.lower(), output
    assert "warning" not in output.lower(), output
