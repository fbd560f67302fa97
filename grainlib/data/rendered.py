"""Rendered images of simulated labels: domain randomisation, the no-GAN way to make
simulated labels look like data.

Each simulated label (a Potts section's grain ids) is drawn by the surrogate's renderer
(:func:`grainlib.data.specimen.render`) with its own appearance, every rendering
parameter drawn at random from a wide range (:data:`RANGES`): boundary darkness and width
from barely etched to deep grooves, broken and faint boundaries, specks, pits, scratches,
noise and blur from none to heavy, brightness, contrast and illumination from even to
uneven. A network trained on such variety learns what stays constant, the boundaries,
rather than one look (Tobin et al., IROS 2017, "Domain randomization").

The ranges bracket the surrogate's defaults (an etched pure-iron look) widely; they are
set once here, not fitted to any data. Where the test micrographs come from that same
renderer (the demo profile), a model trained on these images has seen the test images'
own kind of rendering, so there it is an upper bound, not a fair competitor; on real
micrographs it is fair.
"""

from __future__ import annotations

import numpy as np

from grainlib.data import specimen

RANGES = {
    "brightness": (150.0, 250.0),
    "grain_contrast": (0.0, 12.0),
    "illumination": (0.0, 20.0),
    "boundary_depth": (25.0, 200.0),
    "boundary_width": (0.4, 2.0),
    "boundary_variation": (0.0, 0.8),
    "faint_boundaries": (0.0, 0.4),
    "boundary_bands": (0.0, 0.4),
    "speckle": (0.0, 15.0),
    "specks": (0.0, 0.3),
    "speck_depth": (0.0, 60.0),
    "pits": (0.0, 3.0),
    "pit_radius": (0.8, 4.0),
    "scratches": (0.0, 40.0),
    "scratch_depth": (0.0, 60.0),
    "blur": (0.2, 2.0),
}
"""(low, high) of each rendering parameter, drawn uniformly per image."""


def draw_appearance(rng: np.random.Generator) -> dict:
    """One random appearance: every key of :data:`RANGES` drawn uniformly in its range."""
    return {key: float(rng.uniform(low, high)) for key, (low, high) in RANGES.items()}


def render(grain_ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """Render simulated labels, each with its own random appearance.

    Parameters
    ----------
    grain_ids : (N, H, W) integer grain-id maps.
    seed : seed of the appearances and of the renderings; image k depends only on the
        seed, k and its own label.

    Returns
    -------
    (N, H, W) uint8 images.
    """
    grain_ids = np.asarray(grain_ids)
    if grain_ids.ndim != 3 or not np.issubdtype(grain_ids.dtype, np.integer):
        raise ValueError(f"rendered images need (N, H, W) integer grain ids, got "
                         f"{grain_ids.dtype} {grain_ids.shape}")
    images = np.empty(grain_ids.shape, np.uint8)
    for k, (appearance_seq, render_seq) in enumerate(
            s.spawn(2) for s in np.random.SeedSequence(seed).spawn(len(grain_ids))):
        appearance = draw_appearance(np.random.default_rng(appearance_seq))
        images[k] = specimen.render(grain_ids[k], seed=render_seq, **appearance)
    return images
