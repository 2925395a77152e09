"""The propose engine: the float skeleton proposes, exact rationals decide.

Oracles: the splitting engine (an independent exact enumeration, cell by cell), brute force on
tiny nets, and closed forms.  The engine must give the very same complex (regions, faces,
vertices, linear regions, pieces) on every net — by its proposal on generic nets, by falling
back to splitting on degenerate ones — and must never accept a wrong proposal.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

import exactregions as er
from exactregions.exact import affinemaps, decide
from exactregions.exact.affinemaps import PatternMaps
from exactregions.exact.decide import ProposalRejected, arrangement_from_proposal
from exactregions.exact.network import Layer, Network
from exactregions.exact.polytope import rank
from exactregions.floating.propose import (propose_complex, proposed_arrangement,
                                           repaired_arrangement)
from exactregions.floating.skeleton import NotGeneric, Skeleton, propose_skeleton
from exactregions.testing.strategies import activations, boxes, networks, polytopes

from oracles import _affine_maps, assert_same_complex, brute_force_regions


def split_complex(net, K):
    return er.build_complex(er.enumerate_cells(net, K))


def generic_net(widths, seed, bias_std=0.3):
    return er.random_network(widths, seed=seed, bias_std=bias_std)


@given(n=st.integers(1, 4), seed=st.integers(0, 10 ** 6), width=st.integers(2, 6),
       depth=st.integers(1, 3), bias_std=st.sampled_from([0.3, 1e-3]))
@settings(max_examples=20)
def test_propose_equals_split_on_generic_nets(n, seed, width, depth, bias_std):
    """He-init weights, biases N(0, 0.3²) or N(0, 1e-6) (the benchmarks' tiny regions around
    the origin): the proposal is taken and equals exact splitting, face for face, in
    dimensions 1 to 4."""
    widths = [n] + [width if n < 4 else min(width, 4)] * (depth if n < 4 else 1) + [1]
    net = generic_net(widths, seed, bias_std)
    K = er.box([(-1, 1)] * n)
    rc = propose_complex(net, K)
    assert rc.certificate["engine"] == "propose" and rc.certificate["independent"]["ok"]
    assert_same_complex(rc, split_complex(net, K))


@pytest.mark.parametrize("widths, seed", [([5, 4, 3, 1], 1), ([6, 4, 1], 2)])
def test_five_and_six_input_boxes_end_to_end(widths, seed):
    """Beyond the dimensions the hypothesis test draws: a 5-D and a 6-D box, the whole complex
    (regions, the B_N,k pieces, the independent check): the same as splitting, and
    its patterns are brute force's (an LP for each of the 2^#neurons patterns)."""
    net = generic_net(widths, seed)
    K = er.box([(-1, 1)] * widths[0])
    rc = propose_complex(net, K)
    assert rc.certificate["engine"] == "propose" and rc.certificate["independent"]["ok"]
    assert {r.pattern for r in rc.activation_regions} == set(brute_force_regions(net, K))
    assert sum(r.volume for r in rc.activation_regions) == 2 ** widths[0]
    codims = {p.codim for p in rc.pieces}
    assert 1 in codims and codims <= set(range(1, widths[0] + 1))
    assert_same_complex(rc, split_complex(net, K))


@given(st.data())
def test_propose_equals_split_on_any_net(data):
    """Dyadic, integer and zero-bias nets of every activation: whichever engine ends up
    computing it (a degenerate net falls back to splitting), the complex is the same."""
    n = data.draw(st.integers(1, 3))
    net = data.draw(networks(input_dim=n, max_width=5 if n < 3 else 3,
                             max_neurons=10 if n < 3 else 6))
    K = data.draw(boxes(n))
    rc = propose_complex(net, K)
    assert rc.certificate["ok"]
    assert_same_complex(rc, split_complex(net, K))


@given(st.data())
@settings(max_examples=150)
def test_integer_pattern_maps_equal_direct_composition(data):
    """The decide step's maps (integer products over one denominator, in Python or FLINT by
    size, or updated from the map of a pattern with the same earlier layers) equal the oracle's
    layer-by-layer composition in Fractions, for every activation (slopes and offsets of any
    rational, per-neuron PReLU included) and any patterns, feasible or not, asked in any order;
    their integer rows over D > 0 are those rational rows (as the map's rows read them)."""
    n = data.draw(st.integers(1, 3))
    scaled = st.sampled_from([er.Activation.pwl([0], [0, 2]), er.Activation.pwl([0], [1, 3]),
                              er.Activation.pwl([1], [0, 1])])   # integer slopes, 0/1 off ξ=0
    net = data.draw(networks(input_dim=n, max_width=5, max_neurons=12,
                             activation=st.one_of(activations(), scaled),
                             per_neuron_slopes=data.draw(st.booleans())))
    def pieces(layer):
        return st.integers(0, len(layer.breakpoints))

    pattern = tuple(tuple(data.draw(pieces(layer)) for _ in range(layer.out_dim))
                    for layer in net.layers)
    # then patterns that share a prefix with one before them (a map is then updated from a
    # sibling prefix's: only the neurons whose piece differs)
    patterns = [pattern]
    for _ in range(data.draw(st.integers(0, 4))):
        base = list(data.draw(st.sampled_from(patterns)))
        l = data.draw(st.integers(0, len(base) - 1))
        row = list(base[l])
        for i in data.draw(st.lists(st.integers(0, len(row) - 1), max_size=3)):
            row[i] = data.draw(pieces(net.layers[l]))
        patterns.append(tuple(base[:l]) + (tuple(row),) + tuple(base[l + 1:]))
    old = affinemaps.PYTHON_PRODUCT_MAX, affinemaps.SIBLING_UPDATE_MAX
    affinemaps.PYTHON_PRODUCT_MAX = data.draw(st.sampled_from([0, 6, old[0]]))  # FLINT … Python
    affinemaps.SIBLING_UPDATE_MAX = data.draw(st.sampled_from([0, 5, old[1]]))  # never … often
    try:
        maps = PatternMaps(net)
        got = [maps.of(P) for P in patterns]
    finally:
        affinemaps.PYTHON_PRODUCT_MAX, affinemaps.SIBLING_UPDATE_MAX = old
    for P, Zs in zip(patterns, got):
        want, _ = _affine_maps(net, P)
        assert [[[Fraction(x, Z.D) for x in row] for row in Z.ints]
                for Z in Zs] == [[list(a) + [c] for a, c in Z] for Z in want]
        for Z in Zs:
            assert Z.D > 0
            assert [[Fraction(int(x.numerator), int(x.denominator)) for x in row]
                    for row in Z] == [[Fraction(x, Z.D) for x in row] for row in Z.ints]


