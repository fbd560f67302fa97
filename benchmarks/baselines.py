"""Table 3 of the classical baselines on the real iron serial sections, with timings.

Run: ``python benchmarks/baselines.py``. Needs ``../shared/data/iron-serial-sections``
(five 1600 x 2800 sections with grain-id labels); each section is cut into 400 x 400
tiles. The default parameters were tuned on sections 001-002, so the table is reported on
003-005 (consecutive slices of one specimen: correlated with the tuning tiles). Prints
MAP, ARI, grains found and true, and seconds per tile, with the paper's Table 3 beside.
"""

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grainlib import baselines, sources  # noqa: E402

IRON = ROOT.parent / "shared" / "data" / "iron-serial-sections"


def main():
    if not IRON.is_dir():
        print(f"real iron sections not found at {IRON}: nothing to measure")
        return
    pd.set_option("display.width", 120)
    images, ids = sources.read_folder(IRON / "images", IRON / "instances")
    for title, chosen in [("tuning sections 001-002", [0, 1]),
                          ("held-out sections 003-005", [2, 3, 4])]:
        images_tiles, truths = baselines.labelled_tiles(images[chosen], ids[chosen])
        table = baselines.score_methods(baselines.METHODS, images_tiles, truths)
        print(f"\n{title}: {len(images_tiles)} tiles of 400 x 400")
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
