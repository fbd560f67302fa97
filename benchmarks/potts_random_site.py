"""The plain random-site Potts kernel: the protocol's order, kept for comparing MCS clocks.

One MCS is N = Lz * Ly * Lx trials at sites picked uniformly at random (with repeats), one
after another, each seeing every flip before it. Same lattice, energy, trial neighbours
and acceptance as ``grainlib.potts`` (26-neighbour energy, a random first or second
nearest neighbour proposed, Metropolis at kT), but serial and with numpy's generator, so
its volumes are not those of the sublattice sweep: only their statistics compare.

    from potts_random_site import simulate_random_site
    result = simulate_random_site((32, 32, 32), 100, kT=0.5, seed=0, snapshots=[25, 50])
"""

import math

import numpy as np
from numba import njit

from grainlib import potts

# (26, 3) offsets (dz, dy, dx): 6 first, 12 second, 8 third nearest, as the library's.
OFFSETS = potts._neighbour_offsets()


@njit(cache=True)
def _seed(seed):
    np.random.seed(seed)  # numba's generator: seeded inside compiled code


@njit(cache=True)
def random_site_mcs(volume, offsets, trial_neighbors, boltzmann):
    """One MCS in place: N trials at random sites, serially.

    volume : (Lz, Ly, Lx) int32 grain ids, periodic. offsets : (26, 3) int64.
    trial_neighbors : the first 18 or all 26 offsets are proposed from.
    boltzmann : (27,) float64, exp(-dE / kT) for dE = 0..26 (all 0 above 0 at kT = 0).
    """
    lz, ly, lx = volume.shape
    for _ in range(lz * ly * lx):
        z, y, x = np.random.randint(lz), np.random.randint(ly), np.random.randint(lx)
        k = np.random.randint(trial_neighbors)
        old = volume[z, y, x]
        new = volume[(z + offsets[k, 0]) % lz, (y + offsets[k, 1]) % ly,
                     (x + offsets[k, 2]) % lx]
        if new == old:
            continue
        # dE = sum over the 26 neighbours of [s == old] - [s == new]
        de = 0
        for k in range(26):
            s = volume[(z + offsets[k, 0]) % lz, (y + offsets[k, 1]) % ly,
                       (x + offsets[k, 2]) % lx]
            de += int(s == old) - int(s == new)
        if de <= 0 or np.random.random() < boltzmann[de]:
            volume[z, y, x] = new


def simulate_random_site(shape, mcs, *, kT=0.5, seed=0, trial_neighbors=18, snapshots=()):
    """Grow grains from unique ids with :func:`random_site_mcs`.

    Returns a grainlib.potts.PottsResult: ``volume`` (Lz, Ly, Lx) int32 after ``mcs``
    steps, ``snapshots`` {mcs: int32 copy} and ``seconds``.
    """
    import time

    start = time.perf_counter()
    volume = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    boltzmann = np.array([1.0] + [math.exp(-de / kT) if kT > 0 else 0.0
                                  for de in range(1, 27)])
    _seed(seed)
    kept = {}
    for step in range(1, mcs + 1):
        random_site_mcs(volume, OFFSETS, trial_neighbors, boltzmann)
        if step in snapshots:
            kept[step] = volume.copy()
    return potts.PottsResult(volume=volume, snapshots=kept,
                             seconds=time.perf_counter() - start)
