"""Testing kit for researchers' own region counters (importable without torch).

Strategies (:mod:`.strategies`), exact oracles and assertion helpers (:mod:`.oracles`),
metamorphic transformations (:mod:`.metamorphic`), property-based checks (:mod:`.check`); the
pytest plugin lives in :mod:`.plugin` (fixture ``exactregions_kit``).
"""

from exactregions.testing.check import (CheckReport, check_line_counter, check_slice_counter,
                                        reproducer)
from exactregions.testing.metamorphic import (add_dead_neuron, check_line_metamorphic,
                                              permute_hidden, rescale_neuron)
from exactregions.testing.oracles import (CounterMismatch, ExactCounts, assert_line_counts,
                                          assert_partition, exact_breakpoints, exact_counts,
                                          model_for)
from exactregions.testing.strategies import (activations, boxes, dyadic_rationals, he_floats,
                                             networks, planes, polytopes, segments,
                                             small_integers, subtle_networks)

__all__ = ["CheckReport", "check_line_counter", "check_slice_counter", "add_dead_neuron",
           "check_line_metamorphic", "permute_hidden", "rescale_neuron", "CounterMismatch",
           "ExactCounts", "assert_line_counts", "assert_partition", "exact_breakpoints",
           "exact_counts", "model_for", "activations", "boxes", "dyadic_rationals", "he_floats",
           "networks", "planes", "polytopes", "segments", "small_integers", "subtle_networks",
           "reproducer"]
