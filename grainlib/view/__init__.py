"""Figures with the paper's numbers beside ours, and ipywidgets viewers."""
