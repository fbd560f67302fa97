"""Scores on the real test patches: every U-Net of a real fraction and seed, and the four
classical baselines, patch by patch. The chapter-05 step.

Each method predicts a boundary map of every test patch (``datasets.load(cfg).test``,
cut from test images no training step has seen); :func:`grainlib.score.metrics.evaluate`
scores it against the true map (MAP and ARI, docs/method.md section 6). The baselines
use the profile's parameters (``cfg["baselines"]``: defaults tuned on training data,
never on these patches); the U-Nets are those :func:`grainlib.learn.segment.build` makes or
reuses, with the profile's post-processing.

Two checks beside the real test set:

- :func:`simulated_only` (the paper's Supplementary Table 1): a U-Net trained and tested
  on simulated patches only, the test patches cut from a slab of the Potts volume that
  no training patch reaches (:func:`held_out_split`);
- :func:`label_fidelity`: the U-Net trained on Real_X% scored on the synthetic images of
  the same fraction against their simulated labels, beside its score on real test patches.

>>> table = score(config.load("demo"), fraction=5, seed=0)     # doctest: +SKIP
>>> summary(table)                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grainlib.core.store import fingerprint
from grainlib.data import datasets
from grainlib.data.patches import PatchSet
from grainlib.learn import postprocess, segment, training, transfer
from grainlib.score import baselines, grainsize, metrics

VERSION = 2  # bump when the way scores are computed changes

COLUMNS = ["method", "training_set", "fraction", "seed", "patch", "MAP", "ARI",
           "intercept", "intercept_true", "intercept_error", "dG"]
"""Columns of :func:`score`'s table: the segmentation scores, then the grain size
(:func:`grainlib.score.grainsize.compare`: mean lineal intercepts in px, their relative
error, and the ASTM E112 grain size number of the prediction minus the label's)."""
BASELINE = "-"
"""``training_set`` of the baselines' rows (they are not trained)."""

DEFAULT_SETS = ("real", "simulated", "real+simulated", "real+synthetic")
"""The training sets of the paper's Table 4, scored by default."""


def scores_path(cfg, fraction: int, seed: int) -> Path:
    """Where :func:`score` keeps the table of a fraction and seed."""
    return Path(cfg["run_dir"]) / "scores" / f"scores-{int(fraction)}-seed{int(seed)}.csv"


def read_scores(path) -> pd.DataFrame:
    """A score table written by :func:`score` (CSV), with its text and number columns as
    they were: the baselines' ``training_set`` "-" stays text, an empty grain size (a
    patch with no grain size) reads as NaN."""
    table = pd.read_csv(path, keep_default_na=False)
    numbers = [c for c in COLUMNS[5:] if c in table]
    table[numbers] = table[numbers].apply(pd.to_numeric, errors="coerce")
    return table


def _rows(method: str, training_set: str, fraction: int, seed: int, preds, truths):
    preds, truths = list(preds), list(truths)
    table, _ = metrics.evaluate(preds, truths)
    sizes = grainsize.compare(preds, truths)
    return pd.DataFrame({"method": method, "training_set": training_set,
                         "fraction": int(fraction), "seed": int(seed),
                         "patch": np.arange(len(table)), "MAP": table["map"].to_numpy(),
                         "ARI": table["ari"].to_numpy(),
                         **{c: sizes[c].to_numpy() for c in COLUMNS[7:]}})


def score(cfg, fraction: int, seed: int | None = None, training_sets=DEFAULT_SETS,
          include_baselines: bool = True, progress: bool = True) -> pd.DataFrame:
    """Score the U-Nets of a real fraction and seed, and the baselines, on the test patches.

    Parameters
    ----------
    cfg : a loaded profile (:func:`grainlib.core.config.load`); its datasets must be built
        (chapter 02).
    fraction : real fraction X of the U-Nets (the simulated sets use 100).
    seed : training seed (None: the profile's ``seed``).
    training_sets : names from :data:`grainlib.learn.segment.TRAINING_SETS`.
    include_baselines : also score the four classical methods
        (:func:`grainlib.score.baselines.configured`).
    progress : show training progress of models that are missing.

    Returns
    -------
    tidy pandas DataFrame, one row per method, training set and test patch; columns
    ``method`` ("U-Net" or a Table 3 name), ``training_set`` (:data:`BASELINE` for the
    baselines), ``fraction`` (the U-Net's real fraction; the baselines' rows carry the
    requested one), ``seed``, ``patch`` (index into ``datasets.load(cfg).test``),
    ``MAP``, ``ARI``. Stored as ``runs/<profile>/scores/scores-<fraction>-seed<seed>.csv``
    with a fingerprint of the models and parameters beside it, and reused while that
    fingerprint holds. ``table.attrs["trained_now"]`` lists the training sets whose U-Net
    this call trained (empty when every model was read back).
    """
    seed = int(cfg["seed"] if seed is None else seed)
    training_sets = [segment.check_training_set(name) for name in training_sets]
    test = datasets.load(cfg).test
    models = {name: segment.build(cfg, name, fraction, seed, progress=progress)
              for name in training_sets}
    keys = {}
    for name in training_sets:
        path = segment.model_path(cfg, name, segment.effective_fraction(name, fraction), seed)
        keys[name] = training.stored_fingerprint(path)
    key = fingerprint({
        "version": VERSION, "models": keys, "fraction": int(fraction), "seed": seed,
        "postprocess": {k: cfg["segment"][k] for k in postprocess.POSTPROCESS_KEYS
                        if k in cfg["segment"]},
        "baselines": cfg["baselines"] if include_baselines else None,
        "test": datasets.piece_params(cfg)["data_test"]})
    path = scores_path(cfg, fraction, seed)
    stamp = path.with_suffix(".json")
    trained_now = [name for name, model in models.items() if model.trained_now]
    if path.is_file() and stamp.is_file() and json.loads(stamp.read_text()).get("key") == key:
        table = read_scores(path)
        table.attrs["trained_now"] = trained_now
        return table
    frames = []
    for name, model in models.items():
        preds = segment.predict(model, test.images)
        frames.append(_rows("U-Net", name, segment.effective_fraction(name, fraction), seed,
                            preds, test.boundaries))
    if include_baselines:
        for name, method in baselines.configured(cfg).items():
            preds = [method(image) for image in test.images]
            frames.append(_rows(name, BASELINE, fraction, seed, preds, test.boundaries))
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)  # a table killed half-written is never trusted
    table.to_csv(path, index=False)
    stamp.write_text(json.dumps({"key": key}))
    table.attrs["trained_now"] = trained_now
    return table


