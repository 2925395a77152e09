"""Property tests of the exact core against independent oracles and closed forms."""

from __future__ import annotations

import os
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

import exactregions as er
from exactregions.exact.constructions import sawtooth_network
from exactregions.exact.network import Layer, Network
from exactregions.testing.strategies import boxes, networks

from oracles import brute_force_1d, brute_force_linear_regions_2d, brute_force_regions


@given(st.data())
def test_certificates_hold_on_random_small_nets(data):
    n = data.draw(st.integers(1, 3))
    net = data.draw(networks(input_dim=n, max_width=6 if n < 3 else 4, max_neurons=12 if n < 3 else 8))
    K = data.draw(boxes(n))
    rc = er.region_complex(net, K)
    cert = rc.certificate
    assert cert["ok"] and cert["volume_sum"] == cert["domain_volume"] == K.volume()
    assert cert["euler_characteristic"] == 1
    assert 1 <= len(rc.linear_regions) <= len(rc.activation_regions)
    if n == 1:
        assert len(rc.linear_regions) == rc.boundary_counts()[1] + 1


@given(st.data())
def test_activation_regions_equal_brute_force(data):
    n = data.draw(st.integers(1, 2))
    net = data.draw(networks(input_dim=n, max_width=4, max_neurons=6,
                             activation=st.sampled_from([er.Activation.relu(), er.Activation.abs(),
                                                         er.Activation.leaky_relu("1/4")])))
    K = data.draw(boxes(n))
    rc = er.region_complex(net, K)
    oracle = brute_force_regions(net, K)
    assert {r.pattern for r in rc.activation_regions} == set(oracle)


@given(st.data())
def test_per_channel_prelu_regions_equal_brute_force(data):
    """Each neuron its own negative slope: activation regions and (in 2-D) linear regions equal
    the brute-force oracles, which compose the per-neuron slopes by hand."""
    n = data.draw(st.integers(1, 2))
    net = data.draw(networks(input_dim=n, max_width=4, max_neurons=6, per_neuron_slopes=True))
    K = data.draw(boxes(n))
    rc = er.region_complex(net, K)
    assert {r.pattern for r in rc.activation_regions} == set(brute_force_regions(net, K))
    assert rc.certificate["independent"]["ok"]
    if n == 2:
        pats = [r.pattern for r in rc.activation_regions]
        got = {frozenset(pats[m] for m in lr.members) for lr in rc.linear_regions}
        assert got == brute_force_linear_regions_2d(net, K)


@given(st.data())
def test_1d_counts_equal_brute_force(data):
    net = data.draw(networks(input_dim=1, max_width=4, max_neurons=7))
    K = data.draw(boxes(1))
    (lo,), (hi,) = min(K.vertices), max(K.vertices)
    n_act, n_lin = brute_force_1d(net, lo, hi)
    rc = er.region_complex(net, K)
    assert len(rc.activation_regions) == n_act
    assert len(rc.linear_regions) == n_lin
    assert rc.boundary_counts()[1] == n_lin - 1


@pytest.mark.parametrize("n", range(1, 9))
def test_sawtooth_has_exactly_2_to_the_n_pieces(n):
    rc = er.region_complex(sawtooth_network(n), er.box([(0, 1)]))
    assert len(rc.linear_regions) == 2 ** n
    assert rc.boundary_counts() == {1: 2 ** n - 1}


@given(st.data())
def test_graph_invariants(data):
    n = data.draw(st.integers(2, 3))
    net = data.draw(networks(input_dim=n, max_width=4, max_neurons=7 if n == 2 else 5))
    rc = er.region_complex(net, data.draw(boxes(n)))
    G = er.region_graph(rc)
    for v, d in G.nodes(data=True):
        if d["kind"] == "boundary_piece":
            nbr_codims = {G.nodes[u]["codim"] for u in G[v]
                          if G.edges[u, v]["relation"] == "face"}
            # every codim-k piece lies in the closure of some codim-(k-1) piece or region
            assert d["codim"] - 1 in nbr_codims
    adj = er.adjacency_view(G, "activation_region")
    assert all(G.nodes[v]["kind"] == "activation_region" for v in adj)


