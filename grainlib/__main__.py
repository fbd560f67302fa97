"""Command line: run the chapters of a profile as notebooks.

    python -m grainlib run --profile demo            # every chapter, executed copies in runs/demo/notebooks
    python -m grainlib run --profile smoke --chapters 01
    python -m grainlib notebooks --inplace           # refresh the outputs of notebooks/*.ipynb (demo)
    python -m grainlib notebooks --profile smoke --out tests/nbval   # nbval reference copies
    python -m grainlib config --profile paper        # the resolved parameters
    python -m grainlib config --schema               # every parameter, its default and range
    python -m grainlib data                          # public data sets; data fetch NAME downloads one
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from . import config, data

NOTEBOOKS_DIR = config.PROJECT_ROOT / "notebooks"


def chapters(selected=None) -> list[Path]:
    """The chapter notebooks (``notebooks/NN_name.py``) in reading order."""
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
    if selected:
        found = [p for p in found if p.name[:2] in selected or p.stem in selected]
        missing = set(selected) - {p.name[:2] for p in found} - {p.stem for p in found}
        if missing:
            raise SystemExit(f"unknown chapters: {', '.join(sorted(missing))}")
    return found


def execute(py: Path, output: Path, parameters: dict | None) -> float:
    """Execute the notebook paired with ``py`` into ``output``; return seconds taken."""
    import jupytext
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    papermill.execute_notebook(jupytext.read(py), str(output), parameters=parameters or {},
                               kernel_name="python3", cwd=str(NOTEBOOKS_DIR), progress_bar=False)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(prog="grainlib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the chapters of a profile")
    run.add_argument("--profile", default="demo")
    run.add_argument("--chapters", nargs="*", help="e.g. 01 02 (default: all)")
    nbs = sub.add_parser("notebooks", help="re-execute notebooks/*.ipynb or write executed copies")
    nbs.add_argument("--profile", default="demo")
    nbs.add_argument("--chapters", nargs="*")
    where = nbs.add_mutually_exclusive_group(required=True)
    where.add_argument("--inplace", action="store_true",
                       help="write outputs into notebooks/*.ipynb (only for the default profile)")
    where.add_argument("--out", type=Path, help="folder for the executed copies")
    cfg = sub.add_parser("config", help="print a resolved profile or the schema")
    cfg.add_argument("--profile", default="demo")
    cfg.add_argument("--schema", action="store_true")
    data.add_parser(sub)
    args = parser.parse_args(argv)

    if args.command == "data":
        return data.main(args)

    if args.command == "config":
        print(config.describe() if args.schema else yaml.safe_dump(config.load(args.profile),
                                                                   sort_keys=False))
        return 0

    cfg = config.load(args.profile)  # fail early on a bad profile
    if args.command == "run":
        out_dir = Path(cfg["run_dir"]) / "notebooks"
        parameters = {"profile": args.profile}
    elif args.inplace:
        if args.profile != "demo":
            raise SystemExit("--inplace keeps the committed notebooks at the demo profile; "
                             "use --out for other profiles")
        out_dir, parameters = NOTEBOOKS_DIR, None
    else:
        out_dir, parameters = args.out, {"profile": args.profile}
    total = 0.0
    for py in chapters(args.chapters):
        output = out_dir / f"{py.stem}.ipynb"
        seconds = execute(py, output, parameters)
        total += seconds
        print(f"{py.stem:<16} {seconds:7.1f} s  -> {output}", flush=True)
    print(f"{'all':<16} {total:7.1f} s  (profile {args.profile}; figures in {cfg['figures_dir']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
