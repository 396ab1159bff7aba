"""``python -m admarket`` runs the command line."""

import sys

from admarket.cli.main import main

sys.exit(main())
