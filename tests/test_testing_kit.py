"""The testing kit: our own float kernels are its first user; wrong counters are caught."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import pytest

import exactregions as er
from exactregions.cli import main
from exactregions.exact.constructions import sawtooth_network
from exactregions.testing import (CounterMismatch, add_dead_neuron, assert_line_counts,
                                  assert_partition, check_line_counter, check_slice_counter,
                                  permute_hidden, rescale_neuron)
from exactregions.testing.examples import (float_line_counter, float_slice_counter,
                                           grid_line_counter, grid_slice_counter)


def test_our_float_line_kernel_passes_the_kit(exactregions_kit):
    exactregions_kit.check_line_counter(float_line_counter)


def test_our_float_slice_kernel_passes_the_kit(exactregions_kit):
    exactregions_kit.check_slice_counter(float_slice_counter)


def test_a_fixed_grid_line_counter_is_caught_and_shrunk():
    rep = check_line_counter(grid_line_counter, examples=30, seed=0)
    assert not rep.passed
    assert "exact answer is" in rep.message and "net " in rep.example
    # shrunk: a small net
    widths = [int(w) for w in rep.example.split()[1].split("-")]
    assert sum(widths[1:-1]) <= 8


def test_a_grid_slice_counter_is_caught_with_the_missed_region():
    rep = check_slice_counter(grid_slice_counter, examples=30, seed=0)
    assert not rep.passed
    assert ("witness (s, t)" in rep.message and "area" in rep.message) or "more than once" in rep.message


def test_assert_line_counts_names_missed_and_spurious_breakpoints():
    net = sawtooth_network(2)  # breakpoints at 1/4, 1/2, 3/4
    with pytest.raises(CounterMismatch, match=r"missed breakpoints t = 1/2"):
        assert_line_counts(lambda m, a, b: [0.25, 0.75], net, [0], [1])
    with pytest.raises(CounterMismatch, match="spurious"):
        assert_line_counts(lambda m, a, b: [0.25, 0.5, 0.6, 0.75], net, [0], [1])
    assert_line_counts(lambda m, a, b: [0.25, 0.5, 0.75], net, [0], [1])
    with pytest.raises(CounterMismatch, match="exact answer is 4"):
        assert_line_counts(lambda m, a, b: 3, net, [0], [1])


def test_assert_partition_names_the_missed_region():
    net = er.Network(2, (er.Layer(((Fraction(1), Fraction(0)),), (Fraction(-1, 2),), er.Activation.relu()),
                         er.Layer(((Fraction(1),),), (Fraction(0),), er.Activation.identity())))
    with pytest.raises(CounterMismatch, match=r"missed 1: witness"):
        assert_partition(lambda m, *a: [(0.1, 0.5)], net, [0, 0], [1, 0], [0, 1])
    assert_partition(lambda m, *a: [(0.1, 0.5), (0.9, 0.5)], net, [0, 0], [1, 0], [0, 1])


def test_metamorphic_transformations_keep_the_function():
    net = er.random_network([2, 4, 3, 1], seed=5, bias_std=0.2)
    x = [Fraction(1, 3), Fraction(-2, 7)]
    for other in (permute_hidden(net, 1), rescale_neuron(net, 0, 1, Fraction(5, 2)),
                  add_dead_neuron(net, 1)):
        assert other.forward(x) == net.forward(x)


def test_check_counter_cli_exit_codes(capsys):
    assert main(["check-counter", "exactregions.testing.examples:float_line_counter",
                 "--examples", "10"]) == 0
    assert main(["check-counter", "exactregions.testing.examples:grid_line_counter",
                 "--examples", "30"]) == 1
    assert "minimal failing example" in capsys.readouterr().out
    assert main(["check-counter", "no_such_module:f"]) == 2


def test_the_kit_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import exactregions as er, exactregions.testing as t\n"
            "exact = lambda m, a, b: len(er.region_complex(m, er.segment(a, b)).linear_regions)\n"
            "r = t.check_line_counter(exact, model='exact', examples=5); print('ok', r.passed)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "ok True" in out.stdout, out.stderr


def test_splitting_the_segment_catches_a_counter_that_ignores_the_domain():
    from exactregions.testing import check_line_metamorphic
    net = sawtooth_network(3)
    always_8 = lambda m, a, b: 8  # right on [0, 1], wrong on each half
    with pytest.raises(CounterMismatch, match="splitting the segment"):
        check_line_metamorphic(always_8, net, [0], [1])
    check_line_metamorphic(float_line_counter, net, [0], [1])


def test_public_domain_strategies():
    from hypothesis import given, settings
    from exactregions.testing import planes, segments

    @settings(max_examples=10, deadline=None)
    @given(segments(3), planes(3))
    def inner(seg, pl):
        assert seg.dim == 1 and pl.dim == 2 and pl.embedding is not None
    inner()
