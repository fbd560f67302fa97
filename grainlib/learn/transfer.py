"""Style transfer: pix2pix learns label -> micrograph on real patches, then turns
simulated labels into *synthetic* micrographs that carry those labels exactly.

The objective is pix2pix's, L_cGAN(G, D) + lambda * L1(G) (Isola et al. 2017; the paper's
"Image style transfer" method, lambda = 100): the generator
:class:`grainlib.learn.nets.UNetGenerator` maps a boundary map to a grey image, the
discriminator :class:`PatchGAN <grainlib.learn.nets.PatchDiscriminator>` judges (label,
image) pairs patch by patch. Adam (lr 2e-4, beta1 0.5) at a constant rate, then a linear decay
to zero; images scaled to [-1, 1]; label and image flipped and rotated together.

Two variants (``transfer.variant``). ``"authors"``: the authors' code, their ``unet_16``
and PatchGAN with N(0, 0.02) weights, the vanilla GAN loss (the log loss of a sigmoid
discriminator), no image pool, and generation in training mode (each image's own batch
statistics). ``"ours"``, the default: our generator (resize-convolution decoder, dropout),
a least-squares GAN loss and generation in evaluation mode; no image pool either. The
choices where the paper is silent are in docs/method.md (style transfer).

Either variant can be made stochastic and pushed towards texture rather than the mean
image (neither is the paper's): ``transfer.noise`` injects noise maps into the decoder
(:class:`grainlib.learn.nets.NoiseInjection`), so that one label gives many plausible
micrographs, and ``transfer.texture_weight`` adds a texture term, the L1 distance between
the Gram matrices of the discriminator's features of the generated and the real pair
(:func:`grainlib.learn.nets.gram`), which asks for the real image's texture statistics
but not for its pixels. An L1 weight of 100 alone drives a deterministic generator to
the conditional mean, where etch texture averages away.

>>> model = train(labels, images, {"steps": 200})      # doctest: +SKIP
>>> synthetic = generate(model, simulated_labels)      # doctest: +SKIP
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from grainlib.core import config
from grainlib.core.store import Store, data_digest, fingerprint
from grainlib.data import datasets
from grainlib.learn import precision as amp
from grainlib.learn import training
from grainlib.learn.nets import (
    PatchDiscriminator,
    UNetGenerator,
    crop_to,
    gram,
    init_normal,
    pad_to_multiple,
)

VERSION = 2  # bump when training or generation changes what a given seed produces
KIND = "grainlib.transfer.StyleTransfer"  # the model files' format tag, not a module path
_ARCHITECTURE = ("width", "depth", "max_width")
# what a null gan_loss or generation means for each variant
_VARIANT_DEFAULTS = {"ours": {"gan_loss": "lsgan", "generation": "eval"},
                     "authors": {"gan_loss": "vanilla", "generation": "train"}}


@dataclass
class StyleTransfer:
    """A trained generator with what made it.

    Attributes
    ----------
    net : the generator, in evaluation mode.
    params : the ``transfer`` section it was trained with.
    history : {"D", "G_GAN", "G_L1", "seconds"} (and "G_texture" with a texture term):
        per-step losses and cumulative training seconds.
    snapshots : {step: generator weights after that many steps}, the ones
        :func:`train` was asked to keep (not written by :func:`save`); see :func:`at_step`.
    """

    net: UNetGenerator
    params: dict
    history: dict = field(default_factory=dict)
    snapshots: dict = field(default_factory=dict, repr=False)

    @property
    def steps(self) -> int:
        return len(self.history.get("G_L1", []))

    @property
    def train_seconds(self) -> float:
        return training.elapsed(self.history)


def setting(params: dict, key: str):
    """``params[key]`` for ``"variant"``, ``"gan_loss"`` or ``"generation"``, a null (or
    missing, in models saved before the key existed) taken as the variant's own."""
    variant = params.get("variant") or "ours"
    if key == "variant":
        return variant
    return params.get(key) or _VARIANT_DEFAULTS[variant][key]


def _generator(params) -> UNetGenerator:
    return UNetGenerator(**{key: params[key] for key in _ARCHITECTURE},
                         variant=setting(params, "variant"), noise=bool(params.get("noise")))


