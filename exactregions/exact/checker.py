"""The independent checker of a certificate file: it proves the partition, or names what is wrong.

:func:`certify` reads what ``exactregions enumerate … --regions --json OUT.json`` writes (or the
same object in memory) and re-derives everything from the H-polytopes and the embedded network,
exactly, with code of its own.  It shares with the enumerator only the file reader
(:func:`~exactregions.exact.netfile.network_from_dict`) and the one rational door
(:mod:`~exactregions.exact.rational`); no float is used anywhere.

What it checks (in this order; the first failure raises :class:`CertificateError` naming the
check and the region):

``K``            K's vertices by cddlib GMP; K bounded; vol(K) by the checker's own method.
``vertices``     each region's recorded vertex list proved to be exactly the vertex set of its
                 H-polytope ``A u <= b`` (:func:`_proved_vertices`: every point inside, on n
                 independent rows, the set closed under the polytope's edges, which also proves
                 it bounded); where a vertex lies on more than n rows, or the file has no vertex
                 lists, the vertices are recomputed with cddlib GMP and compared with the
                 recorded ones.  The region is non-empty, bounded and inside K (every vertex
                 satisfies K's inequalities exactly).
``witness``      the witness satisfies every row of ``A u <= b`` strictly, and an exact forward
                 pass of the network at it gives the region's pattern.
``vertex-sides`` every vertex lies in the closed piece of its region's pattern, for every
                 neuron, with the pre-activations computed from that pattern's exact maps.
``volume``       the region's volume by a pulling triangulation (exact simplex determinants)
                 equals the recorded one; the volumes are positive.
``patterns``     the patterns are distinct.
``volume-sum``   Σ volumes = vol(K) exactly.
``facets``       every facet of every region (from cdd's incidence) lies on ∂K or is the facet,
                 with the same vertices, of exactly one other region.
``linear``       across every interior facet: equal full affine maps of all outputs (in the
                 original input space, also on slices) iff the two regions are in the same linear
                 region; every linear region is connected through such glued facets; members
                 and counts match.
``pieces``       B_N,1 is exactly the set of non-glued interior facets, cut into its pieces by
                 straight continuation (a ridge in exactly two non-glued facets of one
                 hyperplane); for n ≤ 3 every B_N,k exactly (2-D: the points of B_N where it is
                 not one straight line; 3-D: see :func:`_strata_3d`); every piece's faces have
                 dimension n − k, lie inside K's interior and in B_N, are faces of a region
                 around them and span one (n − k)-plane; its volume squared is recomputed from
                 its faces (:func:`_piece_volume_squared`); its witness lies in the
                 relative interior of one of its faces; its neurons are exactly those at one
                 breakpoint on every face of the piece and good there (Proposition 9).

Why these prove the count (the argument the README states): let R_1 … R_m be the recorded
H-polytopes with distinct patterns P_i, each inside K.  "vertex-sides" and convexity put R_i in
C(P_i) = {u ∈ K : every neuron, computed with P_i's maps, in its P_i piece}.  If two interiors
met, on an open set the first neuron where P_i and P_j differ would sit at a breakpoint, hence
(its pre-activation being affine there) identically; but then the witnesses' exact forward passes
would put it on the same piece in both patterns — a contradiction.  So the interiors are
disjoint; with Σ vol(R_i) = vol(K) the closed sets R_i cover K.  Every point of int R_i off the
(measure-zero) breakpoint sets has pattern P_i, and distinct patterns then give R_i = closure of
the activation region of P_i: the regions are exactly the activation regions, none missing,
none split.

>>> import exactregions as er
>>> from exactregions.exact.summary import certificate_document
>>> rc = er.region_complex(er.random_network([2, 6, 1], seed=0), er.box([(-1, 1), (-1, 1)]))
>>> report = certify(certificate_document(rc))
>>> report["ok"], report["regions"] == len(rc.activation_regions)
(True, True)
"""

from __future__ import annotations

import gc
import math
import mmap
import os
import pickle
import random
import select
import signal
from collections import defaultdict
from fractions import Fraction
from operator import mul
from typing import Any, Callable, Iterator, Mapping, Sequence

import cdd
import cdd.gmp
from flint import fmpq, fmpq_mat, fmpz, fmpz_mat, nmod_mat
from gmpy2 import mpz

from exactregions.errors import CertificateError, ExactRegionsError, FormatError
from exactregions.exact._runtime import fork_has_room, other_threads, several_cores
from exactregions.exact.certfile import read_certificate
from exactregions.exact.netfile import network_from_dict
from exactregions.exact.rational import describe_rational, exact_rational

__all__ = ["certify", "CERTIFICATE_FORMAT", "CERTIFICATE_VERSION"]

CERTIFICATE_FORMAT = "exactregions-certificate"
CERTIFICATE_VERSION = 1

Point = tuple[Fraction, ...]


def _key(v: Point) -> tuple[int, ...]:
    """A cheap exact hash key (Fraction hashes cost a modular inverse each)."""
    return tuple(c for x in v for c in (x.numerator, x.denominator))


def _f(x: Fraction) -> fmpq:
    return fmpq(x.numerator, x.denominator)


def _fail(check: str, what: str) -> CertificateError:
    return CertificateError(f"check '{check}' failed: {what}")


# ----- reading ----------------------------------------------------------------------------

def _q(x: Any) -> Fraction:
    return exact_rational(x)


def _vec(xs: Any) -> Point:
    if not isinstance(xs, list):
        raise FormatError("expected an array of numbers")
    return tuple(_q(x) for x in xs)


def _digits(text: str) -> int:
    """An integer from decimal digits, however many (gmpy2 for long ones: subquadratic, and
    past CPython's digit limit)."""
    return int(text) if len(text) < 400 else int(mpz(text))


def _pq(x: Any) -> tuple[int, int]:
    """A number of the file as integers (p, q), q > 0, not necessarily in lowest terms: the
    ``"p/q"`` we write read straight into integers, anything else through the rational door.

    An in-process document's :class:`~fractions.Fraction` (``numbers="exact"``) is read as
    its own numerator and denominator.

    >>> _pq("-6/4"), _pq("-7"), _pq("0.5"), _pq(3), _pq(Fraction(-6, 4))
    ((-6, 4), (-7, 1), (1, 2), (3, 1), (-3, 2))
    """
    if type(x) is Fraction:
        return x.numerator, x.denominator
    if type(x) is str:
        num, slash, den = x.partition("/")
        digits = num[1:] if num[:1] == "-" else num
        if digits.isascii() and digits.isdigit():
            if not slash:
                return _digits(num), 1
            if den.isascii() and den.isdigit() and den.strip("0"):
                return _digits(num), _digits(den)
    q = _q(x)   # the door: other forms, and the errors (a zero denominator, not a number)
    return q.numerator, q.denominator


def _fq(x: Any) -> fmpq:
    """A number of the file as a flint rational (lowest terms)."""
    return fmpq(*_pq(x))


def _file_point(v: Any, n: int) -> tuple[tuple[fmpq, ...], tuple[int, ...], tuple[int, ...]]:
    """A point of the file's vertex list: its coordinates as flint rationals, as a homogeneous
    integer column (X, d) with d > 0, and its :func:`_key` (lowest terms, as cddlib's).

    >>> _file_point(["1/2", "-2/6"], 2)[1:]
    ((3, -2, 6), (1, 2, -1, 3))
    """
    if not isinstance(v, list) or len(v) != n:
        raise FormatError(f"a vertex must have {n} coordinates")
    q = tuple(map(_fq, v))
    key = _qkey(q)
    return q, _homogeneous(key), key


def _qkey(q: Sequence[fmpq]) -> tuple[int, ...]:
    """A point of flint rationals as its :func:`_key` (numerators and denominators)."""
    return tuple(c for x in q for c in (int(x.p), int(x.q)))


