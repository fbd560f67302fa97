"""``python -m grainlib``: the command line, in :mod:`grainlib.run.cli`."""

import sys

from grainlib.run.cli import main

sys.exit(main())
