"""Table 3 of the classical baselines on the real iron serial sections, with timings.

Run: ``python benchmarks/baselines.py``. Reads the five public 800 x 800 pure-iron
sections with their grain ids (``grainlib.data.public.iron_sections()``: fetched and cached on
first use, or read from ``$GRAINLIB_DATA``); each section is cut into 400 x 400 tiles.
The default parameters were tuned on sections 001-002, so the table is reported on
003-005 (consecutive slices of one specimen: correlated with the tuning tiles). Prints
MAP, ARI, grains found and true, and seconds per tile, with the paper's Table 3 beside.
"""

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grainlib.data import public as data  # noqa: E402
from grainlib.score import baselines  # noqa: E402


def main():
    try:
        images, ids = data.iron_sections(progress=True)
    except data.DataError as err:
        print(f"real iron sections not available, nothing to measure: {err}")
        return
    pd.set_option("display.width", 120)
    for title, chosen in [("tuning sections 001-002", [0, 1]),
                          ("held-out sections 003-005", [2, 3, 4])]:
        images_tiles, truths = baselines.labelled_tiles(images[chosen], ids[chosen])
        table = baselines.score_methods(baselines.METHODS, images_tiles, truths)
        print(f"\n{title}: {len(images_tiles)} tiles of 400 x 400")
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