@given(st.integers(0, 10_000), st.integers(2, 3))
def test_generic_nets_satisfy_proposition_10(seed, n):
    net = er.random_network([n, 4, 3, 1] if n == 3 else [n, 5, 4, 1], seed=seed, bias_std=0.5)
    rc = er.region_complex(net, er.box([(-1, 1)] * n))
    for p in rc.pieces:
        assert len(p.neurons) == p.codim


def _volumes(rc):
    return sorted(r.volume for r in rc.activation_regions)


@given(st.one_of(networks(input_dim=2, max_width=4, max_neurons=6, weights="dyadic"),
                 networks(input_dim=2, max_width=4, max_neurons=6, weights="dyadic",
                          per_neuron_slopes=True)), st.randoms())
def test_permuting_hidden_units_changes_nothing(net, rnd):
    layers = list(net.layers)
    if len(layers) < 2:
        return
    perm = list(range(layers[0].out_dim))
    rnd.shuffle(perm)
    l0, l1 = layers[0], layers[1]
    layers[0] = Layer(tuple(l0.weight[p] for p in perm), tuple(l0.bias[p] for p in perm),
                      tuple(l0.activations[p] for p in perm))
    layers[1] = Layer(tuple(tuple(row[p] for p in perm) for row in l1.weight), l1.bias,
                      l1.activation)
    K = er.box([(-1, 1), (-1, 1)])
    a, b = er.region_complex(net, K), er.region_complex(Network(2, tuple(layers)), K)
    assert _volumes(a) == _volumes(b)
    assert len(a.linear_regions) == len(b.linear_regions)
    assert a.boundary_counts() == b.boundary_counts()


@given(networks(input_dim=2, max_width=4, max_neurons=6, weights="dyadic",
                activation=st.just(er.Activation.relu())),
       st.fractions(min_value=Fraction(1, 8), max_value=8))
def test_positive_rescaling_and_a_dead_neuron_change_nothing(net, c):
    K = er.box([(-1, 1), (-1, 1)])
    base = er.region_complex(net, K)
    layers = list(net.layers)
    l0, l1 = layers[0], layers[1]
    # rescale neuron 0 of layer 0 by c > 0 (ReLU is positively homogeneous) ...
    W0 = [list(r) for r in l0.weight]
    b0 = list(l0.bias)
    W0[0] = [c * x for x in W0[0]]
    b0[0] *= c
    W1 = [list(r) for r in l1.weight]
    for r in W1:
        r[0] /= c
    # ... and add a dead neuron (zero row, negative bias) feeding the next layer
    W0.append([Fraction(0)] * 2)
    b0.append(Fraction(-1))
    for r in W1:
        r.append(Fraction(5))
    layers[0] = Layer(tuple(map(tuple, W0)), tuple(b0), l0.activation)
    layers[1] = Layer(tuple(map(tuple, W1)), l1.bias, l1.activation)
    other = er.region_complex(Network(2, tuple(layers)), K)
    assert _volumes(base) == _volumes(other)
    assert len(base.linear_regions) == len(other.linear_regions)
    assert base.boundary_volumes() == other.boundary_volumes()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 4), seed=st.integers(0, 10 ** 6), degenerate=st.booleans())
