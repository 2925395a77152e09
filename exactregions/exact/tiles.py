"""Tiles of K: a complex computed tile by tile (on a cluster) and glued back exactly.

:func:`box_tiles` cuts a box K into a grid of boxes.  Each tile's arrangement is computed on
its own (by any engine, on any worker); :func:`glue_arrangements` then joins them into the
arrangement of K: a region cut by tile faces has one piece in each tile it meets, all with its
pattern (an activation region is convex, so its pieces are exactly the regions of that pattern
in those tiles).  The pieces of one pattern are merged into one cell: their vertices and tight
sets united (the constraints of one pattern are the same rows in every tile), the tile faces
dropped, and the points that were vertices only because a tile face cut there removed (exact
rank test).  The glued arrangement is certified as a whole by
:func:`~exactregions.exact.complex.build_complex`: volumes add up to vol(K), face to face, and
so on — a wrong glue cannot pass.

>>> import exactregions as er
>>> net = er.random_network([2, 6, 1], seed=0, bias_std=0.3)
>>> K = er.box([(-1, 1), (-1, 1)])
>>> parts = [er.enumerate_cells(net, T) for T in box_tiles(K, 2)]
>>> glued = glue_arrangements(net, K, parts)
>>> len(glued.cells) == len(er.enumerate_cells(net, K).cells)
True
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Sequence

from gmpy2 import mpq

from exactregions.errors import InvalidOptionError
from exactregions.exact.domain import Domain, box, restrict_network
from exactregions.exact.enumerate import CellArrangement, canonical_order
from exactregions.exact.network import Network
from exactregions.exact.polytope import Cell, Constraint, hyperplane_key, rank

__all__ = ["box_tiles", "box_halves", "box_sides", "glue_arrangements", "off_centre"]


def off_centre(axis: int) -> Fraction:
    """Where :func:`box_halves` cuts the sides along ``axis``: off their midpoints, at
    (p + 1)/2p for the axis-th prime p from 61 on, a different prime on every axis.  Quantized
    and zero-bias nets put their vertices at dyadic and small-denominator points (the origin of
    [-1, 1]^n is a corner of every tile of a midpoint halving), and the lines where their
    hyperplanes cross meet a tile's edges wherever two axes are cut at one value (the line
    t (3, 1, 1) of x - 4y + z = 0 and 2x - 5y - z = 0 meets the edge y = z = c).  With a
    different large prime in the denominators of every axis's cuts, the tiles' faces keep clear
    of such points.

    >>> [off_centre(i) for i in range(3)]
    [Fraction(31, 61), Fraction(34, 67), Fraction(36, 71)]
    """
    p, found = 60, -1
    while found < axis:
        p += 1
        if all(p % d for d in range(2, int(p ** 0.5) + 1)):
            found += 1
    return Fraction((p + 1) // 2, p)


def box_sides(domain: Domain) -> list[tuple[Fraction, Fraction]] | None:
    """The sides (lo, hi) of an axis-aligned box domain, or ``None`` for any other domain.

    >>> from exactregions.exact.domain import box
    >>> box_sides(box([(0, 1), (-2, 3)]))
    [(Fraction(0, 1), Fraction(1, 1)), (Fraction(-2, 1), Fraction(3, 1))]
    """
    if domain.embedding is not None:
        return None
    n = domain.dim
    lo: list[Fraction | None] = [None] * n
    hi: list[Fraction | None] = [None] * n
    for a, b in zip(domain.A, domain.b):
        nz = [i for i, x in enumerate(a) if x != 0]
        if len(nz) != 1:
            return None
        i = nz[0]
        if a[i] > 0:
            hi[i] = Fraction(b) / Fraction(a[i])
        else:
            lo[i] = Fraction(b) / Fraction(a[i])
    if any(x is None for x in lo + hi) or len(domain.A) != 2 * n:
        return None
    return [(l, h) for l, h in zip(lo, hi)]  # type: ignore[misc]


def box_tiles(domain: Domain, splits: int | Sequence[int]) -> list[Domain]:
    """A box K cut into ``splits`` equal parts along every axis (or ``splits[i]`` along axis i).

    >>> from exactregions.exact.domain import box
    >>> [T.description for T in box_tiles(box([(0, 1)]), 2)]
    ['box [0,1/2]', 'box [1/2,1]']
    """
    sides = box_sides(domain)
    if sides is None:
        raise InvalidOptionError("tiles need a box domain (an axis-aligned box, not a slice or "
                                 "a polytope)")
    n = len(sides)
    per = [splits] * n if isinstance(splits, int) else list(splits)
    if len(per) != n or any(int(s) < 1 for s in per):
        raise InvalidOptionError(f"tiles {splits!r}: one positive count, or one per axis ({n})")
    return _grid([[lo + (hi - lo) * Fraction(k, s) for k in range(s + 1)]
                  for (lo, hi), s in zip(sides, per)])


def _grid(cuts: list[list[Fraction]]) -> list[Domain]:
    """The boxes between consecutive cuts on every axis (``cuts[i]`` sorted, ends included)."""
    tiles: list[list[tuple[Fraction, Fraction]]] = [[]]
    for axis in cuts:
        tiles = [t + [(axis[k], axis[k + 1])] for t in tiles for k in range(len(axis) - 1)]
    return [box(t) for t in tiles]


def box_halves(domain: Domain, at: Sequence[Fraction] | None = None) -> list[Domain]:
    """A box K cut in two along every axis i at the fraction ``at[i]`` of its side (default
    :func:`off_centre`): 2^n boxes (what the propose engine's local repair proposes apart).

    >>> from exactregions.exact.domain import box
    >>> [T.description for T in box_halves(box([(0, 1)]), [Fraction(1, 3)])]
    ['box [0,1/3]', 'box [1/3,1]']
    """
    sides = box_sides(domain)
    if sides is None:
        raise InvalidOptionError("halves need a box domain")
    cuts = [off_centre(i) for i in range(len(sides))] if at is None else list(at)
    if len(cuts) != len(sides) or not all(0 < c < 1 for c in cuts):
        raise InvalidOptionError(f"cuts {cuts}: one a side, each strictly inside (0, 1)")
    return _grid([[lo, lo + (hi - lo) * c, hi] for (lo, hi), c in zip(sides, cuts)])


def glue_arrangements(net: Network, domain: Domain, parts: Sequence[CellArrangement]
                      ) -> CellArrangement:
    """Join the arrangements of the tiles of ``domain`` into one (see the module docstring)."""
    reduced = restrict_network(net, domain)
    n = domain.dim
    table: list[Constraint] = []
    kkeys: dict[tuple, int] = {}
    for f, (a, b) in enumerate(zip(domain.A, domain.b)):
        con = Constraint(tuple(mpq(x) for x in a), mpq(b), ("domain", f))
        table.append(con)
        kkeys[hyperplane_key(con.a, con.b) + (_side(con.a),)] = f
    ids: dict[tuple, int] = {}
    CUT = -1

    def global_id(con: Constraint) -> int:
        if con.label[0] == "domain":
            return kkeys.get(hyperplane_key(con.a, con.b) + (_side(con.a),), CUT)
        key = (con.label, con.a, con.b)
        g = ids.get(key)
        if g is None:
            g = ids[key] = len(table)
            table.append(con)
        return g

    groups: dict[tuple, list[tuple[Cell, list[int]]]] = defaultdict(list)
    for arr in parts:
        gid = [global_id(c) for c in arr.table]
        for cell in arr.cells:
            groups[cell.pattern].append((cell, gid))
    cells = []
    for pattern, pieces in groups.items():
        tight: dict[tuple, set[int]] = {}
        for cell, gid in pieces:
            for v, t in zip(cell.verts, cell.tight):
                tight.setdefault(v, set()).update(gid[c] for c in t)
        verts, vtight = [], []
        for v, t in tight.items():
            if CUT in t:
                t.discard(CUT)
                if not _is_vertex(t, table, n):
                    continue      # a point where a tile face cut the region: no vertex of it
            verts.append(v)
            vtight.append(frozenset(t))
        cons = sorted(set().union(*vtight))
        first = pieces[0][0]
        cells.append(Cell(verts, vtight, cons, pattern, first.maps))
    canonical_order(cells, table)
    return CellArrangement(net, reduced, domain, cells, table)


def _is_vertex(tight: set[int], table: Sequence[Constraint], n: int) -> bool:
    """A point of a glued cell is one of its vertices iff the cell's constraints tight there
    (the tile faces left out) have rank n (exact)."""
    return len(tight) >= n and rank(table[c].a for c in tight) == n


def _side(a: Sequence[mpq]) -> int:
    """Which way an inequality a·x <= b faces (hyperplane_key forgets it): the sign of its first
    non-zero coefficient."""
    return next(1 if x > 0 else -1 for x in a if x != 0)