def _gan_loss(kind: str):
    if kind == "lsgan":
        return lambda logits, real: F.mse_loss(logits, torch.full_like(logits, float(real)))
    # vanilla: sigmoid then binary cross-entropy, in one numerically stable function
    return lambda logits, real: F.binary_cross_entropy_with_logits(
        logits, torch.full_like(logits, float(real)))


def _label_tensor(boundaries: np.ndarray, device) -> torch.Tensor:
    """bool (B, H, W) -> float (B, 1, H, W): +1 on boundaries, -1 inside grains."""
    return torch.from_numpy(np.where(boundaries, 1.0, -1.0).astype(np.float32))[:, None].to(device)


def steps_for(params: dict, n_patches: int) -> int:
    """Training steps: ``epochs`` passes over ``n_patches`` when set, else ``steps``."""
    if params["epochs"]:
        return int(np.ceil(params["epochs"] * n_patches / params["batch_size"]))
    return int(params["steps"])


def train(labels, images, params=None, seed: int = 0, progress: bool = True,
          checkpoint=None, callback=None, snapshots=()) -> StyleTransfer:
    """Train pix2pix on real patches: boundary map -> micrograph.

    Parameters
    ----------
    labels : (N, H, W) bool boundary maps (True on boundaries).
    images : (N, H, W) uint8 micrographs of those labels.
    params : a profile's ``transfer`` section, whole or in part (None: the demo profile's);
        see ``python -m grainlib config --schema``.
    seed : seed of the weights, the mini-batches, the crops, flips and dropout (``ours``).
    progress : show a progress bar with the losses.
    checkpoint : path of a checkpoint file: written every ``params["checkpoint_every"]``
        seconds and at the end; an existing one made with the same parameters, seed and
        data is resumed (one made otherwise is refused). None: no checkpoints.
    callback : ``callback(step, losses)`` after each step.
    snapshots : step counts (1 .. steps) after which to keep a copy of the generator's
        weights, in ``StyleTransfer.snapshots`` (one long training read at several budgets;
        the learning rate follows the schedule of the whole training). Not kept across a
        resumed checkpoint: ask for the steps of a fresh training.

    Returns
    -------
    StyleTransfer. The same inputs, parameters and seed give the same generator, with or
    without an interruption in between.
    """
    images, labels = training.check_pairs(images, labels, "real ")
    params = config.section("transfer", params)
    device = training.resolve_device(params["device"])
    numeric = params["precision"] = amp.resolve(params["precision"], device)
    steps = steps_for(params, len(images))
    snapshots = training.snapshot_steps(snapshots, steps)
    torch.manual_seed(seed)
    generator = _generator(params)
    discriminator = PatchDiscriminator(params["disc_width"], params["disc_layers"])
    if setting(params, "variant") == "authors":
        init_normal(discriminator)
    generator = amp.layout(generator.to(device), numeric)
    discriminator = amp.layout(discriminator.to(device), numeric)
    adam = dict(lr=params["lr"], betas=(params["beta1"], 0.999), **amp.adam_options(numeric))
    opt_g = torch.optim.Adam(generator.parameters(), **adam)
    opt_d = torch.optim.Adam(discriminator.parameters(), **adam)
    scale_g, scale_d = amp.grad_scaler(numeric, device), amp.grad_scaler(numeric, device)
    gan = _gan_loss(setting(params, "gan_loss"))
    crop = params["crop"] if params["crop"] and params["crop"] < min(images.shape[1:]) else None
    if crop and crop % generator.multiple:
        raise ValueError(f"transfer.crop must be a multiple of 2**depth = {generator.multiple}, "
                         f"got {crop}")
    started, offset, kept = time.perf_counter(), [0.0], {}

    def step(i, rng):
        batch = training.random_batch(rng, len(images), params["batch_size"])
        label, image = training.random_crop(rng, [labels[batch], images[batch]], crop)
        if params["augment"]:
            label, image = training.flip_rotate(rng, [label, image])
        x, size = pad_to_multiple(amp.layout(_label_tensor(label, device), numeric),
                                  generator.multiple)
        y = amp.layout(torch.from_numpy(training.to_unit(image))[:, None].to(device), numeric)
        factor = training.lr_factor(i, steps, params["decay_from"])
        for optimizer in (opt_g, opt_d):
            for group in optimizer.param_groups:
                group["lr"] = params["lr"] * factor
        x_real = crop_to(x, size)
        with amp.autocast(numeric, device):
            fake = crop_to(generator(x), size)

        def judged(image):  # the discriminator's float32 logits of (label, image) pairs
            with amp.autocast(numeric, device):
                return discriminator(torch.cat([x_real, image], 1)).float()

        opt_d.zero_grad(set_to_none=True)
        loss_d = 0.5 * (gan(judged(fake.detach()), False) + gan(judged(y), True))
        scale_d.scale(loss_d).backward()
        scale_d.step(opt_d)
        scale_d.update()

        opt_g.zero_grad(set_to_none=True)
        discriminator.requires_grad_(False)
        loss_gan = gan(judged(fake), True)
        loss_l1 = F.l1_loss(fake.float(), y)
        loss = loss_gan + params["l1_weight"] * loss_l1
        losses = {"D": loss_d.item(), "G_GAN": loss_gan.item(), "G_L1": loss_l1.item()}
        if params["texture_weight"]:
            with amp.autocast(numeric, device):
                loss_texture = texture_loss(discriminator, x_real, fake, y).float()
            loss = loss + params["texture_weight"] * loss_texture
            losses["G_texture"] = loss_texture.item()
        scale_g.scale(loss).backward()
        discriminator.requires_grad_(True)
        scale_g.step(opt_g)
        scale_g.update()
        if i + 1 in snapshots:
            kept[i + 1] = training.cpu_weights(generator)
        return {**losses, "seconds": offset[0] + time.perf_counter() - started}

    store = None
    if checkpoint is not None:
        store = training.Checkpoint(checkpoint, fingerprint({
            "version": VERSION, "params": _trained_params(params), "seed": seed,
            "data": data_digest(labels, images)}))
        state = store.load()
        if state is not None and state["history"].get("seconds"):
            offset[0] = float(state["history"]["seconds"][-1])
    generator.train()
    discriminator.train()
    history = training.run_steps(
        step, steps, modules={"generator": generator, "discriminator": discriminator},
        optimizers={"generator": opt_g, "discriminator": opt_d,
                    **amp.scaler_state(scale_g, "generator_scaler"),
                    **amp.scaler_state(scale_d, "discriminator_scaler")},
        seed=seed, checkpoint=store,
        checkpoint_every=params["checkpoint_every"], progress=progress, desc="pix2pix",
        callback=callback)
    return StyleTransfer(generator.eval(), params, history, kept)


