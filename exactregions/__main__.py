"""``python -m exactregions`` runs the CLI."""

import sys

from exactregions.cli import main

sys.exit(main())
