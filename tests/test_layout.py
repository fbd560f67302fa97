"""The package's house rules: stages import one way, no circles, no private names across
modules, no module over 600 lines, subpackages that re-export nothing; and every chapter
ends with its Findings."""

import ast
from pathlib import Path

import pytest

from grainlib.core.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "grainlib"
STAGES = ["core", "simulate", "data", "learn", "score", "run"]  # imports run down this list
ASIDE = "view"  # may import any stage but run


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """(module imported from, names, inside a function) of every grainlib import."""
    found = []
    tree = ast.parse(path.read_text())
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("grainlib"):
            found.append((node.module, [a.name for a in node.names], id(node) in nested))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], id(node) in nested) for a in node.names
                      if a.name.startswith("grainlib")]
    return found


def targets(module: str, names: list[str], known: dict) -> list[str]:
    """The grainlib modules an import statement reaches."""
    subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in known]
    return subs or ([module] if module in known else [])


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES + [ASIDE]) \
        else None


def test_stages_import_one_way_and_never_inside_functions():
    known = modules()
    wrong = []
    for name, path in known.items():
        own = stage(name)
        for module, names, inside in imports(path):
            for target in targets(module, names, known):
                other = stage(target)
                if own is None or other is None or other == own:
                    continue
                if inside:
                    wrong.append(f"{name} imports {target} inside a function")
                if other == "run" and own != "run" or other == ASIDE and own != ASIDE:
                    wrong.append(f"{name} ({own}) imports {target} ({other})")
                elif own != ASIDE and STAGES.index(other) > STAGES.index(own):
                    wrong.append(f"{name} ({own}) imports {target} ({other}), a later stage")
    assert not wrong, "\n".join(wrong)


def test_no_import_circle():
    known = modules()
    graph = {name: {t for module, names, _ in imports(path)
                    for t in targets(module, names, known) if not known[t].name == "__init__.py"}
             for name, path in known.items()}
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                pytest.fail("import circle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_modules_stay_small_and_subpackages_reexport_nothing():
    for name, path in modules().items():
        lines = len(path.read_text().splitlines())
        assert lines <= 600, f"{name} has {lines} lines"
        if path.name == "__init__.py" and name != "grainlib":
            body = ast.parse(path.read_text()).body
            assert len(body) == 1 and isinstance(body[0], ast.Expr), \
                f"{name}/__init__.py holds more than its docstring"


def test_no_private_name_used_outside_its_module():
    """``module._name`` or ``from module import _name`` of a grainlib module, anywhere in
    the project's code (the package-private ``_kernels`` module is itself allowed)."""
    known = modules()
    short = {name.rsplit(".", 1)[-1] for name in known}
    wrong = []
    files = [*PACKAGE.rglob("*.py"), *(PROJECT_ROOT / "benchmarks").glob("*.py"),
             *(PROJECT_ROOT / "experiments").glob("*.py"), *(PROJECT_ROOT / "tests").glob("*.py"),
             *(PROJECT_ROOT / "notebooks").glob("*.py")]
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                    and node.value.id in short and node.value.id != path.stem):
                wrong.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} "
                             f"{node.value.id}.{node.attr}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("grainlib"):
                wrong += [f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} imports {a.name}"
                          for a in node.names if a.name.startswith("_")
                          and a.name not in ("__version__", "_kernels")]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("chapter", sorted((PROJECT_ROOT / "notebooks").glob("0*.py")),
                         ids=lambda p: p.stem)
def test_every_chapter_ends_with_findings_from_its_numbers(chapter):
    import jupytext

    cells = jupytext.read(chapter).cells
    heading, last = cells[-2], cells[-1]
    assert heading.cell_type == "markdown" and "## Findings" in heading.source
    assert last.cell_type == "code" and last.source.startswith("findings.show(findings.")


def test_the_demo_artifacts_keep_their_fingerprints():
    """What the stored data of the demo profile are keyed by, as recorded before the
    package was grouped into stages: moving a file must not change it (a changed key
    silently rebuilds every dataset and retrains every model, about 25 min of make demo).
    Change these values only on purpose, with a version bump of what computes them."""
    from grainlib.core import config
    from grainlib.core.store import fingerprint
    from grainlib.data import datasets

    keys = {name: fingerprint(params)
            for name, params in datasets.piece_params(config.load("demo")).items()}
    assert keys == {"data_real": "13e60a7254c63361", "data_split": "ace2a4839243eeab",
                    "data_train": "d51e258a5ed62a6f", "data_test": "bb28f95bf155786a",
                    "data_fractions": "af7d144c27249bd0", "data_simulated": "b8ce5cecbb07d1cc"}


def test_model_files_keep_their_format_tags():
    """Every stored model carries a tag that :func:`grainlib.learn.training.read_model`
    checks; models written before the package was grouped into stages carry these, so
    the tags are a file format, not module paths, and must not follow a move."""
    from grainlib.learn import segment, transfer

    assert segment.KIND == "grainlib.segment.Segmenter"
    assert transfer.KIND == "grainlib.transfer.StyleTransfer"
