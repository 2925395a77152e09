"""Exact convex polytopes kept in both representations, and their splitting by hyperplanes.

A :class:`Cell` is a full-dimensional polytope in R^n with exact vertices (gmpy2 ``mpq``), a list
of labelled half-spaces ``a·x <= b`` and the vertex–constraint incidence.  Splitting by a
hyperplane is exact: vertices are signed by an exact dot product, new vertices are the exact
crossings of the edges whose endpoints have opposite signs.  Edges come from incidence alone:
two vertices span an edge iff the normals of the constraints tight at both have rank n - 1.

This module also holds the exact linear algebra the complex needs (rank, affine hulls) and
exact volumes of faces (rational parts; the square-root factor of a lower-dimensional face is
returned separately as its Gram determinant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from functools import cmp_to_key
from typing import TYPE_CHECKING, Iterable, Sequence

from gmpy2 import mpq

from exactregions.exact.floatfilter import TINY, gamma, safe_float, safe_floats
from exactregions.exact.rational import mpq_to_fraction

if TYPE_CHECKING:
    from exactregions.exact.affinemaps import AffineMap

__all__ = ["Constraint", "Cell", "rank", "affine_basis_rref", "polytope_volume", "polygon_area",
           "hyperplane_key", "ZERO", "ONE"]

ZERO = mpq(0)
ONE = mpq(1)


@dataclass(frozen=True, slots=True)
class Constraint:
    """A labelled half-space ``a·x <= b``.

    ``label`` is ``("domain", i)`` for the i-th facet of K, or
    ``("neuron", layer, index, breakpoint, side)`` with side -1 for ``z <= ξ`` and +1 for
    ``z >= ξ``.
    """

    a: tuple[mpq, ...]
    b: mpq
    label: tuple


def hyperplane_key(a: Sequence[mpq], b: mpq) -> tuple[mpq, ...]:
    """Canonical key of the unoriented hyperplane a·x = b (first non-zero coefficient 1)."""
    for v in a:
        if v != 0:
            return tuple(x / v for x in a) + (b / v,)
    raise ValueError("zero normal")


def rank(rows: Iterable[Sequence[mpq]]) -> int:
    """Exact rank of a small rational matrix (Gaussian elimination)."""
    m = [list(r) for r in rows]
    if not m:
        return 0
    r = 0
    ncols = len(m[0])
    for c in range(ncols):
        piv = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if piv is None:
            continue
        m[r], m[piv] = m[piv], m[r]
        pr = m[r]
        for i in range(r + 1, len(m)):
            if m[i][c] != 0:
                f = m[i][c] / pr[c]
                m[i] = [x - f * y for x, y in zip(m[i], pr)]
        r += 1
        if r == len(m):
            break
    return r


def affine_basis_rref(points: Sequence[Sequence[mpq]]) -> list[list[mpq]]:
    """Reduced row-echelon basis of the direction space of the affine hull of ``points``."""
    p0 = points[0]
    m = [[x - y for x, y in zip(p, p0)] for p in points[1:]]
    rows: list[list[mpq]] = []
    ncols = len(p0)
    r = 0
    for c in range(ncols):
        piv = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if piv is None:
            continue
        m[r], m[piv] = m[piv], m[r]
        inv = 1 / m[r][c]
        m[r] = [x * inv for x in m[r]]
        for i in range(len(m)):
            if i != r and m[i][c] != 0:
                f = m[i][c]
                m[i] = [x - f * y for x, y in zip(m[i], m[r])]
        r += 1
    rows = m[:r]
    return rows


def _affine_rank(points: Sequence[Sequence[mpq]]) -> int:
    """Exact dimension of the affine hull (flint's rational row reduction, about twice as fast
    as :func:`affine_basis_rref` when only the rank is needed)."""
    from flint import fmpq, fmpq_mat
    p0 = points[0]
    rows = [[fmpq(int(d.numerator), int(d.denominator)) for d in (x - y for x, y in zip(p, p0))]
            for p in points[1:]]
    if not rows:
        return 0
    return int(fmpq_mat(rows).rref()[1])


def _any_nonzero(tests: Sequence[tuple[Sequence[tuple[mpq, mpq]], Sequence[int]]]) -> bool:
    """Whether any of several Σ ± x·y is non-zero: floats first (the rigorous bound of
    :mod:`floatfilter`, only on safe copies), exact for the rest."""
    unsure = []
    for terms, sign in tests:
        fl = mag = 0.0
        safe = True
        for (x, y), sg in zip(terms, sign):
            fx, fy = safe_float(x), safe_float(y)
            if fx is None or fy is None:
                safe = False
                break
            v = fx * fy
            fl += v if sg > 0 else -v
            mag += abs(v)
        if safe and abs(fl) > 2 * gamma(len(terms) + 4) * mag + TINY:
            return True
        unsure.append((terms, sign))
    return any(sum(((x * y) if sg > 0 else -(x * y) for (x, y), sg in zip(terms, sign)), ZERO) != 0
               for terms, sign in unsure)


def affine_dim(points: Sequence[Sequence[mpq]], upper: int | None = None) -> int:
    """Exact dimension of the affine hull of ``points`` (fast paths for n <= 3).

    ``upper`` is a known upper bound (e.g. n - 1 for points on one hyperplane): the search
    stops there.  Non-zero tests are float-filtered with a rigorous bound, zeros are exact.
    """
    n = len(points[0])
    upper = n if upper is None else upper
    if len(points) == 1 or upper == 0:
        return 0
    if n > 3:
        return _affine_rank(points)
    p0 = points[0]
    diffs = [[x - y for x, y in zip(p, p0)] for p in points[1:]]
    d1 = next((d for d in diffs if any(d)), None)
    if d1 is None:
        return 0
    if n == 1 or upper == 1:
        return 1
    if n == 2:
        return 2 if _any_nonzero([(((d1[0], d[1]), (d1[1], d[0])), (1, -1)) for d in diffs]) else 1
    d2 = None
    for d in diffs:
        if _any_nonzero([(((d1[i], d[j]), (d1[j], d[i])), (1, -1))
                         for i, j in ((1, 2), (2, 0), (0, 1))]):
            d2 = d
            break
    if d2 is None:
        return 1
    if upper == 2:
        return 2
    cross = (d1[1] * d2[2] - d1[2] * d2[1], d1[2] * d2[0] - d1[0] * d2[2],
             d1[0] * d2[1] - d1[1] * d2[0])
    if _any_nonzero([(((cross[0], d[0]), (cross[1], d[1]), (cross[2], d[2])), (1, 1, 1))
                     for d in diffs]):
        return 3
    return 2


def _pivots(basis: list[list[mpq]]) -> list[int]:
    return [next(c for c, x in enumerate(row) if x != 0) for row in basis]


def polygon_area(pts: list[tuple[mpq, mpq]]) -> mpq:
    """Exact area of a convex polygon given by its vertices in any order.

    A fan from the first vertex: floats guide the angular order of the others as seen from it
    (they span less than π there), and the order is verified exactly — every fan triangle must
    turn strictly counter-clockwise — else sorted by an exact comparator.
    """
    p0 = pts[0]
    rel = [(p[0] - p0[0], p[1] - p0[1]) for p in pts[1:]]
    if len(rel) < 2:
        return ZERO
    flat = safe_floats([c for p in rel for c in p])
    if flat is None:  # no float order to guess from: the exact comparator sorts directly
        return _fan_area_exact(rel)
    fl = [(float(flat[2 * i]), float(flat[2 * i + 1])) for i in range(len(rel))]
    # direction of the centroid of the others: an angle reference inside the fan
    mx = sum(f[0] for f in fl)
    my = sum(f[1] for f in fl)
    ref = math.atan2(my, mx)

    def ang(i: int) -> float:
        a = math.atan2(fl[i][1], fl[i][0]) - ref
        return (a + math.pi) % (2 * math.pi) - math.pi

    order = sorted(range(len(rel)), key=ang)
    crosses = [rel[i][0] * rel[j][1] - rel[i][1] * rel[j][0] for i, j in zip(order, order[1:])]
    if not all(c > 0 for c in crosses):
        return _fan_area_exact(rel)
    return sum(crosses, ZERO) / 2


def _fan_area_exact(rel: list[tuple[mpq, mpq]]) -> mpq:
    """The fan area with the order decided by exact cross products (all points lie in a
    half-plane seen from the fan's apex, so the cross product orders them)."""
    def cmp(p: tuple[mpq, mpq], q: tuple[mpq, mpq]) -> int:
        c = p[0] * q[1] - p[1] * q[0]
        return -1 if c > 0 else (1 if c < 0 else 0)
    ordered = sorted(rel, key=cmp_to_key(cmp))
    crosses = [p[0] * q[1] - p[1] * q[0] for p, q in zip(ordered, ordered[1:])]
    if not all(c > 0 for c in crosses):
        raise ValueError("points are not the vertices of a convex polygon")
    return sum(crosses, ZERO) / 2


def polytope_volume(points: Sequence[Sequence[mpq]], facets: Sequence[frozenset[int]] | None = None,
                    normals: Sequence[Sequence[mpq]] | None = None,
                    ridges: Sequence[Sequence[frozenset[int]]] | None = None
                    ) -> tuple[mpq, list[list[mpq]]]:
    """Exact d-volume of the convex polytope with vertices ``points`` (d = dim of their hull).

    Returns ``(v, basis)``: the d-volume of the projection onto the pivot coordinates of the
    reduced basis ``basis`` of the hull's direction space, so the true volume is
    ``v * sqrt(det(basis · basisᵀ))`` (1 when d = n).  ``facets`` (index sets into ``points``)
    matter only when d >= 3; without them cddlib finds the hull's facets.  ``ridges[i]`` (for
    d >= 4, with ``normals``), the facets of facet i as index sets into its sorted vertex
    list, spare the search for them by pairwise intersections.
    """
    pts = [tuple(p) for p in points]
    n = len(pts[0])
    if facets is not None and normals is not None and len(pts) > n:
        # full-dimensional with known facet normals: Lasserre directly, no basis needed
        identity = [[ONE if j == i else ZERO for j in range(n)] for i in range(n)]
        return _volume_with_facets(pts, facets, normals, ridges), identity
    basis = affine_basis_rref(pts)
    d = len(basis)
    if d == 0:
        return ONE, basis
    piv = _pivots(basis)
    proj = [tuple(p[c] for c in piv) for p in pts]
    if d == 1:
        xs = [p[0] for p in proj]
        return max(xs) - min(xs), basis
    if d == 2:
        return polygon_area(proj), basis
    if facets is None:  # a face of dimension >= 3 given by its vertices alone: cddlib's hull
        from exactregions.exact._cdd import hull_facets
        facets = hull_facets([tuple(mpq_to_fraction(x) for x in p) for p in proj])
    return _volume_with_facets(proj, facets), basis


def _volume_with_facets(proj: list[tuple[mpq, ...]], facets: Sequence[frozenset[int]],
                        normals: Sequence[Sequence[mpq]] | None = None,
                        ridges: Sequence[Sequence[frozenset[int]]] | None = None) -> mpq:
    """Lasserre's decomposition vol_d(P) = Σ_F (1/d)(b_F - a_F·c)/|a_Fj| vol_{d-1}(proj_j F)."""
    d = len(proj[0])
    apex = 0  # any point of the polytope works; facets through the apex contribute nothing
    c = proj[apex]
    total = ZERO
    for fi, fac in enumerate(facets):
        if apex in fac:
            continue
        fpts = [proj[i] for i in sorted(fac)]
        normal = list(normals[fi]) if normals is not None else _facet_normal(fpts, d)
        b = sum((x * y for x, y in zip(normal, fpts[0])), ZERO)
        h = b - sum((x * y for x, y in zip(normal, c)), ZERO)
        j = next(i for i, x in enumerate(normal) if x != 0)
        dropped = [tuple(x for i, x in enumerate(p) if i != j) for p in fpts]
        if d == 1:
            sub = ONE
        elif d - 1 == 1:
            # projecting a facet along a coordinate its normal has is injective: the dropped
            # points are full-dimensional in d - 1, no basis needed
            sub = max(p[0] for p in dropped) - min(p[0] for p in dropped)
        elif d - 1 == 2:
            sub = polygon_area(dropped)
        elif ridges is not None:
            sub = _volume_with_facets(dropped, ridges[fi])
        else:
            # facets of the facet: intersections with the other facets, of affine dim d - 2
            found = []
            for g in facets:
                inter = fac & g
                if g is not fac and len(inter) >= d - 1:
                    sub_pts = [proj[i] for i in sorted(inter)]
                    if _affine_rank(sub_pts) == d - 2:
                        found.append(frozenset(sorted(fac).index(i) for i in inter))
            sub = _volume_with_facets(dropped, list(set(found)))
        total += abs(h) * sub / abs(normal[j]) / d
    return total


def _facet_normal(fpts: list[tuple[mpq, ...]], d: int) -> list[mpq]:
    """A normal vector of the hyperplane through ``fpts`` (exact null space; in 3-D the cross
    product of two edges from the first point, with the first non-zero one taken)."""
    if d == 3:
        p0 = fpts[0]
        u = next((tuple(x - y for x, y in zip(p, p0)) for p in fpts[1:] if p != p0), None)
        if u is not None:
            for p in fpts[1:]:
                w = tuple(x - y for x, y in zip(p, p0))
                c = [u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2],
                     u[0] * w[1] - u[1] * w[0]]
                if any(c):
                    return c
    basis = affine_basis_rref(fpts)
    piv = _pivots(basis)
    free = next(c for c in range(d) if c not in piv)
    normal = [ZERO] * d
    normal[free] = ONE
    for row, p in zip(basis, piv):
        normal[p] = -row[free]
    return normal


