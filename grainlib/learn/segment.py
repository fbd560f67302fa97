"""Segmentation: a U-Net learns micrograph -> grain boundaries, on real patches alone or
with simulated or synthetic ones mixed in; its boundary probabilities are then closed
into grain boundaries in the labels' convention.

Training (docs/method.md section 5): :class:`grainlib.learn.nets.SegmentationUNet`, two classes
per pixel (grain, boundary), cross-entropy weighted grain : boundary = 1 :
``boundary_weight`` (the authors' code: 20); inputs scaled to [0, 1] and standardised
with the mean and standard deviation of the training images (kept with the model); Adam
at a constant learning rate (1e-4) for a fixed number of steps (or the epoch rule's step
decay, or warm-up then cosine: ``lr_schedule``); mini-batches of ``batch_size`` patches,
half real and half synthetic (or simulated) when two sets are mixed; random crops of
``crop`` pixels (whole patches in the paper); no flips or rotations unless ``augment``.
``precision`` picks float32 or the fast path, bfloat16 autocast with channels-last memory
(:mod:`grainlib.learn.precision`; docs/method.md section 5b).

Prediction (:func:`predict`): the boundary probability (:func:`probability`) is closed
into grains by :func:`grainlib.learn.postprocess.grain_ids` (threshold or watershed, and
how each was chosen) and the grains redrawn as a boundary map with
:func:`grainlib.core.grains.boundaries`, so a prediction has exactly the convention of the
labels.

>>> model = train((images, boundaries), params={"steps": 200})   # doctest: +SKIP
>>> predicted = predict(model, test_images)                       # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from grainlib.core import config, grains
from grainlib.core.store import data_digest, fingerprint
from grainlib.data import datasets
from grainlib.learn import augment as augment_batch
from grainlib.learn import precision as amp
from grainlib.learn import tiles, training, transfer
from grainlib.learn.nets import SegmentationUNet, crop_to, pad_to_multiple
from grainlib.learn.postprocess import POSTPROCESS_KEYS, grain_ids

VERSION = 1  # bump when training or prediction changes what a given seed produces
KIND = "grainlib.segment.Segmenter"  # the model files' format tag, not a module path
_ARCHITECTURE = ("width", "depth")

TRAINING_SETS = {
    "real": "Real_X%: the real training patches of the fraction X",
    "simulated": "Simulated_100%: every simulated patch (fraction ignored: 100)",
    "real+simulated": "Mixed(Real_100% + Simulated_100%) (fraction ignored: 100)",
    "real+synthetic": "Mixed(Real_X% + Synthetic^X_100%): synthetic images of every "
                      "simulated label, from the generator trained on Real_X%",
    "synthetic": "Synthetic^X_100% alone",
    "real+flips": "Real_X% with random flips and 90-degree rotations",
}
"""The training sets :func:`build` knows, by name, with the paper's names."""

@dataclass
class Segmenter:
    """A trained segmentation U-Net with what made it.

    Attributes
    ----------
    net : the U-Net, in evaluation mode.
    params : the ``segment`` section it was trained (and predicts) with.
    history : {"loss", "seconds"}: per-step weighted cross-entropy and cumulative
        training seconds.
    mean, std : input standardisation: grey levels / 255, minus ``mean``, over ``std``
        (the training images' statistics).
    trained_now : True when :func:`build` trained it rather than read it back (not stored).
    snapshots : {step: state dict} of the weights kept during training (:func:`train`'s
        ``snapshots``; not stored), read back with :func:`at_step`.
    """

    net: SegmentationUNet
    params: dict
    history: dict = field(default_factory=dict)
    mean: float = 0.5
    std: float = 0.25
    trained_now: bool = False
    snapshots: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.history.get("loss", []))

    @property
    def train_seconds(self) -> float:
        return training.elapsed(self.history)


def network(params) -> SegmentationUNet:
    """A fresh U-Net of the architecture in ``params`` (its ``width`` and ``depth``)."""
    return SegmentationUNet(**{key: params[key] for key in _ARCHITECTURE})


