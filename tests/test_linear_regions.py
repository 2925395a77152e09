"""Linear regions against an independent 2-D oracle: brute-force activation regions glued by
exact shared edges of positive length where the full affine map of *all* outputs (every
Jacobian column and the offset) is the same.  The independent checker is off here, so the
oracle alone judges the enumerator's gluer (the checker has tests of its own)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

import exactregions as er

from oracles import brute_force_linear_regions_2d

SMALL = st.integers(-2, 2).map(Fraction)


@st.composite
def multi_output_nets(draw, input_dim=2):
    """Integer weights (coincident hyperplanes, cancelling paths, dead units on purpose), 1–2
    hidden layers, 1–3 outputs."""
    widths = [input_dim] + draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    layers = []
    for a, b in zip(widths, widths[1:]):
        W = [[draw(SMALL) for _ in range(a)] for _ in range(b)]
        bias = [draw(st.integers(-2, 2).map(lambda k: Fraction(k, 2))) for _ in range(b)]
        layers.append(er.Layer(tuple(map(tuple, W)), tuple(bias),
                               draw(st.sampled_from([er.Activation.relu(), er.Activation.abs(),
                                                     er.Activation.leaky_relu("1/2")]))))
    k = draw(st.integers(1, 3))
    W = [[draw(SMALL) for _ in range(widths[-1])] for _ in range(k)]
    layers.append(er.Layer(tuple(map(tuple, W)), tuple(Fraction(0) for _ in range(k)),
                           er.Activation.identity()))
    return er.Network(input_dim, tuple(layers))


def _partition(rc):
    pats = [r.pattern for r in rc.activation_regions]
    return {frozenset(pats[m] for m in lr.members) for lr in rc.linear_regions}


@given(multi_output_nets())
def test_linear_regions_equal_the_exact_gluing_oracle(net):
    K = er.box([(-1, 1), (-1, 1)])
    rc = er.region_complex(net, K, independent_check=False)
    assert _partition(rc) == brute_force_linear_regions_2d(net, K)


def _restricted(net, origin, dirs):
    """The net on the plane origin + s·d1 + t·d2, composed by hand (not by the library)."""
    first = net.layers[0]
    W = tuple(tuple(sum((w * d[k] for k, w in enumerate(row)), Fraction(0)) for d in dirs)
              for row in first.weight)
    b = tuple(bb + sum((w * o for w, o in zip(row, origin)), Fraction(0))
              for row, bb in zip(first.weight, first.bias))
    return er.Network(2, (er.Layer(W, b, first.activation),) + net.layers[1:])


@given(multi_output_nets(input_dim=3),
       st.lists(st.lists(st.integers(-1, 1).map(Fraction), min_size=3, max_size=3),
                min_size=3, max_size=3))
def test_linear_regions_on_a_plane_slice_glue_by_the_full_map(net, pts):
    p1, p2, p3 = pts
    d1 = [y - x for x, y in zip(p1, p2)]
    d2 = [y - x for x, y in zip(p1, p3)]
    if er.exact.polytope.rank([d1, d2]) < 2:
        return
    dom = er.plane(p1, p2, p3, bounds=[(-1, 1), (-1, 1)])
    oracle = brute_force_linear_regions_2d(_restricted(net, p1, [d1, d2]), er.box([(-1, 1)] * 2),
                                           full_net=net)
    assert _partition(er.region_complex(net, dom, independent_check=False)) == oracle


def _net(rows, out):
    return er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 2,
                                 "layers": [{"weight": [r[:2] for r in rows],
                                             "bias": [r[2] for r in rows], "activation": "relu"},
                                            {"weight": out, "bias": [0] * len(out),
                                             "activation": "identity"}]})


@pytest.mark.parametrize("name, net, linear", [
    # outputs (0, relu(x)): only the second output sees the kink
    ("second output", _net([[1, 0, 0]], [[0], [1]]), 2),
    # outputs (relu(x) - relu(x), 0): no output sees it
    ("no output", _net([[1, 0, 0], [1, 0, 0]], [[1, -1], [0, 0]]), 1),
    # relu(y): only the y column of the Jacobian changes
    ("y column", _net([[0, 1, 0]], [[1]]), 2),
    # relu(x) - relu(x): cancelling paths, one linear region
    ("cancelling", _net([[1, 0, 0], [1, 0, 0]], [[1, -1]]), 1),
    # relu(x + y) + relu(-x - y) = |x + y|: one kink, two linear regions
    ("abs", _net([[1, 1, 0], [-1, -1, 0]], [[1, 1]]), 2),
])
def test_small_nets_where_one_output_or_one_column_decides(name, net, linear):
    K = er.box([(-1, 1), (-1, 1)])
    rc = er.region_complex(net, K, independent_check=False)
    assert len(rc.linear_regions) == linear
    assert _partition(rc) == brute_force_linear_regions_2d(net, K)


@given(multi_output_nets(input_dim=2), st.data())
@settings(max_examples=200)
def test_the_gradients_modulo_p_are_zero_exactly_where_the_rational_ones_are(net, data):
    """``ModularGradients.nonzero`` (g_z modulo a prime, which decides g_z ≠ 0 for the slice
    gluer) against g_z = ∂out/∂(post-activation of z) backpropagated here in Fractions: on these
    small integer nets every entry of g is an integer far below p, so the two must agree
    exactly — a residue that claims g ≠ 0 where g = 0 would keep two regions of one linear
    region apart."""
    from exactregions.exact.complex import ModularGradients
    residues = ModularGradients(net)
    pattern = tuple(tuple(data.draw(st.integers(0, len(a.slopes) - 1)) for a in layer.activations)
                    for layer in net.layers)
    for l in range(len(net.layers) - 1):
        for i in range(net.layers[l].out_dim):
            g = [Fraction(int(j == i)) for j in range(net.layers[l].out_dim)]
            for layer, pieces in zip(net.layers[l + 1:], pattern[l + 1:]):
                g = [a.slopes[j] * sum((w * x for w, x in zip(row, g)), Fraction(0))
                     for row, a, j in zip(layer.weight, layer.activations, pieces)]
            assert residues.nonzero(l, i, pattern) == any(g), (l, i)


@given(multi_output_nets(input_dim=3), st.data())
@settings(max_examples=200)
def test_the_jacobians_modulo_p_differ_exactly_where_the_rational_ones_do(net, data):
    """``ModularGradients.jacobians_differ`` (J·r modulo p for two patterns, which decides that
    a facet where several neurons change piece is no glued one) against ∂out/∂x multiplied out
    here in Fractions: on small integer nets a difference of J·r that vanishes modulo p while J
    differs would need J·r to differ by a multiple of p, so the two must agree."""
    from exactregions.exact.complex import ModularGradients

    def pattern():
        return tuple(tuple(data.draw(st.integers(0, len(a.slopes) - 1)) for a in lay.activations)
                     for lay in net.layers)

    def jacobian(pat):
        J = [[Fraction(int(i == j)) for j in range(net.input_dim)] for i in range(net.input_dim)]
        for lay, pieces in zip(net.layers, pat):
            J = [[a.slopes[k] * sum((w * row[c] for w, row in zip(wr, J)), Fraction(0))
                  for c in range(net.input_dim)]
                 for wr, a, k in zip(lay.weight, lay.activations, pieces)]
        return J

    p1, p2 = pattern(), pattern()
    differ = ModularGradients(net).jacobians_differ(p1, p2)
    assert differ == (jacobian(p1) != jacobian(p2))
