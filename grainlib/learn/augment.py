"""Classical augmentation of segmentation batches: what practitioners do to a few labelled
micrographs before anyone simulates anything.

Per patch, drawn afresh at every step (Albumentations; Buslaev et al., Information 11,
125, 2020):

- **geometric**, applied to the image and its boundary map together: one of the 8
  symmetries of the square (flips and 90-degree rotations) and, with probability 1/2, an
  elastic deformation (Simard et al., ICDAR 2003): a random displacement field smoothed
  by a Gaussian of ``sigma`` px and scaled by ``alpha``; the boundary map is resampled by
  nearest neighbour, so it stays a boolean map;
- **photometric**, applied to the image alone: brightness and contrast (each +-20 %),
  gamma (0.7-1.5), Gaussian noise (SD 1-5 % of the grey range) and Gaussian blur
  (sigma 0.3-1.2 px), each with its own probability.

The randomness comes from the training step's numpy generator, so a training is the
same with or without an interruption (:func:`grainlib.learn.training.run_steps`).

>>> images, labels = classical(np.random.default_rng(0), images, labels)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import
import albumentations as A  # noqa: E402

ELASTIC = {"alpha": 30.0, "sigma": 6.0}  # displacement: up to a few px, smooth over ~6 px
PHOTOMETRIC = {"brightness": 0.2, "contrast": 0.2, "gamma": (70, 150),
               "noise_sd": (0.01, 0.05), "blur_sigma": (0.3, 1.2)}


@lru_cache(maxsize=1)
def geometric() -> A.Compose:
    """The moves of image and boundary map together: ``geometric()(image=, mask=)``."""
    return A.Compose([
        A.D4(p=1.0),
        A.ElasticTransform(**ELASTIC, interpolation=1, mask_interpolation=0, p=0.5),
    ])


@lru_cache(maxsize=1)
def photometric() -> A.Compose:
    """The changes of the image's grey levels alone: ``photometric()(image=)``."""
    p = PHOTOMETRIC
    return A.Compose([
        A.RandomBrightnessContrast(brightness_limit=p["brightness"],
                                   contrast_limit=p["contrast"], p=0.8),
        A.RandomGamma(gamma_limit=p["gamma"], p=0.5),
        A.GaussNoise(std_range=p["noise_sd"], p=0.5),
        A.GaussianBlur(blur_limit=(3, 5), sigma_limit=p["blur_sigma"], p=0.5),
    ])


def classical(rng: np.random.Generator, images: np.ndarray, boundaries: np.ndarray,
              grey: bool = True):
    """Augment a batch, each patch with its own draw.

    Parameters
    ----------
    rng : the training step's random stream (two integer seeds are drawn per patch).
    images : (B, H, W) uint8 micrographs.
    boundaries : (B, H, W) boundary maps (bool or 0/1), moved with their images.
    grey : also change the images' grey levels (:func:`photometric`); False: the
        geometric moves alone, as drawn with ``grey=True`` from the same ``rng``.

    Returns
    -------
    (images, boundaries): (B, H, W) uint8 and (B, H, W) of ``boundaries``' dtype, new arrays.
    """
    images, boundaries = np.asarray(images), np.asarray(boundaries)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape != boundaries.shape:
        raise ValueError(f"classical augmentation takes (B, H, W) uint8 images and boundary "
                         f"maps of the same shape, got {images.dtype} {images.shape} and "
                         f"{boundaries.shape}")
    out_images, out_boundaries = np.empty_like(images), np.empty_like(boundaries)
    for k, (move, shade) in enumerate(rng.integers(0, 2**31 - 1, (len(images), 2))):
        geometric().set_random_seed(int(move))
        moved = geometric()(image=images[k], mask=boundaries[k].astype(np.uint8))
        out_images[k] = moved["image"]
        out_boundaries[k] = moved["mask"].astype(boundaries.dtype)
        if grey:
            photometric().set_random_seed(int(shade))
            out_images[k] = photometric()(image=out_images[k])["image"]
    return out_images, out_boundaries
