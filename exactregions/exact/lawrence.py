"""Exact volumes of simple polytopes by Lawrence's formula (a sum over vertices, no recursion).

For a simple full-dimensional polytope P = {x : a_i·x <= b_i} in R^n — every vertex v on exactly
n facets, with outer normals forming the rows of A_v — and any c with w_v = cᵀA_v⁻¹ free of
zeros (Lawrence 1991; it is Brion's theorem read off at degree n):

    vol(P) = (1/n!) Σ_v (c·v + d)^n / (|det A_v| · Π_i w_v,i)        (any constant d).

Every term is rational, so the sum is exact; the per-vertex factor 1/(|det A_v| Π w_v,i) does not
change when a row is scaled by a positive number and changes sign with the sign of a row, so it
depends only on the unoriented normals of the hyperplanes through the vertex.  Cells of a
generic arrangement meeting at a vertex share those hyperplanes wherever no earlier layer bends
them there: :class:`SimpleVolumes` computes each factor once (fraction-free Bareiss elimination on
primitive integer rows) and gives every cell its sign.  Floats play no part.

This replaces Lasserre's recursion over faces (facets, their ridges, polygons) for cells in
n >= 4 and for boundary facets in n >= 5 (a 4-D cell's boundary facet takes a cone sum over its
2-faces in :mod:`exactregions.exact.complex`, which costs less there).  The complex's
volume-sum certificate re-checks the cells' volumes (Σ vol(cells) = vol(K) exactly) and the
independent checker computes volumes its own way.

>>> from gmpy2 import mpq
>>> sq = [(mpq(0), mpq(0)), (mpq(2), mpq(0)), (mpq(0), mpq(1)), (mpq(2), mpq(1))]
>>> normals = [[(-1, 0), (0, -1)], [(1, 0), (0, -1)], [(-1, 0), (0, 1)], [(1, 0), (0, 1)]]
>>> simple_volume(sq, [[tuple(map(mpq, a)) for a in rows] for rows in normals])
mpq(2,1)
"""

from __future__ import annotations

import math
from typing import Hashable, Sequence

from gmpy2 import gcd, lcm, mpq, mpz

from exactregions.exact.rational import homogeneous_integers, sum_of_fractions

__all__ = ["SimpleVolumes", "simple_volume", "primitive_row"]

# fixed generic directions (constants, the same on every run): the first with no zero in any
# w_v of a polytope is used; the formula is an identity for every admissible c
_DIRECTIONS = [(1000003, 1999993, 2999999, 4000037, 4999999, 6000011, 7000003, 8000009),
               (1299709, -1746781, 1048573, -1987817, 1636363, -1159523, 1797581, -1366867)]