@given(st.data())
def test_exact_vertex_solves_equal_fraction_elimination(data):
    """decide's vertex solve (Cramer's rule over integer determinants: closed forms to 3 × 3,
    Bareiss with row swaps beyond) against Gauss-Jordan elimination in Fractions; a singular
    system is rejected, never solved."""
    n = data.draw(st.integers(1, 5))
    entry = st.integers(-3, 3) | st.integers(-2 ** 80, 2 ** 80)
    M = [[data.draw(entry) for _ in range(n)] for _ in range(n)]
    rhs = [data.draw(entry) for _ in range(n)]
    A = [[Fraction(x) for x in row] + [Fraction(r)] for row, r in zip(M, rhs)]
    rank = 0
    for c in range(n):                      # Gauss-Jordan on the augmented matrix
        piv = next((i for i in range(rank, n) if A[i][c] != 0), None)
        if piv is None:
            continue
        A[rank], A[piv] = A[piv], A[rank]
        A[rank] = [x / A[rank][c] for x in A[rank]]
        for i in range(n):
            if i != rank and A[i][c] != 0:
                A[i] = [x - A[i][c] * y for x, y in zip(A[i], A[rank])]
        rank += 1
    if rank < n:
        with pytest.raises(ProposalRejected, match="not independent"):
            decide._solve(M, rhs)
        return
    *X, d = decide._solve(M, rhs)
    assert d > 0 and [Fraction(x, d) for x in X] == [A[i][n] for i in range(n)]


@given(st.data())
def test_proposed_patterns_equal_brute_force(data):
    """Against the brute-force oracle (patterns of a fine grid and of every vertex candidate)."""
    n = data.draw(st.integers(1, 2))
    net = data.draw(networks(input_dim=n, max_width=4, max_neurons=6, biases="dyadic",
                             weights="float"))
    K = data.draw(boxes(n))
    rc = propose_complex(net, K)
    assert {r.pattern for r in rc.activation_regions} == set(brute_force_regions(net, K))


def test_degenerate_nets_fall_back_and_agree():
    """Zero biases (every first-layer hyperplane through the origin, a vertex of K's
    subdivision on more than n of them): not generic, the splitting engine computes it; a
    duplicated neuron (coincident hyperplanes, read off the weights) with a hyperplane through
    two corners of K (exact signs there): proposed whole; and a dead layer — the same complex
    as the splitting engine's every time."""
    zero_bias = er.random_network([2, 5, 4, 1], seed=3, bias_std=0.0)
    w = ((Fraction(1), Fraction(2)), (Fraction(1), Fraction(2)), (Fraction(-1), Fraction(1)))
    dup = Network(2, (Layer(w, (Fraction(1, 3), Fraction(1, 3), Fraction(0)), er.Activation.relu()),
                      Layer(((Fraction(1), Fraction(-1), Fraction(1)),), (Fraction(0),),
                            er.Activation.identity())))
    dead = Network(2, (Layer(((Fraction(1), Fraction(1)),), (Fraction(-9),), er.Activation.relu()),
                       Layer(((Fraction(1),), (Fraction(-1),)), (Fraction(1, 2), Fraction(0)),
                             er.Activation.relu()),
                       Layer(((Fraction(1), Fraction(1)),), (Fraction(0),),
                             er.Activation.identity())))
    K = er.box([(-1, 1), (-1, 1)])
    for net in (zero_bias, dup, dead):
        rc = propose_complex(net, K)
        assert_same_complex(rc, split_complex(net, K))
    # the origin is on all five first-layer hyperplanes and every region is a cone from it:
    # every cut of a repair would meet every region, so K is split whole
    assert propose_complex(zero_bias, K).certificate["engine"].startswith("split (not generic")
    # coincident hyperplanes are one column of the skeleton, and -x + y = 0 passes through
    # the corners (-1, -1) and (1, 1): both known exactly, K is proposed whole
    assert propose_complex(dup, K).certificate["engine"] == "propose"


def test_a_local_degeneracy_is_repaired_on_its_tile_only():
    """Three hyperplanes through (1/2, 1/3): the proposal for K is not generic; the repair
    proposes K's four tiles apart, halves the one that fails twice more, splits only the
    smallest tile around the point exactly (3 + 3 + 4 tiles, 1.51% of K), glues — and the
    complex is the splitting engine's.  (On a net this small most regions meet the cuts, so by
    default the engine splits K whole: the test lifts that limit.)"""
    F = Fraction
    net = Network(2, (Layer(((F(1), F(0)), (F(0), F(1)), (F(6), F(3)), (F(2), F(-3))),
                            (F(-1, 2), F(-1, 3), F(-4), F(1, 7)), er.Activation.relu()),
                      Layer(((F(1), F(2), F(-1), F(1)),), (F(0),), er.Activation.identity())))
    K = er.box([(-1, 1), (-1, 1)])
    arr, split, tiles, share = repaired_arrangement(net, K, max_cut_share=1.0)
    assert (split, tiles) == (1, 10) and share < Fraction(2, 100)
    assert_same_complex(er.build_complex(arr), split_complex(net, K))
    assert_same_complex(propose_complex(net, K), split_complex(net, K))


