"""``python -m exactregions`` runs the CLI."""

from exactregions.cli import run

run()
