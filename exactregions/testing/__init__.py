"""Testing kit for region counters: hypothesis strategies (importable without torch)."""

from exactregions.testing.strategies import (activations, boxes, dyadic_rationals, networks,
                                             small_integers)

__all__ = ["activations", "boxes", "dyadic_rationals", "networks", "small_integers"]