def assert_proposed_whole(net, K):
    """The propose engine took K whole (no repair, no split), and its certified complex is the
    splitting engine's."""
    rc = propose_complex(net, K)
    assert rc.certificate["engine"] == "propose", rc.certificate["engine"]
    assert_same_complex(rc, split_complex(net, K))


def _corners(*signs_per_axis):
    return [list(c) for c in itertools.product(*signs_per_axis)]


NON_SIMPLE = {
    "octahedron |x|+|y|+|z| <= 1": er.hpolytope(_corners(*[[-1, 1]] * 3), [1] * 8),
    "square pyramid, apex (0, 0, 1)": er.hpolytope(
        [[-1, 0, 0], [0, -1, 0], [1, 0, 1], [0, 1, 1], [0, 0, -1]], [0, 0, 1, 1, 0]),
    "square, the row y <= 1 twice": er.hpolytope(
        [[1, 0], [-1, 0], [0, 1], [0, -1], [0, 1]], [1, 1, 1, 1, 1]),
    "cube, a row through three corners": er.hpolytope(
        [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1], [1, 1, 1]],
        [1, 1, 1, 1, 1, 1, 1]),
    "cross-polytope |x|_1 <= 1 in 4-D": er.hpolytope(_corners(*[[-1, 1]] * 4), [1] * 16),
}


def _non_simple(K):
    return any(sum(sum(a * x for a, x in zip(row, v)) == c for row, c in zip(K.A, K.b)) > K.dim
               for v in K.vertices)


@given(st.data())
@settings(max_examples=20)
def test_a_non_simple_K_is_proposed_whole(data):
    """K with vertices on more than n facets — an octahedron, a pyramid's apex, a repeated
    row, a row through three corners of a cube, the 4-D cross-polytope, or a drawn box cut
    through its corners — and a generic net: the skeleton proposes K whole (no repair, no
    split) from a simple perturbation of K with copies of its vertices, and the decided,
    certified complex is the splitting engine's."""
    if data.draw(st.booleans()):
        K = NON_SIMPLE[data.draw(st.sampled_from(sorted(NON_SIMPLE)))]
    else:
        K = data.draw(polytopes(data.draw(st.integers(2, 3)), max_cuts=3))
        assume(_non_simple(K))
    assert _non_simple(K)
    widths = [K.dim] + data.draw(st.lists(st.integers(2, 6 if K.dim < 4 else 4), min_size=1,
                                          max_size=2)) + [1]
    net = generic_net(widths, data.draw(st.integers(0, 10 ** 6)))
    assert_proposed_whole(net, K)


@given(st.data())
@settings(max_examples=25)
def test_pruned_and_duplicated_neurons_are_proposed_whole(data):
    """Planted in a generic net: pruned neurons (an all-zero weight row; bias 0, at a breakpoint,
    or anything) and duplicated ones (a row c times an earlier neuron's of the same layer, its
    bias making the same hyperplane: c = 2 or -1/2 for ReLU-like φ with ξ = 0, c = -1 for hard
    tanh's ±1).  The skeleton knows them exactly from the weights — a constant side, or the
    first copy's hyperplane — and proposes K whole; the decision adds no constraint without a
    hyperplane (z ≡ ξ on a region is on the right piece, not a facet 0 <= 0), and the certified
    complex is the splitting engine's."""
    n = data.draw(st.integers(1, 3))
    act = data.draw(st.sampled_from(["relu", "leaky_relu", "abs", "hardtanh"]))
    widths = [n] + data.draw(st.lists(st.integers(3, 6), min_size=1, max_size=2)) + [1]
    net = er.random_network(widths, seed=data.draw(st.integers(0, 10 ** 6)), activation=act,
                            bias_std=0.3)
    layers = list(net.layers)
    planted = 0
    for l, layer in enumerate(layers[:-1]):
        W, b = [list(r) for r in layer.weight], list(layer.bias)
        for i in range(1, len(W)):
            kind = data.draw(st.sampled_from(["keep", "keep", "prune", "duplicate"]))
            if kind == "prune":
                W[i] = [Fraction(0)] * len(W[i])
                b[i] = data.draw(st.sampled_from([Fraction(0), Fraction(1), Fraction(-1),
                                                  b[i]]))
            elif kind == "duplicate":
                k = data.draw(st.integers(0, i - 1))
                c = Fraction(-1) if act == "hardtanh" else data.draw(
                    st.sampled_from([Fraction(2), Fraction(-1, 2)]))
                W[i], b[i] = [c * x for x in W[k]], c * b[k]
            planted += kind != "keep"
        layers[l] = Layer(tuple(map(tuple, W)), tuple(b), layer.activation)
    assume(planted)
    net = Network(n, tuple(layers))
    K = er.box([(-1, 1)] * n)
    arr, why = proposed_arrangement(net, K)
    assert arr is not None, why
    assert all(any(c.a) for c in arr.table)
    assert_proposed_whole(net, K)


