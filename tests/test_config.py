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
