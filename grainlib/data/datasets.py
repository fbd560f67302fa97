"""The datasets of a profile: real split, train and test patches, real fractions, and
simulated patches from the Potts volume. The chapter-02 step.

:func:`build` makes every piece once and stores it in the run folder
(:class:`grainlib.core.store.Store`), each tagged with the parameters it depends on, so a
re-run reuses what has not changed; :func:`load` reads them back for later chapters.

Simulated data (`docs/method.md` sections 1-3): sections of the Potts volume along all three
axes cut into patches of the profile's size. The *simulated label* is the boundary map
of the section's grain ids (:func:`grainlib.core.grains.boundaries`, the width every source
uses). The *simulated image* is the section drawn flat: each 3D grain one grey level,
drawn uniformly from ``data.simulated_grey`` by a seeded lookup table, boundaries at
``data.simulated_boundary_grey`` (dark, like etched boundaries), no texture. The grain
size is matched to the real data: of the stored Potts snapshots, the one whose mean
section grain area in patches of the profile's size is closest (in log ratio) to that
of the real training patches is used.
"""

from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from grainlib.core import grains
from grainlib.core.store import Store, data_digest
from grainlib.data import patches, sources
from grainlib.data.patches import PatchSet
from grainlib.simulate import potts

VERSION = 1  # bump when the way any dataset is made changes

# Independent random streams drawn from the profile's one seed.
_SPLIT, _TRAIN_CROPS, _FRACTIONS, _SIMULATED_CROPS, _SIMULATED_GREYS = range(5)
# Simulated patches used to measure each snapshot's grain size (enough for a stable mean).
_MATCH_PATCHES = 96


def _seed(cfg, stream: int) -> int:
    return int(np.random.SeedSequence([int(cfg["seed"]), stream]).generate_state(1)[0])


@dataclass
class Datasets:
    """Every dataset of a profile.

    Attributes
    ----------
    real_images : (N, H, W) uint8 real micrographs.
    real_grain_ids : (N, H, W) int32 their grain ids.
    train_indices, test_indices : sorted int64 image indices of the split by image.
    train : PatchSet of random training patches (from ``train_indices`` only).
    test : PatchSet of grid test patches (from ``test_indices`` only).
    fractions : {percent: sorted int64 training image indices}, nested.
    simulated : PatchSet of simulated patches (flat-grey images, Potts grain ids).
    simulated_mcs : the Potts snapshot (MCS) the simulated patches were cut from.
    snapshot_areas : DataFrame, one row per snapshot: ``mcs``, ``mean_area`` (px, of
        grains not touching the patch frame), ``grains_per_patch``, ``chosen``.
    real_mean_area : mean grain area of the real training patches, same measure.
    """

    real_images: np.ndarray
    real_grain_ids: np.ndarray
    train_indices: np.ndarray
    test_indices: np.ndarray
    train: PatchSet
    test: PatchSet
    fractions: dict
    simulated: PatchSet
    simulated_mcs: int
    snapshot_areas: pd.DataFrame
    real_mean_area: float

    def real_fraction(self, percent: int) -> PatchSet:
        """The training patches of the real fraction ``percent`` % (one of ``fractions``)."""
        if percent not in self.fractions:
            raise KeyError(f"no real fraction {percent} %; built: {sorted(self.fractions)}")
        return self.train.from_images(self.fractions[percent])

    def summary(self) -> pd.DataFrame:
        """One row per dataset: images, patches, patch size."""
        rows = [("real images", len(self.real_images), "-",
                 f"{self.real_images.shape[1]} x {self.real_images.shape[2]}"),
                ("real train", len(self.train_indices), len(self.train), self.train.size),
                ("real test", len(self.test_indices), len(self.test), self.test.size)]
        rows += [(f"real {p} %", len(ids), len(self.real_fraction(p)), self.train.size)
                 for p, ids in sorted(self.fractions.items())]
        rows.append((f"simulated (MCS {self.simulated_mcs})", "-", len(self.simulated),
                     self.simulated.size))
        return pd.DataFrame(rows, columns=["dataset", "images", "patches", "patch size"])


# --------------------------------------------------------------------------- params