@given(st.data())
@settings(max_examples=25)
def test_hyperplanes_through_corners_of_K_are_proposed_whole(data):
    """First-layer hyperplanes through corners of K (biases set so that z_i = ξ at a drawn
    corner: the hyperplane cuts K there) or along a facet (z_i = x_k - lo_k: it only touches K)
    in a generic net: the signs at K's corners are exact for the first layer, so the skeleton
    proposes K whole — a touching hyperplane is one side of K, a corner it cuts through is put
    on its + side and the points cut next to it merged with it, the sliver between dropped —
    and the certified complex is the splitting engine's."""
    n = data.draw(st.integers(1, 3))
    widths = [n] + data.draw(st.lists(st.integers(3, 6), min_size=1, max_size=2)) + [1]
    net = er.random_network(widths, seed=data.draw(st.integers(0, 10 ** 6)), bias_std=0.3)
    lo = [Fraction(data.draw(st.integers(-4, 0)), 4) for _ in range(n)]
    K = er.box([(a, a + Fraction(data.draw(st.integers(1, 8)), 4)) for a in lo])
    first = net.layers[0]
    W, b = [list(r) for r in first.weight], list(first.bias)
    planted = 0
    for i in range(len(W)):
        kind = data.draw(st.sampled_from(["keep", "corner", "corner", "facet"]))
        if kind == "corner":
            v = data.draw(st.sampled_from(list(K.vertices)))
            b[i] = -sum((w * x for w, x in zip(W[i], v)), Fraction(0))
        elif kind == "facet":
            k = data.draw(st.integers(0, n - 1))
            W[i] = [Fraction(int(j == k)) * data.draw(st.sampled_from([1, 2])) for j in range(n)]
            b[i] = -W[i][k] * lo[k]
        planted += kind != "keep"
    assume(planted)
    net = Network(n, (Layer(tuple(map(tuple, W)), tuple(b), first.activation),)
                  + net.layers[1:])
    assert_proposed_whole(net, K)


@given(st.data())
@settings(max_examples=25)
def test_deeper_hyperplanes_through_corners_of_K_are_proposed_whole(data):
    """Deeper layers' hyperplanes through corners of K (a neuron's bias set so that its exact
    pre-activation at a drawn corner is ξ; the net is continuous, so that value is one whatever
    the region), with first-layer ones through other corners: the corner is put on the
    hyperplane's + side, the points cut next to it merged with it, the slivers dropped — K
    proposed whole — and the certified complex is the splitting engine's, unless a neuron is
    constant at ξ on a region or two neurons of a layer share a hyperplane there
    (:func:`_flat_or_coincident`: other degeneracies, which still fall back).  Several
    hyperplanes of different layers through one corner (zero-bias nets at the origin) are
    proposed in 1-D (:func:`test_zero_bias_nets_on_a_corner_are_proposed_whole`) but can still
    fall back beyond."""
    n = data.draw(st.integers(1, 3))
    widths = [n] + data.draw(st.lists(st.integers(2, 5), min_size=2, max_size=3)) + [1]
    act = data.draw(st.sampled_from(["relu", "leaky_relu", "hardtanh"]))
    net = er.random_network(widths, seed=data.draw(st.integers(0, 10 ** 6)), activation=act,
                            bias_std=0.3)
    lo = [Fraction(data.draw(st.integers(-4, 0)), 4) for _ in range(n)]
    K = er.box([(a, a + Fraction(data.draw(st.integers(1, 8)), 4)) for a in lo])
    layers = list(net.layers)
    planted = 0
    used = set()
    for l in range(len(layers) - 1):
        W, b = [list(r) for r in layers[l].weight], list(layers[l].bias)
        xis = layers[l].breakpoints
        for i in range(len(W)):
            if data.draw(st.sampled_from(["keep", "corner"] if l else ["keep"] * 3 + ["corner"])) \
                    == "keep":
                continue
            v = data.draw(st.sampled_from(list(K.vertices)))
            assume(v not in used)     # one hyperplane a corner (stacked ones: see below)
            used.add(v)
            upto = Network(n, tuple(layers[:l]) + (Layer(tuple(map(tuple, W)), tuple(b),
                                                         layers[l].activation),))
            z = upto.preactivations(v)[l][i]
            b[i] += data.draw(st.sampled_from(xis)) - z
            planted += l > 0
        layers[l] = Layer(tuple(map(tuple, W)), tuple(b), layers[l].activation)
    assume(planted)
    net = Network(n, tuple(layers))
    rc = propose_complex(net, K)
    assert_same_complex(rc, split_complex(net, K))
    if not _flat_or_coincident(net, rc):
        assert rc.certificate["engine"] == "propose", rc.certificate["engine"]


@pytest.mark.parametrize("layers, act, K", [
    ([([[2]], [0]), ([[-1]], [0])], "relu", (0, Fraction(1, 4))),
    ([([[0], [-1], [1]], [0, 0, 0]), ([[2, 0, 2]], [0])], "leaky_relu", (0, Fraction(1, 2))),
    ([([[1]], [1]), ([[1]], [0])], "hardtanh", (Fraction(-1, 4), 0))])
def test_zero_bias_nets_on_a_corner_are_proposed_whole(layers, act, K):
    """Every neuron of every layer through the corner x = 0 of K (zero biases; hardtanh(x + 1)
    at x = 0 is 1, its breakpoint, and so is the next layer's z): the deeper layers' exact
    values at the corner put it on their + side, as the first layer's — proposed whole (these
    nets fell back to splitting before), equal to splitting."""
    acts = {"relu": er.Activation.relu(), "hardtanh": er.Activation.hardtanh(),
            "leaky_relu": er.Activation.leaky_relu(Fraction(1, 100))}
    hidden = tuple(Layer(tuple(tuple(map(Fraction, r)) for r in W), tuple(map(Fraction, b)),
                         acts[act]) for W, b in layers)
    out = Layer(((Fraction(1),) * len(hidden[-1].bias),), (Fraction(0),),
                er.Activation.identity())
    assert_proposed_whole(Network(1, hidden + (out,)), er.box([K]))