def test_a_faces_affine_hull_test_equals_sympys_rank(n, seed, degenerate):
    """The strata's flatness test (``in_affine_hull``: integer rows of the constraints tight on
    a face, each point checked with equality) against sympy's rank of difference vectors: a
    face with one more vertex of a cell around it, and with every vertex of that cell, lies in
    the face's affine hull exactly when the rank does not grow.  ``degenerate``: integer
    weights and zero biases (many constraints tight at a vertex)."""
    import random

    import sympy

    from exactregions.exact.complex import _Builder
    if degenerate:
        net = _integer_zero_bias_net(n, seed)
    else:
        net = er.random_network([n, 3, 3, 1], seed=seed, bias_std=0.3)
    b = _Builder(er.enumerate_cells(net, er.box([(-1, 1)] * n)))
    b.build_lattice()
    rng = random.Random(seed)
    faces = [f for f, face in enumerate(b.faces) if 0 < face.dim < n]
    for f in rng.sample(faces, min(12, len(faces))):
        face = b.faces[f]
        cell = b.cell_local[face.cells[0]]
        for pts in ([rng.choice(cell)], cell):
            S = sorted(face.verts | set(pts))
            P = [[sympy.Rational(int(x.numerator), int(x.denominator)) for x in b.vcoords[v]]
                 for v in S]
            rank = sympy.Matrix([[x - y for x, y in zip(p, P[0])] for p in P[1:]]).rank()
            got = b.in_affine_hull(f, pts)
            assert got == (rank == face.dim) or (degenerate and got is None), (f, S, got)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(4, 5), seed=st.integers(0, 10 ** 6))
def test_a_2_faces_area_and_gram_from_incidence_equal_the_rational_elimination(n, seed):
    """From n = 4 on, a 2-face's volume comes from incidence and integer rows
    (``polygon_area_gram``: the boundary cycle's shoelace sum on two coordinates, the Gram
    determinant from the minors of the face's n - 2 constraints) instead of a rational
    row reduction of its vertices; both must give the very same rationals as
    ``polytope_volume`` (projection onto the reduced basis' pivots, an angle-sorted fan) and
    ``_gram`` (the basis' Gram determinant by elimination)."""
    import random

    from exactregions.exact.complex import _Builder, _gram
    from exactregions.exact.polytope import polytope_volume
    net = er.random_network([n, 4, 3, 1], seed=seed, bias_std=0.3)
    b = _Builder(er.enumerate_cells(net, er.box([(-1, 1)] * n)))
    b.build_lattice()
    faces = [f for f, face in enumerate(b.faces) if face.dim == 2]
    taken = 0
    for f in random.Random(seed).sample(faces, min(20, len(faces))):
        got = b.polygon_area_gram(f)
        if got is None:
            continue
        taken += 1
        area, basis = polytope_volume([b.vcoords[v] for v in sorted(b.faces[f].verts)])
        assert got == (area, _gram(basis)), f
    assert taken


def _integer_zero_bias_net(n: int, seed: int) -> Network:
    """A small net with integer weights in [-2, 2] and zero biases (for degenerate faces)."""
    import random
    rng = random.Random(seed)
    w1 = tuple(tuple(Fraction(rng.randint(-2, 2)) for _ in range(n)) for _ in range(3))
    w2 = tuple(tuple(Fraction(rng.randint(-2, 2)) for _ in range(3)) for _ in range(2))
    return Network(n, (Layer(w1, (Fraction(0),) * 3, er.Activation.relu()),
                       Layer(w2, (Fraction(0),) * 2, er.Activation.relu()),
                       Layer(((Fraction(1), Fraction(1)),), (Fraction(0),),
                             er.Activation.identity())))


def test_refining_the_domain_adds_up():
    net = er.random_network([2, 6, 6, 1], seed=3)
    whole = er.region_complex(net, er.box([(-1, 1), (-1, 1)]))
    left = er.region_complex(net, er.box([(-1, 0), (-1, 1)]))
    right = er.region_complex(net, er.box([(0, 1), (-1, 1)]))
    assert (sum(r.volume for r in left.activation_regions)
            + sum(r.volume for r in right.activation_regions)) == 4
    # regions cut by x = 0 are counted on both sides, so the halves count at least the whole
    assert len(left.activation_regions) + len(right.activation_regions) >= len(whole.activation_regions)
    pats = {r.pattern for r in left.activation_regions} | {r.pattern for r in right.activation_regions}
    assert pats == {r.pattern for r in whole.activation_regions}


def _forking(monkeypatch) -> list[int]:
    """Record the pids of the children that os.fork makes from now on."""
    pids: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return pids


