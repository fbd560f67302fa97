"""Figures and tables of the paper, drawn from the run's artifacts.

Each function takes arrays or tables, draws one figure (returns the matplotlib Figure)
and, given ``path``, saves it. The paper's own numbers appear only labelled as the paper's.
"""

from __future__ import annotations