def _flat_or_coincident(net: Network, rc) -> bool:
    """Whether on some region a neuron is constant at a breakpoint (its inputs all on flat
    pieces: it sits at ξ on the whole region) or two neurons of a layer have one hyperplane
    (rows (a, c - ξ) proportional: the layer's input of rank 1 there) — the degeneracies the
    skeleton does not read off, found exactly from the regions' maps."""
    maps = PatternMaps(net)
    for r in rc.activation_regions:
        for l, Z in enumerate(maps.of(r.pattern)):
            rows = [(tuple(z[:-1]), z[-1] - xi) for z in Z
                    for xi in net.layers[l].breakpoints]
            if any(not any(a) and c == 0 for a, c in rows):
                return True
            keys = set()
            for a, c in rows:
                if any(a):
                    k = next(x for x in a if x != 0)
                    keys.add((tuple(x / k for x in a), c / k))
            if len(keys) < sum(1 for a, _ in rows if any(a)):
                return True
    return False


def test_the_repair_works_on_slices_and_polytopes():
    """The degenerate point of the test above, (1/2, 1/3), seen through a plane slice of a
    4-input net (P1 = 0, directions e1 and e2: the slice's net is the 2-input one; its tiles
    are cut in slice coordinates and keep the embedding) and inside a pentagon K (the box cut
    by x + y <= 7/4: its tiles are K ∩ boxes).  Each time only the tile around the point is
    split, and the complex is the splitting engine's."""
    F = Fraction
    rows = ((F(1), F(0)), (F(0), F(1)), (F(6), F(3)), (F(2), F(-3)))
    bias = (F(-1, 2), F(-1, 3), F(-4), F(1, 7))
    out = Layer(((F(1), F(2), F(-1), F(1)),), (F(0),), er.Activation.identity())
    net4 = Network(4, (Layer(tuple(r + (F(r[0] - 2 * r[1]), F(3)) for r in rows), bias,
                             er.Activation.relu()), out))
    P = er.plane([0] * 4, [1, 0, 0, 0], [0, 1, 0, 0], bounds=((-1, 1), (-1, 1)))
    net2 = Network(2, (Layer(rows, bias, er.Activation.relu()), out))
    pentagon = er.hpolytope([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1]], [1, 1, 1, 1, F(7, 4)])
    for net, K in ((net4, P), (net2, pentagon)):
        arr, split, tiles, share = repaired_arrangement(net, K, max_cut_share=1.0)
        assert split == 1 and share < Fraction(2, 100)
        assert all(c.label[0] != "domain" or c.label[1] < len(K.A) for c in arr.table)
        assert_same_complex(er.build_complex(arr), split_complex(net, K))


def test_the_repair_halves_only_while_the_cuts_meet_few_regions():
    """Three zero biases among 16 first-layer neurons (biases sd 0.3): one degenerate point, the
    origin, and ~300 regions, few of them on the cuts: the engine repairs K locally, splitting
    one tile.  All biases zero: every region is a cone from the origin and meets every cut, and
    K is split whole.  Either way the complex is the splitting engine's."""
    K = er.box([(-1, 1), (-1, 1)])
    base = er.random_network([2, 16, 16, 1], seed=0, bias_std=0.3)
    first = base.layers[0]
    planted = Network(2, (Layer(first.weight, (Fraction(0),) * 3 + first.bias[3:],
                                first.activation),) + base.layers[1:])
    cones = er.random_network([2, 16, 16, 1], seed=0, bias_std=0.0)
    for net, engine in ((planted, "propose, 1 of "), (cones, "split (not generic")):
        rc = propose_complex(net, K)
        assert rc.certificate["engine"].startswith(engine)
        assert_same_complex(rc, split_complex(net, K))


def test_the_repair_cuts_each_axis_at_its_own_fraction():
    """Four planes through the origin of [-1, 1]³ (through no edge or corner of K); two of them
    cross in the line t (3, 1, 1), which meets a tile edge y = z = c wherever y and z are cut
    at one value c.  Cut at one fraction on every axis, the tiles along that line fail at every
    level too (5 of 78 split); cut at a different prime on every axis, only the tile around the
    origin is split (1 of 22)."""
    F = Fraction
    rows = tuple(tuple(map(F, r)) for r in ((1, -4, 1), (2, -5, -1), (1, 2, 4), (1, 3, -7)))
    rng = np.random.default_rng(0)
    net = Network(3, (Layer(rows, (F(0),) * 4, er.Activation.relu()),
                      Layer((tuple(map(F, rng.normal(size=4))),), (F(1, 3),),
                            er.Activation.relu()),
                      Layer(((F(1),),), (F(0),), er.Activation.identity())))
    K = er.box([(-1, 1)] * 3)
    arr, split, tiles, share = repaired_arrangement(net, K, max_cut_share=1.0)
    assert (split, tiles) == (1, 22)
    assert_same_complex(er.build_complex(arr), split_complex(net, K))