def segmentation_examples(cfg, table: pd.DataFrame, fraction: int, seed: int | None = None,
                          patches=(0,)) -> dict:
    """Test patches with every U-Net's prediction, to draw (the paper's Fig. 4).

    Parameters
    ----------
    cfg : a loaded profile.
    table : a :func:`score` table of ``fraction`` and ``seed``; its U-Net training sets,
        in order, are the ones drawn (their models are read back, :func:`segment.build`).
    fraction, seed : those of the table (seed None: the profile's).
    patches : indices of the test patches to show.

    Returns
    -------
    dict with the arguments of :func:`grainlib.view.report.fig4_segmentation`: ``images``
    (K, H, W) uint8, ``truths`` (K, H, W) bool, ``preds`` {paper's name of the training
    set: (K, H, W) bool}, ``scores`` {same names: (K,) MAP per patch, from ``table``}.
    """
    seed = int(cfg["seed"] if seed is None else seed)
    test = datasets.load(cfg).test
    patches = np.atleast_1d(np.asarray(patches, np.int64))
    if patches.size == 0 or patches.min() < 0 or patches.max() >= len(test):
        raise ValueError(f"patches must index the {len(test)} test patches, got {patches}")
    unet = table[table["method"] == "U-Net"]
    preds, scores = {}, {}
    for name in unet["training_set"].drop_duplicates():
        rows = unet[unet["training_set"] == name].set_index("patch")
        title = segment.paper_name(name, fraction)
        model = segment.build(cfg, name, fraction, seed, progress=False)
        preds[title] = segment.predict(model, test.images[patches])
        scores[title] = rows.loc[patches, "MAP"].to_numpy()
    return {"images": test.images[patches], "truths": test.boundaries[patches],
            "preds": preds, "scores": scores}


