"""What the two training loops (style transfer, segmentation) share: the device, inputs
checked and scaled, joint flips and rotations, seeded steps, the learning-rate schedule,
and checkpoints that let a killed training resume.

Every step draws its randomness from ``(seed, step)`` alone (:func:`step_rng`), and the
learning rate is a function of the step (:func:`lr_factor`), so a checkpoint needs only
the weights, the optimiser states and the step: a resumed run repeats, bitwise, the steps
an uninterrupted one would have taken.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
from tqdm.auto import tqdm


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else the CPU; otherwise the named torch device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device '{name}' asked for, but torch sees no CUDA device; "
                         "use 'auto' or 'cpu'")
    return device


def check_stack(array, name: str, dtype=None, ndim: int = 3) -> np.ndarray:
    """``array`` as a non-empty (N, H, W) numpy stack of ``dtype``, or a clear ValueError."""
    array = np.asarray(array)
    if array.ndim != ndim or array.size == 0:
        raise ValueError(f"{name} must be a non-empty (N, H, W) stack, got shape {array.shape}")
    if dtype is not None and array.dtype != dtype:
        raise ValueError(f"{name} must be {np.dtype(dtype).name}, got dtype {array.dtype}"
                         + (" (boundary maps: True on boundary pixels)" if dtype == bool else ""))
    return array


def check_pairs(images, boundaries, what: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (N, H, W) and boundary maps bool (N, H, W) of the same shape."""
    images = check_stack(images, f"{what}images", np.uint8)
    boundaries = check_stack(boundaries, f"{what}boundary maps", bool)
    if images.shape != boundaries.shape:
        raise ValueError(f"{what}images {images.shape} and boundary maps {boundaries.shape} "
                         "must have the same shape")
    return images, boundaries


def to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 grey levels -> float32 in [-1, 1]."""
    return images.astype(np.float32) / 127.5 - 1.0


def from_unit(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> uint8 grey levels (rounded, clipped)."""
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The random stream of one training step; also seeds torch (dropout) from it."""
    rng = np.random.default_rng([int(seed), int(step)])
    torch.manual_seed(int(rng.integers(2**62)))
    return rng


def random_batch(rng: np.random.Generator, n: int, batch_size: int) -> np.ndarray:
    """``batch_size`` indices into ``n`` samples, without repeats when ``n`` allows."""
    return rng.choice(n, size=batch_size, replace=n < batch_size)


def random_crop(rng: np.random.Generator, arrays: list[np.ndarray], size: int | None) -> list:
    """The same random (size, size) window of each (B, H, W) array, per sample."""
    if not size:
        return arrays
    b, h, w = arrays[0].shape
    if size > min(h, w):
        raise ValueError(f"crop of {size} px asked for patches of {h} x {w}")
    rows, cols = rng.integers(0, h - size + 1, b), rng.integers(0, w - size + 1, b)
    return [np.stack([a[i, r:r + size, c:c + size] for i, (r, c) in enumerate(zip(rows, cols))])
            for a in arrays]


def flip_rotate(rng: np.random.Generator, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The same random flip and 90-degree rotation of each (B, H, W) array, per sample
    (the 8 symmetries of the square)."""
    b = arrays[0].shape[0]
    turns, flips = rng.integers(0, 4, b), rng.integers(0, 2, b).astype(bool)
    out = []
    for array in arrays:
        moved = [np.rot90(a[:, ::-1] if f else a, k) for a, k, f in zip(array, turns, flips)]
        out.append(np.ascontiguousarray(np.stack(moved)))
    return out


def elapsed(history: Mapping[str, list]) -> float:
    """Training seconds recorded in a history (its last ``seconds``), NaN when none."""
    seconds = history.get("seconds", [])
    return float(seconds[-1]) if seconds else float("nan")


def lr_factor(step: int, steps: int, decay_from: float) -> float:
    """Learning-rate multiplier: 1 for the first ``decay_from`` share of the steps, then
    linearly down to 0 at the last step (pix2pix's schedule)."""
    start = int(round(decay_from * steps))
    if step < start:
        return 1.0
    return 1.0 - (step - start) / max(steps - start, 1)


def cosine_factor(step: int, steps: int, warmup: int = 0) -> float:
    """Learning-rate multiplier of a warm-up then cosine schedule: (step + 1) / warmup for
    the first ``warmup`` steps, then half a cosine from 1 down to 0 at the last step
    (Loshchilov & Hutter, *SGDR*, ICLR 2017, without restarts)."""
    if step < warmup:
        return (step + 1) / warmup
    done = (step - warmup) / max(steps - warmup, 1)
    return 0.5 * (1.0 + float(np.cos(np.pi * done)))


def snapshot_steps(snapshots, steps: int) -> set[int]:
    """The step counts after which a training keeps a copy of its weights (1 .. steps),
    or a clear ValueError."""
    chosen = {int(s) for s in snapshots}
    if chosen and not 1 <= min(chosen) <= max(chosen) <= steps:
        raise ValueError(f"snapshots must be step counts in 1..{steps}, got {sorted(chosen)}")
    return chosen