@given(st.data())
@settings(max_examples=20)
def test_the_repair_splits_only_a_small_tile_around_a_planted_degenerate_point(data):
    """n + 1 first-layer hyperplanes through one dyadic point p of K (a vertex on more than n
    of them: not generic there) among neurons with float weights (generic everywhere else).
    The repair halves K off-centre, then the failing tile twice more: exactly one tile is
    split, of at most Π_i max(c_i, 1 − c_i)³ of vol(K) (c_i the cut on axis i) — wherever p is,
    even at K's centre, where a midpoint halving made p a corner of every tile — and the glued
    complex, certified, is the splitting engine's (oracle: exact splitting of the whole of K).
    The cut-share limit is lifted: on nets this small most regions meet the cuts."""
    from exactregions.exact.tiles import off_centre

    n = data.draw(st.integers(2, 3))
    p = [Fraction(data.draw(st.integers(-6, 6)), 8) for _ in range(n)]
    rows, biases = [], []
    for _ in range(n + 1):         # through p, in general position among themselves
        w = [Fraction(data.draw(st.integers(1, 9)) * data.draw(st.sampled_from([1, -1])))
             for _ in range(n)]
        rows.append(tuple(w))
        biases.append(-sum(a * b for a, b in zip(w, p)))
    # any n of them independent: p is their only common point
    assume(all(rank([r for i, r in enumerate(rows) if i != j]) == n for j in range(n + 1)))
    # K's sides end at fractions with a different prime on every axis: no flat where some of
    # those hyperplanes cross meets an edge or a corner of K
    K = er.box([(Fraction(-(q - 4), q), Fraction(q - 3, q)) for q in (53, 59, 47)[:n]])
    # the rest from Gaussian floats (exact binary rationals): no coincidence of their own
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    extra = data.draw(st.integers(0, 2))
    rows += [tuple(map(Fraction, rng.normal(size=n))) for _ in range(extra)]
    biases += list(map(Fraction, rng.normal(size=extra)))
    m = data.draw(st.integers(1, 3))
    net = Network(n, (Layer(tuple(rows), tuple(biases), er.Activation.relu()),
                      Layer(tuple(tuple(map(Fraction, r)) for r in rng.normal(size=(m, len(rows)))),
                            tuple(map(Fraction, rng.normal(size=m))), er.Activation.relu()),
                      Layer((tuple(Fraction(1) for _ in range(m)),), (Fraction(0),),
                            er.Activation.identity())))
    assert proposed_arrangement(net, K)[0] is None
    arr, split, tiles, share = repaired_arrangement(net, K, max_cut_share=1.0)
    assert arr is not None and split == 1 and tiles == 3 * (2 ** n - 1) + 1
    assert share <= math.prod(max(c, 1 - c) ** 3 for c in map(off_centre, range(n)))
    assert_same_complex(er.build_complex(arr), split_complex(net, K))


def test_sawtooth_closed_form():
    """The sawtooth of depth d has 2^d linear regions on [0, 1].  Its kinks are shared by
    neurons of consecutive layers (a vertex on two hyperplanes): not generic, so the engine says
    so and splits the tiles around them (or K whole) — and the count is still 2^d."""
    from exactregions.exact.constructions import sawtooth_network
    for d in (2, 3, 4):
        rc = propose_complex(sawtooth_network(d), er.box([(0, 1)]))
        assert len(rc.linear_regions) == 2 ** d
        assert "not generic" in rc.certificate["engine"], rc.certificate["engine"]


def test_one_layer_closed_form():
    """k ReLUs x ↦ relu(x − c_i) with distinct c_i inside [0, 1] (and output weights making
    every kink real): exactly k + 1 regions and k + 1 linear regions, by the proposal."""
    F = Fraction
    for k in (1, 3, 7):
        cs = [F(2 * i + 1, 2 * k + 1) for i in range(k)]
        net = Network(1, (Layer(tuple((F(1),) for _ in cs), tuple(-c for c in cs),
                                er.Activation.relu()),
                          Layer((tuple(F(i + 1) for i in range(k)),), (F(0),),
                                er.Activation.identity())))
        rc = propose_complex(net, er.box([(0, 1)]))
        assert rc.certificate["engine"] == "propose"
        assert len(rc.activation_regions) == len(rc.linear_regions) == k + 1


# ----- the decision never accepts a wrong proposal ------------------------------------------

def _proposal(net, K):
    sk = propose_skeleton(net, K)
    return dict(vertices=sk.vertices, zeros=sk.zeros.copy(), region_ptr=sk.region_ptr.copy(),
                region_vertices=sk.region_vertices.copy(), patterns=sk.patterns.copy(),
                columns=sk.columns)


NET2 = er.random_network([2, 6, 5, 1], seed=7, bias_std=0.3)
K2 = er.box([(-1, 1), (-1, 1)])


def test_untouched_proposal_is_accepted():
    arr = arrangement_from_proposal(NET2, K2, **_proposal(NET2, K2))
    assert len(arr.cells) == len(er.enumerate_cells(NET2, K2).cells)


def test_wrong_vertex_constraints_are_rejected():
    """A vertex said to lie on another neuron's hyperplane is solved where those constraints
    put it, and the exact tests reject it (the float coordinates are never used): for every
    such change, outside K, on the wrong side of a neuron, or with dependent constraints —
    never accepted, and each of the three reasons occurs."""
    p0 = _proposal(NET2, K2)
    nz = [c for c in range(len(p0["columns"])) if p0["columns"][c][0] == "neuron"]
    reasons = set()
    for v in np.flatnonzero((p0["zeros"] >= 4).all(axis=1))[:6].tolist():   # interior vertices
        for other in nz:
            if other in p0["zeros"][v]:
                continue
            p = dict(p0, zeros=p0["zeros"].copy())
            p["zeros"][v, 0] = other
            with pytest.raises(ProposalRejected) as exc:
                arrangement_from_proposal(NET2, K2, **p)
            reasons.add(str(exc.value).split(" of ")[0].split(" neuron")[0])
    assert {"a proposed vertex lies outside K", "a proposed vertex is on the wrong side"} <= reasons