def standardised(images: np.ndarray, mean: float, std: float, device) -> torch.Tensor:
    """The network's input: uint8 (B, H, W) -> float32 (B, 1, H, W), grey levels / 255
    minus ``mean``, over ``std``, on ``device``."""
    x = (images.astype(np.float32) / 255.0 - mean) / std
    return torch.from_numpy(x)[:, None].to(device)


def _pairs(pair, what: str):
    if pair is None:
        return None
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{what} must be a pair (images, boundary maps), got "
                         f"{type(pair).__name__}")
    return training.check_pairs(pair[0], pair[1], f"{what} ")


def mixed_batch(rng: np.random.Generator, sizes, batch_size: int) -> list[np.ndarray]:
    """Indices of one mini-batch drawn from several sets, in equal shares.

    Parameters
    ----------
    rng : the step's random stream.
    sizes : number of patches in each set, e.g. (n_real, n_synthetic).
    batch_size : patches in the batch; set k gets ``batch_size // len(sizes)``, the first
        sets one more each until the total is ``batch_size`` (8 from two sets: 4 + 4).

    Returns
    -------
    list of int64 index arrays, one per set.
    """
    shares = [batch_size // len(sizes) + (k < batch_size % len(sizes))
              for k in range(len(sizes))]
    return [training.random_batch(rng, n, share) for n, share in zip(sizes, shares)]


def training_batch(rng: np.random.Generator, sets, batch_size: int, crop: int | None,
                   augment: bool | str = False):
    """One mini-batch: equal shares of each set (:func:`mixed_batch`), random crops, then
    the augmentation of every patch.

    Parameters
    ----------
    rng : the step's random stream.
    sets : pairs (images, boundaries) of (N_k, H, W) uint8 and bool arrays.
    batch_size : patches in the batch.
    crop : side of the random crops (None: whole patches).
    augment : False; True: flips and 90-degree rotations; ``"classical"``:
        :func:`grainlib.learn.augment.classical`.

    Returns
    -------
    (images, boundaries, source): (B, h, w) uint8, (B, h, w) bool and (B,) int, the index
    in ``sets`` each patch came from.
    """
    chosen = mixed_batch(rng, [len(images) for images, _ in sets], batch_size)
    images, labels = [], []
    for (set_images, set_labels), batch in zip(sets, chosen):
        image, label = training.random_crop(rng, [set_images[batch], set_labels[batch]], crop)
        images.append(image)
        labels.append(label)
    image, label = np.concatenate(images), np.concatenate(labels)
    if augment == "classical":
        image, label = augment_batch.classical(rng, image, label)
    elif augment:
        image, label = training.flip_rotate(rng, [image, label])
    return image, label, np.repeat(np.arange(len(sets)), [len(b) for b in chosen])


