
import numpy as np
import pytest

from grainlib.core.store import Store, fingerprint


def test_fingerprint_stable_and_sensitive():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": (1, 2), "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"a": np.int64(3)}) == fingerprint({"a": 3})


def test_cached_reuses_and_recomputes(tmp_path):
    store, calls = Store(tmp_path), []

    def compute():
        calls.append(1)
        return {"x": np.arange(5), "group": {"7": np.eye(2)}}

    first = store.cached("thing", {"n": 5}, compute)
    again = store.cached("thing", {"n": 5}, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(again["x"], np.arange(5))
    np.testing.assert_array_equal(first["group"]["7"], np.eye(2))
    store.cached("thing", {"n": 6}, compute)
    assert len(calls) == 2
    assert store.attrs("thing")["params"] == {"n": 6}


def test_killed_write_leaves_no_trusted_file(tmp_path):
    store = Store(tmp_path)
    store.save("a", {"v": 1}, {"x": np.ones(3)})

    class Boom(Exception):
        pass

    class Exploding:
        def __array__(self, dtype=None, copy=None):
            raise Boom

    with pytest.raises(Boom):
        store.save("a", {"v": 2}, {"x": np.zeros(3), "y": Exploding()})
    assert store.has("a", {"v": 1}) and not store.has("a", {"v": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["a.h5"]  # no partial file left over


def test_foreign_or_truncated_file_is_not_trusted(tmp_path):
    store = Store(tmp_path)
    store.path("a").write_bytes(b"not hdf5")
    assert store.fingerprint_of("a") is None
    assert store.cached("a", {}, lambda: {"x": np.ones(2)})["x"].sum() == 2


def test_load_with_other_params_raises(tmp_path):
    store = Store(tmp_path)
    store.save("a", {"v": 1}, {"x": np.ones(3)})
    with pytest.raises(KeyError, match="no artifact 'a'"):
        store.load("a", {"v": 2})