@dataclass(slots=True)
class Cell:
    """A full-dimensional convex polytope during enumeration (mutable, internal).

    ``verts[i]`` is a tuple of ``mpq``; ``tight[i]`` the set of constraint ids (indices into the
    shared constraint table) tight at vertex i; ``cons`` the ids of the cell's constraints.
    """

    verts: list[tuple[mpq, ...]]
    tight: list[frozenset[int]]
    cons: list[int]
    pattern: tuple[tuple[int, ...], ...] = ()
    maps: list[AffineMap] = field(default_factory=list)
    _centroid: tuple[mpq, ...] | None = field(default=None, repr=False, compare=False)

    def centroid(self) -> tuple[mpq, ...]:
        """The average of the vertices: a strictly interior rational point (computed once;
        a cell's vertices do not change after enumeration)."""
        if self._centroid is None:
            k = len(self.verts)
            n = len(self.verts[0])
            self._centroid = tuple(sum((v[i] for v in self.verts), ZERO) / k for i in range(n))
        return self._centroid

    def edges(self, table: Sequence[Constraint]) -> list[tuple[int, int]]:
        """Vertex pairs spanning an edge: the common tight normals have rank n - 1."""
        n = len(self.verts[0])
        out = []
        nv = len(self.verts)
        for i in range(nv):
            ti = self.tight[i]
            for j in range(i + 1, nv):
                common = ti & self.tight[j]
                if n == 1:
                    out.append((i, j))
                elif n == 2:
                    if common:
                        out.append((i, j))
                elif len(common) >= n - 1 and rank(table[c].a for c in common) == n - 1:
                    out.append((i, j))
        return out

    def split(self, a: Sequence[mpq], b: mpq, table: list[Constraint], label_neg: tuple,
              label_pos: tuple) -> list["Cell"]:
        """Split by the hyperplane a·x = b into the parts a·x <= b and a·x >= b.

        Returns one cell (itself, with the hyperplane added as a touching constraint when it
        meets the cell's boundary) when the hyperplane does not cut the interior, else two.
        """
        vals = [sum((x * y for x, y in zip(a, v)), ZERO) - b for v in self.verts]
        has_neg = any(s < 0 for s in vals)
        has_pos = any(s > 0 for s in vals)
        if not (has_neg and has_pos):
            if any(s == 0 for s in vals):
                neg_side = not has_pos
                cid = len(table)
                if neg_side:
                    table.append(Constraint(tuple(a), b, label_neg))
                else:
                    table.append(Constraint(tuple(-x for x in a), -b, label_pos))
                self.cons.append(cid)
                self.tight = [t | {cid} if s == 0 else t for t, s in zip(self.tight, vals)]
            return [self]
        edges = self.edges(table)
        cneg = len(table)
        table.append(Constraint(tuple(a), b, label_neg))
        cpos = len(table)
        table.append(Constraint(tuple(-x for x in a), -b, label_pos))
        nv, nt, pv, pt = [], [], [], []
        for v, t, s in zip(self.verts, self.tight, vals):
            if s < 0:
                nv.append(v)
                nt.append(t)
            elif s > 0:
                pv.append(v)
                pt.append(t)
            else:
                nv.append(v)
                nt.append(t | {cneg})
                pv.append(v)
                pt.append(t | {cpos})
        for i, j in edges:
            si, sj = vals[i], vals[j]
            if (si < 0 < sj) or (sj < 0 < si):
                lam = si / (si - sj)
                u, w = self.verts[i], self.verts[j]
                x = tuple(p + lam * (q - p) for p, q in zip(u, w))
                common = self.tight[i] & self.tight[j]
                nv.append(x)
                nt.append(common | {cneg})
                pv.append(x)
                pt.append(common | {cpos})
        return [self._child(nv, nt, cneg), self._child(pv, pt, cpos)]

    def _child(self, verts: list[tuple[mpq, ...]], tight: list[frozenset[int]], cid: int) -> "Cell":
        used: set[int] = set()
        for t in tight:
            used |= t
        cons = [c for c in self.cons if c in used] + [cid]
        return Cell(verts, tight, cons, self.pattern, self.maps)
