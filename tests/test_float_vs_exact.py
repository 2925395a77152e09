"""The float kernels cross-validated against the exact core (hypothesis, dyadic nets)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, strategies as st

import exactregions as er
from exactregions.exact.constructions import sawtooth_network
from exactregions.floating.distance import boundary_distance
from exactregions.floating.lines import line_regions
from exactregions.floating.tensors import TorchNet
from exactregions.testing.strategies import dyadic_rationals, networks

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _t(rows):
    return torch.tensor([[float(v) for v in r] for r in rows], dtype=torch.float64)


def _line_agrees_or_is_flagged(net, p1, p2):
    """The float counts of the segment p1→p2 equal the exact core's, unless near-ties are
    reported."""
    if p1 == p2:
        return
    rc = er.region_complex(net, er.segment(p1, p2))
    r = line_regions(TorchNet.from_network(net), _t([p1]), _t([[b - a for a, b in zip(p1, p2)]]))
    if int(r.near_ties[0]) == 0:
        assert int(r.activation_pieces[0]) == len(rc.activation_regions)
        assert int(r.linear_pieces[0]) == len(rc.linear_regions)


@given(networks(input_dim=2, weights="dyadic", biases="dyadic", max_width=5, max_neurons=9),
       st.lists(dyadic_rationals(3, 1), min_size=4, max_size=4))
def test_float_line_counts_equal_exact_counts(net, coords):
    _line_agrees_or_is_flagged(net, coords[:2], coords[2:])


@given(networks(input_dim=2, weights="dyadic", biases="dyadic", max_width=5, max_neurons=9),
       st.lists(st.lists(dyadic_rationals(3, 1), min_size=4, max_size=4), min_size=2, max_size=6),
       st.integers(1, 4))
def test_a_batch_of_lines_counts_every_line_as_the_exact_core_does(net, segs, chunk):
    """Lines of different piece counts share padded batches (``chunk`` lines each): every line's
    count must still be its own exact count, and its breakpoints sorted inside (0, 1)."""
    segs = [s for s in segs if s[:2] != s[2:]]
    if not segs:
        return
    r = line_regions(TorchNet.from_network(net), _t([s[:2] for s in segs]),
                     _t([[b - a for a, b in zip(s[:2], s[2:])] for s in segs]), chunk=chunk)
    for i, s in enumerate(segs):
        ti = r.t[r.line == i]
        assert bool(((ti > 0) & (ti < 1)).all()) and bool((ti[1:] >= ti[:-1]).all())
        assert int(r.activation_pieces[i]) == ti.numel() + 1
        if int(r.near_ties[i]) == 0:
            rc = er.region_complex(net, er.segment(s[:2], s[2:]))
            assert int(r.activation_pieces[i]) == len(rc.activation_regions)
            assert int(r.linear_pieces[i]) == len(rc.linear_regions)


@given(networks(input_dim=2, weights="integer", biases="zero", max_width=4, max_neurons=6))
def test_degenerate_nets_agree_or_report_near_ties(net):
    p1, p2 = [Fraction(-1), Fraction(-1, 2)], [Fraction(1), Fraction(1, 2)]
    rc = er.region_complex(net, er.segment(p1, p2))
    r = line_regions(TorchNet.from_network(net), _t([p1]), _t([[2, 1]]))
    agree = (int(r.activation_pieces[0]) == len(rc.activation_regions)
             and int(r.linear_pieces[0]) == len(rc.linear_regions))
    assert agree or int(r.near_ties[0]) > 0


@pytest.mark.parametrize("n", [2, 5, 8])
def test_float_lines_count_the_sawtooth(n):
    r = line_regions(TorchNet.from_network(sawtooth_network(n)), _t([[0]]), _t([[1]]))
    assert int(r.linear_pieces[0]) == 2 ** n


def _exact_distance_sq(net: er.Network, x):
    """Oracle: exact min over neurons/breakpoints of (z - ξ)² / ‖∇z‖², by exact forward-mode
    gradients (independent of the float kernel); also over good neurons only."""
    n = net.input_dim
    h = [Fraction(v) for v in x]
    J = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    best = None
    for layer in net.layers:
        Z = [sum((w * v for w, v in zip(row, h)), b) for row, b in zip(layer.weight, layer.bias)]
        G = [[sum((w * J[k][c] for k, w in enumerate(row)), Fraction(0)) for c in range(n)]
             for row in layer.weight]
        acts = layer.activations
        for z, g, act in zip(Z, G, acts):
            nsq = sum(c * c for c in g)
            for xi in act.breakpoints:
                if nsq:
                    v = (z - xi) ** 2 / nsq
                    best = v if best is None or v < best else best
        pieces = [act.piece(z) for z, act in zip(Z, acts)]
        h = [act.slopes[j] * z + act.offsets[j] for z, j, act in zip(Z, pieces, acts)]
        J = [[act.slopes[j] * c for c in g] for g, j, act in zip(G, pieces, acts)]
    return best


@pytest.mark.parametrize("device", DEVICES)
@given(net=networks(input_dim=3, weights="dyadic", biases="dyadic", max_width=5, max_neurons=9),
       x=st.lists(st.lists(dyadic_rationals(3, 1), min_size=3, max_size=3), min_size=1, max_size=4))
def test_float_distances_equal_exact_distances(device, net, x):
    tn = TorchNet.from_network(net, device=device)
    r = boundary_distance(tn, _t(x).to(device))
    for i, p in enumerate(x):
        ex = _exact_distance_sq(net, p)
        got = float(r.region[i])
        if bool(r.near_ties[i]):
            continue
        if ex is None:
            assert math.isinf(got)
        else:
            assert got == pytest.approx(math.sqrt(ex), rel=1e-9, abs=1e-12)
        assert float(r.good[i]) >= got


def test_distance_to_region_boundary_matches_the_exact_polytope():
    """DESIGN.md: min over all constraints of the region's H-polytope, exactly."""
    net = er.random_network([2, 6, 6, 1], seed=4, bias_std=0.3)
    rc = er.region_complex(net, er.box([(-4, 4), (-4, 4)]))
    tn = TorchNet.from_network(net)
    for reg in rc.activation_regions[:20]:
        w = reg.witness
        r = boundary_distance(tn, _t([w]))
        # the region's facets inside the box are neuron facets; all pattern constraints count
        ex = _exact_distance_sq(net, w)
        assert float(r.region[0]) == pytest.approx(math.sqrt(ex), rel=1e-9)
        facet_d = min((b - sum(a_i * w_i for a_i, w_i in zip(a, w))) ** 2 / sum(a_i * a_i for a_i in a)
                      for a, b, labs in zip(reg.A, reg.b, reg.labels) if labs[0][0] == "neuron")
        assert ex <= facet_d


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cpu_and_cuda_agree():
    net = er.random_network([20, 32, 32, 1], seed=0, bias_std=0.1)
    g = torch.Generator().manual_seed(0)
    p = torch.rand(64, 20, generator=g, dtype=torch.float64)
    d = torch.randn(64, 20, generator=g, dtype=torch.float64)
    a = line_regions(TorchNet.from_network(net), p, d)
    b = line_regions(TorchNet.from_network(net, device="cuda"), p.cuda(), d.cuda())
    assert torch.equal(a.activation_pieces, b.activation_pieces.cpu())
    ra = boundary_distance(TorchNet.from_network(net), p)
    rb = boundary_distance(TorchNet.from_network(net, device="cuda"), p.cuda())
    assert torch.allclose(ra.region, rb.region.cpu(), rtol=1e-9)


