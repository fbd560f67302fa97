"""grainlib: the helper library behind the notebooks reproducing Ma et al. (2020),
"Data augmentation in microscopic images for material data mining",
npj Computational Materials 6, 125.

One module per concept; see DESIGN in the README.
"""

__version__ = "0.1.0"