def primitive_row(a: Sequence[mpq]) -> tuple[tuple[mpz, ...], int]:
    """``(r, s)`` with ``a = λ·s·r`` for some λ > 0: r the primitive integer vector whose first
    non-zero entry is positive, s = ±1.

    >>> primitive_row((mpq(-1, 2), mpq(3, 4)))
    ((mpz(2), mpz(-3)), -1)
    """
    den = mpz(1)
    for x in a:
        den = lcm(den, x.denominator)
    ints = [(x * den).numerator for x in a]
    g = mpz(0)
    for x in ints:
        g = gcd(g, x)
    if g == 0:
        raise ValueError("zero normal")
    first = next(x for x in ints if x != 0)
    s = 1 if first > 0 else -1
    return tuple(x // (g * s) for x in ints), s


def _factor(rows: Sequence[Sequence[mpz]], c: Sequence[int]) -> mpq | None:
    """1 / (|det A| Π_i (cᵀA⁻¹)_i) for the square integer matrix A of ``rows``, or None when A is
    singular or some (cᵀA⁻¹)_i is zero.  Aᵀx = c is solved fraction-free (Bareiss): with
    D = ±det A, every x'_i = D·x_i is an integer and the factor is D^n / (|D| Π x'_i)."""
    n = len(rows)
    M = [[rows[j][i] for j in range(n)] + [mpz(c[i])] for i in range(n)]
    prev = mpz(1)
    for k in range(n):
        if M[k][k] == 0:
            p = next((i for i in range(k + 1, n) if M[i][k] != 0), None)
            if p is None:
                return None
            M[k], M[p] = M[p], M[k]
        pk = M[k]
        akk = pk[k]
        for i in range(k + 1, n):
            Mi = M[i]
            aik = Mi[k]
            for j in range(k + 1, n + 1):
                Mi[j] = (Mi[j] * akk - aik * pk[j]) // prev
            Mi[k] = mpz(0)
        prev = akk
    D = M[n - 1][n - 1]
    x = [mpz(0)] * n
    for i in range(n - 1, -1, -1):
        Mi = M[i]
        t = D * Mi[n] - sum((Mi[j] * x[j] for j in range(i + 1, n)), mpz(0))
        x[i] = t // Mi[i]
    prod = mpz(1)
    for xi in x:
        if xi == 0:
            return None
        prod *= xi
    return mpq(D ** n, abs(D) * prod)


class SimpleVolumes:
    """Volumes of simple polytopes that share hyperplanes, each per-vertex factor computed once
    (it depends only on the unoriented hyperplanes through the vertex).

    ``volume(points, rows_at)``: ``points[i]`` a vertex, ``rows_at[i]`` the ``(id, s)`` of
    :meth:`row` for the n outer normals tight there.  Returns the exact volume, or
    None when the fixed directions are not generic for this polytope (the caller then uses
    another method).
    """

    def __init__(self, n: int):
        self.n = n
        self.cache: list[dict[frozenset, mpq | None]] = [{} for _ in _DIRECTIONS]
        self.cs = [d[:n] if n <= len(d) else
                   tuple(d[i % len(d)] * (i // len(d) + 1) + i for i in range(n))
                   for d in _DIRECTIONS]
        self.dots: list[dict[Hashable, tuple[mpz, mpz]]] = [{} for _ in _DIRECTIONS]
        self.rows: list[tuple[mpz, ...]] = []
        self.row_ids: dict[tuple[mpz, ...], int] = {}
        self.fact = math.factorial(n)

    def row(self, a: Sequence[mpq]) -> tuple[int, int]:
        """``(id, s)``: the outer normal ``a`` as the id of its primitive row r (interned: one id
        a hyperplane) and its sign s (:func:`primitive_row`)."""
        r, s = primitive_row(a)
        rid = self.row_ids.get(r)
        if rid is None:
            rid = self.row_ids[r] = len(self.rows)
            self.rows.append(r)
        return rid, s

    def volume(self, points: Sequence[Sequence[mpq]],
               rows_at: Sequence[Sequence[tuple[int, int]]],
               keys: Sequence[Hashable] | None = None) -> mpq | None:
        """The volume, or None (see the class); ``keys[i]``, a hashable name of ``points[i]``
        shared by the polytopes of this instance, lets c·v be computed once per vertex."""
        n = self.n
        for c, cache, dots in zip(self.cs, self.cache, self.dots):
            terms = []
            for rows in rows_at:
                key = frozenset(r for r, _ in rows)
                f = cache.get(key, False)
                if f is False:
                    f = cache[key] = (_factor([self.rows[r] for r, _ in rows], c)
                                      if len(key) == n else None)
                if f is None:
                    break
                sign = 1
                for _, s in rows:
                    sign *= s
                terms.append(f if sign > 0 else -f)
            else:
                # c·v as homogeneous integers (N, D), D > 0: c is an integer vector
                if keys is None:
                    cv = [_dot(c, p) for p in points]
                else:
                    cv = []
                    for k, p in zip(keys, points):
                        d = dots.get(k)
                        if d is None:
                            d = dots[k] = _dot(c, p)
                        cv.append(d)
                return _vertex_sum(cv, terms, n, self.fact)
        return None


def _dot(c: Sequence[int], p: Sequence[mpq]) -> tuple[mpz, mpz]:
    """c·p as homogeneous integers ``(N, D)``, c·p = N / D, D > 0 (not necessarily coprime).

    >>> _dot((1, 2), (mpq(1, 2), mpq(1, 3)))
    (mpz(7), mpz(6))
    """
    *X, D = homogeneous_integers(p)
    return sum((ci * x for ci, x in zip(c, X)), mpz(0)), D


def _vertex_sum(cv: Sequence[tuple[mpz, mpz]], terms: Sequence[mpq], n: int, divisor: int = 1
                ) -> mpq:
    """Σ_{v > 0} (c·v − c·v₀)^n · t_v / divisor, the c·v as homogeneous integers (N_v, D_v)
    and the t_v rationals: each term the integer fraction (N_v D₀ − N₀ D_v)^n t_v / D_v^n,
    over the common D₀^n, all summed fraction-free
    (:func:`~exactregions.exact.rational.sum_of_fractions`).

    >>> _vertex_sum([(mpz(0), mpz(1)), (mpz(1), mpz(2)), (mpz(3), mpz(1))],
    ...             [mpq(5), mpq(1, 3), mpq(-1, 2)], 2)       # (1/2)²/3 − 3²/2
    mpq(-53,12)
    """
    N0, D0 = cv[0]
    return sum_of_fractions([((N * D0 - N0 * D) ** n * t.numerator, D ** n * t.denominator)
                             for (N, D), t in zip(cv[1:], terms[1:])], D0 ** n * divisor)


def simple_volume(points: Sequence[Sequence[mpq]],
                  normals_at: Sequence[Sequence[Sequence[mpq]]]) -> mpq | None:
    """The exact volume of the simple polytope with vertices ``points``, ``normals_at[i]`` the n
    outer facet normals at ``points[i]`` (Lawrence's formula; None when the fixed directions are
    not generic for it)."""
    sv = SimpleVolumes(len(points[0]))
    return sv.volume(points, [[sv.row(a) for a in rows] for rows in normals_at])