def _square_slice_and_exact(net):
    """The float slice of [-1,1]² (the plane of the input axes) and the exact complex there."""
    from exactregions.floating.slice import slice_regions
    e = torch.eye(2, dtype=torch.float64)
    r = slice_regions(TorchNet.from_network(net), torch.zeros(2, dtype=torch.float64), e[0], e[1],
                      ((-1.0, 1.0), (-1.0, 1.0)))
    return r, er.region_complex(net, er.box([(-1, 1), (-1, 1)]))


@given(networks(input_dim=2, weights="dyadic", biases="dyadic", max_width=5, max_neurons=9))
def test_float_slice_counts_equal_exact_counts(net):
    r, rc = _square_slice_and_exact(net)
    if r.near_ties == 0:
        assert r.activation_regions == len(rc.activation_regions)
        assert r.linear_regions == len(rc.linear_regions)


@given(networks(input_dim=2, weights="integer", biases="zero", max_width=4, max_neurons=6))
def test_float_slice_on_degenerate_nets_agrees_or_reports_near_ties(net):
    r, rc = _square_slice_and_exact(net)
    agree = (r.activation_regions == len(rc.activation_regions)
             and r.linear_regions == len(rc.linear_regions))
    assert agree or r.near_ties > 0


def test_float_slice_of_a_high_dimensional_net_equals_the_exact_slice():
    from exactregions.floating.slice import slice_regions
    import numpy as np
    net = er.random_network([30, 10, 10, 2], seed=2, bias_std=0.1)
    p = np.random.default_rng(1).uniform(0, 1, size=(3, 30))
    r = slice_regions(TorchNet.from_network(net), *[torch.tensor(q) for q in p], box=((-1.0, 2.0), (-1.0, 2.0)))
    rc = er.region_complex(net, er.plane(*p.tolist(), bounds=[(-1, 2), (-1, 2)]))
    assert r.near_ties == 0
    assert (r.activation_regions, r.linear_regions) == (len(rc.activation_regions), len(rc.linear_regions))