def _may_fork(monkeypatch) -> None:
    """Let the builder and the checker fork as if this process had no other threads (a test
    run may have some) and ``EXACTREGIONS_NO_FORK`` were unset (a developer's may set it)."""
    import exactregions.exact._runtime as rt
    import exactregions.exact.checker as checker

    monkeypatch.delenv("EXACTREGIONS_NO_FORK", raising=False)
    monkeypatch.setattr(rt, "other_threads", lambda: False)
    monkeypatch.setattr(checker, "other_threads", lambda: False)


def _unreaped(pids: list[int]) -> list[int]:
    """The children among these that still exist (running, or exited and not reaped)."""
    left = []
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
            left.append(pid)
        except ChildProcessError:
            pass
    return left


def test_no_fork_without_room_in_memory(monkeypatch):
    """A forked CPython child copies what it reads: where memory has no room for a second copy
    of the process (and the parent's growth), the builder's pieces and the checker's second
    halves run in-process, with the same results; with room, they fork (the checker from 1.5×
    the parent's resident size available, the builder's pieces from 3×)."""
    import exactregions.exact._runtime as rt
    import exactregions.exact.checker as checker
    import exactregions.exact.complex as cx

    net = er.random_network([2, 6, 6, 1], seed=11)
    K = er.box([(-1, 1), (-1, 1)])
    monkeypatch.setattr(cx, "FORK_MIN_WORK", 0)
    monkeypatch.setattr(checker, "FORK_MIN_REGIONS", 0)
    _may_fork(monkeypatch)
    monkeypatch.setattr(cx, "several_cores", lambda: True)
    monkeypatch.setattr(checker, "several_cores", lambda: True)
    forks = _forking(monkeypatch)
    gb = 2 ** 30
    monkeypatch.setattr(rt, "_memory", lambda: (int(1.45 * gb), gb))   # under 1.5x: no room
    tight = er.region_complex(net, K)
    assert not forks and tight.certificate["independent"]["ok"]
    monkeypatch.setattr(rt, "_memory", lambda: (int(1.55 * gb), gb))
    some = er.region_complex(net, K)
    assert len(forks) == 2    # the checker's halves; the builder's pieces need 3x
    monkeypatch.setattr(rt, "_memory", lambda: (int(3.1 * gb), gb))
    roomy = er.region_complex(net, K)
    assert len(forks) == 5    # and then the builder's pieces too
    assert roomy.certificate == tight.certificate == some.certificate


@pytest.mark.parametrize("n", [2, 3])
def test_forked_pieces_match_and_failures_propagate(monkeypatch, n):
    """Big complexes compute their boundary pieces in a forked child (and the parent, from the
    other end of the list): the same pieces, field for field, as in one process (in 3-D the
    parent then drops the facet areas no later region reads, and recomputes those its share of
    the pieces needs); a failure on either side raises, and no child is left behind."""
    import exactregions.exact.certificates as certify
    import exactregions.exact.complex as cx
    from exactregions.errors import CertificateError

    net = er.random_network([n, 6, 6, 1], seed=11)
    K = er.box([(-1, 1)] * n)
    inline = er.region_complex(net, K)
    monkeypatch.setattr(cx, "FORK_MIN_WORK", 0)
    monkeypatch.setattr(cx, "several_cores", lambda: True)
    # an earlier test's Dask client may leave daemon threads behind, and fork_call then (rightly)
    # stays in process; this test is about the forked path, so it pretends to be alone
    _may_fork(monkeypatch)
    forks = _forking(monkeypatch)
    forked = er.region_complex(net, K)
    assert forks, "the pieces were not computed in a child"
    assert forked.certificate == inline.certificate
    assert forked.pieces == inline.pieces and forked.activation_regions == inline.activation_regions
    assert not _unreaped(forks)

    def broken(rc, arr):
        raise CertificateError("planted: volumes do not add up")

    monkeypatch.setattr(certify, "certify_complex", broken)
    forks.clear()
    with pytest.raises(CertificateError, match="planted"):
        er.region_complex(net, K)
    assert forks and not _unreaped(forks)       # the child was stopped and reaped