def piece_params(cfg) -> dict:
    """The parameters each stored piece depends on (each includes its inputs')."""
    data = cfg["data"]
    real = {"version": VERSION, **sources.source_signature(cfg)}
    split = {"real": real, "test_fraction": data["test_fraction"], "seed": cfg["seed"]}
    cutting = {"patch_size": data["patch_size"], "boundary_width": data["boundary_width"]}
    train = {"split": split, **cutting, "per_image": data["train_per_image"]}
    test = {"split": split, **cutting, "per_image": data["test_per_image"]}
    fractions = {"split": split, "fractions": sorted(set(data["fractions"]))}
    simulated = {"train": train, "potts": cfg["potts"], "seed": cfg["seed"], **cutting,
                 "count": data["simulated_patches"], "grey": list(data["simulated_grey"]),
                 "boundary_grey": data["simulated_boundary_grey"],
                 "zoom": data["simulated_zoom"],
                 "match_snapshot": data["match_snapshot"], "match_patches": _MATCH_PATCHES}
    return {"data_real": real, "data_split": split, "data_train": train, "data_test": test,
            "data_fractions": fractions, "data_simulated": simulated}


# --------------------------------------------------------------------------- pieces


def mean_grain_area(grain_ids) -> float:
    """Mean area of the grains of a stack of patches, pooled over all patches.

    Grains touching a patch frame are left out (their area is cut), so the value depends
    on the patch size: compare datasets at the same patch size.

    Parameters
    ----------
    grain_ids : (M, S, S) integer grain ids.

    Returns
    -------
    float, pixels; NaN when no grain lies inside a patch.
    """
    areas = [grains.grain_areas(ids) for ids in grain_ids]
    areas = np.concatenate(areas) if areas else np.zeros(0)
    return float(areas.mean()) if areas.size else float("nan")


def match_snapshot(volumes: dict, real_mean_area: float, size: int, count: int = _MATCH_PATCHES,
                   seed: int = 0, zoom: int = 1) -> pd.DataFrame:
    """Mean section grain area of each Potts snapshot, and which matches the real data.

    Parameters
    ----------
    volumes : {mcs: (Z, Y, X) int grain ids}, any mapping; each is read once, in MCS
        order, and let go before the next (a :class:`grainlib.simulate.potts.StoredSnapshots`
        reads them from disk one at a time).
    real_mean_area : mean grain area of the real patches (:func:`mean_grain_area`).
    size : patch side S, the same as the real patches'.
    count : simulated patches measured per snapshot (the same positions for each).
    seed : seed of the patch positions.
    zoom : pixels per lattice site (:func:`grainlib.data.patches.periodic_crops`).

    Returns
    -------
    DataFrame with one row per snapshot: ``mcs``, ``mean_area``, ``grains_per_patch``
    (grains not touching the frame), ``chosen`` (True for the one closest to
    ``real_mean_area`` in |log ratio|).
    """
    rows = []
    for mcs in sorted(volumes):
        crops = patches.periodic_crops(volumes[mcs], size, count, seed, zoom=zoom)
        areas = [grains.grain_areas(ids) for ids in crops.grain_ids]
        pooled = np.concatenate(areas)
        rows.append({"mcs": int(mcs),
                     "mean_area": float(pooled.mean()) if pooled.size else float("nan"),
                     "grains_per_patch": float(np.mean([a.size for a in areas]))})
    table = pd.DataFrame(rows)
    distance = np.abs(np.log(table["mean_area"] / real_mean_area)).fillna(np.inf)
    table["chosen"] = np.arange(len(table)) == int(np.argmin(distance.to_numpy()))
    return table


def simulated_patches(volume, size: int, count: int, seed: int = 0, boundary_width: int = 2,
                      grey_range=(120, 230), boundary_grey: int = 40, zoom: int = 1) -> PatchSet:
    """Simulated patches of a Potts volume: flat-grey images, grain ids, boundary maps.

    Patches are cut by :func:`grainlib.data.patches.periodic_crops` (sections along all three
    axes) and drawn by :func:`grainlib.data.patches.render_flat` (one grey per 3D grain, the
    same in every patch).

    Parameters
    ----------
    volume : (Z, Y, X) integer grain ids.
    size, count : patch side S and number of patches M.
    seed : seed of positions and greys.
    boundary_width, grey_range, boundary_grey : see :func:`grainlib.data.patches.render_flat`.
    zoom : pixels per lattice site (:func:`grainlib.data.patches.periodic_crops`).

    Returns
    -------
    PatchSet of M patches.
    """
    rng = np.random.default_rng(seed)
    crop_seed, grey_seed = (int(s) for s in rng.integers(0, 2**31, 2))
    crops = patches.periodic_crops(volume, size, count, crop_seed, boundary_width, zoom)
    crops.images = patches.render_flat(crops.grain_ids, crops.boundaries, grey_range,
                                       boundary_grey, grey_seed)
    return crops