@given(networks(input_dim=2, weights="integer", biases="dyadic", max_width=4, max_neurons=8),
       st.lists(dyadic_rationals(3, 1), min_size=4, max_size=4))
def test_lines_through_a_linear_sparse_middle_layer_agree_with_the_exact_core(net, coords):
    """A linear hidden layer with zero weights between activated ones: goodness must follow the
    non-zero weights through a layer without breakpoints."""
    from exactregions.exact.activation import Activation
    from exactregions.exact.network import Layer, Network
    w = len(net.layers[0].bias)
    mid = Layer(tuple(tuple(Fraction(int(i == j)) for j in range(w)) for i in range(w)),
                tuple(Fraction(0) for _ in range(w)), Activation.identity())
    net = Network(net.input_dim, (net.layers[0], mid) + tuple(net.layers[1:]))
    _line_agrees_or_is_flagged(net, coords[:2], coords[2:])


@given(networks(input_dim=2, weights="integer", biases="dyadic", max_width=4, max_neurons=8))
def test_float_slice_on_integer_nets_agrees_or_reports_near_ties(net):
    """Integer weights make weights cancel (a good neuron across which the output map does not
    change): the float slice must then report a near-tie, not a wrong linear count."""
    r, rc = _square_slice_and_exact(net)
    agree = (r.activation_regions == len(rc.activation_regions)
             and r.linear_regions == len(rc.linear_regions))
    assert agree or r.near_ties > 0


def test_cancelling_weights_are_reported_not_counted():
    """x ↦ -2 relu(h + 1/8) - relu(1/8 - 2h), h = relu(-x1 - 1/8): the first neuron is good
    (a path of open neurons to the output) but its switch does not change the map (-3/8 on
    both sides), so Proposition 9's count is off by one there; both float kernels must report
    a near-tie (found by hypothesis)."""
    from exactregions.exact.activation import Activation
    from exactregions.exact.network import Layer, Network
    from exactregions.floating.slice import slice_regions
    net = Network(2, (Layer.from_numbers([[-1, 0]], ["-1/8"], Activation.relu()),
                      Layer.from_numbers([[0], [1], [-2], [0]], ["1/8"] * 4, Activation.relu()),
                      Layer.from_numbers([[0, -2, -1, 0]], [0], Activation.identity())))
    rc = er.region_complex(net, er.segment([0, 0], ["-1/4", 0]))
    assert (len(rc.activation_regions), len(rc.linear_regions)) == (3, 2)
    tn = TorchNet.from_network(net)
    r = line_regions(tn, _t([[0, 0]]), _t([[-0.25, 0]]))
    assert int(r.activation_pieces[0]) == 3 and int(r.near_ties[0]) == 1
    e = torch.eye(2, dtype=torch.float64)
    s = slice_regions(tn, torch.zeros(2, dtype=torch.float64), e[0], e[1], ((-1.0, 1.0), (-1.0, 1.0)))
    sq = er.region_complex(net, er.box([(-1, 1), (-1, 1)]))
    assert s.activation_regions == len(sq.activation_regions)
    assert s.near_ties >= 1


