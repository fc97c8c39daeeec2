"""``python -m rnnlib``: the command line (see ``rnnlib.cli``)."""
import sys

from .cli import main

sys.exit(main())