def test_a_missing_region_fails_the_volume_certificate():
    """Drop one region: each remaining one is exact, but the complex has a hole — an interior
    facet with a cell on one side only, and volumes that no longer add up to vol(K)."""
    p = _proposal(NET2, K2)
    ptr = p["region_ptr"]
    p["region_vertices"] = p["region_vertices"][ptr[1]:]
    p["region_ptr"] = ptr[1:] - ptr[1]
    p["patterns"] = p["patterns"][1:]
    arr = arrangement_from_proposal(NET2, K2, **p)
    with pytest.raises(er.CertificateError, match="interior facet lies on 1 cell|volumes do not"):
        er.build_complex(arr)


def test_a_wrong_pattern_is_rejected():
    """Two regions' patterns swapped: their vertices are on the wrong sides in the maps of the
    patterns they were given."""
    p = _proposal(NET2, K2)
    p["patterns"][[0, 1]] = p["patterns"][[1, 0]]
    with pytest.raises((ProposalRejected, er.CertificateError)):
        er.build_complex(arrangement_from_proposal(NET2, K2, **p))


def test_a_repeated_pattern_is_rejected():
    p = _proposal(NET2, K2)
    p["patterns"][1] = p["patterns"][0]
    with pytest.raises(ProposalRejected, match="one pattern"):
        arrangement_from_proposal(NET2, K2, **p)


def test_malformed_proposals_are_rejected():
    """Out-of-range pieces, vertex ids or columns: ProposalRejected, never an IndexError."""
    for key, change in (("patterns", lambda p: p.__setitem__((0, 0), 7)),
                        ("zeros", lambda p: p.__setitem__((0, 0), 10 ** 6)),
                        ("region_vertices", lambda p: p.__setitem__(0, -1))):
        p = _proposal(NET2, K2)
        change(p[key])
        with pytest.raises(ProposalRejected, match="do not fit"):
            arrangement_from_proposal(NET2, K2, **p)
    p = _proposal(NET2, K2)
    p["columns"] = p["columns"][:-1] + (("neuron", 9, 0, 0),)
    with pytest.raises(ProposalRejected, match="do not fit"):
        arrangement_from_proposal(NET2, K2, **p)


def test_rejected_proposals_fall_back(monkeypatch):
    """propose_complex turns a rejected proposal into a split run, with the reason."""
    import exactregions.floating.propose as prop

    def bad_skeleton(net, domain, device="cpu"):
        sk = propose_skeleton(net, domain, device=device)
        pats = sk.patterns.copy()
        pats[1] = pats[0]
        return Skeleton(sk.vertices, sk.zeros, sk.region_ptr, sk.region_vertices, pats,
                        sk.columns, sk.widths, sk.edges)

    monkeypatch.setattr(prop, "propose_skeleton", bad_skeleton)
    rc = prop.propose_complex(NET2, K2)
    assert rc.certificate["engine"].startswith("split (proposal rejected")
    assert_same_complex(rc, split_complex(NET2, K2))


@pytest.mark.parametrize("everywhere", [True, False])
def test_a_proposal_failing_a_certificate_falls_back(monkeypatch, everywhere):
    """A proposal missing one region passes every local exact test but not the certificates
    (the volumes fall short of vol(K)): propose_complex then repairs K tile by tile and, where
    the tiles' proposals miss a region too, splits K, and says why.  (A net of ~300 regions:
    on smaller ones the cuts would meet most regions, and K is split without a repair.)"""
    import exactregions.floating.propose as prop

    net = er.random_network([2, 16, 16, 1], seed=0, bias_std=0.3)

    def short_skeleton(net, domain, device="cpu"):
        sk = propose_skeleton(net, domain, device=device)
        if not everywhere and domain is not K2:
            return sk
        ptr = sk.region_ptr
        return Skeleton(sk.vertices, sk.zeros, ptr[1:] - ptr[1], sk.region_vertices[ptr[1]:],
                        sk.patterns[1:], sk.columns, sk.widths, sk.edges)

    monkeypatch.setattr(prop, "propose_skeleton", short_skeleton)
    rc = prop.propose_complex(net, K2, independent_check=False)
    engine = rc.certificate["engine"]
    if everywhere:
        assert engine.startswith("split (proposal failed a certificate")
        assert "the repaired proposal failed a certificate too" in engine
    else:
        assert engine.startswith("propose, 0 of 4 tiles split, 0.00% of K (proposal failed a "
                                 "certificate")
    assert_same_complex(rc, split_complex(net, K2))


# ----- the skeleton -----------------------------------------------------------------------

def test_skeleton_is_deterministic_and_counts_match():
    net = er.random_network([3, 6, 6, 1], seed=2, bias_std=0.2)
    K = er.box([(-1, 1)] * 3)
    a, b = propose_skeleton(net, K), propose_skeleton(net, K)
    assert np.array_equal(a.patterns, b.patterns) and np.array_equal(a.vertices, b.vertices)
    assert a.num_regions == len(er.enumerate_cells(net, K).cells)


@pytest.mark.parametrize("deep", [False, True])
def test_skeleton_reports_near_ties(deep):
    """A hyperplane within 1e-14 of a vertex of K, not through it, is a near-tie: NotGeneric,
    not a guess (through it exactly, the skeleton knows the sign: proposed) — in the first
    layer (x + y + b), and in the second (relu(x + y + 3), everywhere active on K, then
    z = h − 3 + b: the same line, known exactly only from the corners' exact values)."""
    def net(bias):
        relu, F = er.Activation.relu(), Fraction
        first = (Layer(((F(1), F(1)),), (F(3),), relu),) if deep else ()
        return Network(2, first + (
            Layer(((F(1),) * (1 if deep else 2),), (bias - 3 if deep else bias,), relu),
            Layer(((F(1),),), (F(0),), er.Activation.identity())))
    K = er.box([(-1, 1), (-1, 1)])
    near = net(Fraction(1, 10 ** 14))
    with pytest.raises(NotGeneric):
        propose_skeleton(near, K)
    arr, why = proposed_arrangement(near, K)
    assert arr is None and why.startswith("not generic")
    assert proposed_arrangement(net(Fraction(0)), K)[0] is not None