@pytest.mark.parametrize("n", [2, 3])
def test_a_consumed_arrangement_builds_the_same_complex(monkeypatch, n):
    """``build_complex(arr, consume=True)`` empties the arrangement once the complex no longer
    reads it (with the pieces in a forked child, before their return): the same complex,
    field for field and face for face, as a build that keeps it; the finished faces' vertex
    sets are sorted tuples either way."""
    import exactregions.exact.complex as cx

    net = er.random_network([n, 6, 6, 1], seed=11)
    K = er.box([(-1, 1)] * n)
    monkeypatch.setattr(cx, "FORK_MIN_WORK", 0)
    monkeypatch.setattr(cx, "several_cores", lambda: True)
    _may_fork(monkeypatch)
    forks = _forking(monkeypatch)
    kept_arr, used_arr = er.enumerate_cells(net, K), er.enumerate_cells(net, K)
    kept = er.build_complex(kept_arr)
    used = er.build_complex(used_arr, consume=True)
    assert len(forks) == 2 and not _unreaped(forks)
    assert kept_arr.cells and kept_arr.table and not used_arr.cells and not used_arr.table
    assert used.certificate == kept.certificate
    assert used.activation_regions == kept.activation_regions
    assert used.linear_regions == kept.linear_regions and used.pieces == kept.pieces
    assert used.vertices == kept.vertices

    def face(f):
        return (f.verts, f.dim, f.cells, f.parents, f.on_boundary, f.in_bn, f.k, f.glued)
    assert [face(f) for f in used.faces] == [face(f) for f in kept.faces]
    assert all(type(f.verts) is tuple and list(f.verts) == sorted(set(f.verts))
               for f in used.faces)
    # the certificates refuse an arrangement that no longer matches the regions
    from exactregions.exact.certificates import certify_complex
    with pytest.raises(er.CertificateError, match="cells in the arrangement"):
        certify_complex(used, used_arr)


def test_without_a_temporary_file_the_pieces_stay_in_process(monkeypatch):
    """The child sends its pieces back through an unlinked temporary file; where none can be
    made (no writable temporary directory), no child is forked and this process computes
    every piece, the same ones."""
    import tempfile

    import exactregions.exact.checker as checker
    import exactregions.exact.complex as cx

    net = er.random_network([3, 6, 6, 1], seed=11)
    K = er.box([(-1, 1)] * 3)
    inline = er.region_complex(net, K)
    monkeypatch.setattr(cx, "FORK_MIN_WORK", 0)
    monkeypatch.setattr(cx, "several_cores", lambda: True)
    monkeypatch.setattr(checker, "several_cores", lambda: False)   # only the builder may fork
    _may_fork(monkeypatch)
    forks = _forking(monkeypatch)
    er.region_complex(net, K)
    assert len(forks) == 1          # with a temporary file: the builder's child
    forks.clear()

    def no_file(*args, **kwargs):
        raise OSError("no usable temporary directory")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_file)
    rc = er.region_complex(net, K)
    assert not forks
    assert rc.pieces == inline.pieces and rc.activation_regions == inline.activation_regions
    assert rc.certificate == inline.certificate


def test_a_piece_failing_in_the_child_raises_in_the_parent(monkeypatch):
    """A certificate failure while the child computes its pieces reaches the caller."""
    import exactregions.exact.complex as cx
    from exactregions.errors import CertificateError

    net = er.random_network([2, 6, 6, 1], seed=11)
    K = er.box([(-1, 1), (-1, 1)])
    monkeypatch.setattr(cx, "FORK_MIN_WORK", 0)
    monkeypatch.setattr(cx, "several_cores", lambda: True)
    _may_fork(monkeypatch)
    parent = os.getpid()
    real = cx._Builder.face_witness

    def fails_in_the_child(self, face, d):
        if os.getpid() != parent:
            raise CertificateError("planted: a piece's witness is not inside it")
        return real(self, face, d)

    monkeypatch.setattr(cx._Builder, "face_witness", fails_in_the_child)
    forks = _forking(monkeypatch)
    with pytest.raises(CertificateError, match="planted"):
        er.region_complex(net, K, independent_check=False)
    assert forks and not _unreaped(forks)


