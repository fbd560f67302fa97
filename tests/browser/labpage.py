"""What the browser tests do in a JupyterLab page: open a notebook, run all its cells and
check that none failed; move a widget's slider and check that its image changes.

Each check raises AssertionError saying what went wrong, so that the tests of the test
(``test_checks.py``) can show that a failing cell and a broken widget are caught.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"

# In the page: the state of the open notebook's code cells and of its kernel.
CELLS_STATE = """() => {
  const notebook = document.querySelector(NOTEBOOK_SELECTOR);
  if (!notebook) return null;
  const cells = [...notebook.querySelectorAll('.jp-CodeCell')].map(cell => ({
    source: (cell.querySelector('.jp-InputArea .cm-content') || {}).textContent || '',
    prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
  }));
  const indicator = document.querySelector(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  return {cells, kernel: indicator ? indicator.getAttribute('data-status') : null};
}""".replace("NOTEBOOK_SELECTOR", repr(NOTEBOOK))

# What a failed cell or widget shows: a traceback on stderr (ipykernel sends errors as
# stderr text in JupyterLab), an error output, or the widget manager's error text.
ERRORS = """() => [...document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
    + '.jp-OutputArea-output.jp-mod-error, .jupyter-widgets')]
  .map(node => node.textContent)
  .filter(text => /Traceback|Error displaying widget|\\w+Error: /.test(text))"""


@contextmanager
def new_page(browser, lab):
    """A page in a browser context of its own; the kernels it started are shut down after."""
    kernels = lab.kernels()
    # Tall enough for a widget's whole image: JupyterLab scrolls inside the page.
    context = browser.new_context(viewport={"width": 1200, "height": 1600},
                                  device_scale_factor=1)
    try:
        yield context.new_page()
    finally:
        context.close()
        lab.shutdown_kernels(keep=kernels)


def menu(page, top: str, item: str):
    """Click ``item`` in the main menu ``top`` (e.g. Run > Run All Cells)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def open_notebook(page, lab, name: str, timeout: float = 60):
    """Open ``name`` in JupyterLab (``/lab/tree/<name>``) and wait until its kernel has
    started and the page is connected to it (a cell run earlier asks for a kernel)."""
    page.goto(lab.page_url(name), timeout=timeout * 1000)
    page.locator(NOTEBOOK).wait_for(timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while True:
        kernels = [s["kernel"] for s in lab.api("sessions") if s["path"] == name]
        if (kernels and kernels[0]["execution_state"] == "idle" and kernels[0]["connections"]
                and page.evaluate(f"({CELLS_STATE})()")["kernel"] == "idle"):
            return
        assert time.monotonic() < deadline, f"{name}: no kernel within {timeout:.0f} s"
        page.wait_for_timeout(250)


def run_all(page, timeout: float) -> dict:
    """Clear every output, run every cell (Run > Run All Cells) and wait until the kernel
    is idle with no cell queued; return the state of the cells."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    menu(page, "Run", "Run All Cells")
    # Done: some cell has an execution count, none is queued or running ([*]), the
    # kernel is idle; cells after a failed one stay without a count.
    page.wait_for_function(
        f"""() => {{ const s = ({CELLS_STATE})();
            return s && s.kernel === 'idle' && s.cells.some(c => /\\d/.test(c.prompt))
                   && !s.cells.some(c => c.prompt.includes('*')); }}""",
        timeout=timeout * 1000, polling=500)
    return page.evaluate(f"({CELLS_STATE})()")


def check_notebook(page, lab, name: str, shots: Path | None = None, timeout: float = 300):
    """Open notebook ``name`` of the lab's root, run all its cells, and check that every
    code cell ran (has an execution count) and that no output shows an error.

    Raises AssertionError naming the cells that did not run and the errors shown; a
    screenshot of the page is saved to ``shots/<name>-failed.png`` first.
    """
    open_notebook(page, lab, name)
    state = run_all(page, timeout)
    errors = page.evaluate(ERRORS)
    not_run = [i for i, cell in enumerate(state["cells"], 1)
               if cell["source"].strip() and not re.search(r"\d", cell["prompt"])]
    if errors or not_run:
        if shots is not None:
            page.screenshot(path=shots / f"{Path(name).stem}-failed.png", full_page=True)
        raise AssertionError(
            f"{name}: {len(not_run)} code cells did not run (cells {not_run}); "
            f"errors shown: {[' '.join(e.split())[-300:] for e in errors]}")


def widget_cell(page, marker: str):
    """The code cell whose source holds ``marker``: the one a widget is made in."""
    cells = page.locator(f"{NOTEBOOK} .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea .cm-content", has_text=marker))
    assert cells.count() == 1, f"{cells.count()} cells hold {marker!r}"
    return cells.first


def _shot(area, image, path: Path) -> np.ndarray:
    """Screenshot the output ``area`` to ``path``; return the pixels of ``image`` in it."""
    area.screenshot(path=path)
    box, inner = area.bounding_box(), image.bounding_box()
    left, top = round(inner["x"] - box["x"]), round(inner["y"] - box["y"])
    with Image.open(path) as picture:
        crop = picture.convert("RGB").crop((left, top, left + round(inner["width"]),
                                            top + round(inner["height"])))
    return np.asarray(crop)


def changed(before: np.ndarray, after: np.ndarray, level: int = 16,
            share: float = 0.005) -> bool:
    """Whether two pictures differ: another size, or at least ``share`` of the pixels
    changed by more than ``level`` grey levels in some channel."""
    if before.shape != after.shape:
        return True
    moved = (np.abs(before.astype(int) - after.astype(int)).max(axis=-1) > level).mean()
    return moved >= share


def check_widget(page, marker: str, slider: str, shots: Path, label: str, timeout: float = 20):
    """Find the widget made in the cell holding ``marker``, check that it rendered, move its
    slider named ``slider`` one step (focus, ArrowRight) and check that its image changes.

    The widget's output area is saved before and after as ``shots/<label>-before.png`` and
    ``-after.png``. Raises AssertionError when the widget did not render, its slider did
    not move, or its image did not change within ``timeout`` seconds.
    """
    from playwright.sync_api import TimeoutError

    area = widget_cell(page, marker).locator(".jp-Cell-outputArea")
    name = page.locator(".widget-label", has_text=re.compile(f"^{re.escape(slider)}$"))
    handle = area.locator(".widget-slider").filter(has=name).locator(".noUi-handle")
    image = area.locator("img.widget-image").first
    try:
        handle.wait_for(timeout=10_000)
        image.wait_for(timeout=10_000)
    except TimeoutError as err:  # e.g. "Error displaying widget", or no widget manager
        raise AssertionError(f"{label}: the widget did not render a slider {slider!r} and an "
                             f"image; its output shows {area.inner_text().strip()[:300]!r}"
                             ) from err
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle(), timeout=10_000)
    before = _shot(area, image, shots / f"{label}-before.png")
    value = handle.get_attribute("aria-valuenow")
    handle.focus()
    page.keyboard.press("ArrowRight")
    moved = handle.get_attribute("aria-valuenow")
    assert moved != value, f"{label}: the slider {slider!r} did not move from {value}"
    after_path = shots / f"{label}-after.png"
    deadline = time.monotonic() + timeout
    while True:
        page.wait_for_timeout(250)
        after = _shot(area, image, after_path)
        if changed(before, after):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{label}: the image did not change when the slider {slider!r} "
                                 f"moved from {value} to {moved}; see {after_path}")