def test_slices_and_polytopes():
    """A plane slice and a segment of a 5-input net, and a triangle K: the same complex as
    splitting."""
    net = er.random_network([5, 8, 6, 1], seed=4, bias_std=0.3)
    P = er.plane([0] * 5, [1, 0, 0, 0, 0], [0, 1, 0, 0, 0], bounds=((-1, 1), (-1, 1)))
    rc = propose_complex(net, P)
    assert rc.certificate["engine"] == "propose"
    assert_same_complex(rc, split_complex(net, P))
    seg = er.segment([0] * 5, [1, 2, 0, -1, 1])
    rc = propose_complex(net, seg)
    assert rc.certificate["engine"] == "propose"
    assert_same_complex(rc, split_complex(net, seg))
    net2 = er.random_network([2, 7, 1], seed=5, bias_std=0.3)
    T = er.hpolytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    rc = propose_complex(net2, T)
    assert rc.certificate["engine"] == "propose"
    assert_same_complex(rc, split_complex(net2, T))


def test_per_neuron_prelu_and_multi_breakpoint():
    """Per-channel PReLU slopes and a hardtanh (two breakpoints a neuron)."""
    base = er.random_network([2, 6, 5, 1], seed=8, bias_std=0.3)
    acts = tuple(er.Activation.leaky_relu(Fraction(k, 4)) for k in (0, 1, 2, 3, 1, 0))
    prelu = Network(2, (Layer(base.layers[0].weight, base.layers[0].bias, acts),) +
                    base.layers[1:])
    ht = er.random_network([2, 6, 5, 1], seed=8, bias_std=0.3, activation="hardtanh")
    for net in (prelu, ht):
        rc = propose_complex(net, K2)
        assert rc.certificate["engine"] == "propose"
        assert_same_complex(rc, split_complex(net, K2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_skeleton_equals_cpu():
    net = er.random_network([3, 8, 8, 1], seed=0, bias_std=1e-3)
    K = er.box([(-1, 1)] * 3)
    a = propose_skeleton(net, K, device="cpu")
    b = propose_skeleton(net, K, device="cuda")
    assert np.array_equal(a.patterns, b.patterns)


def test_cli_engines_agree(tmp_path):
    """`enumerate --engine propose` and `--engine split` write the same summary."""
    net = tmp_path / "n.json"
    er.save_network(er.random_network([2, 8, 8, 1], seed=1, bias_std=0.2), net)
    out = {}
    for eng in ("propose", "split"):
        j = tmp_path / f"{eng}.json"
        subprocess.run([sys.executable, "-m", "exactregions", "enumerate", str(net), "--box",
                        "-1:1", "--engine", eng, "--json", str(j), "--no-progress"], check=True,
                       capture_output=True)
        out[eng] = json.loads(j.read_text())
    assert out["propose"]["engine"] == "propose" and out["split"]["engine"] == "split"
    for d in out.values():
        d.pop("engine"), d.pop("seconds")
    assert out["propose"] == out["split"]


def test_cli_without_torch(tmp_path):
    """Without torch the CLI's default engine is split; asking for propose, or for a torch
    device, is one clear line and exit 2, with no output file."""
    net = tmp_path / "n.json"
    er.save_network(er.random_network([2, 4, 1], seed=1, bias_std=0.2), net)
    out = tmp_path / "o.json"
    run = ("import sys; sys.modules['torch'] = None\n"
           "from exactregions.cli import main\n"
           "sys.exit(main(sys.argv[1:]))")
    base = [sys.executable, "-c", run, "enumerate", str(net), "--box", "-1:1", "--json", str(out),
            "--no-progress"]
    r = subprocess.run(base, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["engine"] == "split"
    out.unlink()
    for extra in (["--engine", "propose"], ["--device", "cuda"]):   # cuda: not ignored either
        r = subprocess.run(base + extra, capture_output=True, text=True)
        assert r.returncode == 2 and "torch" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("weight, hi", [(2 ** 600, 1), (1, 2 ** 600)],
                         ids=["map beyond the float range", "vertex beyond the float range"])
def test_numbers_beyond_the_float_range_are_decided_exactly(weight, hi):
    """A map or a vertex with no safe float copy (beyond 2^500) is placed exactly, never through
    a stand-in float.  One region on K = [-1/2, hi] claims hardtanh's middle piece (-1 <= z <= 1)
    for z = weight·x; at the vertex hi, z = 2^600, far above 1: the claim is wrong, and only the
    exact value shows it (a zero in place of the missing float would look clearly inside)."""
    from exactregions.exact.decide import ProposalRejected, arrangement_from_proposal

    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[str(weight)]], "bias": [0],
                                            "activation": "hardtanh"}]})
    K = er.box([("-1/2", str(hi))])        # facet 0: x <= hi, facet 1: -x <= 1/2
    with pytest.raises(ProposalRejected, match="wrong side"):
        arrangement_from_proposal(net, K, vertices=[[-0.5], [float(hi)]], zeros=[[1], [0]],
                                  region_ptr=[0, 2], region_vertices=[0, 1], patterns=[[1]],
                                  columns=[("domain", 0), ("domain", 1)])
