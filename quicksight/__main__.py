"""Entry point for `python -m quicksight`."""

import sys

from quicksight.cli import main

sys.exit(main())
