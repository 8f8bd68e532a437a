"""``python -m skem`` runs the ``skem`` command."""

import sys

from skem._cli.main import main

if __name__ == "__main__":
    sys.exit(main())