def _int_row(a: Any, b: Any, n: int, what: str = "a row") -> tuple[int, ...]:
    """The row ``a·u <= b`` of the file as the primitive integer row (a', b') of the same
    half-space: denominators cleared and the gcd divided out, both by positive factors.

    >>> _int_row(["1/2", "-3/4"], "1/4", 2)
    (2, -3, 1)
    """
    if not isinstance(a, list) or len(a) != n:
        raise FormatError(f"{what}: a row of A must have {n} entries")
    pqs = [_pq(x) for x in a]
    pqs.append(_pq(b))
    den = math.lcm(*(q for _, q in pqs))
    ints = [p * (den // q) for p, q in pqs]
    g = math.gcd(*ints)
    if g == 0:
        raise FormatError(f"{what}: a row of A u <= b is all zero")
    return tuple(x // g for x in ints)


def _int_rows(A: Any, b: Any, n: int, what: str) -> list[tuple[int, ...]]:
    """All rows of an H-polytope ``A u <= b`` of the file, as :func:`_int_row`."""
    if not isinstance(A, list) or not isinstance(b, list) or not A or len(b) != len(A):
        raise FormatError(f"{what}: A must be m x {n} with b of length m")
    return [_int_row(a, bb, n, what) for a, bb in zip(A, b)]


def _load(source: str | os.PathLike[str] | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    return read_certificate(source)   # regions and pieces a line at a time where it can


# ----- exact geometry of its own ------------------------------------------------------------

def _cdd_vertices(A: Sequence[Sequence[Fraction | int]], b: Sequence[Fraction | int]
                  ) -> tuple[list[Point], list[set[int]]]:
    """Vertices of {u : A u <= b} and, per row, the vertices on it (cddlib GMP; for K, and for
    a region with a degenerate vertex or without a recorded vertex list)."""
    rows = [[bi] + [-x for x in a] for a, bi in zip(A, b)]
    m = cdd.gmp.matrix_from_array(rows, rep_type=cdd.RepType.INEQUALITY)
    poly = cdd.gmp.polyhedron_from_matrix(m)
    gen = cdd.gmp.copy_generators(poly)
    if gen.lin_set or any(r[0] != 1 for r in gen.array):
        raise ValueError("unbounded")
    verts = [tuple(r[1:]) for r in gen.array]  # cdd.gmp gives Fractions
    inc = cdd.gmp.copy_input_incidence(poly)[:len(rows)]
    return verts, [set(s) for s in inc]


def _row_matrix(rows: Sequence[tuple[int, ...]], n: int) -> fmpz_mat:
    """The integer rows (a, b) of ``a·u <= b`` as the matrix [A | -b], for products with
    homogeneous columns (u, 1) or (X, d).

    >>> _row_matrix([(2, -3, 1)], 2).entries()
    [2, -3, -1]
    """
    return fmpz_mat(len(rows), n + 1, [x for r in rows for x in r[:n] + (-r[n],)])


def _zeros(vals: list, width: int) -> Iterator[tuple[int, int]]:
    """(row, column) of every zero entry of a matrix given as its row-major entries.

    >>> list(_zeros([0, 1, 2, 0], 2))
    [(0, 0), (1, 1)]
    """
    pos = -1
    while True:
        try:
            pos = vals.index(0, pos + 1)
        except ValueError:
            return
        yield divmod(pos, width)


def _proved_vertices(rows: Sequence[tuple[int, ...]], cols: Sequence[tuple[int, ...]], n: int,
                     ri: int) -> list[set[int]] | None:
    r"""Prove that the points ``cols`` (homogeneous integer columns (X, d), d > 0, distinct) are
    exactly the vertices of the polytope {u : a·u <= b} of the integer ``rows`` (a, b); return
    each row's incidence (the points on it).  ``None`` when a point lies on more than n rows
    (a degenerate vertex, or a redundant row through it): cddlib then computes the vertices.
    A point outside, or on rows of rank < n, raises.

    Why it proves it: a point inside on n rows of rank n is a vertex.  If every vertex is simple
    (on exactly n rows), the edges at a vertex v are its n lines {a_i·u = b_i, i ∈ T(v) \ {j}}
    inside P; a second given vertex w with T(w) ⊇ T(v) \ {j} lies on that edge, hence is its
    other end.  So the given set is closed under the polytope's edges; the graph of a polytope
    is connected, so the set is all of its vertices.  An unbounded P has an unbounded edge at
    some vertex (a linear function unbounded on P increases along one), which no second given
    vertex closes: it fails the same test.

    >>> square = [(1, 0, 1), (-1, 0, 1), (0, 1, 1), (0, -1, 1)]    # |x| <= 1, |y| <= 1
    >>> corners = [(1, 1, 1), (-1, 1, 1), (-1, -1, 1), (1, -1, 1)]
    >>> _proved_vertices(square, corners, 2, 0)
    [{0, 3}, {1, 2}, {0, 1}, {2, 3}]
    >>> _proved_vertices(square, corners[:3], 2, 0)
    Traceback (most recent call last):
    ...
    exactregions.errors.CertificateError: check 'vertices' failed: region 0: the recorded vertices are not closed under the polytope's edges (a vertex missing, or the region unbounded)
    """
    m, k = len(rows), len(cols)
    vals = (_row_matrix(rows, n)
            * fmpz_mat(n + 1, k, [c[i] for i in range(n + 1) for c in cols])).entries()
    if max(vals) > 0:
        raise _fail("vertices", f"region {ri}: a recorded vertex is outside its H-polytope")
    tight: list[tuple[int, ...]] = [() for _ in range(k)]
    for i, c in _zeros(vals, k):
        tight[c] += (i,)
    if max(map(len, tight)) > n:
        return None
    by_ridge: dict[tuple[int, ...], int] = defaultdict(int)
    for c, T in enumerate(tight):
        if len(T) < n or fmpz_mat(n, n, [x for i in T for x in rows[i][:n]]).det() == 0:
            raise _fail("vertices", f"region {ri}: a recorded vertex is no vertex of its "
                                    "H-polytope (on fewer than n independent rows)")
        for j in range(n):
            by_ridge[T[:j] + T[j + 1:]] += 1
    if min(by_ridge.values()) < 2:
        raise _fail("vertices", f"region {ri}: the recorded vertices are not closed under the "
                                "polytope's edges (a vertex missing, or the region unbounded)")
    inc: list[set[int]] = [set() for _ in range(m)]
    for c, T in enumerate(tight):
        for i in T:
            inc[i].add(c)
    return inc


def _affine_dim(cols: Sequence[tuple[int, ...]]) -> int:
    """Affine dimension of points given as homogeneous integer columns (X, d), d > 0: the rank
    of the rows (X, d), less one (the row (x, 1) scaled by d > 0 has the same rank, and the
    rows (x_i, 1) have rank dim + 1).  Fraction-free elimination of our own (not flint's row
    reduction, which the enumerator's rank tests use): integers only, each new row divided by
    its gcd.

    >>> _affine_dim([(0, 0, 1), (2, 2, 2), (3, 3, 1)])     # (0,0), (1,1), (3,3): a line
    1
    >>> _affine_dim([(0, 0, 1), (1, 0, 2), (0, 1, 3)])
    2
    """
    rows = [list(c) for c in cols]
    rank = 0
    for c in range(len(rows[0]) if rows else 0):
        piv = next((i for i in range(rank, len(rows)) if rows[i][c]), None)
        if piv is None:
            continue
        rows[rank], rows[piv] = rows[piv], rows[rank]
        p = rows[rank]
        pc = p[c]
        for i in range(rank + 1, len(rows)):
            r = rows[i]
            rc = r[c]
            if rc:
                new = [pc * x - rc * y for x, y in zip(r, p)]
                g = math.gcd(*new)
                rows[i] = [x // g for x in new] if g > 1 else new
        rank += 1
    return rank - 1


def _echelon(points: Sequence[tuple[fmpq, ...]]) -> tuple[list[list[fmpq]], list[int]]:
    """A basis of the directions of a point set in echelon form and its pivot columns (the
    checker's own elimination on flint rationals)."""
    p0 = points[0]
    m = [[x - y for x, y in zip(p, p0)] for p in points[1:]]
    rows, pivots = [], []
    for c in range(len(p0)):
        piv = next((i for i, r in enumerate(m) if r[c] != 0), None)
        if piv is None:
            continue
        r0 = m.pop(piv)
        for i, r in enumerate(m):
            if r[c] != 0:
                f = r[c] / r0[c]
                m[i] = [x - f * y for x, y in zip(r, r0)]
        rows.append(r0)
        pivots.append(c)
    return rows, pivots


def _piece_volume_squared(faces: Sequence[frozenset[int]], facets: Sequence[list[frozenset[int]]],
                          vq: Any, n: int, d: int,
                          normal: Sequence[int] | None = None) -> fmpq | None:
    """The squared d-volume of a piece from its d-faces (each a face of the region whose facets
    are given with it), or None when the faces do not span one d-plane.

    Projecting the plane onto coordinates J on which it is a graph scales d-volumes by one
    constant, so vol² = vol_J² · s with: for a hyperplane with normal a (``normal``, known to
    hold every face), J all coordinates but one j with a_j ≠ 0 and s = |a|²/a_j²; for a line
    with direction e, J = {j} with e_j ≠ 0 and s = |e|²/e_j²; else, with B an echelon basis of
    the plane's directions and J its pivots, s = det(B Bᵀ)/det(B_J)².  The projected volume
    vol_J is a sum of |det| / d! over a pulling triangulation of each face."""
    if d == 0:
        return fmpq(1)
    if normal is not None:
        j = next(i for i, x in enumerate(normal) if x != 0)
        J = [i for i in range(n) if i != j]
        scale = fmpq(sum(x * x for x in normal), normal[j] ** 2)
    elif d == 1:
        a0, b0 = (vq(v) for v in faces[0])
        e = [x - y for x, y in zip(b0, a0)]
        j = next(i for i, x in enumerate(e) if x != 0)
        for F in faces[1:]:
            a, b = (vq(v) for v in F)
            if any(e[j] * (y - x) != ej * (b[j] - a[j]) for x, y, ej in zip(a, b, e)):
                return None   # not parallel
            if any(e[j] * (x - y) != ej * (a[j] - a0[j]) for x, y, ej in zip(a, a0, e)):
                return None   # parallel, on another line
        J = [j]
        scale = sum((x * x for x in e), fmpq(0)) / (e[j] * e[j])
    else:
        B, J = _echelon([vq(v) for v in sorted(set().union(*faces))])
        if len(B) != d:
            return None
        pivot_prod = fmpq(1)
        for r, c in zip(B, J):
            pivot_prod *= r[c]
        scale = (fmpq_mat(B) * fmpq_mat(B).transpose()).det() / (pivot_prod * pivot_prod)
    total = fmpq(0)
    if d == 1:
        (j,) = J
        for F in faces:
            a, b = F
            total += abs(vq(a)[j] - vq(b)[j])
    for F, fl in zip(faces, facets if d >= 2 else ()):
        apex = min(F)
        bases = []
        for s in _simplices(F, d, fl):
            if s[0] != apex:
                raise AssertionError("a pulling triangulation from min(F) has the apex min(F)")
            bases.append(s[1:])
        total += _cone_sum(vq, apex, bases, J)
    return total * total * scale / math.factorial(d) ** 2


def _simplices(S: frozenset[int], d: int, facets: list[frozenset[int]]) -> list[tuple[int, ...]]:
    """A pulling triangulation of the d-face with vertex set S: cone from its smallest vertex
    over the triangulations of its facets that miss it.  The facets of a face S are the
    inclusion-maximal proper traces S ∩ G of the polytope's facets G (each is a face of S; a
    facet R of S lies in some G that misses part of S, and then S ∩ G = R) — set logic only.
    (A smaller trace would only add flat simplices: the filter saves work, not correctness.)"""
    if d == 0:
        return [tuple(S)]
    if d == 1:
        return [tuple(sorted(S))] if len(S) == 2 else []
    apex = min(S)
    traces = {S & G for G in facets}
    traces.discard(S)
    out = []
    for T in traces:
        if apex in T or len(T) < d or any(T < U for U in traces):
            continue
        out.extend((apex,) + s for s in _simplices(T, d - 1, facets))
    return out


def _volume(qp: Sequence[tuple[fmpq, ...]], facets: list[frozenset[int]], n: int) -> Fraction:
    """Exact n-volume of the polytope with these vertices (flint rationals) and facets (vertex
    index sets): Σ |det(v_1 − v_0, …, v_n − v_0)| / n! over a pulling triangulation."""
    total = fmpq(0)
    if n == 1:
        xs = [p[0] for p in qp]
        total = max(xs) - min(xs)
        return Fraction(int(total.p), int(total.q))
    if n == 2:  # the fan from vertex 0 over the edges that miss it
        (x0, y0) = qp[0]
        for e in facets:
            if 0 not in e:
                a, b = e
                (xa, ya), (xb, yb) = qp[a], qp[b]
                total += abs((xa - x0) * (yb - y0) - (ya - y0) * (xb - x0))
        total /= 2
        return Fraction(int(total.p), int(total.q))
    # every simplex has the apex 0 (the smallest vertex, see _simplices): the edge vectors
    # from it are computed once
    simplices = _simplices(frozenset(range(len(qp))), n, facets)
    if any(s[0] != 0 for s in simplices):
        raise AssertionError("a pulling triangulation from vertex 0 has the apex 0")
    total = _cone_sum(qp.__getitem__, 0, [s[1:] for s in simplices], range(n))
    total /= math.factorial(n)
    return Fraction(int(total.p), int(total.q))


def _cone_sum(vq: Any, apex: int, bases: Sequence[Sequence[int]], J: Sequence[int]) -> fmpq:
    """Σ |det(v_i − v_apex : i ∈ base)| over the bases, the points vq(i) (flint rationals)
    projected onto the coordinates J, in integers: the projected vertex i is X_i / D_i, the
    edge from the apex E_i / (D_i D_a) with E_i = X_i D_a − X_a D_i, and a determinant is
    det(E) / (Π D_i · D_a^d).  The sum is kept as one integer fraction, reduced once at the end
    (flint's rationals reduce after every operation).

    >>> from flint import fmpq
    >>> pts = [(fmpq(0), fmpq(0)), (fmpq(1, 2), fmpq(0)), (fmpq(0), fmpq(1, 3))]
    >>> _cone_sum(pts.__getitem__, 0, [(1, 2)], (0, 1))        # twice the triangle's area
    1/6
    """
    hom: dict[int, tuple[list, Any]] = {}
    for i in {apex, *(i for b in bases for i in b)}:
        p = [vq(i)[j] for j in J]
        D = fmpz(1)
        for x in p:
            D = D * (x.q // D.gcd(x.q))
        hom[i] = ([x.p * (D // x.q) for x in p], D)
    X0, D0 = hom[apex]
    E = {i: [x * D0 - y * D for x, y in zip(X, X0)] for i, (X, D) in hom.items()}
    d = len(J)
    terms: list[tuple[Any, Any]] = []
    for b in bases:
        q = fmpz(1)
        for i in b:
            q *= hom[i][1]
        if d == 2:
            (a0, a1), (b0, b1) = (E[i] for i in b)
            det = a0 * b1 - a1 * b0
        elif d == 3:
            (a0, a1, a2), (b0, b1, b2), (c0, c1, c2) = (E[i] for i in b)
            det = a0 * (b1 * c2 - b2 * c1) - a1 * (b0 * c2 - b2 * c0) + a2 * (b0 * c1 - b1 * c0)
        else:
            det = fmpz_mat([E[i] for i in b]).det()
        terms.append((abs(det), q))
    num, den = _pairwise_sum(terms)
    return fmpq(num, den * D0 ** d)


PAIRWISE_REDUCED_FROM = 64
"""From this many terms on, :func:`_pairwise_sum` adds reduced flint rationals."""


def _pairwise_sum(terms: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    """Σ n_k / d_k as one fraction (num, den), added in a balanced tree: a running sum's
    denominator grows with every term, and adding term after term to it costs time quadratic
    in their number (2,656 terms of a 6-D region: 1.0 s against 0.05 s).  Up to
    ``PAIRWISE_REDUCED_FROM`` terms the tree adds unreduced integer pairs (no gcd); from there
    on flint rationals, reduced at every addition: the denominators of a 5-D or 6-D region's
    hundreds of simplices share most of their factors, and unreduced their products grow to
    hundreds of thousands of bits (the check of 6-5-5-1, 380 regions: 65–74 s → 55–59 s).  The
    checker's own, in flint integers (the builder's is ``rational.sum_of_fractions``, gmpy2).

    >>> _pairwise_sum([(1, 2), (1, 3), (1, 6)])
    (36, 36)
    """
    if not terms:
        return fmpz(0), fmpz(1)
    if len(terms) >= PAIRWISE_REDUCED_FROM:
        sums = [fmpq(a, b) for a, b in terms]
        while len(sums) > 1:
            pairs = [x + y for x, y in zip(sums[::2], sums[1::2])]
            if len(sums) % 2:
                pairs.append(sums[-1])
            sums = pairs
        return sums[0].p, sums[0].q
    while len(terms) > 1:
        pairs = [(a * d + c * b, b * d) for (a, b), (c, d) in zip(terms[::2], terms[1::2])]
        if len(terms) % 2:
            pairs.append(terms[-1])
        terms = pairs
    return terms[0]


def _facets(qverts: Sequence[tuple[fmpq, ...]], inc: list[set[int]], n: int,
            cols: Sequence[tuple[int, ...]] | None = None,
            rows: Sequence[Sequence[int]] | None = None) -> dict[frozenset[int], int]:
    """The facets (vertex index sets) among the rows' incidence sets, each with one row on it
    (``qverts``: the vertices as flint rationals; ``cols``: the same as homogeneous integer
    columns, made from ``qverts`` when not given; ``rows``: the integer rows (a, b) whose
    exact incidences ``inc`` are, when known)."""
    if n >= 4 and cols is None:
        cols = [_homogeneous(_qkey(q)) for q in qverts]
    out: dict[frozenset[int], int] = {}
    for i, s in enumerate(inc):
        if len(s) >= n:
            fs = frozenset(s)
            if fs in out:
                continue
            if n <= 3:
                out[fs] = i
                continue
            on_plane = [cols[j] for j in s]
            # the points satisfy a·x = b exactly (their incidence), so with a ≠ 0 their affine
            # dimension is at most n - 1, and a rank of n modulo a prime proves at least n - 1
            if ((rows is not None and any(rows[i][:n]) and _rank_mod_p(on_plane) == n)
                    or _affine_dim(on_plane) == n - 1):
                out[fs] = i
    return out


_PRIME = (1 << 62) - 57


def _rank_mod_p(cols: Sequence[Sequence[int]]) -> int:
    """The rank modulo the prime 2^62 − 57 of integer rows: a lower bound of their rank over
    the rationals (a minor that is not 0 modulo p is not 0), equal to it unless p divides
    every largest non-zero minor.

    >>> _rank_mod_p([(1, 2, 3), (2, 4, 6), (0, 1, 1)]), _rank_mod_p([(_PRIME, 0), (0, 1)])
    (2, 1)
    """
    return nmod_mat([list(c) for c in cols], _PRIME).rank()


def _hyperplane(row: Sequence[int]) -> tuple[int, ...]:
    """Canonical key of the hyperplane a·u = b of an integer row (a, b): the primitive row
    with its first non-zero entry positive.

    >>> _hyperplane((-2, 4, -6))
    (1, -2, 3)
    """
    g = math.gcd(*row)
    if next(x for x in row if x != 0) < 0:
        g = -g
    return tuple(x // g for x in row)


def _edges_3d(facets: Mapping[frozenset[int], int], nv: int) -> list[tuple[int, int]]:
    """The edges of a 3-polytope: two vertices on two common facets (the two facets meet in a
    face of dimension ≤ 1 that holds both, which is the edge between them)."""
    on: list[list[int]] = [[] for _ in range(nv)]
    for k, fs in enumerate(facets):
        for v in fs:
            on[v].append(k)
    sets = [set(x) for x in on]
    return [(i, j) for i in range(nv) for j in range(i + 1, nv) if len(sets[i] & sets[j]) >= 2]


def _strata_3d(edges: set[frozenset[int]], ng_at: dict[int, list[frozenset[int]]],
               plane_of: dict[frozenset[int], tuple], vkt: list[frozenset[int]],
               keys: list[tuple[int, ...]]
               ) -> tuple[set[frozenset[frozenset[int]]], set[frozenset[frozenset[int]]]]:
    """The pieces of B_N,2 and B_N,3 of a 3-D complex, from the non-glued facets alone.

    An interior edge of B_N lies in B_N,1 when exactly two non-glued facets hold it and they are
    coplanar (a flat sheet goes on across it), else in B_N,2. An interior vertex of B_N lies in
    B_N,1 when B_N is one flat sheet around it (its non-glued facets coplanar, every edge of
    theirs through it in exactly two of them); else in B_N,2 when exactly two B_N,2 edges meet
    there and are collinear (a line goes on through it); else in B_N,3. B_N,2's pieces are its
    edges joined at B_N,2 vertices; B_N,3's are single points."""
    def interior(vs: frozenset[int]) -> bool:
        return not frozenset.intersection(*(vkt[v] for v in vs))

    k_edge: dict[frozenset[int], int] = {}
    edges_at: dict[int, list[frozenset[int]]] = defaultdict(list)
    for e in edges:
        a, b = tuple(e)
        if not interior(e):
            continue
        around = [f for f in ng_at.get(a, ()) if b in f]
        if not around:
            continue
        flat = len(around) == 2 and plane_of[around[0]] == plane_of[around[1]]
        k_edge[e] = 1 if flat else 2
        edges_at[a].append(e)
        edges_at[b].append(e)
    k_vertex: dict[int, int] = {}
    for v, fl in ng_at.items():
        if vkt[v]:
            continue
        flat = len({plane_of[f] for f in fl}) == 1
        if flat:
            for e in edges_at.get(v, ()):
                if sum(1 for f in fl if e <= f) != 2:
                    flat = False
                    break
        if flat:
            k_vertex[v] = 1
            continue
        lines = [e for e in edges_at.get(v, ()) if k_edge[e] == 2]
        if len(lines) == 2:
            (a,), (b,) = (e - {v} for e in lines)
            if _affine_dim([_homogeneous(keys[x]) for x in (a, v, b)]) == 1:
                k_vertex[v] = 2
                continue
        k_vertex[v] = 3
    parent = {e: e for e, k in k_edge.items() if k == 2}

    def find(x: frozenset[int]) -> frozenset[int]:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for v, k in k_vertex.items():
        if k == 2:
            a, b = (e for e in edges_at[v] if k_edge[e] == 2)
            parent[find(a)] = find(b)
    comps: dict[frozenset[int], set[frozenset[int]]] = defaultdict(set)
    for e in parent:
        comps[find(e)].add(e)
    two = {frozenset(c) for c in comps.values()}
    three = {frozenset({frozenset({v})}) for v, k in k_vertex.items() if k == 3}
    return two, three


def _face_dim(F: frozenset[int], vh: Any) -> int:
    """Affine dimension of the points with these (distinct) vertex ids (``vh``: a vertex id's
    point as a homogeneous integer column)."""
    if len(F) <= 2:
        return len(F) - 1
    return _affine_dim([vh(v) for v in F])


def _homogeneous(key: tuple[int, ...]) -> tuple[int, ...]:
    """The point of a key (numerators and denominators) as a homogeneous integer column
    (X, d), d > 0: the same sign against any integer row.

    >>> _homogeneous((1, 2, -1, 3))
    (3, -2, 6)
    """
    d = math.lcm(*key[1::2])
    return tuple(p * (d // q) for p, q in zip(key[::2], key[1::2])) + (d,)


def _in_relative_interior(rows: Sequence[tuple[int, ...]], face: Sequence[tuple[int, ...]],
                          w: tuple[int, ...]) -> bool:
    """Whether w is in the relative interior of the face with these vertices of the region
    {u : a·u <= b for each integer row (a, b)}: on every row tight on the whole face, strictly
    inside every other row.  The vertices and w are homogeneous integer columns
    (:func:`_homogeneous`), so only signs are compared.  A row strict at w needs one vertex
    off it (mostly the first), a row tight at w all of them.

    >>> square = [(1, 0, 1), (-1, 0, 0), (0, 1, 1), (0, -1, 0)]      # [0, 1]^2
    >>> edge = [(1, 0, 1), (1, 1, 1)]                                  # x = 1 (d = 1)
    >>> inside = _in_relative_interior
    >>> inside(square, edge, (2, 1, 2)), inside(square, edge, (1, 1, 1))  # (1, 1/2) and a vertex
    (True, False)
    """
    n = len(w) - 1
    for r in rows:
        a, b = r[:n], r[n]
        s = sum(map(mul, a, w)) - b * w[n]
        if s > 0:
            return False
        if all(sum(map(mul, a, p)) == b * p[n] for p in face) != (s == 0):
            return False
    return True


# ----- the network, exactly and on its own ----------------------------------------------

class _ModularNet:
    """The net's weights, biases, slopes and offsets modulo a prime p ≤ 2^62 − 57 that divides
    none of their denominators (see :meth:`_Net.fingerprint`)."""

    def __init__(self, net: Any):
        values = [x for lay in net.layers for row in lay.weight for x in row]
        values += [x for lay in net.layers for x in lay.bias]
        values += [x for lay in net.layers for a in lay.activations
                   for x in (*a.slopes, *a.offsets)]
        dens = {x.denominator for x in values}
        p = _PRIME
        while any(d % p == 0 for d in dens) or not fmpz(p).is_prime():
            p -= 2
        self.p = p

        def res(x: Fraction) -> int:
            return x.numerator * pow(x.denominator, -1, p) % p

        self.W = [nmod_mat(lay.out_dim, lay.in_dim, [res(x) for row in lay.weight for x in row],
                           p) for lay in net.layers]
        self.b = [nmod_mat(lay.out_dim, 1, [res(x) for x in lay.bias], p) for lay in net.layers]
        self.q = [[[res(x) for x in a.slopes] for a in lay.activations] for lay in net.layers]
        self.o = [[[res(x) for x in a.offsets] for a in lay.activations] for lay in net.layers]
        # r: fixed pseudo-random entries (a seeded Mersenne twister), W_1·r once; an r
        # polynomial in k would be orthogonal to small integer differences of J along k
        rng = random.Random(62)
        r = [rng.randrange(1, p) for _ in range(net.input_dim)]
        self.Wr = self.W[0] * nmod_mat(net.input_dim, 1, r, p)
        # per layer: (its pieces, u, c after it) of the last pattern, valid while the layers
        # before it are those of that pattern too (cleared from the first layer that differs)
        self.last: list[tuple | None] = [None] * len(net.layers)

    def fingerprint(self, pattern: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        """(J·r, c) modulo p after the last layer; the vectors after each layer are kept for
        the last pattern asked (ask in sorted order: a shared prefix is computed once)."""
        p = self.p
        u, c = self.Wr, self.b[0]
        start = 0
        while (start < len(pattern) and self.last[start] is not None
               and self.last[start][0] == pattern[start]):
            _, u, c = self.last[start]
            start += 1
        for l in range(start, len(self.last)):
            self.last[l] = None
        for l, pieces in enumerate(pattern):
            if l < start:
                continue
            if l > 0:
                u = self.W[l] * u
                c = self.W[l] * c + self.b[l]
            q, o = self.q[l], self.o[l]
            us = [int(x) for x in u.entries()]
            cs = [int(x) for x in c.entries()]
            u = nmod_mat(len(us), 1, [q[i][j] * x % p for i, (x, j) in enumerate(zip(us, pieces))],
                         p)
            c = nmod_mat(len(cs), 1, [(q[i][j] * x + o[i][j]) % p
                                      for i, (x, j) in enumerate(zip(cs, pieces))], p)
            self.last[l] = (pieces, u, c)
        return tuple(int(x) for x in u.entries()) + tuple(int(x) for x in c.entries())


class _Net:
    """The embedded net in the checker's own arithmetic (flint ``fmpq``; a region's layer maps
    in homogeneous integers, :meth:`layer`)."""

    def __init__(self, net: Any, emb: tuple[Point, list[Point]] | None):
        self.net = net
        self.L = len(net.layers)
        self.W = [fmpq_mat([[fmpq(x.numerator, x.denominator) for x in row] for row in lay.weight])
                  for lay in net.layers]
        self.b = [[fmpq(x.numerator, x.denominator) for x in lay.bias] for lay in net.layers]
        self.bps = [[fmpq(x.numerator, x.denominator) for x in lay.breakpoints]
                    for lay in net.layers]
        # slopes[l][i][j], offsets[l][i][j]: neuron i of layer l on piece j (per neuron: a
        # per-channel PReLU has its own slopes a neuron)
        self.slopes = [[[fmpq(x.numerator, x.denominator) for x in a.slopes]
                        for a in lay.activations] for lay in net.layers]
        self.offsets = [[[fmpq(x.numerator, x.denominator) for x in a.offsets]
                         for a in lay.activations] for lay in net.layers]
        self.bp_den = [math.lcm(*(x.denominator for x in lay.breakpoints), 1)
                       for lay in net.layers]
        self.bps_int = [[x.numerator * (s // x.denominator) for x in lay.breakpoints]
                        for lay, s in zip(net.layers, self.bp_den)]
        # colmask[l][i]: bit j set when W_l[j][i] != 0
        self.colmask = [[sum(1 << j for j, row in enumerate(lay.weight) if row[i] != 0)
                         for i in range(lay.in_dim)] for lay in net.layers]
        n_in = net.input_dim
        if emb is None:
            self.d = n_in
            first = fmpq_mat(len(self.b[0]), n_in + 1)
            W0 = self.W[0]
            for i in range(W0.nrows()):
                for j in range(n_in):
                    first[i, j] = W0[i, j]
                first[i, n_in] = self.b[0][i]
        else:
            origin, dirs = emb
            if len(origin) != n_in or any(len(d) != n_in for d in dirs):
                raise FormatError("the slice's points do not have the net's input dimension")
            self.d = len(dirs)
            E = fmpq_mat(n_in, self.d + 1)  # x = E (u, 1)
            for k in range(n_in):
                for j, dvec in enumerate(dirs):
                    E[k, j] = fmpq(dvec[k].numerator, dvec[k].denominator)
                E[k, self.d] = fmpq(origin[k].numerator, origin[k].denominator)
            first = self.W[0] * E
            for i in range(first.nrows()):
                first[i, self.d] += self.b[0][i]
        self.first = first  # layer-0 pre-activations as a map of (u, 1)
        self.last: list[tuple | None] = [None] * self.L   # per layer: (prefix, its layer())
        # The same maps in homogeneous integers, as in a projective transform: an (m+1)×(d+1)
        # fmpz matrix whose last row is (0, …, 0, D) stands for z = (its first m rows)·(u, 1) / D
        # (D > 0, never reduced).  A layer is then two integer products, no rational is
        # normalised: the activation [[diag(q·s), p·s], [0, s]] on the pieces (s the common
        # denominator of the layer's slopes and offsets), then [[W·t, b·t], [0, t]] (t that of
        # its weights and biases).
        Fi, Fd = first.numer_denom()
        self.first_int = fmpz_mat(first.nrows() + 1, self.d + 1,
                                  list(Fi.entries()) + [0] * self.d + [Fd])
        self.affine_int: list[fmpz_mat | None] = [None]
        for lay in net.layers[1:]:
            t = math.lcm(*(x.denominator for row in lay.weight for x in row),
                         *(x.denominator for x in lay.bias))
            m, k = lay.out_dim, lay.in_dim
            self.affine_int.append(fmpz_mat(m + 1, k + 1, [
                *(v for row, bb in zip(lay.weight, lay.bias)
                  for v in (*(int(x * t) for x in row), int(bb * t))), *([0] * k), t]))
        self.act_scale = [math.lcm(*(x.denominator for a in lay.activations
                                     for x in (*a.slopes, *a.offsets)))
                          for lay in net.layers]
        self.slopes_int = [[[int(x * s) for x in a.slopes] for a in lay.activations]
                           for lay, s in zip(net.layers, self.act_scale)]
        self.offsets_int = [[[int(x * s) for x in a.offsets] for a in lay.activations]
                            for lay, s in zip(net.layers, self.act_scale)]

    def layer(self, pattern: tuple[tuple[int, ...], ...], l: int
              ) -> tuple[fmpz_mat, tuple[fmpz_mat, int, list[tuple[int, int]]] | None]:
        """Layer l's pre-activation map on the pattern's region, in homogeneous integers (see
        ``first_int``), and, for a layer with breakpoints, the piece bounds of
        :meth:`piece_bounds` as integer matrices (each scaled by one positive common
        denominator, so every sign is kept).  Depends only on pattern[:l+1]; the last one asked
        for is kept per layer (the regions come sorted by pattern, so a prefix is computed once,
        and memory stays a few maps however many regions).

        >>> from exactregions.exact.netfile import network_from_dict
        >>> net = network_from_dict({"format": "exactregions-network", "version": 1,
        ...   "input_dim": 1, "layers": [{"weight": [["1/2"], [-1]], "bias": [0, 1],
        ...   "activation": "relu"}, {"weight": [[3, "1/3"]], "bias": [1],
        ...   "activation": "identity"}]})
        >>> _Net(net, None).layer(((1, 0), (0,)), 1)[0].tolist()  # z = 3·(x/2) + 1, unreduced
        [[9, 6], [0, 6]]
        """
        key = pattern[:l + 1]
        last = self.last[l]
        if last is not None and last[0] == key:
            return last[1]
        # the map itself depends on pattern[:l] only (its piece bounds on pattern[l] too)
        if last is not None and last[0][:l] == key[:l]:
            Z = last[1][0]
        elif l == 0:
            Z = self.first_int
        else:
            Zp = self.layer(pattern, l - 1)[0]
            Z = self.affine_int[l] * (self._activation(l - 1, pattern[l - 1]) * Zp)
        hit = (Z, self.piece_bounds(l, pattern[l], Z) if self.bps[l] else None)
        self.last[l] = (key, hit)
        return hit

    def _activation(self, l: int, pieces: tuple[int, ...]) -> fmpz_mat:
        """φ of layer l on these pieces as the homogeneous integer matrix
        [[diag(q·s), p·s], [0, s]]."""
        k = len(pieces)
        M = fmpz_mat(k + 1, k + 1)
        q, p = self.slopes_int[l], self.offsets_int[l]
        for i, j in enumerate(pieces):
            if q[i][j]:
                M[i, i] = q[i][j]
            if p[i][j]:
                M[i, k] = p[i][j]
        M[k, k] = self.act_scale[l]
        return M

    def output_map(self, pattern: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        """The outputs' affine map on the pattern's region, in slice/domain coordinates: its
        entries row by row, each as a numerator and a positive denominator in lowest terms."""
        H = (self._activation(self.L - 1, pattern[-1]) * self.layer(pattern, self.L - 1)[0])
        rows = H.tolist()
        D = int(rows[-1][-1])
        out = []
        for row in rows[:-1]:
            for x in row:
                g = math.gcd(int(x), D)
                out.extend((int(x) // g, D // g))
        return tuple(out)

    def full_map(self, pattern: tuple[tuple[int, ...], ...]) -> tuple:
        """The affine map of all outputs in the *original* input space: (J, c), exact.

        J = G W_1 with G = ∂out/∂z_1 = Q_L W_L ⋯ W_2 Q_1, and c by a forward pass of the offsets
        from x = 0; both depend only on the pattern.
        """
        L = self.L
        G = None
        for l in range(L - 1, -1, -1):
            k = len(pattern[l])
            Q = fmpq_mat(k, k)
            for i, j in enumerate(pattern[l]):
                Q[i, i] = self.slopes[l][i][j]
            G = Q if G is None else G * Q
            if l > 0:
                G = G * self.W[l]
        J = G * self.W[0]
        c = list(self.b[0])
        for l in range(L):
            if l > 0:
                c = [t + bb for t, bb in zip((self.W[l] * fmpq_mat(len(c), 1, c)).entries(),
                                             self.b[l])]
            c = [self.slopes[l][i][j] * t + self.offsets[l][i][j]
                 for i, (t, j) in enumerate(zip(c, pattern[l]))]
        return tuple(J.entries()) + tuple(c)

    def fingerprint(self, pattern: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        """(J·r, c) of :meth:`full_map` modulo a prime p, for a fixed vector r: a forward pass
        of W_1·r and of the offsets in ``nmod_mat``.  Reduction modulo p is a ring homomorphism
        on rationals whose denominators p does not divide (p is chosen so), so two patterns
        whose fingerprints differ have different full maps — proven, not sampled; equal
        fingerprints prove nothing (the full maps are then compared exactly).

        >>> from exactregions.exact.netfile import network_from_dict
        >>> net = network_from_dict({"format": "exactregions-network", "version": 1,
        ...   "input_dim": 1, "layers": [{"weight": [[1], [1]], "bias": [0, 0],
        ...   "activation": "relu"}, {"weight": [["1/3", "-1/3"]], "bias": [0],
        ...   "activation": "identity"}]})
        >>> N = _Net(net, None)       # relu(x)/3 - relu(x)/3 = 0 on every pattern
        >>> N.fingerprint(((1, 1), (0,))) == N.fingerprint(((0, 0), (0,)))
        True
        >>> N.fingerprint(((1, 0), (0,))) == N.fingerprint(((0, 0), (0,)))
        False
        """
        if not hasattr(self, "_mod"):
            self._mod = _ModularNet(self.net)
        return self._mod.fingerprint(pattern)

    def good(self, pattern: tuple[tuple[int, ...], ...]) -> list[list[bool]]:
        """Proposition 9's goodness: a path of non-zero weights to an output through open
        neurons (φ' ≠ 0 on their piece) after z; every output neuron is good.

        Bit sets: ``reach`` has bit j set when neuron j of layer l + 1 is open and good."""
        L = self.L
        good: list[list[bool]] = [[] for _ in range(L)]
        good[L - 1] = [True] * len(pattern[L - 1])
        reach = 0
        for j, pj in enumerate(pattern[L - 1]):
            if self.slopes[L - 1][j][pj] != 0:
                reach |= 1 << j
        for l in range(L - 2, -1, -1):
            cols = self.colmask[l + 1]
            good[l] = [(cols[i] & reach) != 0 for i in range(len(pattern[l]))]
            reach = 0
            for i, pi in enumerate(pattern[l]):
                if good[l][i] and self.slopes[l][i][pi] != 0:
                    reach |= 1 << i
        return good

    def piece_bounds(self, l: int, pieces: tuple[int, ...], Z: fmpz_mat
                     ) -> tuple[fmpz_mat, int, list[tuple[int, int]]]:
        """The integer maps whose values are ≥ 0 exactly where every neuron of layer l is in the
        closed piece of ``pieces``: a row (z − ξ_{j−1})·s for every neuron above the bottom
        piece, then a row (ξ_j − z)·s for every neuron below the top piece, for one positive
        scale s (Z's common denominator times the breakpoints' common denominator); so a zero
        means "at ξ" and a strict test on the second block means "below ξ_j".

        Returns the stacked matrix, the number of lower-bound rows, and each row's (neuron,
        breakpoint index)."""
        k = Z.nrows() - 1       # the neurons; Z's last row is (0, …, 0, D)
        scale = self.bp_den[l]
        bps = self.bps_int[l]   # ξ · scale, integers
        T = len(bps)
        lo_info = [(i, j - 1) for i, j in enumerate(pieces) if j > 0]
        hi_info = [(i, j) for i, j in enumerate(pieces) if j < T]
        # one integer product: the row for (i, ξ) is ±(scale · row i of Z − ξ·scale · its last
        # row), whose last entry is ±(scale · c_i − ξ·scale · D)
        S = fmpz_mat(len(lo_info) + len(hi_info), k + 1)
        for r, (i, j) in enumerate(lo_info):
            S[r, i] = scale
            S[r, k] = -bps[j]
        for r, (i, j) in enumerate(hi_info, len(lo_info)):
            S[r, i] = -scale
            S[r, k] = bps[j]
        return S * Z, len(lo_info), lo_info + hi_info


# ----- the check ----------------------------------------------------------------------------

def _one_region(N: "_Net", KR: fmpz_mat, ri: int, reg: Mapping[str, Any], plain: bool,
                points: Sequence[tuple] | None) -> tuple:
    """Every check that concerns one region alone; returns what the global checks need, in
    local vertex numbering (picklable, so that halves can run in two processes).  ``points``:
    the file's vertex list, each as (flint rationals, homogeneous integer column, key)."""
    n = N.d
    rows = _int_rows(reg["A"], reg["b"], n, f"region {ri}")
    pattern = tuple(tuple(map(int, p)) for p in reg["pattern"])
    if len(pattern) != N.L or any(len(p) != len(bb) for p, bb in zip(pattern, N.b)):
        raise FormatError(f"region {ri}: the pattern does not fit the network's widths")
    if any(p and (min(p) < 0 or max(p) > len(N.bps[l])) for l, p in enumerate(pattern)):
        raise FormatError(f"region {ri}: a pattern entry is not a piece of its activation")
    if not isinstance(reg["witness"], list) or len(reg["witness"]) != n:
        raise FormatError(f"region {ri}: the witness must have {n} coordinates")
    wh = _homogeneous(tuple(c for x in reg["witness"] for c in _pq(x)))
    # the vertices: the recorded ones proved to be the vertex set, or cddlib's (a degenerate
    # vertex, or no vertex list in the file)
    inc = idx = None
    recorded = reg.get("vertices")
    if recorded is not None:
        if not isinstance(recorded, list):
            raise FormatError(f"region {ri}: 'vertices' must be a list of vertex indices")
        try:
            idx = [int(j) for j in recorded]
        except (TypeError, ValueError):
            raise FormatError(f"region {ri}: a vertex index is not an integer") from None
        if not all(0 <= j < len(points or ()) for j in idx):
            raise FormatError(f"region {ri}: a vertex index is not in the vertex list")
        pts = [points[j] for j in idx]   # type: ignore[index]
        # distinct by value: a point listed twice in the file would close each of its edges
        if len({p[2] for p in pts}) != len(pts):
            raise _fail("vertices", f"region {ri}: a vertex is recorded twice")
        if len(pts) > n:
            inc = _proved_vertices(rows, [p[1] for p in pts], n, ri)
        if inc is not None:
            qverts = [p[0] for p in pts]
            keys = [p[2] for p in pts]
            cols = [p[1] for p in pts]
    if inc is None:
        try:
            verts, inc = _cdd_vertices([r[:n] for r in rows], [r[n] for r in rows])
        except ValueError:
            raise _fail("vertices", f"region {ri} is unbounded") from None
        qverts = [tuple(_f(x) for x in v) for v in verts]
        keys = [_key(v) for v in verts]
        cols = [_homogeneous(k) for k in keys]
    if len(qverts) <= n:
        raise _fail("vertices", f"region {ri} has {len(qverts)} vertices: not full-dimensional")
    # the vertices and the witness as homogeneous integer columns (X, d), each with its own
    # d > 0 (a common denominator of all would multiply their sizes): against an integer row
    # [a | -b] the sign of a·X - b·d is that of a·x - b
    nv = len(qverts)
    VWi = fmpz_mat(n + 1, nv + 1, [c[k] for k in range(n + 1) for c in cols + [wh]])
    # the witness strictly inside every row, the vertices inside K
    if not max((_row_matrix(rows, n) * fmpz_mat(n + 1, 1, wh)).entries()) < 0:
        raise _fail("witness", f"region {ri}: the witness is not strictly inside")
    KV = (KR * VWi).table()
    if any(x > 0 for row in KV for x in row[:nv]):
        raise _fail("vertices", f"region {ri} has a vertex outside K")
    ktight = [frozenset(i for i, row in enumerate(KV) if row[c] == 0) for c in range(nv)]
    # layer by layer under the pattern's own maps: every vertex in the closed piece of every
    # neuron, and the witness in the piece itself (ties go up, as in the forward pass) — by
    # induction on the layers this is the exact forward pass at the witness.  The bounds are
    # integer rows too (one positive scale), so only signs are compared.
    zeros: dict[int, set[tuple[int, int, int]]] = {c: set() for c in range(nv)}
    for l in range(N.L):
        if not N.bps[l]:
            continue
        bounds, nlo, info = N.layer(pattern, l)[1]
        vals = (bounds * VWi).entries()   # rows: the lower bounds, then the upper bounds
        step = nv + 1
        wv = vals[nv::step]   # the witness: at or above ξ_{j-1}, strictly below ξ_j (ties go up)
        if not ((nlo == 0 or min(wv[:nlo]) >= 0) and (nlo == len(wv) or min(wv[nlo:]) > 0)):
            raise _fail("witness", f"region {ri}: the exact forward pass at its witness "
                                   "gives another pattern")
        if not min(vals) >= 0:
            r = next(p for p, x in enumerate(vals) if x < 0) // step
            raise _fail("vertex-sides", f"region {ri}: a vertex lies outside the piece of "
                                        f"neuron ({l}, {info[r][0]})")
        # which vertices sit at which breakpoint (for the pieces' neurons)
        for r, c in _zeros(vals, step):
            if c < nv:
                zeros[c].add((l,) + info[r])
    facets = _facets(qverts, inc, n, cols, rows)
    vol = _volume(qverts, list(facets), n)
    if vol <= 0:
        raise _fail("volume", f"region {ri} has volume {describe_rational(vol)}")
    if "volume" in reg and _fq(reg["volume"]) != _f(vol):
        raise _fail("volume", f"region {ri}: recorded volume "
                               f"{describe_rational(reg['volume'])} != {describe_rational(vol)}")
    # the output map in input coordinates, from the last layer's map, as plain ints: they cross
    # the process boundary fast (a pickled Fraction is a string parsed again)
    out = N.output_map(pattern) if plain else None
    return (keys, ktight, idx, rows,
            [(fs, _hyperplane(rows[i])) for fs, i in facets.items()],
            (vol.numerator, vol.denominator), zeros, pattern, int(reg["linear_region"]), out,
            _edges_3d(facets, nv) if n == 3 else [])


FORK_MIN_REGIONS = 400
"""From this many items (regions, or boundary pieces) on, their own checks run in two
processes (the second half in a forked child) where ``os.fork`` exists, there are two cores,
``EXACTREGIONS_NO_FORK`` is unset and memory has room for the child's copies."""


CHECK_FORK_ROOM = 1.5
"""A checker half forks when MemAvailable exceeds this many times the parent's resident size.
The child reads its half of the (lazy) document, so it copies the pages of the entries it reads
(CPython writes reference counts) and keeps its own results until it sends them.  Measured on
3-32-32-32-1 (161,373 regions, 1,110,798 pieces): the two forks took 4.6 and 6.7 GB of the
memory available at the fork (17.4 GB at 7.3 GB resident, 16.1 GB at 8.8 GB), that is 0.63× and
0.76× the parent's size; 1.5 leaves twice that.  The default 2× of :func:`fork_has_room` kept
the pieces of that check in one process (16.1 < 2 × 8.8 GB); with both halves forked it took
545 s (648 s in an earlier run with the 2× test)."""


def _map_halves(fn: Any, m: int, report: Callable[[int, int], None] | None = None) -> list:
    """``[fn(i) for i in range(m)]``, the second half in a forked child when it pays.  The
    first exception in item order is raised (the parent's half comes first).  ``report(done,
    m)``, if given, is called as items are done (both halves: the child counts into a page
    shared with the parent), about a hundred times in all."""
    every = max(1, m // 100)
    if (m < FORK_MIN_REGIONS or not hasattr(os, "fork") or os.environ.get("EXACTREGIONS_NO_FORK")
            or other_threads() or not several_cores()
            or not fork_has_room(CHECK_FORK_ROOM)):
        if report is None:
            return [fn(i) for i in range(m)]
        out = []
        for i in range(m):
            out.append(fn(i))
            if (i + 1) % every == 0 or i + 1 == m:
                report(i + 1, m)
        return out
    h = m // 2
    shared = mmap.mmap(-1, 8)   # anonymous and shared: the child's count of its done items
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the second half, pickled back, then leave at once
        code = 0
        try:
            os.close(r)
            try:
                second = []
                for i in range(h, m):
                    second.append(fn(i))
                    if (i + 1 - h) % every == 0:
                        shared[:8] = (i + 1 - h).to_bytes(8, "little")
                payload = pickle.dumps((True, second))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the parent
                try:
                    payload = pickle.dumps((False, exc))
                except Exception:  # noqa: BLE001 - an exception that does not pickle
                    payload = pickle.dumps((False, FormatError(f"{type(exc).__name__}: {exc}")))
            with os.fdopen(w, "wb") as fh:
                fh.write(payload)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(w)

    def child_done() -> int:
        return int.from_bytes(shared[:8], "little")

    try:
        first = []
        for i in range(h):
            first.append(fn(i))
            if report is not None and (i + 1) % every == 0:
                report(i + 1 + child_done(), m)
        while report is not None and not select.select([r], [], [], 0.5)[0]:
            report(h + child_done(), m)   # the parent's half done: the child's count alone
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.close(r)
        os.waitpid(pid, 0)
        raise
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    if not data:
        raise CertificateError("the checker's second process died without a result")
    ok, value = pickle.loads(data)
    if not ok:
        raise value
    if report is not None:
        report(m, m)
    return first + value


def certify(source: str | os.PathLike[str] | Mapping[str, Any],
            progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Re-check a certificate file (or its parsed object) exactly; return the report.

    Parameters
    ----------
    source : path or mapping
        What ``exactregions enumerate … --regions --json OUT.json`` wrote.
    progress : callable, optional
        ``progress(what, done, total)`` as the regions (``what == "regions"``) and then the
        pieces (``"pieces"``) are checked, about a hundred calls each.

    Returns
    -------
    dict
        ``ok`` (True), counts, ``volume_sum`` and ``domain_volume`` as ``"p/q"`` strings, and the
        list of checks that ran.

    Raises
    ------
    FormatError
        If the file is not a well-formed certificate (CLI exit code 2).
    CertificateError
        Naming the first check that failed and the region (CLI exit code 3).

    Examples
    --------
    >>> import exactregions as er
    >>> from exactregions.exact.summary import certificate_document
    >>> rc = er.region_complex(er.random_network([1, 4, 1], seed=3), er.box([(-1, 1)]))
    >>> doc = certificate_document(rc)
    >>> certify(doc)["regions"] == len(rc.activation_regions)
    True
    >>> doc["regions"][0]["pattern"][0][0] ^= 1
    >>> certify(doc)
    Traceback (most recent call last):
    ...
    exactregions.errors.CertificateError: check 'witness' failed: region 0: the exact forward pass at its witness gives another pattern
    """
    data = _load(source)
    # millions of small acyclic objects (tuples, rationals): the cyclic collector would walk
    # them again and again; paused for the check, restored after
    was = gc.isenabled()
    gc.disable()
    try:
        return _certify(data, progress)
    except ExactRegionsError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise FormatError(f"malformed certificate: {exc.__class__.__name__}: {exc}") from None
    finally:
        if was:
            gc.enable()


def _certify(data: Mapping[str, Any],
             progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    def reporter(what: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda done, total: progress(what, done, total))

    if data.get("format") != CERTIFICATE_FORMAT or data.get("version") != CERTIFICATE_VERSION:
        raise FormatError(f"not an {CERTIFICATE_FORMAT} (version {CERTIFICATE_VERSION}) file; "
                          "write one with `exactregions enumerate … --regions --json OUT.json`")
    net = network_from_dict(data["network"])
    emb = None
    if data.get("slice") is not None:
        emb = (_vec(data["slice"]["origin"]), [_vec(d) for d in data["slice"]["directions"]])
    N = _Net(net, emb)
    n = N.d
    KA = [_vec(r) for r in data["K"]["A"]]
    Kb = list(_vec(data["K"]["b"]))
    if not KA or any(len(r) != n for r in KA) or len(Kb) != len(KA):
        raise FormatError(f"K must be m x {n} with b of length m")
    # ----- K ------------------------------------------------------------------------------
    try:
        Kv, Kinc = _cdd_vertices(KA, Kb)
    except ValueError:
        raise _fail("K", "the domain is unbounded") from None
    if len(Kv) <= n:
        raise _fail("K", "the domain is not full-dimensional")
    qK = [tuple(_f(x) for x in v) for v in Kv]
    volK = _volume(qK, list(_facets(qK, Kinc, n)), n)
    if volK <= 0:
        raise _fail("K", "the domain has no volume")

    KR = _row_matrix([_int_row(list(a), bb, n, "K") for a, bb in zip(KA, Kb)], n)

    # ----- regions --------------------------------------------------------------------------
    regions = data["regions"]   # a list, or the LazyEntries of an in-memory document
    if not isinstance(regions, Sequence) or isinstance(regions, (str, bytes)) or not regions:
        raise FormatError("'regions' must be a non-empty list (write it with --regions)")
    vid: dict[tuple[int, ...], int] = {}   # a vertex's key: its numerators and denominators
    gkeys: list[tuple[int, ...]] = []   # global vertex -> its key
    all_edges: set[frozenset[int]] = set()   # the complex's edges (n = 3)
    vkt: list[frozenset[int]] = []   # K rows tight at each global vertex
    vh_cache: dict[int, tuple[int, ...]] = {}

    def vh(v: int) -> tuple[int, ...]:
        """Global vertex v as a homogeneous integer column (X, d), d > 0, from its key (kept:
        the rank tests of n >= 4 read a vertex many times)."""
        h = vh_cache.get(v)
        if h is None:
            h = vh_cache[v] = _homogeneous(gkeys[v])
        return h

    rverts: list[frozenset[int]] = []
    rfacets: list[list[tuple[frozenset[int], tuple]]] = []
    rzeros: list[dict[int, set[tuple[int, int, int]]]] = []  # per vertex: (layer, neuron, ξ index)
    routs: list[tuple | None] = []
    rrecorded: list[list[int] | None] = []   # the file's vertex indices of each region
    rrows: list[list[tuple[int, ...]]] = []  # each region's rows as primitive integer rows
    patterns: list[tuple[tuple[int, ...], ...]] = []
    labels: list[int] = []
    total = fmpq(0)   # in flint: 1.0 s, not 4.7 s as Fractions, for 3-24-24-24-1's 42,448
    # the file's vertex list (optional): flint rationals, homogeneous integer columns, keys
    points = None
    if data.get("vertices") is not None:
        if not isinstance(data["vertices"], list):
            raise FormatError("'vertices' must be a list of points")
        points = [_file_point(v, n) for v in data["vertices"]]
    for res in _map_halves(lambda ri: _one_region(N, KR, ri, regions[ri], emb is None, points),
                            len(regions), reporter("regions")):
        keys, ktight, idx, rows, facets, (vn, vd), zeros, pattern, label, out, edges = res
        ids = []
        for key, kt in zip(keys, ktight):
            g = vid.get(key)
            if g is None:
                g = vid[key] = len(vkt)
                gkeys.append(key)
                vkt.append(kt)
            ids.append(g)
        total += fmpq(vn, vd)
        rverts.append(frozenset(ids))
        all_edges.update(frozenset((ids[i], ids[j])) for i, j in edges)
        rfacets.append([(frozenset(ids[i] for i in fs), key) for fs, key in facets])
        rzeros.append({ids[c]: z for c, z in zeros.items()})
        routs.append(out)
        rrecorded.append(idx)
        rrows.append(rows)
        patterns.append(pattern)
        labels.append(label)
    if len(set(patterns)) != len(patterns):
        seen: dict[tuple, int] = {}
        for ri, p in enumerate(patterns):
            if p in seen:
                raise _fail("patterns", f"regions {seen[p]} and {ri} share an activation pattern")
            seen[p] = ri
    total = Fraction(int(total.p), int(total.q))
    if total != volK:
        raise _fail("volume-sum", f"the regions' volumes add up to {describe_rational(total)}, "
                                  f"vol(K) = {describe_rational(volK)}")
    # ----- facets: on ∂K, or shared with exactly one other region --------------------------
    share: dict[frozenset[int], list[int]] = defaultdict(list)
    plane_of: dict[frozenset[int], tuple] = {}
    for ri, fl in enumerate(rfacets):
        for fs, key in fl:
            common = frozenset.intersection(*(vkt[v] for v in fs))
            if common:
                continue  # inside a facet of K
            share[fs].append(ri)
            plane_of[fs] = key
    for fs, rs in share.items():
        if len(rs) != 2:
            raise _fail("facets", f"an interior facet of region {rs[0]} is a facet of "
                                  f"{len(rs)} regions, not 2 (a region missing or overlapping)")
    # ----- linear regions -------------------------------------------------------------------
    fmap_cache: dict[tuple, tuple] = {}

    def full(ri: int) -> tuple:
        p = patterns[ri]
        m = fmap_cache.get(p)
        if m is None:
            m = routs[ri] if routs[ri] is not None else N.full_map(p)
            fmap_cache[p] = m
        return m

    parent = list(range(len(regions)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    prints: dict[tuple, tuple] = {}
    if any(r is None for r in routs):    # a slice: every region's, in pattern order
        for r in sorted(range(len(regions)), key=patterns.__getitem__):
            if routs[r] is None and patterns[r] not in prints:
                prints[patterns[r]] = N.fingerprint(patterns[r])

    def differ(r1: int, r2: int) -> bool:
        """The two regions' full maps differ, proven by their fingerprints modulo p (slices
        only: a box's maps are the outputs' own, compared directly)."""
        if routs[r1] is not None:
            return False
        f1, f2 = (prints.get(patterns[r]) for r in (r1, r2))
        if f1 is None:
            f1 = prints[patterns[r1]] = N.fingerprint(patterns[r1])
        if f2 is None:
            f2 = prints[patterns[r2]] = N.fingerprint(patterns[r2])
        return f1 != f2

    not_glued: set[frozenset[int]] = set()
    for fs, (r1, r2) in share.items():
        same = not differ(r1, r2) and full(r1) == full(r2)
        if labels[r1] == labels[r2]:
            if not same:
                raise _fail("linear", f"regions {r1} and {r2} are in one linear region but their "
                                      "affine maps differ across their facet")
            parent[find(r1)] = find(r2)
        else:
            if same:
                raise _fail("linear", f"regions {r1} and {r2} have the same affine map across "
                                      "their facet but are in different linear regions")
            not_glued.add(fs)
    comp: dict[int, set[int]] = defaultdict(set)
    for ri, lab in enumerate(labels):
        comp[lab].add(find(ri))
    for lab, roots in sorted(comp.items()):
        if len(roots) != 1:
            raise _fail("linear", f"linear region {lab} is not connected through glued facets")
    members = data.get("linear_region_members")
    if members is not None:
        given = {i: sorted(int(m) for m in ms) for i, ms in enumerate(members)}
        mine: dict[int, list[int]] = defaultdict(list)
        for ri, lab in enumerate(labels):
            mine[lab].append(ri)
        if given != dict(mine):
            raise _fail("linear", "the linear regions' member lists do not match the regions")
    n_linear = len(comp)
    # ----- pieces of B_N,k --------------------------------------------------------------------
    pieces = data.get("pieces", [])
    # the file's vertex list, as the checker's own vertex ids (None: no region has it)
    file_ids = [vid.get(p[2]) for p in points or ()]
    # each region's recorded vertex list is its polytope's vertex set, no point more or less
    # (a point inside an edge keeps volumes, facets and the Euler characteristic: only this
    # comparison with cddlib's vertices sees it)
    for ri, recorded in enumerate(rrecorded):
        if recorded is None:
            continue
        got = [file_ids[j] for j in recorded]
        if None in got or len(set(got)) != len(got) or set(got) != rverts[ri]:
            raise _fail("vertices", f"region {ri}: the recorded vertices are not the vertices "
                                    f"of its H-polytope ({len(recorded)} recorded, "
                                    f"{len(rverts[ri])} by cddlib)")
    ng_at: dict[int, list[frozenset[int]]] = defaultdict(list)
    for fs in not_glued:
        for v in fs:
            ng_at[v].append(fs)
    regions_at: dict[int, set[int]] = defaultdict(set)
    for ri, vs in enumerate(rverts):
        for v in vs:
            regions_at[v].add(ri)
    # B_N,1 exactly: its pieces are the classes of non-glued facets joined across a ridge lying
    # in exactly two non-glued facets, both in one hyperplane (straight continuation)
    fparent = {fs: fs for fs in not_glued}

    def ffind(x: frozenset[int]) -> frozenset[int]:
        while fparent[x] != x:
            fparent[x] = fparent[fparent[x]]
            x = fparent[x]
        return x

    if n >= 2:
        by_plane: dict[tuple, list[frozenset[int]]] = defaultdict(list)
        for fs in not_glued:
            by_plane[plane_of[fs]].append(fs)
        for group in by_plane.values():
            at: dict[int, list[frozenset[int]]] = defaultdict(list)
            for fs in group:
                for v in fs:
                    at[v].append(fs)
            pos = {fs: i for i, fs in enumerate(group)}
            for i, fs in enumerate(group):
                # each pair once (the join is symmetric), the set tests before the rank
                cands = {g for v in fs for g in at[v] if pos[g] > i}
                for g in cands:
                    R = fs & g
                    if len(R) < n - 1:
                        continue
                    if frozenset.intersection(*(vkt[v] for v in R)):
                        continue  # on ∂K
                    around = set.intersection(*(set(ng_at[v]) for v in R))
                    if len(around) != 2:
                        continue
                    if n >= 4 and _affine_dim([vh(v) for v in R]) != n - 2:
                        continue
                    fparent[ffind(fs)] = ffind(g)
    classes: dict[frozenset[int], set[frozenset[int]]] = defaultdict(set)
    for fs in not_glued:
        classes[ffind(fs)].add(fs)
    expected_1 = {frozenset(c) for c in classes.values()}
    # in 2-D (and 1-D, where B_N,1 are the points), the points of B_N,n: interior vertices of
    # B_N where it is not one straight line
    expected_n: set[frozenset[int]] | None = None
    if n == 2:
        expected_n = set()
        for v, fl in ng_at.items():
            if vkt[v]:
                continue
            straight = len(fl) == 2 and plane_of[fl[0]] == plane_of[fl[1]]
            if not straight:
                expected_n.add(frozenset({frozenset({v})}))
    if n == 3:
        expected_2, expected_n = _strata_3d(all_edges, ng_at, plane_of, vkt, gkeys)
    good_cache: dict[int, list[list[bool]]] = {}

    def good_of(ri: int) -> list[list[bool]]:
        g = good_cache.get(ri)
        if g is None:
            g = good_cache[ri] = N.good(patterns[ri])
        return g

    vq_cache: dict[int, tuple[fmpq, ...]] = {}

    def vq(v: int) -> tuple[fmpq, ...]:
        """Global vertex v as flint rationals, from its key (numerators and denominators)."""
        q = vq_cache.get(v)
        if q is None:
            key = gkeys[v]
            q = vq_cache[v] = tuple(fmpq(key[i], key[i + 1]) for i in range(0, len(key), 2))
        return q

    def one_piece(pi: int) -> tuple[int, frozenset[frozenset[int]]]:
        """Every check of piece pi alone; its codimension and faces for the global ones."""
        pc = pieces[pi]
        k = int(pc["codim"])
        if not 1 <= k <= n:
            raise FormatError(f"piece {pi}: codimension {k} is not in 1..{n}")
        faces = []
        for face in pc["faces"]:
            ids = [file_ids[int(i)] for i in face]
            if None in ids:
                raise _fail("pieces", f"piece {pi}: a face vertex is no region's vertex")
            faces.append(frozenset(ids))
        if not faces:
            raise FormatError(f"piece {pi} has no faces")
        inside = [set.intersection(*(regions_at[v] for v in F)) for F in faces]
        for F, rs in zip(faces, inside):
            # an interior facet of a region (``plane_of``) has dimension n - 1: its vertices
            # are those of a proved vertex set on one row, and :func:`_facets` kept them as a
            # facet (n <= 3: more than n - 1 vertices of a face make it n - 1-dimensional)
            dim = n - 1 if F in plane_of else _face_dim(F, vh)
            if dim != n - k:
                raise _fail("pieces", f"piece {pi} (codim {k}) has a face of the wrong dimension")
            if frozenset.intersection(*(vkt[v] for v in F)):
                raise _fail("pieces", f"piece {pi} has a face on the boundary of K")
            if not rs:
                raise _fail("pieces", f"piece {pi}: a face lies in no region")
            if k >= 2 and not any(F <= g for v in F for g in ng_at[v]):
                raise _fail("pieces", f"piece {pi} (codim {k}) has a face outside B_N")
        # its volume: each face is a face of a region around it (the intersection of that
        # region's facets through it), triangulated with the region's facets
        around = []
        for F, rs in zip(faces, inside):
            fl = [G for G, _ in rfacets[min(rs)]]
            if frozenset.intersection(*[G for G in fl if F <= G] or [frozenset()]) != F:
                raise _fail("pieces", f"piece {pi}: a face is not a face of a region around it")
            around.append(fl)
        if "volume_squared" not in pc:
            raise FormatError(f"piece {pi} has no volume_squared")
        normal = None
        if k == 1:   # B_N,1: non-glued facets, each with the hyperplane of its rows
            planes = {plane_of.get(F) for F in faces}
            if len(planes) != 1 or None in planes:
                raise _fail("pieces", f"piece {pi}: its faces are not interior facets of one "
                                      "hyperplane")
            normal = next(iter(planes))[:n]
        sq = _piece_volume_squared(faces, around, vq, n, n - k, normal)
        if sq is None:
            raise _fail("pieces", f"piece {pi}: its faces do not lie in one {n - k}-plane")
        if sq != _fq(pc["volume_squared"]):
            raise _fail("pieces", f"piece {pi}: its volume squared is {describe_rational(sq)} "
                                  f"by the checker's triangulation, "
                                  f"{describe_rational(pc['volume_squared'])} recorded")
        # its witness: in the relative interior of one of its faces (the first, as written)
        if "witness" in pc:
            if not isinstance(pc["witness"], list) or len(pc["witness"]) != n:
                raise FormatError(f"piece {pi}: the witness must have {n} coordinates")
            wh = _homogeneous(tuple(c for x in pc["witness"] for c in _pq(x)))
            if not any(_in_relative_interior(rrows[min(rs)],
                                             [_homogeneous(gkeys[v]) for v in F], wh)
                       for F, rs in zip(faces, inside)):
                raise _fail("pieces", f"piece {pi}: its witness is in the relative interior of "
                                      "none of its faces")
        # its neurons: at one breakpoint on every face, good on a region around the first face
        at_bp: set[tuple[int, int]] | None = None
        for F, rs in zip(faces, inside):
            rz = rzeros[min(rs)]  # z is continuous: any region around F gives its values on F
            tags = set.intersection(*(rz[v] for v in F))
            here = {(l, i) for l, i, _ in tags}
            at_bp = here if at_bp is None else at_bp & here
        goods = [good_of(r) for r in inside[0]]
        good_here = {(l, i) for (l, i) in (at_bp or set()) if any(g[l][i] for g in goods)}
        claimed = {(int(l), int(i)) for l, i in pc["neurons"]}
        if claimed != good_here:
            raise _fail("pieces", f"piece {pi}: neurons {sorted(claimed)} recorded, but the good "
                                  f"neurons at a breakpoint on it are {sorted(good_here)}")
        if "all_neurons" in pc and {(int(l), int(i)) for l, i in pc["all_neurons"]} != at_bp:
            raise _fail("pieces", f"piece {pi}: the neurons at a breakpoint on it are "
                                  f"{sorted(at_bp or ())}, not those recorded")
        return k, frozenset(faces)

    # the pieces' own checks in two processes on big complexes, as the regions' are
    got: dict[int, list[frozenset[frozenset[int]]]] = defaultdict(list)
    counts: dict[int, int] = defaultdict(int)
    for k, faces_k in _map_halves(one_piece, len(pieces), reporter("pieces")):
        got[k].append(faces_k)
        counts[k] += 1
    if set(got[1]) != expected_1 or len(got[1]) != len(expected_1):
        raise _fail("pieces", f"B_N,1 has {len(expected_1)} pieces (non-glued facets joined by "
                              f"straight continuation); the file records {len(got[1])} "
                              "that differ from them")
    if n == 3 and (set(got[2]) != expected_2 or len(got[2]) != len(expected_2)):
        raise _fail("pieces", f"B_N,2 has {len(expected_2)} pieces (lines of B_N off its flat "
                              f"sheets); the file records {len(got[2])} that differ from them")
    if expected_n is not None and (set(got[n]) != expected_n or len(got[n]) != len(expected_n)):
        raise _fail("pieces", f"B_N,{n} has {len(expected_n)} points; the file records "
                              f"{len(got[n])} that differ from them")
    # ----- the counts the file states -------------------------------------------------------
    stated = {"activation_regions": len(regions), "linear_regions": n_linear}
    for key, value in stated.items():
        if key in data and int(data[key]) != value:
            raise _fail("counts", f"the file states {key} = {data[key]}, the check finds {value}")
    if "boundary_pieces" in data:
        for k in range(1, n + 1):
            if int(data["boundary_pieces"].get(str(k), 0)) != counts.get(k, 0):
                raise _fail("counts", f"the file states {data['boundary_pieces'].get(str(k))} "
                                      f"pieces of B_N,{k}, it lists {counts.get(k, 0)}")
    strata = {1: "", 2: ", B_N,2 exact", 3: ", B_N,2 and B_N,3 exact"}.get(n, "")
    checks = ["K", "vertices", "witness", "vertex-sides", "volume", "patterns", "volume-sum",
              "facets", "linear",
              f"pieces (B_N,1 exact{strata}; faces, volume, witness and neurons of every piece)",
              "counts"]
    return {"ok": True, "regions": len(regions), "linear_regions": n_linear,
            "pieces": {str(k): counts.get(k, 0) for k in range(1, n + 1)},
            "volume_sum": _fmt(total), "domain_volume": _fmt(volK), "checks": checks}


def _fmt(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
