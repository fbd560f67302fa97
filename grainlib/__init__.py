"""grainlib: the helper library behind the notebooks reproducing Ma et al. (2020),
"Data augmentation in microscopic images for material data mining",
npj Computational Materials 6, 125.

One subpackage per pipeline stage, imports running one way
(core <- simulate <- data <- learn <- score <- run, with view beside): see the README's
Layout section. Import from the stage, ``from grainlib.learn import transfer``.
"""

__version__ = "0.1.0"
