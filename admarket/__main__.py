"""``python -m admarket`` runs the command line."""

import sys

from admarket.cli import main

sys.exit(main())
