"""Entry point of `python -m bootstrap`."""

import sys

from bootstrap.cli import main

if __name__ == "__main__":
    sys.exit(main())