def test_nan_and_inf_in_the_float_kernels_inputs_are_refused():
    """A NaN or inf point, direction, parameter or box: InvalidDomainError from every kernel
    (they returned counts and distances computed from NaN)."""
    from exactregions.floating.distance import boundary_distance
    from exactregions.floating.slice import slice_regions
    tn = TorchNet.from_network(er.random_network([2, 4, 1], seed=0))
    ok, e = torch.zeros(1, 2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    for bad in (float("nan"), float("inf")):
        x = torch.tensor([[bad, 0.0]], dtype=torch.float64)
        for call in (lambda: line_regions(tn, x, e[:1]), lambda: line_regions(tn, ok, x),
                     lambda: line_regions(tn, ok, e[:1], 0.0, bad),
                     lambda: slice_regions(tn, x[0], e[0], e[1], ((0.0, 1.0), (0.0, 1.0))),
                     lambda: slice_regions(tn, ok[0], e[0], e[1], ((0.0, bad), (0.0, 1.0))),
                     lambda: boundary_distance(tn, x)):
            with pytest.raises(er.InvalidDomainError):
                call()


def test_no_lines_and_standing_still_are_answered():
    """An empty batch gives empty results; a zero direction is one piece with no near-tie."""
    tn = TorchNet.from_network(er.random_network([3, 4, 4, 1], seed=0))
    z = torch.zeros(0, 3, dtype=torch.float64)
    assert line_regions(tn, z, z).activation_pieces.numel() == 0
    r = line_regions(tn, torch.rand(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))
    assert r.activation_pieces.tolist() == [1, 1] and r.near_ties.tolist() == [0, 0]


def test_small_nets_run_on_one_thread_and_the_setting_is_restored():
    """Robust under load: a small kernel runs on one thread (threads spinning on a core another
    process holds made it 4x slower), a big one keeps torch's threads; both restore them."""
    from exactregions.floating.slice import slice_regions
    from exactregions.floating.tensors import threads_for
    small = TorchNet.from_network(er.random_network([2, 8, 8, 1], seed=0))
    big = TorchNet.from_network(er.random_network([784, 64, 1], seed=0))
    before = torch.get_num_threads()
    seen = []
    with threads_for(small):
        seen.append(torch.get_num_threads())
    with threads_for(big):
        seen.append(torch.get_num_threads())
    assert seen == [1, before] and torch.get_num_threads() == before
    e = torch.eye(2, dtype=torch.float64)
    slice_regions(small, torch.zeros(2, dtype=torch.float64), e[0], e[1])
    assert torch.get_num_threads() == before


@given(networks(input_dim=2, weights="dyadic", biases="dyadic", max_width=5, max_neurons=9,
                per_neuron_slopes=True),
       st.lists(dyadic_rationals(3, 1), min_size=4, max_size=4),
       st.lists(st.lists(dyadic_rationals(3, 1), min_size=2, max_size=2), min_size=1, max_size=3))
def test_per_channel_prelu_nets_agree_on_every_float_kernel(net, coords, x):
    """A slope a neuron (per-channel PReLU): lines, the slice and distances equal the exact
    answers (the float tables are (T+1, width) there, a gather instead of an index)."""
    _line_agrees_or_is_flagged(net, coords[:2], coords[2:])
    r, rc = _square_slice_and_exact(net)
    if r.near_ties == 0:
        assert r.activation_regions == len(rc.activation_regions)
        assert r.linear_regions == len(rc.linear_regions)
    d = boundary_distance(TorchNet.from_network(net), _t(x))
    for i, p in enumerate(x):
        ex = _exact_distance_sq(net, p)
        if not bool(d.near_ties[i]):
            got = float(d.region[i])
            assert math.isinf(got) if ex is None else got == pytest.approx(math.sqrt(ex), rel=1e-9,
                                                                          abs=1e-12)
