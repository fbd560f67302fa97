import pytest

from grainlib.core import config
from grainlib.core.config import ConfigError


def test_every_profile_loads(runs_dir):
    for path in sorted(config.PARAMS_DIR.glob("*.yaml")):
        cfg = config.load(path.stem)
        assert cfg["profile"] == path.stem
        assert cfg["run_dir"].endswith(path.stem)


def test_extends_overrides_key_by_key(runs_dir):
    demo, smoke = config.load("demo"), config.load("smoke")
    assert smoke["potts"]["shape"] == [32, 32, 32]
    assert smoke["potts"]["kT"] == demo["potts"]["kT"]          # inherited
    assert smoke["figures_dir"] != demo["figures_dir"]          # smoke never writes figures/


def test_overrides_dotted_and_none_ignored(runs_dir):
    cfg = config.load("smoke", {"potts.mcs": 7, "seed": None, "potts": {"kT": 0.25}})
    assert cfg["potts"]["mcs"] == 7 and cfg["potts"]["kT"] == 0.25 and cfg["seed"] == 0


def write(tmp_path, text, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unknown_key_names_file_key_and_allowed(tmp_path):
    path = write(tmp_path, "extends: smoke\npotts:\n  msc: 10\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    text = str(err.value)
    assert str(path) in text and "potts.msc" in text and "mcs" in text


def test_wrong_type_and_range_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"'potts.kT' must be a number >= 0, got -1"):
        config.load(write(tmp_path, "extends: smoke\npotts: {kT: -1}\n"))
    with pytest.raises(ConfigError, match=r"'potts.shape' must be a list of 3 integers"):
        config.load(write(tmp_path, "extends: smoke\npotts: {shape: [8, 8]}\n"))
    with pytest.raises(ConfigError, match=r"'potts.trial_neighbors' must be one of 18, 26"):
        config.load(write(tmp_path, "extends: smoke\npotts: {trial_neighbors: 6}\n"))
    with pytest.raises(ConfigError, match=r"'seed' must be an integer"):
        config.load(write(tmp_path, "extends: smoke\nseed: 1.5\n"))
    with pytest.raises(ConfigError, match=r"'potts' must be a section"):
        config.load(write(tmp_path, "extends: smoke\npotts: 3\n"))


def test_error_names_the_file_that_set_the_value(tmp_path):
    write(tmp_path, "extends: smoke\npotts: {mcs: 0}\n", "parent.yaml")
    child = write(tmp_path, "extends: parent.yaml\nseed: 3\n", "child.yaml")
    with pytest.raises(ConfigError, match="parent.yaml: 'potts.mcs'"):
        config.load(child)


def test_bad_override_and_unknown_profile():
    with pytest.raises(ConfigError, match="override: unknown key 'potts.L'"):
        config.load("smoke", {"potts.L": 5})
    with pytest.raises(ConfigError, match="unknown profile 'nope'.*known profiles: .*smoke"):
        config.load("nope")
    with pytest.raises(ConfigError, match="not found"):
        config.load("missing/file.yaml")


def test_extends_loop_and_bad_yaml(tmp_path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError, match="loop"):
        config.load(tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(write(tmp_path, "potts: [1,\n"))
    with pytest.raises(ConfigError, match="must be a mapping"):
        config.load(write(tmp_path, "- 1\n- 2\n"))


def test_describe_lists_every_key():
    text = config.describe()
    assert "potts.kT = 0.5" in text and "seed = 0" in text


def test_profile_none_is_the_environment_s_else_demo(runs_dir, monkeypatch):
    monkeypatch.delenv("GRAINLIB_PROFILE", raising=False)
    assert config.load(None)["profile"] == "demo"
    monkeypatch.setenv("GRAINLIB_PROFILE", "smoke")
    assert config.load(None, {"seed": None})["profile"] == "smoke"
    assert config.load("demo")["profile"] == "demo"          # a profile given wins
    monkeypatch.setenv("GRAINLIB_PROFILE", "nope")
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        config.load(None)


def test_figures_dir_is_not_inherited(runs_dir, tmp_path):
    """Only a profile that names a figures folder itself writes there: demo's figures/ is
    demo's, a profile extending demo gets runs/<profile>/figures."""
    assert config.load("demo")["figures_dir"] == str(config.PROJECT_ROOT / "figures")
    mine = write(tmp_path, "extends: demo\nseed: 1\n", "mine.yaml")
    assert config.load(mine)["figures_dir"] == str(runs_dir / "mine" / "figures")
    own = write(tmp_path, "extends: demo\nfigures_dir: my-figures\n", "own.yaml")
    assert config.load(own)["figures_dir"] == str(config.PROJECT_ROOT / "my-figures")


def test_a_relative_runs_folder_is_made_absolute_where_it_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRAINLIB_RUNS", "myruns")
    cfg = config.load("smoke")
    assert cfg["run_dir"] == str(tmp_path / "myruns" / "smoke")
    assert cfg["cache_dir"] == str(tmp_path / "myruns" / "cache")
    assert cfg["figures_dir"] == str(tmp_path / "myruns" / "smoke" / "figures")


def test_describe_lists_extends_first():
    assert config.describe().splitlines()[0].startswith("extends = None  (a profile in params/")


def test_an_empty_profile_is_told_apart(tmp_path):
    assert config.is_empty(write(tmp_path, "# nothing yet\n", "empty.yaml"))
    assert not config.is_empty(write(tmp_path, "extends: demo\n", "full.yaml"))
    assert not config.is_empty("smoke")