def summary(table: pd.DataFrame, by=("method", "training_set", "fraction")) -> pd.DataFrame:
    """Mean and standard deviation over patches of MAP and ARI per group: by default per
    method and training set (and fraction), a Table 3/4-style view of :func:`score`'s
    table; ``by=["images"]`` for :func:`label_fidelity`'s. Adds ``patches``, the count."""
    by = list(by)
    missing = [c for c in by + ["MAP", "ARI"] if c not in table.columns]
    if missing:
        raise KeyError(f"score table has no column(s) {missing}; columns: {list(table.columns)}")
    groups = table.groupby(by, sort=False)
    out = groups[["MAP", "ARI"]].agg(["mean", "std"]).round(3)
    out[("patches", "")] = groups.size()
    return out


# --------------------------------------------------------------------------- Supp. Table 1

PAPER_SPLIT = 2.8
"""Simulated training : test patches in the paper's Supplementary Note 3 (2.8 : 1, as the
real data)."""
SIMULATED_ONLY = "simulated-only"
"""``training_set`` of :func:`simulated_only`'s rows."""


def plane_coverage(patches: PatchSet, depth: int, zoom: int = 1) -> np.ndarray:
    """Which planes along axis 0 (z) of the Potts volume each simulated patch shows.

    A patch of an axis-0 section lies in one plane, its section index. A patch of an
    axis-1 or axis-2 section runs along z with its rows: row r shows plane
    ``(origin_row + r // zoom) % depth`` (the cut of :func:`grainlib.data.patches.periodic_crops`).

    Parameters
    ----------
    patches : M simulated patches of side S (``axis``, ``image_index`` and ``origin`` as
        :func:`grainlib.data.patches.periodic_crops` sets them).
    depth : Z, the volume's number of planes along axis 0.
    zoom : pixels per lattice site the patches were cut with (``data.simulated_zoom``).

    Returns
    -------
    (M, depth) bool, True where patch m shows plane z.
    """
    axis = np.asarray(patches.axis, np.int64)
    index = np.asarray(patches.image_index, np.int64)
    origin = np.asarray(patches.origin, np.int64).reshape(-1, 2)
    if depth < 1 or not (isinstance(zoom, (int, np.integer)) and zoom >= 1):
        raise ValueError(f"depth and zoom must be integers >= 1, got {depth} and {zoom!r}")
    if axis.size and not np.isin(axis, (0, 1, 2)).all():
        raise ValueError("patches must be sections of a volume (axis 0, 1 or 2); these hold "
                         f"axis values {sorted(set(axis.tolist()) - {0, 1, 2})}")
    flat = axis == 0
    if (index[flat] < 0).any() or (index[flat] >= depth).any():
        raise ValueError(f"an axis-0 section index lies outside 0..{depth - 1}")
    cover = np.zeros((len(axis), depth), bool)
    cover[np.flatnonzero(flat), index[flat]] = True
    rows = (origin[~flat, :1] + np.arange(patches.size)[None] // zoom) % depth
    cover[np.repeat(np.flatnonzero(~flat), rows.shape[1]), rows.ravel()] = True
    return cover


def held_out_planes(depth: int, gap: int, split: float = PAPER_SPLIT):
    """The planes of the held-out slab, and those training may use.

    The volume is periodic along z, so the slab has neighbours on both sides. Planes
    ``0 .. gap-1`` are left out, then come the ``n_test`` test planes, ``gap`` more left
    out, and the remaining ``depth - n_test - 2 gap`` planes are for training, with
    ``n_test = round((depth - 2 gap) / (split + 1))`` (at least 1) so that training and
    test planes are about ``split : 1``. Every training plane is then more than ``gap``
    planes from every test plane, across the periodic boundary too.

    Parameters
    ----------
    depth : Z, planes of the volume along axis 0.
    gap : planes left out on each side of the slab (>= 0).
    split : training : test planes (paper: 2.8).

    Returns
    -------
    train_planes, test_planes : sorted int64 plane indices, disjoint.
    """
    depth, gap = int(depth), int(gap)
    if gap < 0 or split <= 0:
        raise ValueError(f"gap must be >= 0 and split > 0, got gap={gap}, split={split}")
    free = depth - 2 * gap
    n_test = max(1, int(round(free / (split + 1))))
    if free - n_test < 1:
        raise ValueError(f"a volume of {depth} planes leaves no training plane with a gap of "
                         f"{gap} planes on each side of the held-out slab; use a smaller gap")
    return (np.arange(n_test + 2 * gap, depth, dtype=np.int64),
            np.arange(gap, gap + n_test, dtype=np.int64))


def held_out_split(patches: PatchSet, depth: int, gap: int, zoom: int = 1,
                   split: float = PAPER_SPLIT):
    """Simulated patches to train on and to test on, from planes a gap apart.

    A patch is a test patch when every plane it shows (:func:`plane_coverage`) lies in
    the held-out slab of :func:`held_out_planes`, a training patch when every plane it
    shows lies in the training planes; a patch touching the gap, or both sides, is used
    for neither. So no training patch shows a plane within ``gap`` planes of a test
    plane. Deterministic: it depends on the patches' positions only, not on a seed.

    Parameters
    ----------
    patches : the simulated patches (``Datasets.simulated``).
    depth, gap, split : see :func:`held_out_planes`.
    zoom : see :func:`plane_coverage`.

    Returns
    -------
    train, test : sorted int64 indices into ``patches``, disjoint, both non-empty.
    """
    cover = plane_coverage(patches, depth, zoom)
    train_planes, test_planes = held_out_planes(depth, gap, split)
    outside_train = np.ones(depth, bool)
    outside_train[train_planes] = False
    outside_test = np.ones(depth, bool)
    outside_test[test_planes] = False
    train = np.flatnonzero(~(cover & outside_train).any(1))
    test = np.flatnonzero(~(cover & outside_test).any(1))
    if not train.size or not test.size:
        raise ValueError(f"of {len(cover)} simulated patches, {train.size} lie wholly in the "
                         f"training planes and {test.size} in the held-out slab (planes "
                         f"{test_planes[0]}..{test_planes[-1]} of {depth}); cut more patches "
                         "or use a smaller gap")
    return train, test


def section_gap(mean_area: float, zoom: int = 1) -> int:
    """Planes to leave between held-out and training sections: one mean grain diameter,
    ``ceil(sqrt(4 A / pi) / zoom)`` lattice planes for a mean section grain area ``A`` in
    pixels (``Datasets.snapshot_areas``). Sections that far apart cut mostly other grains,
    and the grains they share in other cross-sections."""
    if not mean_area > 0:
        raise ValueError(f"mean grain area must be > 0 px, got {mean_area}")
    return int(math.ceil(math.sqrt(4 * mean_area / math.pi) / zoom))


def shared_grains(train_ids, test_ids) -> float:
    """Share of the 3D grains shown in the test patches that a training patch shows too.

    Parameters
    ----------
    train_ids, test_ids : integer grain ids of simulated patches, any shapes (Potts ids:
        one id per 3D grain, the same in every section).

    Returns
    -------
    float in [0, 1] (NaN without test grains). Across a gap, a shared grain is another
    cross-section of the same grain, not a copy.
    """
    test = np.unique(np.asarray(test_ids))
    if not test.size:
        return float("nan")
    return float(np.isin(test, np.unique(np.asarray(train_ids))).mean())


@dataclass
class HeldOut:
    """What :func:`simulated_only` returns.

    Attributes
    ----------
    table : one row per test patch, the columns of :func:`score` (``training_set``
        :data:`SIMULATED_ONLY`, ``fraction`` 100, ``patch`` the index into
        ``Datasets.simulated``).
    train, test : int64 indices into ``Datasets.simulated``.
    train_planes, test_planes : int64 z planes of the volume on each side.
    gap : planes left out on each side of the slab.
    shared_grains : :func:`shared_grains` of the two sides.
    model : the U-Net trained on the ``train`` patches.
    """

    table: pd.DataFrame
    train: np.ndarray
    test: np.ndarray
    train_planes: np.ndarray
    test_planes: np.ndarray
    gap: int
    shared_grains: float
    model: segment.Segmenter


def simulated_model_path(cfg, seed: int) -> Path:
    """Where :func:`simulated_only` keeps its U-Net."""
    return Path(cfg["run_dir"]) / "segment" / f"{SIMULATED_ONLY}-seed{int(seed)}.pt"


def simulated_only(cfg, seed: int | None = None, gap: int | None = None,
                   progress: bool = True) -> HeldOut:
    """The paper's Supplementary Table 1: a U-Net trained and tested on simulated data.

    The simulated patches of chapter 02 are sections of one Potts volume, and sections a
    plane apart are near-copies, so a random split would test on copies of training
    patches. The test patches are the sections of a slab of the volume instead, and the
    training patches come from planes more than ``gap`` planes away on either side
    (:func:`held_out_split`), training : test planes 2.8 : 1 as in the paper. Trained with
    :func:`grainlib.learn.segment.train` and the profile's ``segment`` parameters (the budget
    of every other U-Net), stored as ``runs/<profile>/segment/simulated-only-seed<seed>.pt``
    with a fingerprint of the parameters, seed and training patches, and reused while it
    holds.

    Parameters
    ----------
    cfg : a loaded profile; its datasets must be built (chapter 02).
    seed : training seed (None: the profile's ``seed``).
    gap : planes left out on each side of the slab; None: one mean grain diameter of the
        chosen snapshot (:func:`section_gap`).
    progress : show training progress when the model is missing.

    Returns
    -------
    HeldOut.
    """
    seed = int(cfg["seed"] if seed is None else seed)
    data = datasets.load(cfg)
    zoom, depth = int(cfg["data"]["simulated_zoom"]), int(cfg["potts"]["shape"][0])
    if gap is None:
        areas = data.snapshot_areas
        gap = section_gap(float(areas.loc[areas["chosen"], "mean_area"].iloc[0]), zoom)
    simulated = data.simulated
    train, test = held_out_split(simulated, depth, gap, zoom)
    train_planes, test_planes = held_out_planes(depth, gap)
    pair = (simulated.images[train], simulated.boundaries[train])
    params = {**cfg["segment"], "line_width": cfg["data"]["boundary_width"]}
    key = segment.model_key(params, seed, pair, training_set=SIMULATED_ONLY, gap=int(gap),
                            augment=False)
    model = segment.stored_model(simulated_model_path(cfg, seed), key, pair, None, params,
                                 seed, progress, augment=False)
    preds = segment.predict(model, simulated.images[test])
    table = _rows("U-Net", SIMULATED_ONLY, 100, seed, preds, simulated.boundaries[test])
    table["patch"] = test
    return HeldOut(table, train, test, train_planes, test_planes, int(gap),
                   shared_grains(simulated.grain_ids[train], simulated.grain_ids[test]), model)


# --------------------------------------------------------------------------- label fidelity


def score_sets(predict, sets: dict) -> pd.DataFrame:
    """Score one segmentation on several labelled image sets.

    Parameters
    ----------
    predict : callable, (N, H, W) uint8 images -> (N, H, W) bool boundary maps (e.g.
        ``lambda x: segment.predict(model, x)``).
    sets : {name: (images, boundaries)}, (N, H, W) uint8 images and (N, H, W) bool true
        boundary maps (sizes may differ between sets).

    Returns
    -------
    tidy DataFrame, one row per set and patch: ``images`` (the set's name), ``patch``
    (index in the set), ``MAP``, ``ARI`` (:func:`grainlib.score.metrics.evaluate`).
    """
    if not sets:
        raise ValueError("no image sets to score")
    frames = []
    for name, pair in sets.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"set {name!r} must be a pair (images, boundaries)")
        images, truths = training.check_pairs(pair[0], pair[1], f"set {name!r}: ")
        preds = np.asarray(predict(images))
        if preds.shape != truths.shape:
            raise ValueError(f"set {name!r}: predict returned shape {preds.shape} for images "
                             f"of shape {images.shape}")
        table, _ = metrics.evaluate(list(preds.astype(bool)), list(truths))
        frames.append(pd.DataFrame({"images": name, "patch": np.arange(len(table)),
                                    "MAP": table["map"].to_numpy(),
                                    "ARI": table["ari"].to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def label_fidelity(cfg, fraction: int, seed: int | None = None,
                   progress: bool = True) -> pd.DataFrame:
    """Do the synthetic images carry their labels? The U-Net of Real_X% on three sets.

    The U-Net trained on the real patches of the fraction X (:func:`grainlib.learn.segment.build`,
    training set "real") segments the real test patches, the synthetic images of the
    generator trained on the same fraction (:func:`grainlib.learn.transfer.build`), scored
    against the simulated labels they were drawn from, and the flat simulated images of
    those labels; of the last two, as many as there are real test patches, evenly spaced.
    If the synthetic images are faithful to their labels (and look real), the
    real-trained model segments them about as well as real images; a generator that
    moves, drops or invents boundaries scores lower.

    Parameters
    ----------
    cfg : a loaded profile; its datasets must be built (chapter 02).
    fraction : real fraction X, one of ``cfg["data"]["fractions"]``.
    seed : seed of both networks (None: the profile's ``seed``).
    progress : show training progress of a model that is missing.

    Returns
    -------
    tidy DataFrame of :func:`score_sets` (``images``: "real test", "Synthetic^X_100%",
    "simulated (flat)") with ``model`` (the paper's name of the training set),
    ``fraction`` and ``seed`` columns.
    """
    seed = int(cfg["seed"] if seed is None else seed)
    model = segment.build(cfg, "real", fraction, seed, progress=progress)
    synthetic = transfer.build(cfg, fraction, seed, progress=progress).synthetic
    data = datasets.load(cfg)
    # As many synthetic and flat patches as there are real test patches, evenly spaced
    # through the simulated ones (the same labels in both): equal sample sizes, a fifth
    # of the time of all of them at the demo profile.
    some = np.unique(np.linspace(0, len(synthetic) - 1, min(len(data.test), len(synthetic)))
                     .round().astype(int))
    sets = {"real test": (data.test.images, data.test.boundaries),
            f"Synthetic^{int(fraction)}_100%": (synthetic.images[some],
                                                synthetic.boundaries[some]),
            "simulated (flat)": (data.simulated.images[some], data.simulated.boundaries[some])}
    table = score_sets(lambda images: segment.predict(model, images), sets)
    table.insert(1, "model", segment.paper_name("real", fraction))
    table.insert(2, "fraction", int(fraction))
    table.insert(3, "seed", seed)
    return table
