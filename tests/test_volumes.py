"""Lawrence's vertex formula (exactregions.exact.lawrence) against independent volumes: closed
forms, cddlib's hull with Lasserre's recursion, and the complex built without it."""

from __future__ import annotations

import dataclasses
import itertools
import math
from fractions import Fraction

import pytest
import sympy
from gmpy2 import mpq
from hypothesis import assume, given, strategies as st

import exactregions as er
import exactregions.exact.complex as cx
from exactregions.exact._cdd import vertices_of
from exactregions.exact.lawrence import _DIRECTIONS, simple_volume
from exactregions.exact.polytope import polytope_volume


def _normals_at(A, b, verts):
    """The outer normals of the rows tight at every vertex (exact)."""
    return [[tuple(mpq(x) for x in a) for a, bi in zip(A, b)
             if sum(x * y for x, y in zip(a, v)) == bi] for v in verts]


def _simplex_volume(V):
    n = len(V[0])
    M = [[V[i][j] - V[0][j] for j in range(n)] for i in range(1, n + 1)]
    return abs(_det(M)) / math.factorial(n)


def _det(M):
    """An exact determinant by sympy (an oracle with no code of ours)."""
    d = sympy.Matrix([[sympy.Rational(int(x.numerator), int(x.denominator)) for x in row]
                      for row in M]).det()
    return Fraction(int(d.p), int(d.q))


@given(st.lists(st.fractions(Fraction(1, 7), 5, max_denominator=9), min_size=1, max_size=6))
def test_a_box_has_the_product_of_its_sides(sides):
    n = len(sides)
    pts = [tuple(mpq(s) if bit else mpq(0) for s, bit in zip(sides, bits))
           for bits in itertools.product([0, 1], repeat=n)]
    normals = [[tuple(mpq((1 if p[k] else -1) if j == k else 0) for j in range(n))
                for k in range(n)] for p in pts]
    assert simple_volume(pts, normals) == math.prod(sides)


@given(st.integers(1, 5), st.data())
def test_a_simplex_has_its_determinant_volume(n, data):
    coord = st.fractions(-4, 4, max_denominator=6)
    V = data.draw(st.lists(st.tuples(*[coord] * n), min_size=n + 1, max_size=n + 1))
    vol = _simplex_volume(V)
    assume(vol != 0)
    # facet k is opposite vertex k; its outer normal from the hull's H-representation
    A, b = _h_of_simplex(V)
    verts = [tuple(mpq(x) for x in v) for v in V]
    assert simple_volume(verts, _normals_at(A, b, V)) == vol


def _h_of_simplex(V):
    n = len(V[0])
    A, b = [], []
    for k in range(n + 1):
        face = [V[i] for i in range(n + 1) if i != k]
        if n == 1:
            a = [Fraction(1)]
        else:   # a normal: the cofactors of the face's edge vectors
            E = [[face[i][j] - face[0][j] for j in range(n)] for i in range(1, n)]
            a = [(-1) ** j * _det([row[:j] + row[j + 1:] for row in E]) for j in range(n)]
        off = sum(x * y for x, y in zip(a, face[0]))
        if sum(x * y for x, y in zip(a, V[k])) > off:
            a, off = [-x for x in a], -off
        A.append(a)
        b.append(off)
    return A, b


@given(st.integers(2, 4), st.data())
def test_random_simple_polytopes_agree_with_cddlib_and_lasserre(n, data):
    """Random generic H-polytopes (a box cut by random half-spaces), vertices from cddlib GMP;
    the oracle is polytope_volume (cddlib's hull facets, Lasserre's recursion)."""
    coef = st.integers(-6, 6)
    cuts = data.draw(st.lists(st.tuples(st.tuples(*[coef] * n), st.integers(1, 8)),
                              min_size=1, max_size=5))
    A = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    A += [[-x for x in row] for row in A]
    b = [Fraction(2)] * (2 * n)
    for a, off in cuts:
        assume(any(a))
        A.append([Fraction(x) for x in a])
        b.append(Fraction(off, 3))
    verts, bounded = vertices_of(A, b)
    assume(bounded and len(verts) > n)
    normals = _normals_at(A, b, verts)
    assume(all(len(t) == n for t in normals))          # simple, as Lawrence needs
    pts = [tuple(mpq(x) for x in v) for v in verts]
    expected, _ = polytope_volume(pts)
    assert simple_volume(pts, normals) == expected


