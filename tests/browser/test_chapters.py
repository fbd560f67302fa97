"""Every chapter notebook as a reader meets it: opened in JupyterLab, run cell by cell at
the smoke profile in one session (01 to 06 in order, sharing one runs folder), with no
error shown; and every widget drawn, its image following its slider."""

import re

import pytest

from grainlib.core.config import PROJECT_ROOT

from .labpage import check_notebook, check_widget

CHAPTERS = sorted(p.stem for p in (PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.py"))

# chapter -> (text of the cell that makes the widget, its slider, name of its screenshots)
WIDGETS = {
    "01_potts": [("widgets.volume_slices(", "section", "volume-slices")],
    "02_data": [("widgets.pairs(data.train", "pair", "real-pairs"),
                ("widgets.pairs(data.simulated", "pair", "simulated-pairs")],
    "03_transfer": [("widgets.side_by_side(", "item", "side-by-side")],
    "04_segment": [("widgets.side_by_side(", "item", "side-by-side")],
}

def test_every_widget_of_the_chapters_is_checked():
    """A widget added to a chapter must be added to WIDGETS."""
    for chapter in CHAPTERS:
        source = (PROJECT_ROOT / "notebooks" / f"{chapter}.py").read_text()
        made = re.findall(r"^widgets\.\w+\(.*$", source, re.M)
        checked = [marker for marker, _, _ in WIDGETS.get(chapter, [])]
        assert len(made) == len(checked), (chapter, made, checked)
        assert all(any(line.startswith(m) for line in made) for m in checked), (chapter, made)


# Ids are the chapter numbers: the suite's root conftest treats "06_tables" in a test id
# as nbval's chapter 06.
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda chapter: chapter[:2])
def test_chapter_runs_and_its_widgets_follow_their_sliders(chapter, page, lab, shots):
    check_notebook(page, lab, f"{chapter}.ipynb", shots)
    for marker, slider, name in WIDGETS.get(chapter, []):
        check_widget(page, marker, slider, shots, f"{chapter}-{name}")
