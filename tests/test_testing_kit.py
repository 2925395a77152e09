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
    rep = check_line_counter(grid_line_counter, examples=30, seed=0, shrink_budget=50)
    assert not rep.passed
    assert "exact answer is" in rep.message and "net " in rep.example
    # shrunk (the first failure is on a 2-5-1 net): a small net
    widths = [int(w) for w in rep.example.split()[1].split("-")]
    assert sum(widths[1:-1]) <= 8


def test_a_grid_slice_counter_is_caught_with_the_missed_region():
    rep = check_slice_counter(grid_slice_counter, examples=30, seed=0, shrink_budget=25)
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
                 "--examples", "30", "--shrink-budget", "10"]) == 1
    assert "minimal failing example" in capsys.readouterr().out
    assert main(["check-counter", "no_such_module:f"]) == 2
    capsys.readouterr()
    for bad, words in ((["--examples", "0"], "examples must be"),
                       (["--shrink-budget", "-1"], "shrink budget must be")):
        assert main(["check-counter", "exactregions.testing.examples:grid_line_counter",
                     *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and words in err, err


def test_the_shrink_budget_bounds_the_counters_runs_after_the_first_failure():
    """Budget 0: the first failure is reported as found; each further run is one the budget
    allows (so a user's slow counter is not run without end)."""
    runs = []

    def counting(model, p1, p2):
        runs.append(1)
        return grid_line_counter(model, p1, p2)

    first = check_line_counter(counting, examples=30, seed=0, shrink_budget=0, metamorphic=False)
    before = len(runs)
    runs.clear()
    ten = check_line_counter(counting, examples=30, seed=0, shrink_budget=10, metamorphic=False)
    assert not first.passed and not ten.passed
    assert before < len(runs) <= before + 10
    from exactregions.errors import InvalidOptionError
    with pytest.raises(InvalidOptionError, match="examples"):
        check_line_counter(counting, examples=0)
    with pytest.raises(InvalidOptionError, match="shrink budget"):
        check_slice_counter(grid_slice_counter, shrink_budget=-2)


def test_the_exact_pieces_are_listed_along_the_segment():
    """The mismatch message lists the exact linear pieces in order of t (a 2-4-1-1 abs net
    whose regions the 1-D enumerator numbers out of that order)."""
    F = Fraction
    hidden = ((F(-11, 16), F(-1, 16)), (F(-1), F(9, 8)), (F(29, 16), F(9, 4)),
              (F(7, 16), F(-7, 16)))
    net = er.Network(2, (er.Layer(hidden, (F(1, 4), F(5, 8), F(5, 8), F(-1, 8)),
                                  er.Activation.abs()),
                         er.Layer(((F(-11, 4), F(-1, 16), F(43, 16), F(7, 16)),), (F(-7, 8),),
                                  er.Activation.abs()),
                         er.Layer(((F(27, 16),),), (F(-1, 8),), er.Activation.identity())))
    p1, p2 = [F(-7, 8), F(1, 8)], [F(7, 8), F(-7, 8)]
    want = len(er.region_complex(net, er.segment(p1, p2)).linear_regions)
    with pytest.raises(CounterMismatch) as info:
        assert_line_counts(lambda m, a, b: want + 1, net, p1, p2)
    pieces = str(info.value).split("affine maps in t: ")[1].split("; ")
    ends = [[F(x) for x in piece[1:piece.index("]")].split(", ")] for piece in pieces]
    assert len(ends) == want and ends[0][0] == 0 and ends[-1][1] == 1
    assert all(a[1] == b[0] for a, b in zip(ends, ends[1:])), ends


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


# ----- targeted strategies, reproducers, health checks (the kit from a user's chair) --------

def _merge_nearly_equal_slopes(net, p1, p2):
    """A counter right in every way but one: neighbouring pieces whose slopes agree to 2% are
    merged (the subtle bug the targeted strategies are there for)."""
    from fractions import Fraction as F
    rc = er.region_complex(net, er.segment([F(x) for x in p1], [F(x) for x in p2]),
                           independent_check=False)
    regs = rc.activation_regions
    pieces = sorted((min(v[0] for m in lr.members for v in regs[m].vertices),
                     regs[lr.members[0]].output_map[0][0]) for lr in rc.linear_regions)
    count, cur = 1, pieces[0][1]
    for _, s in pieces[1:]:
        if abs(s - cur) > F(2, 100) * max(abs(cur), abs(s)):
            count += 1
        cur = s
    return count


@pytest.mark.parametrize("seed", [3, 5, 7])   # seeds whose uniform draws miss it at 100 examples
def test_merging_slopes_that_agree_to_2_percent_is_caught_within_100_examples(seed):
    from exactregions.testing import check_line_counter
    rep = check_line_counter(_merge_nearly_equal_slopes, model="exact", examples=100, seed=seed,
                             metamorphic=False, shrink_budget=0)   # caught is all it asks
    assert not rep.passed and "under-count" in rep.message


GRID_COUNTER = """
import numpy as np

def grid_counter(model, p1, p2, n=64):
    t = (np.arange(n) + 0.38) / n
    h = np.asarray(p1) + t[:, None] * (np.asarray(p2) - np.asarray(p1))
    for layer in model:
        z = h @ layer["weight"].T + layer["bias"]
        h = z if layer["activation"] == "identity" else np.maximum(z, 0)
    slope = np.diff(h[:, 0]) / np.diff(t)
    return 1 + int((~np.isclose(slope[1:], slope[:-1])).sum())
"""


def test_a_failure_comes_with_a_reproducer_that_fails_the_same_way(tmp_path, monkeypatch):
    from exactregions.testing import check_line_counter
    (tmp_path / "my_counters.py").write_text(GRID_COUNTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_counters
    rep = check_line_counter(my_counters.grid_counter, examples=40, activations=("relu",),
                             shrink_budget=25)
    assert not rep.passed and "def test_reproduce" in rep.reproducer
    assert "-count by" in rep.message and "affine maps in t" in rep.message
    f = tmp_path / "test_reproduce.py"
    f.write_text(rep.reproducer)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(f)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1 and "CounterMismatch" in run.stdout, run.stdout[-2000:]


def test_the_strategies_pass_health_checks_in_a_users_own_test():
    from hypothesis import given, settings
    from exactregions.testing import networks, planes, segments, subtle_networks

    seen = []

    @settings(max_examples=30, deadline=None)   # hypothesis' default health checks stay on
    @given(networks(input_dim=2), subtle_networks(input_dim=2), segments(2, with_points=True),
           planes(3, with_points=True))
    def users_test(net, subtle, seg, pln):
        (dom, (p1, _)), (plane_dom, pts) = seg, pln
        assert dom.embedding.origin == tuple(p1) and len(pts) == 3
        assert plane_dom.embedding.origin == tuple(pts[0])
        seen.append(subtle.source)

    users_test()
    assert len(seen) == 30


def test_the_transformations_carry_per_neuron_slopes_with_their_neurons():
    """permute_hidden, add_dead_neuron and prune keep the function of a per-channel PReLU net:
    each neuron's slope moves with it (the numpy model the kit hands counters carries them too)."""
    from hypothesis import given, settings
    from exactregions.testing.check import prune
    from exactregions.testing.examples import _forward_patterns
    from exactregions.testing.oracles import model_for
    from exactregions.testing.strategies import dyadic_rationals, networks
    import hypothesis.strategies as st
    import numpy as np

    @settings(max_examples=30, deadline=None, derandomize=True)
    @given(networks(input_dim=2, max_width=4, max_neurons=8, weights="dyadic",
                    per_neuron_slopes=True),
           st.lists(st.lists(dyadic_rationals(3, 1), min_size=2, max_size=2), min_size=3,
                    max_size=3), st.integers(0, 100))
    def check(net, xs, seed):
        for other in (permute_hidden(net, seed), prune(net)):
            assert [other.forward(x) for x in xs] == [net.forward(x) for x in xs]
        # the numpy model's own forward pass (examples' reference code) sees the slopes
        X = np.array([[float(v) for v in x] for x in xs])
        pats = _forward_patterns(model_for(net, "numpy"), X)
        want = [[j for layer in net.forward_with_pattern(x)[1] for j in layer] for x in xs]
        on_kink = [any(z in net.layers[l].breakpoints for l, zs in enumerate(net.preactivations(x))
                       for z in zs) for x in xs]
        for row, w, kink in zip(pats.tolist(), want, on_kink):
            assert kink or row == w

    check()


def test_the_kit_checks_counters_on_per_channel_prelu_nets_when_asked():
    """``prelu`` in activations: our float counters pass; a counter that reads one slope a layer
    (the first neuron's) is caught."""
    from exactregions.testing.check import check_line_counter
    rep = check_line_counter(float_line_counter, examples=15, activations=("prelu",))
    assert rep.passed, rep

    def one_slope_a_layer(model, p1, p2):
        layers = [dict(layer) for layer in model]
        for layer in layers:
            spec = layer["activation"]
            if isinstance(spec, dict) and spec.get("name") == "prelu":
                layer["activation"] = {"name": "leaky_relu",
                                       "negative_slope": spec["negative_slopes"][0]}
        return float_line_counter(layers, p1, p2)

    assert not check_line_counter(one_slope_a_layer, examples=30, activations=("prelu",),
                                  metamorphic=False, shrink_budget=10).passed