def test_a_direction_orthogonal_to_an_edge_is_passed_over_and_all_failing_gives_none():
    c1, c2 = _DIRECTIONS[0][:2], _DIRECTIONS[1][:2]
    # a triangle with one edge orthogonal to the first direction
    V = [(mpq(0), mpq(0)), (mpq(c1[1]), mpq(-c1[0])), (mpq(0), mpq(5))]
    A, b = _h_of_simplex([tuple(Fraction(int(x)) for x in v) for v in V])
    normals = _normals_at(A, b, [tuple(Fraction(int(x)) for x in v) for v in V])
    assert simple_volume(V, normals) == _simplex_volume(V)
    # a parallelogram with edges orthogonal to both directions: no admissible direction here
    e1, e2 = (c1[1], -c1[0]), (c2[1], -c2[0])
    P = [(mpq(0), mpq(0)), (mpq(e1[0]), mpq(e1[1])), (mpq(e2[0]), mpq(e2[1])),
         (mpq(e1[0] + e2[0]), mpq(e1[1] + e2[1]))]
    n1, n2 = (mpq(-e1[1]), mpq(e1[0])), (mpq(-e2[1]), mpq(e2[0]))   # normals to the edges
    s = 1 if n2[0] * e1[0] + n2[1] * e1[1] > 0 else -1                # orient outward
    t = 1 if n1[0] * e2[0] + n1[1] * e2[1] > 0 else -1
    out2, out1 = tuple(s * x for x in n2), tuple(t * x for x in n1)
    neg = lambda v: tuple(-x for x in v)                                # noqa: E731
    normals = [[neg(out1), neg(out2)], [neg(out1), out2], [out1, neg(out2)], [out1, out2]]
    assert simple_volume(P, normals) is None


@pytest.mark.parametrize("widths, seed, bias_std, flat", [
    ([4, 5, 4, 1], 3, 0.1, ()), ([5, 4, 1], 3, 0.1, ()), ([4, 6, 3, 1], 1, 1e-3, ()),
    ([4, 6, 1], 0, 0.0, ()), ([4, 5, 4, 1], 3, 0.1, (0, 2, 3))])
def test_the_complex_is_the_same_with_and_without_lawrence(widths, seed, bias_std, flat,
                                                           monkeypatch):
    """Cells and boundary facets in n >= 4 take Lawrence's formula (a 4-D facet a cone sum over
    its 2-faces, their areas from incidence); turned off, Lasserre's recursion over the lattice
    computes every volume: the two complexes agree exactly, pieces included (no
    certificate covers the pieces' volumes, so this comparison is their check).  Zero biases
    make the origin a non-simple vertex: Lawrence and Lasserre then share the complex.
    ``flat``: first-layer neurons with no weight on x_0, whose facets are projected along
    another coordinate than their neighbours' (a vertex's c·p differs between the two)."""
    net = er.random_network(widths, seed=seed, bias_std=bias_std)
    if flat:
        first = net.layers[0]
        weight = tuple((Fraction(0),) + row[1:] if i in flat else row
                       for i, row in enumerate(first.weight))
        net = er.Network(net.input_dim, (dataclasses.replace(first, weight=weight),)
                         + net.layers[1:])
    K = er.box([(-1, 1)] * widths[0])
    fast = er.region_complex(net, K, independent_check=False)
    monkeypatch.setattr(cx, "LAWRENCE_MIN_DIM", 99)
    slow = er.region_complex(net, K, independent_check=False)
    assert [r.volume for r in fast.activation_regions] == [r.volume for r in slow.activation_regions]
    assert [p.volume for p in fast.pieces] == [p.volume for p in slow.pieces]
    assert sum(r.volume for r in fast.activation_regions) == 2 ** widths[0]


def test_the_checkers_triangulation_of_a_non_simple_5_polytope():
    """The independent checker's pulling triangulation on a non-simple polytope whose faces have
    traces as big as a facet that are not facets: in the prism over the 4-D cross-polytope
    (|x1|+…+|x4| <= 1, 0 <= x5 <= 1) two side facets meet in a 2-face with 4 vertices.
    Closed form: vol = (2^4/4!)·1 = 2/3."""
    from exactregions.exact.checker import _cdd_vertices, _f, _facets, _volume
    A = [tuple(Fraction(s) for s in signs) + (Fraction(0),)
         for signs in itertools.product((1, -1), repeat=4)]
    A += [(Fraction(0),) * 4 + (Fraction(1),), (Fraction(0),) * 4 + (Fraction(-1),)]
    b = [Fraction(1)] * 16 + [Fraction(1), Fraction(0)]
    verts, inc = _cdd_vertices(A, b)
    assert len(verts) == 16
    q = [tuple(map(_f, v)) for v in verts]   # the checker's flint rationals
    assert _volume(q, list(_facets(q, inc, 5)), 5) == Fraction(2, 3)


@given(st.lists(st.tuples(st.integers(-2**3000, 2**3000), st.integers(1, 2**3000)), max_size=17),
       st.integers(1, 2**200))
def test_the_fraction_free_sum_is_the_sum_of_fractions(terms, divisor):
    # the oracle: Python's Fraction, normalised after every addition
    from exactregions.exact.rational import sum_of_fractions
    expected = sum((Fraction(p, q) for p, q in terms), Fraction(0)) / divisor
    assert sum_of_fractions(terms, divisor) == mpq(expected.numerator, expected.denominator)


@given(st.integers(-2**9000, 2**9000), st.integers(1, 2**9000))
def test_rationals_of_every_size_go_to_decimal_and_back(p, q):
    # below and above the size where gmpy2 takes over the decimal conversions (BIG_BITS)
    from exactregions.exact.checker import _pq
    from exactregions.exact.rational import format_rational, parse_rational_string
    x = Fraction(p, q)
    text = format_rational(x)
    assert parse_rational_string(text) == x
    assert Fraction(*_pq(text)) == x
    num, _, den = text.partition("/")
    assert int(num) == x.numerator and int(den or 1) == x.denominator   # CPython's own reading
