"""Tests of the browser checks themselves: a notebook with a failing cell fails
:func:`check_notebook`, and a widget whose slider callback raises or draws nothing fails
:func:`check_widget`, while the same widget with a working callback passes."""

import nbformat
import pytest

from .labpage import check_notebook, check_widget, new_page


def write_notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_a_failing_cell_fails_the_check(page, lab, shots):
    write_notebook(lab.root / "broken.ipynb", "x = 1",
                   "raise ValueError('broken on purpose')", "y = x + 1")
    # JupyterLab's Run All usually stops at the error and leaves the last cell unrun, but
    # not always in time; the error shown is what the check must catch either way.
    with pytest.raises(AssertionError, match=r"broken\.ipynb: .*broken on purpose"):
        check_notebook(page, lab, "broken.ipynb", shots)


# One slider and one image per widget; each callback draws the slider's value as a grey
# level, raises, or does nothing.
WIDGET = """
import io
import ipywidgets as w
import numpy as np
from PIL import Image

def png(value):
    out = io.BytesIO()
    Image.fromarray(np.full((48, 96), 40 * value, np.uint8)).save(out, "png")
    return out.getvalue()

def viewer(redraw):
    slider = w.IntSlider(0, 0, 5, description="value")
    image = w.Image(value=png(0), format="png")
    slider.observe(lambda change: redraw(image, change["new"]), "value")
    return w.VBox([slider, image])
"""
CALLBACKS = {
    "draws": "def draws(image, value):\n    image.value = png(value)\n",
    "raises": "def raises(image, value):\n    raise RuntimeError('broken on purpose')\n",
    "ignores": "def ignores(image, value):\n    pass\n",
}


@pytest.fixture(scope="module")
def widgets_page(browser, lab, shots):
    """A notebook with one widget per callback, run in JupyterLab."""
    cells = [WIDGET] + [f"{code}\nviewer({name})" for name, code in CALLBACKS.items()]
    write_notebook(lab.root / "widgets.ipynb", *cells)
    with new_page(browser, lab) as page:
        check_notebook(page, lab, "widgets.ipynb", shots)
        yield page


def test_a_widget_that_draws_passes(widgets_page, shots):
    check_widget(widgets_page, "viewer(draws)", "value", shots, "check-draws")


@pytest.mark.parametrize("callback", ["raises", "ignores"])
def test_a_widget_that_does_not_draw_fails_the_check(callback, widgets_page, shots):
    with pytest.raises(AssertionError, match="the image did not change"):
        check_widget(widgets_page, f"viewer({callback})", "value", shots, f"check-{callback}",
                     timeout=3)
