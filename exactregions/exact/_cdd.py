"""The only module that imports cddlib: conversions between ``A x <= b`` and cdd's ``[b, -A]``.

Uses ``cdd.gmp`` (GMP rationals) exclusively; pycddlib's float ``cdd`` module is never used.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import cdd
import cdd.gmp

__all__ = ["h_matrix", "canonical_rows", "vertices_of", "interior_point_lp", "hull_facets"]


def h_matrix(A: Sequence[Sequence[Fraction]], b: Sequence[Fraction]) -> "cdd.gmp.Matrix":
    """A cddlib GMP inequality matrix for ``A x <= b``."""
    rows = [[Fraction(bi)] + [-Fraction(x) for x in row] for row, bi in zip(A, b)]
    return cdd.gmp.matrix_from_array(rows, rep_type=cdd.RepType.INEQUALITY)


def canonical_rows(A: Sequence[Sequence[Fraction]], b: Sequence[Fraction]) -> tuple[list[int], set[int]]:
    """cddlib's redundancy removal: the indices of the rows kept, and the implicit equalities.

    The implicit equalities come first (``implicit_linearity_rows``, one LP); where there are
    some, no rows are reported kept.  Otherwise the rows kept are those outside cddlib's
    ``redundant_rows`` (one LP a row, each redundant row dropped before the next is tested, so
    of two equal rows one is kept): 3-4× faster than ``matrix_canonicalize`` on the ~8-row cells
    of a 4-D net, keeping one row of each facet as it does (of two equal rows, perhaps the
    other one).

    >>> from fractions import Fraction as F
    >>> canonical_rows([[F(1), F(0)], [F(1), F(0)], [F(-1), F(0)], [F(0), F(1)],
    ...                 [F(0), F(-1)], [F(1), F(1)]], [F(1)] * 5 + [F(5)])
    ([0, 2, 3, 4], set())
    >>> canonical_rows([[F(1)], [F(-1)]], [F(0), F(0)])[1]
    {0, 1}
    """
    m = h_matrix(A, b)
    lin = set(cdd.gmp.implicit_linearity_rows(m))
    if lin:
        return [], lin
    redundant = cdd.gmp.redundant_rows(m)
    return [i for i in range(len(A)) if i not in redundant], lin


def vertices_of(A: Sequence[Sequence[Fraction]], b: Sequence[Fraction]
                ) -> tuple[list[tuple[Fraction, ...]], bool]:
    """Exact vertices of {x : A x <= b} and whether the set is bounded (no rays, no lines)."""
    poly = cdd.gmp.polyhedron_from_matrix(h_matrix(A, b))
    gen = cdd.gmp.copy_generators(poly)
    verts, bounded = [], not gen.lin_set
    for row in gen.array:
        if row[0] == 1:
            verts.append(tuple(Fraction(x) for x in row[1:]))
        else:
            bounded = False
    return verts, bounded


def interior_point_lp(A: Sequence[Sequence[Fraction]], b: Sequence[Fraction]
                      ) -> tuple[Fraction, tuple[Fraction, ...]]:
    """Chebyshev-style exact LP: maximise t s.t. a_i·x + t <= b_i, 0 <= t <= 1.

    Returns ``(t*, x*)``; t* > 0 certifies that the polytope has an interior point x*.
    """
    n = len(A[0])
    rows = [[Fraction(bi)] + [-Fraction(x) for x in row] + [Fraction(-1)] for row, bi in zip(A, b)]
    rows.append([Fraction(1)] + [Fraction(0)] * n + [Fraction(-1)])
    rows.append([Fraction(0)] + [Fraction(0)] * n + [Fraction(1)])
    obj = [Fraction(0)] + [Fraction(0)] * n + [Fraction(1)]
    lp = cdd.gmp.linprog_from_array(rows + [obj], obj_type=cdd.LPObjType.MAX)
    cdd.gmp.linprog_solve(lp)
    if lp.status != cdd.LPStatusType.OPTIMAL:
        return Fraction(0), tuple(Fraction(0) for _ in range(n))
    sol = lp.primal_solution
    return Fraction(lp.obj_value), tuple(Fraction(x) for x in sol[:n])


def hull_facets(points: Sequence[Sequence[Fraction]]) -> list[frozenset[int]]:
    """The facets of the convex hull of full-dimensional points, as sets of point indices
    (cddlib GMP's V-to-H conversion and its incidence)."""
    rows = [[Fraction(1)] + [Fraction(x) for x in p] for p in points]
    poly = cdd.gmp.polyhedron_from_matrix(
        cdd.gmp.matrix_from_array(rows, rep_type=cdd.RepType.GENERATOR))
    return [frozenset(s) for s in cdd.gmp.copy_incidence(poly)]