def test_the_big_steps_run_with_the_collector_paused(monkeypatch):
    """The enumeration, the decision of a proposal and the build (all of it: its last step
    takes the forked child's pieces, millions of objects on a big complex) run with the cyclic
    collector off; it is on again afterwards.  (A decorator left above another function once
    let the build run with it on: 3-16-16-16-1 ~25% slower.)"""
    import gc

    import exactregions.exact.certificates as ce
    import exactregions.exact.complex as cx
    import exactregions.exact.decide as dc
    import exactregions.exact.enumerate as en
    from exactregions.floating.propose import propose_complex

    seen: dict[str, bool] = {}

    def spy(name, mod, attr):
        real = getattr(mod, attr)

        def wrapped(*a, **k):
            seen[name] = gc.isenabled()
            return real(*a, **k)

        monkeypatch.setattr(mod, attr, wrapped)

    spy("build: certificates", ce, "certify_complex")
    spy("build: last piece", cx, "BoundaryPiece")
    spy("decision: its signs", dc, "_unclear_signs")
    spy("enumeration: its cells", en, "Cell")
    net = er.random_network([2, 5, 5, 1], seed=2, bias_std=0.3)
    K = er.box([(-1, 1), (-1, 1)])
    assert gc.isenabled()
    er.build_complex(er.enumerate_cells(net, K))
    propose_complex(net, K, independent_check=False)
    assert gc.isenabled()
    assert seen == {"build: certificates": False, "build: last piece": False,
                    "decision: its signs": False, "enumeration: its cells": False}


def test_paused_gc_leaves_the_collector_as_it_found_it():
    """Cyclic garbage made inside ``paused_gc`` is collected afterwards (promoted, not frozen
    for good), the collector is enabled again, and a caller's frozen objects stay frozen."""
    import gc
    import weakref

    from exactregions.exact._runtime import paused_gc

    class Node:
        pass

    def cycle() -> weakref.ref:
        a, b = Node(), Node()
        a.other, b.other = b, a
        return weakref.ref(a)

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        ref = cycle()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None
    keep = [Node()]
    gc.freeze()
    try:
        with paused_gc():
            ref = cycle()
        assert gc.get_freeze_count() > 0 and gc.isenabled()     # the caller's still frozen
        gc.collect()
        assert ref() is None
    finally:
        gc.unfreeze()
    del keep


def test_the_work_queue_hands_out_every_item_once():
    """Two processes draining one WorkQueue from its two ends take every item exactly once."""
    import pickle

    from exactregions.exact._runtime import WorkQueue

    for count in (0, 1, 7, 1000):
        q = WorkQueue(count, chunk=3)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:   # the child: from the front, slowly
            got = []
            while span := q.claim(front=True):
                got.extend(span)
            with os.fdopen(w, "wb") as fh:
                fh.write(pickle.dumps(got))
            os._exit(0)
        os.close(w)
        mine = []
        while span := q.claim(front=False):
            mine.extend(span)
        with os.fdopen(r, "rb") as fh:
            theirs = pickle.loads(fh.read())
        os.waitpid(pid, 0)
        assert sorted(mine + theirs) == list(range(count))


def test_a_forked_child_that_dies_is_an_error_not_a_hang(monkeypatch):
    """A child killed before it sends anything (the OOM killer, say) gives one clear error."""
    from exactregions.exact._runtime import fork_call

    _may_fork(monkeypatch)
    forks = _forking(monkeypatch)
    job = fork_call(lambda: os._exit(3))
    with pytest.raises(RuntimeError, match="died without a result"):
        job.result()
    assert forks and not _unreaped(forks)