def texture_loss(discriminator, label, fake, real) -> torch.Tensor:
    """Mean L1 distance between the Gram matrices of the discriminator's features of
    (label, fake) and (label, real), over its layers; the real side carries no gradient."""
    with torch.no_grad():
        targets = [gram(f) for f in discriminator.features(torch.cat([label, real], 1))]
    made = discriminator.features(torch.cat([label, fake], 1))
    return sum(F.l1_loss(gram(f), g) for f, g in zip(made, targets)) / len(made)


def at_step(model: StyleTransfer, step: int) -> StyleTransfer:
    """The generator as it was after ``step`` steps, from ``model.snapshots``; its history
    cut there."""
    net = _generator(model.params)
    net.load_state_dict(training.snapshot(model.snapshots, step))
    return StyleTransfer(net.eval(), model.params,
                         {k: list(v[:step]) for k, v in model.history.items()})


def _trained_params(params: dict) -> dict:
    """The parameters that change what training produces (not where or how often it saves,
    nor how it generates), for fingerprints. ``gan_loss`` as it resolves; ``variant`` only
    when not ``"ours"``, ``noise`` and ``texture_weight`` only when set, the precision
    only when it resolves to other than float32: the generators trained before these keys
    existed keep their fingerprint."""
    trained = {k: v for k, v in params.items()
               if k not in ("device", "checkpoint_every", "generation", "variant", "precision")
               and not (k in ("noise", "texture_weight") and not v)}
    trained.update(amp.fingerprint_entry(params))
    trained["gan_loss"] = setting(params, "gan_loss")
    if setting(params, "variant") != "ours":
        trained["variant"] = setting(params, "variant")
    return trained


