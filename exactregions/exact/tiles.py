"""Tiles of K: a complex computed tile by tile (on a cluster) and glued back exactly.

:func:`box_tiles` cuts K by a grid of boxes over its bounding box (a box into boxes, a slice in
its slice coordinates, an H-polytope into its full-dimensional parts in the boxes, each with all
of K's rows).  Each tile's arrangement is computed on its own (by any engine, on any worker);
:func:`glue_arrangements` then joins them into the arrangement of K: a region cut by tile faces
has one piece in each tile it meets, all with its pattern (an activation region is convex, so
its pieces are exactly the regions of that pattern in those tiles).  The pieces of one pattern
are merged into one cell: their vertices and tight sets united (the constraints of one pattern
are the same rows in every tile; a tile's copy of a row of K stands for every row of K on that
hyperplane and side), the tile faces dropped, and the points that were vertices only because a
tile face cut there removed (exact rank test).  The glued arrangement is certified as a whole by
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
from exactregions.exact import _cdd
from exactregions.exact.domain import Domain, box, restrict_network
from exactregions.exact.enumerate import CellArrangement, canonical_order
from exactregions.exact.network import Network
from exactregions.exact.polytope import Cell, Constraint, hyperplane_key, rank

__all__ = ["box_tiles", "box_halves", "box_sides", "bounding_box", "cut_faces",
           "glue_arrangements", "grid_cut", "off_centre"]


def off_centre(axis: int) -> Fraction:
    """Where :func:`box_halves` cuts the sides along ``axis``: off their midpoints, at
    (p + 1)/2p for the axis-th prime p from 61 on, a different prime on every axis.  Quantized
    and zero-bias nets put their vertices at dyadic and small-denominator points (the origin of
    [-1, 1]^n is a corner of every tile of a midpoint halving), and the lines where their
    hyperplanes cross meet a tile's edges wherever two axes are cut at one value (the line
    t (3, 1, 1) of x - 4y + z = 0 and 2x - 5y - z = 0 meets the edge y = z = c).  With a
    different large prime in the denominators of every axis's cuts, the tiles' faces keep clear
    of such points (and of the corners of H-polytopes with small-integer rows, where a tile
    would be a non-simple polytope).

    >>> [off_centre(i) for i in range(3)]
    [Fraction(31, 61), Fraction(34, 67), Fraction(36, 71)]
    """
    return grid_cut(axis, 1, 2)


def grid_cut(axis: int, k: int, parts: int) -> Fraction:
    """Where :func:`box_tiles` makes the k-th of its ``parts - 1`` cuts along ``axis``, as a
    fraction of the side: (k p + 1)/(parts p) for the axis-th prime p from 61 on, just past
    k/parts (see :func:`off_centre`, the case ``parts = 2``).

    >>> [grid_cut(0, k, 3) for k in (1, 2)]                  # just past 1/3 and 2/3
    [Fraction(62, 183), Fraction(41, 61)]
    """
    p, found = 60, -1
    while found < axis:
        p += 1
        if all(p % d for d in range(2, int(p ** 0.5) + 1)):
            found += 1
    return Fraction(k * p + 1, parts * p)


def box_sides(domain: Domain) -> list[tuple[Fraction, Fraction]] | None:
    """The sides (lo, hi) of an axis-aligned box domain (in slice coordinates for a slice), or
    ``None`` for any other domain.

    >>> from exactregions.exact.domain import box
    >>> box_sides(box([(0, 1), (-2, 3)]))
    [(Fraction(0, 1), Fraction(1, 1)), (Fraction(-2, 1), Fraction(3, 1))]
    """
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


def bounding_box(domain: Domain) -> list[tuple[Fraction, Fraction]]:
    """The smallest box around K (exact, from its vertices).

    >>> from exactregions.exact.domain import hpolytope
    >>> bounding_box(hpolytope([[-1, 0], [0, -1], [2, 1]], [0, 0, 1]))
    [(Fraction(0, 1), Fraction(1, 2)), (Fraction(0, 1), Fraction(1, 1))]
    """
    return [(min(v[i] for v in domain.vertices), max(v[i] for v in domain.vertices))
            for i in range(domain.dim)]


def box_tiles(domain: Domain, splits: int | Sequence[int]) -> list[Domain]:
    """K cut by a grid of ``splits`` near-equal parts along every axis of its bounding box (or
    ``splits[i]`` along axis i): the full-dimensional parts of K in the grid's boxes, each with
    K's embedding (a slice is cut in its slice coordinates).  The cuts lie just past the
    equal parts, at :func:`grid_cut`: off the origin and the small-denominator points where a
    zero-bias or quantized net's hyperplanes cross, and off the corners of K, so a tile is
    rarely degenerate where K is not.

    >>> from exactregions.exact.domain import box, hpolytope
    >>> [T.description for T in box_tiles(box([(0, 1)]), 2)]
    ['box [0,31/61]', 'box [31/61,1]']
    >>> len(box_tiles(hpolytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1]), 2))   # one box misses
    3
    """
    n = domain.dim
    per = [splits] * n if isinstance(splits, int) else list(splits)
    if len(per) != n or any(int(s) < 1 for s in per):
        raise InvalidOptionError(f"tiles {splits!r}: one positive count, or one per axis ({n})")
    return _grid(domain, [[lo] + [lo + (hi - lo) * grid_cut(i, k, s) for k in range(1, s)]
                          + [hi] for i, ((lo, hi), s) in enumerate(zip(bounding_box(domain),
                                                                      per))])


def box_halves(domain: Domain, at: Sequence[Fraction] | None = None) -> list[Domain]:
    """K cut in two along every axis i at the fraction ``at[i]`` of its bounding box's side
    (default :func:`off_centre`): up to 2^n parts (what the propose engine's local repair
    proposes apart).

    >>> from exactregions.exact.domain import box
    >>> [T.description for T in box_halves(box([(0, 1)]), [Fraction(1, 3)])]
    ['box [0,1/3]', 'box [1/3,1]']
    """
    sides = bounding_box(domain)
    cuts = [off_centre(i) for i in range(len(sides))] if at is None else list(at)
    if len(cuts) != len(sides) or not all(0 < c < 1 for c in cuts):
        raise InvalidOptionError(f"cuts {cuts}: one a side, each strictly inside (0, 1)")
    return _grid(domain, [[lo, lo + (hi - lo) * c, hi] for (lo, hi), c in zip(sides, cuts)])


def _grid(domain: Domain, cuts: list[list[Fraction]]) -> list[Domain]:
    """The full-dimensional parts of K between consecutive cuts on every axis (``cuts[i]``
    sorted, from K's least to its greatest coordinate)."""
    cells: list[list[tuple[Fraction, Fraction]]] = [[]]
    for axis in cuts:
        cells = [t + [(axis[k], axis[k + 1])] for t in cells for k in range(len(axis) - 1)]
    tiles = (_clip(domain, cell) for cell in cells)
    return [T for T in tiles if T is not None]


def _clip(domain: Domain, cell: list[tuple[Fraction, Fraction]]) -> Domain | None:
    """K ∩ the box ``cell`` (a cell of a grid over K's bounding box) with K's embedding, or
    ``None`` when that is not full-dimensional.  Every row of K is kept, redundant or not (a
    tile's vertices are then tight on K's rows exactly as they are in K), then the cell's sides
    inside K's extent that bound the tile (cddlib's redundancy removal: a side that only
    touches it at a corner is dropped)."""
    inner = box(cell)
    is_box = box_sides(domain) is not None
    if is_box:
        A, b, verts = inner.A, inner.b, inner.vertices
    else:
        m = len(domain.A)
        ends = bounding_box(domain)
        rows = list(zip(domain.A, domain.b))
        for i, ((lo, hi), (first, last)) in enumerate(zip(cell, ends)):
            e = tuple(Fraction(int(j == i)) for j in range(domain.dim))
            if hi < last:
                rows.append((e, hi))
            if lo > first:
                rows.append((tuple(-x for x in e), -lo))
        A, b = tuple(a for a, _ in rows), tuple(bb for _, bb in rows)
        if _cdd.interior_point_lp(A, b)[0] <= 0:
            return None
        keep = set(_cdd.canonical_rows(A, b)[0]) | set(range(m))
        A, b = tuple(A[i] for i in sorted(keep)), tuple(b[i] for i in sorted(keep))
        verts = tuple(_cdd.vertices_of(A, b)[0])
    if is_box and domain.embedding is None:
        return inner
    whole = domain.description.split(", tile ")[0]       # a tile's tile: named from K
    return Domain(A, b, verts, domain.embedding, f"{whole}, tile {inner.description[4:]}")


def cut_faces(tile: Domain, parent: Domain) -> list[int]:
    """The rows of a tile that are none of the rows of the domain it was cut from: the faces
    its cuts made.

    >>> from exactregions.exact.domain import box
    >>> K = box([(0, 1), (0, 1)])
    >>> cut_faces(box_halves(K, [Fraction(1, 2)] * 2)[0], K)   # x <= 1/2 and y <= 1/2
    [0, 2]
    """
    keys = {_oriented_key(a, b) for a, b in zip(parent.A, parent.b)}
    return [f for f, (a, b) in enumerate(zip(tile.A, tile.b)) if _oriented_key(a, b) not in keys]


def _oriented_key(a: Sequence, b) -> tuple:
    a = tuple(mpq(x) for x in a)
    return hyperplane_key(a, mpq(b)) + (_side(a),)


def glue_arrangements(net: Network, domain: Domain, parts: Sequence[CellArrangement]
                      ) -> CellArrangement:
    """Join the arrangements of the tiles of ``domain`` into one (see the module docstring)."""
    reduced = restrict_network(net, domain)
    n = domain.dim
    table: list[Constraint] = []
    kkeys: dict[tuple, tuple[int, ...]] = defaultdict(tuple)
    for f, (a, b) in enumerate(zip(domain.A, domain.b)):
        con = Constraint(tuple(mpq(x) for x in a), mpq(b), ("domain", f))
        table.append(con)
        kkeys[_oriented_key(con.a, con.b)] += (f,)
    ids: dict[tuple, int] = {}
    CUT = -1

    def global_ids(con: Constraint) -> tuple[int, ...]:
        """The rows of the glued table that a tile's constraint is: every row of K on its
        hyperplane and side (K may repeat a row), or the tile's cut."""
        if con.label[0] == "domain":
            return kkeys.get(_oriented_key(con.a, con.b), (CUT,))
        key = (con.label, con.a, con.b)
        g = ids.get(key)
        if g is None:
            g = ids[key] = len(table)
            table.append(con)
        return (g,)

    groups: dict[tuple, list[tuple[Cell, list[int]]]] = defaultdict(list)
    for arr in parts:
        gid = [global_ids(c) for c in arr.table]
        for cell in arr.cells:
            groups[cell.pattern].append((cell, gid))
    cells = []
    for pattern, pieces in groups.items():
        tight: dict[tuple, set[int]] = {}
        for cell, gid in pieces:
            for v, t in zip(cell.verts, cell.tight):
                tight.setdefault(v, set()).update(g for c in t for g in gid[c])
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