def train(real, synthetic=None, params=None, seed: int = 0, progress: bool = True,
          checkpoint=None, callback=None, augment: bool | str | None = None,
          init: Segmenter | None = None, snapshots=()) -> Segmenter:
    """Train the segmentation U-Net.

    Parameters
    ----------
    real : (images, boundaries): (N, H, W) uint8 micrographs and (N, H, W) bool boundary
        maps (True on boundaries).
    synthetic : a second set (images, boundaries) of (M, H', W'), or None. With it, every
        mini-batch is half ``real``, half ``synthetic`` (:func:`mixed_batch`).
    params : a profile's ``segment`` section, whole or in part (None: the demo
        profile's); see ``python -m grainlib config --schema``.
    seed : seed of the weights, the mini-batches, the crops and flips.
    progress : show a progress bar with the loss.
    checkpoint : path of a checkpoint file: written every ``params["checkpoint_every"]``
        seconds and at the end; an existing one made with the same parameters, seed and
        data is resumed (one made otherwise is refused). None: no checkpoints.
    callback : ``callback(step, losses)`` after each step.
    augment : overrides ``params["augment"]`` when not None: False, True (flips and
        90-degree rotations) or ``"classical"`` (:func:`grainlib.learn.augment.classical`).
    init : a trained U-Net of the same architecture to start from (its weights and input
        standardisation; fine-tuning), instead of fresh weights.
    snapshots : step counts (1 .. steps) after which to keep a copy of the weights (one
        training read at several budgets, :func:`at_step`; the learning rate follows the
        schedule of the whole training). Not kept across a resumed checkpoint.

    Returns
    -------
    Segmenter. The same inputs, parameters and seed give the same network, with or
    without an interruption in between.
    """
    sets = [_pairs(real, "real")]
    if synthetic is not None:
        sets.append(_pairs(synthetic, "synthetic"))
    params = dict(config.section("segment", params))
    if augment is not None:
        params["augment"] = augment if augment == "classical" else bool(augment)
    device = training.resolve_device(params["device"])
    numeric = params["precision"] = amp.resolve(params["precision"], device)
    torch.manual_seed(seed)
    net = network(params).to(device)
    if init is not None:
        net.load_state_dict(init.net.state_dict())
    net = amp.layout(net, numeric)
    smallest = min(min(images.shape[1:]) for images, _ in sets)
    crop = params["crop"] if params["crop"] and params["crop"] < smallest else None
    if crop and crop % net.multiple:
        raise ValueError(f"segment.crop must be a multiple of 2**depth = {net.multiple}, "
                         f"got {crop}")
    if crop is None and len({images.shape[1:] for images, _ in sets}) > 1:
        raise ValueError("real and synthetic patches differ in size ("
                         + " vs ".join(str(images.shape[1:]) for images, _ in sets)
                         + "); set segment.crop to train on crops of one size")
    if init is not None:
        mean, std = init.mean, init.std
    else:
        pixels = np.concatenate([im.ravel() for im, _ in sets]).astype(np.float64) / 255.0
        mean, std = float(pixels.mean()), float(max(pixels.std(), 1e-3))
        del pixels
    snapshots, kept = training.snapshot_steps(snapshots, params["steps"]), {}
    cosine = params["lr_schedule"] == "cosine"
    if cosine and params["lr_decay_every"]:
        raise ValueError("segment.lr_schedule cosine and segment.lr_decay_every "
                         f"{params['lr_decay_every']} are two schedules; set one")
    optimizer = torch.optim.Adam(net.parameters(), lr=params["lr"], **amp.adam_options(numeric))
    scaler = amp.grad_scaler(numeric, device)
    weight = torch.tensor([1.0, params["boundary_weight"]], device=device)
    started, offset = time.perf_counter(), [0.0]

    def step(i, rng):
        image, label, _ = training_batch(rng, sets, params["batch_size"], crop,
                                         params["augment"])
        if params["lr_decay_every"] or cosine:
            factor = (training.cosine_factor(i, params["steps"], params["warmup_steps"])
                      if cosine else params["lr_decay_factor"] ** (i // params["lr_decay_every"]))
            for group in optimizer.param_groups:
                group["lr"] = params["lr"] * factor
        x, size = pad_to_multiple(standardised(image, mean, std, device), net.multiple)
        target = torch.from_numpy(label.astype(np.int64)).to(device)
        with amp.autocast(numeric, device):
            logits = crop_to(net(amp.layout(x, numeric)), size)
        loss = F.cross_entropy(logits.float(), target, weight=weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if i + 1 in snapshots:
            kept[i + 1] = training.cpu_weights(net)
        return {"loss": loss.item(), "seconds": offset[0] + time.perf_counter() - started}

    store = None
    if checkpoint is not None:
        made_of = {"version": VERSION, "params": _trained_params(params), "seed": seed,
                   "data": data_digest(*(a for pair in sets for a in pair))}
        if init is not None:
            made_of["init"] = weights_digest(init)
        store = training.Checkpoint(checkpoint, fingerprint(made_of))
        state = store.load()
        if state is not None and state["history"].get("seconds"):
            offset[0] = float(state["history"]["seconds"][-1])
    net.train()
    history = training.run_steps(
        step, params["steps"], modules={"net": net},
        optimizers={"net": optimizer, **amp.scaler_state(scaler)},
        seed=seed, checkpoint=store, checkpoint_every=params["checkpoint_every"],
        progress=progress, desc="U-Net", callback=callback)
    return Segmenter(net.eval(), params, history, mean, std, snapshots=kept)


def at_step(model: Segmenter, step: int) -> Segmenter:
    """The U-Net as it was after ``step`` steps, from ``model.snapshots``; its history cut
    there."""
    net = network(model.params)
    net.load_state_dict(training.snapshot(model.snapshots, step))
    return Segmenter(net.eval(), dict(model.params),
                     {k: list(v[:step]) for k, v in model.history.items()}, model.mean,
                     model.std)


def weights_digest(model: Segmenter) -> str:
    """Digest of a U-Net's weights and input standardisation."""
    arrays = [t.detach().cpu().numpy() for t in model.net.state_dict().values()]
    return data_digest(*arrays, np.array([model.mean, model.std]))


def _trained_params(params: dict) -> dict:
    """The parameters that change the weights (not where, how often it saves, or how
    probabilities become boundaries); the learning-rate decay only when on,
    ``pretrain_share`` never (it splits a training in two, see
    :mod:`grainlib.learn.recipes`), the cosine schedule's keys only when it is on and the
    precision as it resolves on the training device, only when not float32, so U-Nets
    stored before these keys keep their fingerprints."""
    decay = ("lr_decay_every", "lr_decay_factor")
    cosine = ("lr_schedule", "warmup_steps")
    trained = {k: v for k, v in params.items()
               if k not in ("device", "checkpoint_every", "pretrain_share", "precision",
                            *POSTPROCESS_KEYS)
               and not (k in decay and not params.get("lr_decay_every"))
               and not (k in cosine and params.get("lr_schedule", "constant") == "constant")}
    return {**trained, **amp.fingerprint_entry(params)}


def _as_stack(images, name="images") -> tuple[np.ndarray, bool]:
    single = np.ndim(images) == 2
    stack = training.check_stack(np.asarray(images)[None] if single else images, name,
                                 np.uint8)
    return stack, single


WHOLE = 1024 * 1024
"""The largest image, in pixels, that :func:`probability` runs in one pass; larger ones go
in tiles, one image at a time."""
TILE, MARGIN = 32, 8
"""The tiles, in multiples of the U-Net's downsampling (2**depth; depth 4: cores of 512 px
with 128 px of context, :mod:`grainlib.learn.tiles`): a 2400 x 2400 micrograph then needs
about a tenth of the memory of one pass. At that context the tiled probability of a
depth-4 U-Net is the one-pass one to float rounding, seams included (within 1e-6,
tests/test_tiles.py)."""


def probability(model: Segmenter, images, batch_size: int = 16, device: str = "auto",
                precision: str | None = None) -> np.ndarray:
    """Boundary probability of micrographs, at their native resolution.

    Parameters
    ----------
    model : a trained :class:`Segmenter`.
    images : (N, H, W) or (H, W) uint8 micrographs, any H, W (padded internally). Images
        over :data:`WHOLE` pixels go one at a time, in overlapping tiles
        (:func:`grainlib.learn.tiles.apply`, :data:`TILE`), so that memory stays bounded.
    batch_size : images per forward pass.
    device : torch device ("auto": CUDA when present).
    precision : numeric precision (:mod:`grainlib.learn.precision`); None:
        :func:`grainlib.learn.precision.inference` of the model's.

    Returns
    -------
    float32 array of the images' shape, in [0, 1]: the softmax probability of the
    boundary class. Deterministic (evaluation mode).
    """
    stack, single = _as_stack(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = training.resolve_device(device)
    numeric = amp.resolve(precision or amp.inference(model.params), device)
    net = amp.layout(model.net.to(device).eval(), numeric)

    def boundary(x):  # (B, 1, h, w) standardised -> (B, 1, h, w) float32 probability
        x, size = pad_to_multiple(amp.layout(x, numeric), net.multiple)
        with amp.autocast(numeric, device):
            logits = crop_to(net(x), size)
        return torch.softmax(logits.float(), 1)[:, 1:]

    large = stack.shape[1] * stack.shape[2] > WHOLE
    step = 1 if large else batch_size
    out = np.empty(stack.shape, np.float32)
    with torch.inference_mode():
        for start in range(0, len(stack), step):
            x = standardised(stack[start:start + step], model.mean, model.std, device)
            y = (tiles.apply(boundary, x, TILE * net.multiple, MARGIN * net.multiple,
                             net.multiple) if large else boundary(x))
            out[start:start + step] = y[:, 0].cpu().numpy()
    return out[0] if single else out


def predict(model: Segmenter, images, batch_size: int = 16, device: str = "auto",
            return_ids: bool = False, **postprocess) -> np.ndarray:
    """Closed boundary maps of micrographs, in the labels' convention.

    Parameters
    ----------
    model : a trained :class:`Segmenter`.
    images : (N, H, W) or (H, W) uint8 micrographs.
    batch_size, device : see :func:`probability`.
    return_ids : also return the grain ids.
    **postprocess : overrides of the model's ``postprocess``, ``threshold``,
        ``marker_depth``, ``min_grain``, ``line_width``.

    Returns
    -------
    bool array of the images' shape, True on boundaries
    (:func:`grainlib.core.grains.boundaries` of the predicted grains, width ``line_width``);
    with ``return_ids`` also the (N, H, W) int32 grain ids.
    """
    unknown = set(postprocess) - set(POSTPROCESS_KEYS)
    if unknown:
        raise TypeError(f"unknown post-processing options {sorted(unknown)}; known: "
                        f"{', '.join(POSTPROCESS_KEYS)}")
    options = {key: model.params.get(key, config.SCHEMA["segment"][key].default)
               for key in POSTPROCESS_KEYS}
    options.update(postprocess)
    width = options.pop("line_width")
    prob = probability(model, images, batch_size, device)
    single = prob.ndim == 2
    prob = prob[None] if single else prob
    ids = np.stack([grain_ids(p, **options) for p in prob])
    out = np.stack([grains.boundaries(i, width) for i in ids])
    if single:
        out, ids = out[0], ids[0]
    return (out, ids) if return_ids else out


def save(model: Segmenter, path, extra: dict | None = None) -> Path:
    """Write the U-Net, its parameters, history and input statistics to ``path``."""
    return training.save_model(path, KIND, VERSION, model.net,
                               {"params": model.params, "history": model.history,
                                "mean": model.mean, "std": model.std}, extra)


def load(path) -> Segmenter:
    """Read a U-Net written by :func:`save`."""
    state = training.read_model(path, KIND, "segmentation model")
    net = network(state["params"])
    net.load_state_dict(state["state"])
    return Segmenter(net.eval(), state["params"], state["history"], float(state["mean"]),
                     float(state["std"]))


# --------------------------------------------------------------------------- step


def model_path(cfg, training_set: str, fraction: int, seed: int) -> Path:
    """Where :func:`build` keeps a U-Net."""
    return (Path(cfg["run_dir"]) / "segment"
            / f"{training_set}-{int(fraction)}-seed{int(seed)}.pt")


def check_training_set(training_set: str) -> str:
    if training_set not in TRAINING_SETS:
        raise ValueError(f"unknown training set {training_set!r}; allowed: "
                         + ", ".join(TRAINING_SETS))
    return training_set


def paper_name(training_set: str, fraction: int) -> str:
    """A training set's name in the paper's notation, e.g. ``paper_name("real+synthetic", 5)``
    is ``"Mixed(Real_5% + Synthetic^5_100%)"`` (the simulated sets take X = 100)."""
    x = effective_fraction(check_training_set(training_set), fraction)
    return {"real": f"Real_{x}%", "simulated": "Simulated_100%",
            "real+simulated": "Mixed(Real_100% + Simulated_100%)",
            "real+synthetic": f"Mixed(Real_{x}% + Synthetic^{x}_100%)",
            "synthetic": f"Synthetic^{x}_100%",
            "real+flips": f"Real_{x}% + flips"}[training_set]


def effective_fraction(training_set: str, fraction: int) -> int:
    """The real fraction a training set uses: 100 for the simulated ones."""
    return 100 if training_set in ("simulated", "real+simulated") else int(fraction)


def training_data(cfg, training_set: str, fraction: int, seed: int, progress: bool = True):
    """``(real, synthetic, augment)`` of a training set, as :func:`train` takes them:
    pairs (images, boundaries), the second None for single sets."""
    check_training_set(training_set)
    data = datasets.load(cfg)
    pair = lambda patches: (patches.images, patches.boundaries)  # noqa: E731
    if training_set == "simulated":
        return pair(data.simulated), None, False
    if training_set == "real+simulated":
        return pair(data.real_fraction(100)), pair(data.simulated), False
    real = pair(data.real_fraction(int(fraction)))
    if training_set in ("real", "real+flips"):
        return real, None, training_set == "real+flips"
    synthetic = pair(transfer.build(cfg, int(fraction), seed, progress=progress).synthetic)
    return (synthetic, None, False) if training_set == "synthetic" else (real, synthetic, False)


def build(cfg, training_set: str, fraction: int, seed: int | None = None,
          progress: bool = True) -> Segmenter:
    """The chapter-04 step: the U-Net of one training set, real fraction and seed,
    trained only when missing.

    Reads the datasets stored by chapter 02 (:func:`grainlib.data.datasets.load`) and, for the
    synthetic sets, the synthetic images of chapter 03 (:func:`grainlib.learn.transfer.build`,
    which makes them when missing). Writes
    ``runs/<profile>/segment/<training_set>-<fraction>-seed<seed>.pt`` (a checkpoint
    beside it while training), fingerprinted by the parameters, seed and training data.

    Parameters
    ----------
    cfg : a loaded profile (:func:`grainlib.core.config.load`).
    training_set : one of :data:`TRAINING_SETS`.
    fraction : real fraction X, one of ``cfg["data"]["fractions"]`` (taken as 100 for
        "simulated" and "real+simulated").
    seed : training seed (None: the profile's ``seed``).

    Returns
    -------
    Segmenter, predicting with the profile's current post-processing parameters and
    ``line_width = data.boundary_width``.
    """
    check_training_set(training_set)
    seed = int(cfg["seed"] if seed is None else seed)
    fraction = effective_fraction(training_set, fraction)
    real, synthetic, augment = training_data(cfg, training_set, fraction, seed, progress)
    params = {**cfg["segment"], "line_width": cfg["data"]["boundary_width"]}
    arrays = [*real] + ([*synthetic] if synthetic is not None else [])
    key = model_key(params, seed, arrays, training_set=training_set, fraction=fraction,
                    augment=augment)
    return stored_model(model_path(cfg, training_set, fraction, seed), key, real, synthetic,
                        params, seed, progress, augment)


def model_key(params: dict, seed: int, arrays, **what) -> str:
    """Fingerprint of a U-Net: the parameters that change its weights, the seed, a digest of
    its training ``arrays`` (images and boundary maps) and what else names it (``what``:
    JSON-able values such as the training set)."""
    return fingerprint({"version": VERSION, "params": _trained_params(params), "seed": int(seed),
                        "data": data_digest(*arrays), **what})


def stored_model(path, key: str, real, synthetic, params: dict, seed: int,
                 progress: bool = True, augment: bool | str | None = None,
                 init: Segmenter | None = None) -> Segmenter:
    """The U-Net stored at ``path`` under the fingerprint ``key``; trained by :func:`train`
    and stored there (a checkpoint beside it while training) when missing or made
    otherwise.

    Parameters
    ----------
    path : the model file (``.pt``).
    key : fingerprint of everything the weights depend on (:func:`grainlib.core.store.fingerprint`).
    real, synthetic, params, seed, progress, augment, init : as :func:`train`; ``params``
        is a whole ``segment`` section (``key`` must cover ``init``).

    Returns
    -------
    Segmenter, predicting with the post-processing and device of ``params`` (these do not
    change the weights, so they are not part of ``key``).
    """
    path = Path(path)
    model = load(path) if training.stored_fingerprint(path) == key else None
    if model is None:
        partial = training.checkpoint_for(path, key)
        model = train(real, synthetic, params, seed=seed, progress=progress,
                      checkpoint=partial, augment=augment, init=init)
        save(model, path, {"fingerprint": key})
        partial.unlink(missing_ok=True)
        model.trained_now = True
    model.params.update({k: params[k] for k in POSTPROCESS_KEYS + ("device",) if k in params})
    return model