def generate(model: StyleTransfer, labels, batch_size: int = 16, device: str = "auto",
             mode: str | None = None, seed: int = 0, precision: str | None = None) -> np.ndarray:
    """Synthetic micrographs of boundary maps.

    Parameters
    ----------
    model : a trained :class:`StyleTransfer`.
    labels : (N, H, W) or (H, W) bool boundary maps, any H, W (padded internally).
    batch_size : maps per forward pass (``"eval"`` without noise; ``"train"`` and a
        generator with noise take one at a time).
    device : torch device ("auto": CUDA when present).
    mode : ``"eval"``: the generator in evaluation mode, batch norm on its running
        statistics and dropout off (our choice). ``"train"``: in training mode, one map at
        a time, as the authors' script: batch norm on each map's own statistics, dropout
        (``ours`` only) on, seeded by ``seed`` and the map's index. None: the model's
        ``generation`` parameter (:func:`setting`).
    seed : seed of the dropout in ``"train"`` mode and of the injected noise, per map.
    precision : numeric precision (:mod:`grainlib.learn.precision`); None:
        :func:`grainlib.learn.precision.inference` of the model's.

    Returns
    -------
    uint8 array of the labels' shape. Deterministic for a given mode and seed, whatever
    ``batch_size``; ``model`` is left as it was (``"train"`` runs a copy, so its running
    statistics do not move).
    """
    single = np.ndim(labels) == 2
    labels = training.check_stack(np.asarray(labels)[None] if single else labels,
                                  "labels", bool)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    mode = mode or setting(model.params, "generation")
    if mode not in ("eval", "train"):
        raise ValueError(f"mode must be 'eval' or 'train', got {mode!r}")
    device = training.resolve_device(device)
    numeric = amp.resolve(precision or amp.inference(model.params), device)
    net = amp.layout(model.net.to(device).eval(), numeric)
    if mode == "train":
        net = copy.deepcopy(net).train()
    seeded = mode == "train" or net.noise
    if seeded:
        batch_size = 1
    out = np.empty(labels.shape, np.uint8)
    forked = [device] if device.type == "cuda" else []  # the caller's random state stays
    with torch.no_grad(), torch.random.fork_rng(devices=forked):
        for start in range(0, len(labels), batch_size):
            if seeded:
                torch.manual_seed(int(np.random.SeedSequence([seed, start]).generate_state(1)[0]))
            x, size = pad_to_multiple(
                amp.layout(_label_tensor(labels[start:start + batch_size], device), numeric),
                net.multiple)
            with amp.autocast(numeric, device):
                y = crop_to(net(x), size)[:, 0].float().cpu().numpy()
            out[start:start + batch_size] = training.from_unit(y)
    return out[0] if single else out


def save(model: StyleTransfer, path, extra: dict | None = None) -> Path:
    """Write the generator, its parameters and history to ``path`` (a torch file)."""
    return training.save_model(path, KIND, VERSION, model.net,
                               {"params": model.params, "history": model.history}, extra)


def load(path) -> StyleTransfer:
    """Read a generator written by :func:`save`."""
    state = training.read_model(path, KIND, "style-transfer model")
    net = _generator(state["params"])
    net.load_state_dict(state["state"])
    return StyleTransfer(net.eval(), state["params"], state["history"])


# --------------------------------------------------------------------------- step


@dataclass
class Built:
    """What :func:`build` returns for one real fraction and seed.

    Attributes
    ----------
    model : the trained generator.
    synthetic : PatchSet of the simulated patches with their images replaced by synthetic
        ones (same grain ids and boundary maps as ``Datasets.simulated``).
    fraction, seed : what it was trained on and with.
    generate_seconds : seconds per synthetic patch when they were generated.
    trained_now : True when :func:`build` trained the generator rather than read it back.
    """

    model: StyleTransfer
    synthetic: object
    fraction: int
    seed: int
    generate_seconds: float
    trained_now: bool = False