def cpu_weights(module: torch.nn.Module) -> dict:
    """A copy of ``module``'s state dict on the CPU (a snapshot of a training)."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def snapshot(snapshots: dict, step: int) -> dict:
    """The weights kept after ``step`` steps, or a KeyError naming the steps kept."""
    if step not in snapshots:
        raise KeyError(f"no snapshot at step {step}; kept: {sorted(snapshots)}")
    return snapshots[step]


def checkpoint_for(path, key: str) -> Path:
    """The checkpoint file of a store-backed training: ``<stem>.<key>.checkpoint.pt``
    beside the model file ``path``, one per fingerprint ``key``. Checkpoints left there by
    a training with another fingerprint (the profile changed since) are stale and are
    removed: they are the step's own files, never the user's."""
    path = Path(path)
    partial = path.with_suffix(f".{key}.checkpoint.pt")
    for stale in path.parent.glob(f"{path.stem}.*checkpoint.pt"):
        if stale != partial:
            stale.unlink()
    return partial


class Checkpoint:
    """A training state on disk, written atomically and tagged with a fingerprint.

    Parameters
    ----------
    path : the file (``.pt``).
    fingerprint : what the state belongs to (parameters, seed, data); a file with
        another fingerprint is refused, never silently resumed.
    """

    def __init__(self, path, fingerprint: str):
        self.path, self.fingerprint = Path(path), fingerprint

    def load(self) -> dict | None:
        """The stored state, or None when there is no file."""
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as err:  # a truncated or foreign file
            raise ValueError(f"checkpoint {self.path} cannot be read ({err}); delete it to "
                             "start the training afresh") from None
        if state.get("fingerprint") != self.fingerprint:
            raise ValueError(f"checkpoint {self.path} belongs to another training (other "
                             "parameters, seed or data); delete it or use another path")
        return state

    def save(self, state: dict):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial-{os.getpid()}")
        try:
            torch.save({**state, "fingerprint": self.fingerprint}, partial)
            os.replace(partial, self.path)
        finally:
            partial.unlink(missing_ok=True)


def run_steps(step: Callable[[int, np.random.Generator], Mapping[str, float]], steps: int, *,
              modules: Mapping[str, torch.nn.Module], optimizers: Mapping[str, torch.optim.Optimizer],
              seed: int, checkpoint: Checkpoint | None = None, checkpoint_every: float = 60.0,
              progress: bool = True, desc: str = "training",
              callback: Callable[[int, dict], None] | None = None) -> dict[str, list[float]]:
    """Run ``step(i, rng)`` for i = 0 .. steps - 1, resuming from ``checkpoint``.

    Parameters
    ----------
    step : one training step; returns its losses {name: float}.
    steps : total number of steps.
    modules, optimizers : what the checkpoint holds (state dicts), by name.
    seed : seed of :func:`step_rng`.
    checkpoint : where to keep the state; None: no checkpoints.
    checkpoint_every : seconds between checkpoints (0: after every step); the last step
        is always checkpointed, so a finished training is not redone.
    callback : called as ``callback(i, losses)`` after each step.

    Returns
    -------
    {loss name: [value per step]}, from step 0 (resumed runs included).
    """
    history: dict[str, list[float]] = {}
    start = 0
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        for name, module in modules.items():
            module.load_state_dict(state["modules"][name])
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        start, history = int(state["step"]), {k: list(v) for k, v in state["history"].items()}

    def save(done: int):
        checkpoint.save({"step": done, "history": history,
                         "modules": {k: m.state_dict() for k, m in modules.items()},
                         "optimizers": {k: o.state_dict() for k, o in optimizers.items()}})

    bar = tqdm(total=steps, initial=start, desc=desc, disable=not progress,
               mininterval=1.0, dynamic_ncols=True)
    last_save = time.monotonic()
    for i in range(start, steps):
        losses = {k: float(v) for k, v in step(i, step_rng(seed, i)).items()}
        for key, value in losses.items():
            history.setdefault(key, []).append(value)
        bar.update()
        bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
        if checkpoint is not None and (i + 1 == steps
                                       or time.monotonic() - last_save >= checkpoint_every):
            save(i + 1)
            last_save = time.monotonic()
        if callback is not None:
            callback(i, losses)
    bar.close()
    return history


def stored_fingerprint(path) -> str | None:
    """The ``fingerprint`` a model file written by :func:`save_model` carries; None when the
    file is missing or unreadable (as good as absent: it will be trained again)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    return stored.get("fingerprint") if isinstance(stored, dict) else None


def save_model(path, kind: str, version: int, net: torch.nn.Module, fields: dict,
               extra: dict | None = None) -> Path:
    """Write a trained network (CPU weights), its ``kind`` tag and ``fields`` (params,
    history, ...) to ``path``, atomically; ``extra`` may carry a ``fingerprint``."""
    path = Path(path)
    extra = dict(extra or {})
    Checkpoint(path, extra.pop("fingerprint", "")).save({
        "kind": kind, "version": version, **fields, **extra,
        "state": {k: v.cpu() for k, v in net.state_dict().items()}})
    return path


def read_model(path, kind: str, what: str) -> dict:
    """The stored dict of a network written by :func:`save_model` with ``kind``; clear
    errors for a missing file, a file torch cannot read, or a model of another kind."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"expected a {what} file, found a folder",
                                str(path))
    if not path.is_file():
        # with the file name, so that a command reports it as a missing file, in one line
        raise FileNotFoundError(errno.ENOENT, f"{what} not found", str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        # torch's own message is about pickle internals and weights_only: not the problem
        raise ValueError(f"{path} is not a {what} written by grainlib: not a readable "
                         f"torch file") from err
    if not isinstance(state, dict) or state.get("kind") != kind:
        found = state.get("kind") if isinstance(state, dict) else None
        held = f" (it holds a {found})" if isinstance(found, str) else ""
        raise ValueError(f"{path} is not a {what} written by grainlib{held}")
    return state
