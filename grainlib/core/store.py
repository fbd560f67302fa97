"""Artifacts on disk: HDF5 files in a run folder, written atomically, tagged with the
fingerprint of the parameters that made them.

A step asks :meth:`Store.cached` for its artifact: when a file with the same name and
the same fingerprint exists it is read back; otherwise the step computes it and the file
is written under a temporary name and moved into place in one ``os.replace``, so a run
killed half-way never leaves a file that a later run would trust.

A step whose artifact is too large to hold in memory at once writes it piece by piece
(:meth:`Store.writing`, equally atomic) and reads its large parts back one at a time,
when asked (:meth:`Store.lazy`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import h5py
import numpy as np

FORMAT = 1  # bump when the layout of artifact files changes


def fingerprint(params: Any) -> str:
    """A short, stable hash of JSON-able parameters (key order does not matter)."""
    text = json.dumps(params, sort_keys=True, default=_jsonable, separators=(",", ":"))
    return hashlib.sha256(f"{FORMAT}:{text}".encode()).hexdigest()[:16]


def data_digest(*arrays: np.ndarray) -> str:
    """A short hash of the arrays' shapes, dtypes and bytes: what a trained model's
    fingerprint takes of the data it was trained on."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(array.data)
    return digest.hexdigest()[:16]


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"parameter of type {type(value).__name__} is not JSON-able: {value!r}")


def write_array(group: h5py.Group, key: str, value) -> h5py.Dataset:
    """Write one array as a dataset of ``group`` the way every artifact stores it: as is,
    or compressed (lzf with shuffle) when larger than 1 MB; returns the dataset."""
    array = np.asarray(value)
    big = array.nbytes > (1 << 20)
    return group.create_dataset(str(key), data=array,
                                compression="lzf" if big else None, shuffle=big)


def _write_tree(group: h5py.Group, tree: Mapping[str, Any]):
    for key, value in tree.items():
        if isinstance(value, Mapping):
            _write_tree(group.create_group(str(key)), value)
        else:
            write_array(group, key, value)


@contextmanager
def atomic_h5(path: str | os.PathLike) -> Iterator[h5py.File]:
    """Write an HDF5 file whole or not at all.

    Yields the file open for writing under a temporary name in the same folder
    (``.<name>.partial-<pid>``); when the block ends it is moved into place by one
    ``os.replace``, and when the block raises it is removed: a reader finds the old file
    or the new one, never half of one (a process killed mid-write leaves only its
    temporary file, which names its process).
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with h5py.File(partial, "w") as f:
            yield f
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


class StoredArrays(Mapping):
    """The datasets of one group of a stored artifact, ``{key: numpy array}``, each read
    from the file when asked and not kept: the caller holds what it keeps.

    Made by :meth:`Store.lazy`. Every read checks the file's fingerprint, so an artifact
    replaced since (or removed) raises FileNotFoundError rather than mixing two runs.
    """

    def __init__(self, path: Path, group: str, fingerprint: str, keys):
        self.path, self.group, self.fingerprint = Path(path), group, fingerprint
        self._keys = list(keys)

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._keys:
            raise KeyError(key)
        try:
            with h5py.File(self.path, "r") as f:
                if f.attrs.get("fingerprint") == self.fingerprint:
                    return f[self.group][key][()]
        except OSError:
            pass
        raise FileNotFoundError(f"{self.path} was removed or replaced since it was opened; "
                                f"read the artifact again")

    def __contains__(self, key) -> bool:  # without reading the data
        return key in self._keys

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"StoredArrays({self.path.name}:/{self.group}, keys {self._keys})"


def _read_tree(group: h5py.Group) -> dict:
    return {key: _read_tree(item) if isinstance(item, h5py.Group) else item[()]
            for key, item in group.items()}


class Store:
    """The artifacts of one run folder (``runs/<profile>``).

    Parameters
    ----------
    root : folder of the run; created when missing.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / f"{name}.h5"

    def fingerprint_of(self, name: str) -> str | None:
        """The fingerprint stored with artifact ``name``, or None when there is none."""
        path = self.path(name)
        if not path.is_file():
            return None
        try:
            with h5py.File(path, "r") as f:
                return f.attrs.get("fingerprint")
        except OSError:  # not an HDF5 file we wrote: treat as absent
            return None

    def has(self, name: str, params: Any) -> bool:
        return self.fingerprint_of(name) == fingerprint(params)

    def load(self, name: str, params: Any = None) -> dict:
        """Read artifact ``name`` as a nested dict of numpy arrays.

        With ``params`` given, raises KeyError unless the artifact was made with them.
        """
        if params is not None and not self.has(name, params):
            raise KeyError(f"no artifact '{name}' made with these parameters in {self.root}")
        with h5py.File(self.path(name), "r") as f:
            return _read_tree(f)

    def attrs(self, name: str) -> dict:
        """The parameters and provenance stored with artifact ``name``."""
        with h5py.File(self.path(name), "r") as f:
            return {"fingerprint": f.attrs["fingerprint"],
                    "params": json.loads(f.attrs["params"]),
                    "created": f.attrs["created"]}

    def lazy(self, name: str, group: str) -> StoredArrays:
        """The datasets of ``group`` of artifact ``name``, read one at a time when asked
        (:class:`StoredArrays`; empty when the artifact has no such group)."""
        with h5py.File(self.path(name), "r") as f:
            keys = list(f[group]) if isinstance(f.get(group), h5py.Group) else []
            return StoredArrays(self.path(name), group, f.attrs["fingerprint"], keys)

    @contextmanager
    def writing(self, name: str, params: Any) -> Iterator[h5py.File]:
        """Write artifact ``name`` piece by piece, atomically (:func:`atomic_h5`).

        Yields the new file, open, its fingerprint and provenance already set; write its
        datasets with :func:`write_array`. It replaces the stored artifact only when
        the block ends without an error.
        """
        with atomic_h5(self.path(name)) as f:
            f.attrs["fingerprint"] = fingerprint(params)
            f.attrs["params"] = json.dumps(params, sort_keys=True, default=_jsonable)
            f.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            yield f

    def save(self, name: str, params: Any, arrays: Mapping[str, Any]) -> Path:
        """Write ``arrays`` (nested dicts become groups) atomically; return the path."""
        with self.writing(name, params) as f:
            _write_tree(f, arrays)
        return self.path(name)

    def cached(self, name: str, params: Any, compute: Callable[[], Mapping[str, Any]]) -> dict:
        """The artifact made with ``params``: read back if stored, else computed and saved."""
        if self.has(name, params):
            return self.load(name)
        arrays = compute()
        self.save(name, params, arrays)
        return self.load(name)