def model_path(cfg, fraction: int, seed: int) -> Path:
    """Where :func:`build` keeps the generator of a fraction and seed."""
    return Path(cfg["run_dir"]) / "transfer" / f"generator-{fraction}-seed{seed}.pt"


def _trained_on(cfg, fraction: int, seed: int) -> dict:
    """What a generator of :func:`build` depends on, for its fingerprint."""
    pieces = datasets.piece_params(cfg)
    return {"version": VERSION, "params": _trained_params(cfg["transfer"]), "seed": int(seed),
            "fraction": int(fraction), "train": pieces["data_train"],
            "fractions": pieces["data_fractions"]}


def generator_key(cfg, fraction: int, seed: int) -> str:
    """The fingerprint :func:`build` stores with the generator of a fraction and seed:
    a stored generator is reused only while it is unchanged."""
    return fingerprint(_trained_on(cfg, fraction, seed))


def trained_fractions(cfg, seed: int | None = None) -> list[int]:
    """The real fractions whose generator :func:`build` has stored for the profile's
    present parameters and ``seed`` (None: the profile's)."""
    seed = int(cfg["seed"] if seed is None else seed)
    return [int(f) for f in sorted(set(cfg["data"]["fractions"]))
            if training.stored_fingerprint(model_path(cfg, f, seed)) == generator_key(cfg, f, seed)]


def build(cfg, fraction: int, seed: int | None = None, progress: bool = True) -> Built:
    """The chapter-03 step: the generator trained on the real fraction ``fraction`` % and
    the synthetic images of every simulated label, each made only when missing.

    Reads the datasets stored by chapter 02 (:func:`grainlib.data.datasets.load`). Writes the
    generator to ``runs/<profile>/transfer/generator-<fraction>-seed<seed>.pt`` (with a
    checkpoint beside it while training) and the synthetic images to
    ``synthetic_<fraction>_seed<seed>.h5``, both fingerprinted by the parameters, seed and
    data they depend on.

    Parameters
    ----------
    cfg : a loaded profile (:func:`grainlib.core.config.load`).
    fraction : real fraction X, one of ``cfg["data"]["fractions"]``.
    seed : training seed (None: the profile's ``seed``).
    """
    seed = int(cfg["seed"] if seed is None else seed)
    data = datasets.load(cfg)
    if int(fraction) not in data.fractions:
        raise ValueError(f"real fraction {fraction} % is not one of the profile's "
                         f"data.fractions: {sorted(data.fractions)}")
    real = data.real_fraction(int(fraction))
    params = cfg["transfer"]
    pieces = datasets.piece_params(cfg)
    key = generator_key(cfg, fraction, seed)
    path = model_path(cfg, fraction, seed)
    model = load(path) if training.stored_fingerprint(path) == key else None
    trained_now = model is None
    if trained_now:
        partial = training.checkpoint_for(path, key)
        model = train(real.boundaries, real.images, params, seed=seed, progress=progress,
                      checkpoint=partial)
        save(model, path, {"fingerprint": key})
        partial.unlink(missing_ok=True)

    # how it generates is not what it was trained with: the profile's present choice
    model.params = {**model.params, "generation": params.get("generation")}
    mode = setting(model.params, "generation")

    def make_synthetic():
        start = time.perf_counter()
        images = generate(model, data.simulated.boundaries, device=params["device"], mode=mode,
                          seed=seed)
        return {"images": images, "seconds": (time.perf_counter() - start) / len(images)}

    made_with = {"generator": key, "simulated": pieces["data_simulated"]}
    if mode != "eval":  # the synthetic sets made before the key existed keep theirs
        made_with["generation"] = mode
    synthetic = Store(cfg["run_dir"]).cached(f"synthetic_{fraction}_seed{seed}", made_with,
                                             make_synthetic)
    patches = data.simulated.subset(slice(None))
    patches.images = synthetic["images"]
    return Built(model, patches, int(fraction), seed, float(synthetic["seconds"]), trained_now)