def grain_statistics(grain_ids) -> pd.DataFrame:
    """Grain area and edge number of every grain inside a stack of patches (Fig. 5).

    Parameters
    ----------
    grain_ids : (M, S, S) integer grain ids. Grains touching a patch frame are left out.

    Returns
    -------
    DataFrame, one row per grain: ``patch``, ``area`` (px), ``normalised_area``
    (area / mean area of the stack), ``edges`` (number of neighbouring grains).
    """
    frames = []
    for k, ids in enumerate(grain_ids):
        areas, edges = grains.grain_areas(ids), grains.edge_counts(ids)
        frames.append(pd.DataFrame({"patch": k, "area": areas, "edges": edges}))
    table = pd.concat(frames, ignore_index=True)
    table["normalised_area"] = table["area"] / table["area"].mean()
    return table


def ks_table(real: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """Two-sample Kolmogorov-Smirnov tests of real against simulated grain statistics.

    Parameters
    ----------
    real, simulated : tables from :func:`grain_statistics`.

    Returns
    -------
    DataFrame indexed by quantity (``normalised_area``, ``edges``): ``KS statistic``,
    ``p-value`` (:func:`scipy.stats.ks_2samp`), means and grain counts of both.
    """
    rows = {}
    for column in ("normalised_area", "edges"):
        test = stats.ks_2samp(real[column], simulated[column])
        rows[column] = {"KS statistic": test.statistic, "p-value": test.pvalue,
                        "real mean": real[column].mean(), "simulated mean": simulated[column].mean(),
                        "real grains": len(real), "simulated grains": len(simulated)}
    return pd.DataFrame(rows).T


# --------------------------------------------------------------------------- step


def _patchset(stored: dict) -> PatchSet:
    return PatchSet(**{k: np.asarray(v) for k, v in stored.items()})


def _assemble(real, split, train, test, fractions, simulated) -> Datasets:
    meta = simulated["match"]
    table = pd.DataFrame({"mcs": meta["mcs"], "mean_area": meta["mean_area"],
                          "grains_per_patch": meta["grains_per_patch"],
                          "chosen": meta["chosen"].astype(bool)})
    return Datasets(
        real_images=real["images"], real_grain_ids=real["grain_ids"],
        train_indices=split["train"], test_indices=split["test"],
        train=_patchset(train), test=_patchset(test),
        fractions={int(p): np.asarray(v) for p, v in sorted(fractions.items(),
                                                             key=lambda kv: int(kv[0]))},
        simulated=_patchset(simulated["patches"]), simulated_mcs=int(simulated["mcs"]),
        snapshot_areas=table, real_mean_area=float(simulated["real_mean_area"]))


def build(cfg, progress: bool = True) -> Datasets:
    """The chapter-02 step: make (or reuse) and store every dataset of a profile.

    Reads ``cfg["data"]`` (source, split, patches, fractions, simulated data),
    ``cfg["seed"]``, ``cfg["potts"]`` (via :func:`grainlib.simulate.potts.run`, which reuses the
    stored volume of chapter 01) and ``cfg["run_dir"]``. Writes ``data_real``,
    ``data_split``, ``data_train``, ``data_test``, ``data_fractions`` and
    ``data_simulated`` (``.h5`` in the run folder), each fingerprinted by the
    parameters it depends on; with ``data.export_hdf5`` also
    ``published_layout.h5`` (:func:`export_published`).

    Returns
    -------
    Datasets.
    """
    data = cfg["data"]
    params = piece_params(cfg)
    store = Store(cfg["run_dir"])
    steps = tqdm(total=6, desc="datasets", disable=not progress)

    def step(name, compute):
        steps.set_postfix_str(name)
        stored = store.cached(name, params[name], compute)
        steps.update()
        return stored

    def make_real():
        images, grain_ids = sources.load_real(cfg)
        return {"images": images, "grain_ids": grain_ids}

    real = step("data_real", make_real)
    n_images = len(real["images"])

    def make_split():
        train, test = patches.split_by_image(n_images, data["test_fraction"], _seed(cfg, _SPLIT))
        return {"train": train, "test": test}

    split = step("data_split", make_split)
    cut = {"size": data["patch_size"], "boundary_width": data["boundary_width"]}
    train = step("data_train", lambda: patches.random_crops(
        real["images"], real["grain_ids"], per_image=data["train_per_image"],
        seed=_seed(cfg, _TRAIN_CROPS), image_indices=split["train"], **cut).as_dict())
    test = step("data_test", lambda: patches.grid_crops(
        real["images"], real["grain_ids"], per_image=data["test_per_image"],
        image_indices=split["test"], **cut).as_dict())
    fractions = step("data_fractions", lambda: {
        str(p): patches.fraction_images(split["train"], p, _seed(cfg, _FRACTIONS))
        for p in sorted(set(data["fractions"]))})

    def make_simulated():
        result = potts.run(cfg, progress=progress)
        # the stored snapshots, read one at a time when asked; the final volume among them
        volumes = ChainMap(result.snapshots, {int(cfg["potts"]["mcs"]): result.volume})
        real_area = mean_grain_area(train["grain_ids"])
        seed = _seed(cfg, _SIMULATED_CROPS)
        zoom = data["simulated_zoom"]
        table = match_snapshot(volumes, real_area, data["patch_size"], _MATCH_PATCHES, seed, zoom)
        mcs = (int(table.loc[table["chosen"], "mcs"].iloc[0]) if data["match_snapshot"]
               else int(cfg["potts"]["mcs"]))
        table["chosen"] = table["mcs"] == mcs
        chosen = simulated_patches(
            volumes[mcs], data["patch_size"], data["simulated_patches"], seed,
            data["boundary_width"], data["simulated_grey"], data["simulated_boundary_grey"], zoom)
        return {"patches": chosen.as_dict(), "mcs": mcs, "real_mean_area": real_area,
                "match": {c: table[c].to_numpy() for c in table.columns}}

    simulated = step("data_simulated", make_simulated)
    steps.close()
    datasets = _assemble(real, split, train, test, fractions, simulated)
    if data["export_hdf5"]:
        export_published(datasets, Path(cfg["run_dir"]) / "published_layout.h5",
                         boundary_width=data["boundary_width"], overwrite=True)
    return datasets


def digests(data: Datasets) -> dict[str, str]:
    """A short hash of the bytes of every dataset (:func:`grainlib.core.store.data_digest`):
    ``real`` (images and grain ids), ``train``, ``test`` and ``simulated`` (each patch
    set's images and grain ids) and ``fractions`` (the training images of each). Equal
    digests mean the same data, bit for bit, whatever machine made them."""
    patch_sets = {"train": data.train, "test": data.test, "simulated": data.simulated}
    out = {"real": data_digest(data.real_images, data.real_grain_ids)}
    out.update({name: data_digest(s.images, s.grain_ids) for name, s in patch_sets.items()})
    out["fractions"] = data_digest(*(np.asarray(data.fractions[x], np.int64)
                                     for x in sorted(data.fractions)))
    return out


def load(cfg) -> Datasets:
    """The datasets :func:`build` stored for this profile.

    Raises
    ------
    FileNotFoundError when a piece is missing or was made with other parameters (run
    ``datasets.build(cfg)``, notebook 02, first).
    """
    store = Store(cfg["run_dir"])
    pieces = {}
    for name, params in piece_params(cfg).items():
        if not store.has(name, params):
            raise FileNotFoundError(
                f"{store.path(name)} is missing or was made with other parameters; run "
                f"grainlib.data.datasets.build(cfg) (notebook 02_data) for profile "
                f"'{cfg['profile']}' first")
        pieces[name] = store.load(name)
    return _assemble(*pieces.values())


def export_published(datasets: Datasets, path, boundary_width: int = 2,
                     overwrite: bool = False) -> Path:
    """Write the datasets in the published pure-iron HDF5 layout.

    Group ``real``: the real micrographs and their grain ids (whole images); group
    ``simulated``: the simulated patches' grain ids (and boundaries), without images,
    as published. See :func:`grainlib.data.sources.write_hdf5`.

    Returns
    -------
    Path of the file.
    """
    sources.write_hdf5(path, "real", datasets.real_images, datasets.real_grain_ids,
                       overwrite=overwrite, boundary_width=boundary_width)
    return sources.write_hdf5(path, "simulated", None, datasets.simulated.grain_ids,
                              overwrite=overwrite, boundary_width=boundary_width)
