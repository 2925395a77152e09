"""The *decide* half of the ``propose`` engine: a float proposal made exact, or rejected.

A proposal (from :mod:`exactregions.floating.skeleton`, or any other source) names, for every
region, its pattern and its vertices, and for every vertex the n constraints it lies on.  Here
nothing of it is trusted:

* every vertex is the exact solution of its n constraint equations, written with the exact
  affine maps of a region that contains it (the equations of a bent hyperplane agree on both
  sides of the bend, so any such region gives the same point) — solved in integers by
  Cramer's rule and kept homogeneous, x = X / d;
* every vertex of every region is placed exactly (a rigorous float bound decides the clear
  cases, integer dot products with the maps' integer rows the rest) against every neuron's
  hyperplanes in the region's maps and against K: inside the closed pieces of the region's
  pattern, and exactly on the constraints it is tight at;
* the proposed patterns are distinct.

Any failure raises :class:`ProposalRejected`; the caller then runs the exact splitting engine.
What comes out is the same :class:`~exactregions.exact.enumerate.CellArrangement` the splitting
engine builds, and :func:`~exactregions.exact.complex.build_complex` certifies it as it does
every arrangement: the volumes add up to vol(K) exactly, the patterns are distinct, every
witness (a small dyadic point near the centroid, or the centroid) is strictly inside and an exact forward pass there gives the region's
pattern, every vertex on the right side of every neuron — which proves the proposal is the
partition into activation regions, none missing, none split.  (A proposed pattern that is not
the region's own fails that witness certificate; it is not re-derived here a second time.)

>>> from exactregions.exact.domain import box
>>> from exactregions.exact.netfile import network_from_dict
>>> net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
...   "layers": [{"weight": [[1]], "bias": [0], "activation": "relu"}]})
>>> K = box([(-1, 1)])              # facet 0: x <= 1, facet 1: -x <= 1
>>> cols = [("domain", 0), ("domain", 1), ("neuron", 0, 0, 0)]
>>> arr = arrangement_from_proposal(net, K, vertices=[[-1.0], [1.0], [0.0]],
...     zeros=[[1], [0], [2]], region_ptr=[0, 2, 4], region_vertices=[0, 2, 2, 1],
...     patterns=[[0], [1]], columns=cols)
>>> [(c.pattern, sorted(v[0] for v in c.verts)) for c in arr.cells]
[(((0,),), [mpq(-1,1), mpq(0,1)]), (((1,),), [mpq(0,1), mpq(1,1)])]

The float coordinates are a guide only: a vertex is where its constraints put it.  Swap the
facets of the two end points and the proposal is rejected, whatever the floats say:

>>> arrangement_from_proposal(net, K, vertices=[[-1.0], [1.0], [0.0]], zeros=[[0], [1], [2]],
...     region_ptr=[0, 2, 4], region_vertices=[0, 2, 2, 1], patterns=[[0], [1]], columns=cols)
Traceback (most recent call last):
...
exactregions.exact.decide.ProposalRejected: a proposed vertex is on the wrong side of neuron 0 of layer 0
"""

from __future__ import annotations

from math import lcm
from operator import mul
from typing import Any, Iterator, Sequence

import numpy as np
from gmpy2 import mpq

from exactregions.exact._runtime import paused_gc
from exactregions.exact.affinemaps import AffineMap, PatternMaps
from exactregions.exact.domain import Domain, restrict_network
from exactregions.exact.enumerate import CellArrangement, _require_exact, canonical_order
from exactregions.exact.floatfilter import (AFFINE_CHUNK, affine_values, affine_values_each,
                                            error_bound, safe_float_matrix, safe_float_quotients,
                                            safe_float_rows, safe_floats)
from exactregions.exact.network import Network
from exactregions.exact.polytope import Cell, Constraint
from exactregions.exact.rational import integer_det

__all__ = ["ProposalRejected", "arrangement_from_proposal"]

Pattern = tuple[tuple[int, ...], ...]


class ProposalRejected(Exception):
    """A proposal failed an exact test (internal: the engine falls back to exact splitting)."""


def _solve(M: list[list[int]], rhs: list[int]) -> tuple[int, ...]:
    """The unique solution of M x = rhs (n × n integers) by Cramer's rule, in homogeneous
    integers ``(X_1, …, X_n, d)``, x = X / d with d > 0; ProposalRejected if M is singular.

    >>> _solve([[2, 0], [1, 3]], [1, 1])          # x = (1/2, 1/6)
    (3, 1, 6)
    """
    det = integer_det(M)
    if det == 0:
        raise ProposalRejected("a proposed vertex's constraints are not independent")
    sign = 1 if det > 0 else -1
    return tuple(sign * integer_det([row[:k] + [r] + row[k + 1:] for row, r in zip(M, rhs)])
                 for k in range(len(M))) + (sign * det,)


@paused_gc()
def arrangement_from_proposal(net: Network, domain: Domain, vertices: Any, zeros: Any,
                              region_ptr: Any, region_vertices: Any, patterns: Any,
                              columns: Sequence[tuple]) -> CellArrangement:
    """Decide a proposed complex exactly (see the module docstring).

    Parameters
    ----------
    net, domain
        The exact net and K (a slice domain restricts the net exactly, as for enumeration).
    vertices : (m, n) array-like
        Proposed vertex coordinates (floats: a guide only, never used in a decision).
    zeros : (m, n) array-like of int
        For every vertex, the ``columns`` of the n constraints it lies on.
    region_ptr, region_vertices
        Region r has the vertices ``region_vertices[region_ptr[r]:region_ptr[r+1]]``.
    patterns : (R, #neurons) array-like of int
        Proposed pieces of all neurons, layer after layer, one row a region.
    columns
        ``("domain", f)`` or ``("neuron", l, i, j)`` for every constraint column.

    Raises
    ------
    ProposalRejected
        When any exact test fails.
    """
    _require_exact(net, domain)
    reduced = restrict_network(net, domain)
    n = domain.dim
    layers = reduced.layers
    widths = [layer.out_dim for layer in layers]
    bps = [[mpq(x) for x in layer.breakpoints] for layer in layers]
    bpf = [safe_floats(b) for b in bps]
    KA = [tuple(mpq(x) for x in a) for a in domain.A]
    Kb = [mpq(x) for x in domain.b]
    KI = [[int(x * d) for x in (*a, b)] for a, b in zip(KA, Kb)    # K's rows (a, b) in integers
          for d in [lcm(*(int(x.denominator) for x in (*a, b)))]]
    bpi = [[(int(x.numerator), int(x.denominator)) for x in b] for b in bps]
    zeros = np.asarray(zeros, dtype=np.int64)
    ptr = np.asarray(region_ptr, dtype=np.int64)
    rverts = np.asarray(region_vertices, dtype=np.int64)
    pats = np.asarray(patterns, dtype=np.int64)
    cols = [tuple(c) for c in columns]
    _check_shapes(zeros, ptr, rverts, pats, cols, widths, [len(b) for b in bps], n, len(KA))
    maps = PatternMaps(reduced)
    R = len(ptr) - 1
    # ----- every region's exact maps, every vertex's exact solution ------------------------
    exact: list[tuple[mpq, ...] | None] = [None] * len(zeros)
    hom: list[tuple[int, ...]] = [()] * len(zeros)        # the same in homogeneous integers
    # the equations each vertex was solved from: ("K", f) or (id of the layer's map, i, j) —
    # zero by construction wherever a region uses that very map (a shared prefix), so those
    # entries need no exact re-evaluation
    known: list[frozenset] = [frozenset()] * len(zeros)
    region_maps: list[list[AffineMap]] = []
    region_patterns: list[Pattern] = []
    seen: set[Pattern] = set()
    layer_pieces: dict[tuple[int, ...], tuple[int, ...]] = {}   # one tuple for equal pieces
    bounds = np.concatenate([[0], np.cumsum(widths)]).tolist()
    for r in range(R):
        row = pats[r].tolist()
        P: Pattern = tuple(layer_pieces.setdefault(t, t) for t in
                           (tuple(row[a:b]) for a, b in zip(bounds[:-1], bounds[1:])))
        if P in seen:
            raise ProposalRejected("two proposed regions have one pattern")
        seen.add(P)
        Zs = maps.of(P)
        region_maps.append(Zs)
        region_patterns.append(P)
        for v in rverts[ptr[r]:ptr[r + 1]].tolist():
            if exact[v] is None:
                M, rhs, used = [], [], []
                for c in zeros[v].tolist():   # each equation in integers
                    lab = cols[c]
                    if lab[0] == "domain":
                        M.append(KI[lab[1]][:-1])
                        rhs.append(KI[lab[1]][-1])
                        used.append(("K", lab[1]))
                    else:
                        _, l, i, j = lab
                        D, e = Zs[l].D, Zs[l].ints[i]
                        p, q = bpi[l][j]      # (e[:-1]·x + e[-1]) / D = p / q
                        M.append(list(e[:-1]) if q == 1 else [q * x for x in e[:-1]])
                        rhs.append(p * D - q * e[-1])
                        used.append((id(Zs[l]), i, j))
                h = hom[v] = _solve(M, rhs)
                exact[v] = tuple(mpq(x, h[-1]) for x in h[:-1])
                known[v] = frozenset(used)
    # ----- the clear signs, all regions at once (floats with a proven bound) ---------------
    kunclear, layer_unclear = _unclear_signs(
        exact, ptr, rverts, n, KA, Kb, bps, bpf, region_maps, region_patterns, widths)
    # ----- the exact decisions, region by region, in integers: the sign of a·v + c - ξ is
    # that of q·(A·X + C·d) - p·D·d for the row (A, C) / D, v = X / d and ξ = p / q -----------
    KH = [tuple(r[:-1]) + (-r[-1],) for r in KI]       # a·v - b <= 0 as (a | -b)·(X, d)
    table: list[Constraint] = [Constraint(a, b, ("domain", i)) for i, (a, b) in
                               enumerate(zip(KA, Kb))]
    cells: list[Cell] = []
    shared: dict[tuple, int] = {}
    kcuts = np.searchsorted(kunclear[:, 0], np.arange(R + 1))
    cuts = [np.searchsorted(u[:, 0], np.arange(R + 1)) for u in layer_unclear]
    for r in range(R):
        lo, hi = int(ptr[r]), int(ptr[r + 1])
        vids = rverts[lo:hi].tolist()
        verts = [exact[v] for v in vids]
        if len(set(verts)) != len(verts):
            raise ProposalRejected("a proposed region repeats a vertex")
        vknown = [known[v] for v in vids]
        vhom = [hom[v] for v in vids]
        tight: list[set[int]] = [set() for _ in vids]
        cons: list[int] = []
        for (f,), rows in _grouped(kunclear[kcuts[r]:kcuts[r + 1], 1:].tolist(), lo):
            kh = KH[f]             # K's facets: a·v <= b
            on = False
            for vi in rows:
                s = 0 if ("K", f) in vknown[vi] else sum(map(mul, kh, vhom[vi]))
                if s > 0:
                    raise ProposalRejected("a proposed vertex lies outside K")
                if s == 0:
                    tight[vi].add(f)
                    on = True
            if on:
                cons.append(f)
        P = region_patterns[r]
        Zs = region_maps[r]
        for l, Z in enumerate(Zs):
            unclear = layer_unclear[l]
            if not len(unclear):
                continue
            for (i, j), rows in _grouped(unclear[cuts[l][r]:cuts[l][r + 1], 1:].tolist(), lo):
                e, D = Z.ints[i], Z.D
                p, q = bpi[l][j]
                up = j < P[l][i]
                zero_at = []
                mine = (id(Z), i, j)
                for vi in rows:
                    if mine in vknown[vi]:
                        zero_at.append(vi)
                        continue
                    h = vhom[vi]
                    s = sum(map(mul, e, h))
                    if p:
                        s = q * s - p * D * h[-1]
                    if s == 0:
                        zero_at.append(vi)
                    elif (s > 0) != up:
                        raise ProposalRejected(f"a proposed vertex is on the wrong side of "
                                               f"neuron {i} of layer {l}")
                if zero_at:
                    # one constraint per (map, neuron, breakpoint, side): the regions of one
                    # prefix on one side of a hyperplane share it, as split cells share theirs
                    sd = 1 if up else -1
                    cid = shared.get((mine, sd))
                    if cid is None:
                        cid = shared[(mine, sd)] = len(table)
                        z, xi = Z[i], bps[l][j]
                        if sd < 0:
                            table.append(Constraint(tuple(z[:-1]), xi - z[-1],
                                                    ("neuron", l, i, j, -1)))
                        else:
                            table.append(Constraint(tuple(-x for x in z[:-1]), z[-1] - xi,
                                                    ("neuron", l, i, j, 1)))
                    cons.append(cid)
                    for vi in zero_at:
                        tight[vi].add(cid)
        if any(len(t) < n for t in tight):
            raise ProposalRejected("a proposed vertex is tight at fewer than n constraints")
        cell = Cell(list(verts), [frozenset(t) for t in tight], cons)
        cell.maps = Zs
        cell.pattern = P
        cells.append(cell)
    canonical_order(cells, table)
    return CellArrangement(net, reduced, domain, cells, table)


def _grouped(entries: list[list[int]], lo: int) -> Iterator[tuple[tuple[int, ...], list[int]]]:
    """Sorted entries ``[key…, row]`` as (key, the rows minus lo) for every key in turn.

    >>> list(_grouped([[0, 1, 5], [0, 1, 7], [2, 0, 6]], 5))
    [((0, 1), [0, 2]), ((2, 0), [1])]
    """
    key: tuple[int, ...] | None = None
    rows: list[int] = []
    for *k, row in entries:
        t = tuple(k)
        if t != key:
            if key is not None:
                yield key, rows
            key, rows = t, []
        rows.append(row - lo)
    if key is not None:
        yield key, rows


def _unclear_signs(exact: list, ptr: np.ndarray, rverts: np.ndarray, n: int,
                   KA: list[tuple[mpq, ...]], Kb: list[mpq], bps: list[list[mpq]],
                   bpf: list[np.ndarray | None], region_maps: list,
                   region_patterns: list[Pattern], widths: list[int]
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The signs floats do not settle, for every vertex of every region at once (one batched
    kernel a layer, each vertex against its own region's map, with floatfilter's proven bound).

    A row is one (region, vertex) entry of ``rverts``.  Returns the (region, K's facet, row)
    entries not clearly inside K, and per layer the (region, neuron, breakpoint, row) entries
    not clearly on the pattern's side of a live neuron (none for a layer without breakpoints),
    each sorted, so that an entry's group of rows is contiguous."""
    R = len(ptr) - 1
    row_region = np.repeat(np.arange(R), np.diff(ptr))
    used_v = np.unique(rverts)
    VF = np.zeros((len(exact), n))
    vsafe = np.zeros(len(exact), bool)
    VF[used_v], vsafe[used_v] = safe_float_rows([exact[v] for v in used_v.tolist()], n)
    rows_safe = vsafe[rverts]
    KF = safe_float_matrix([list(a) + [-b] for a, b in zip(KA, Kb)])
    if KF is not None and len(rverts):
        kv, km = affine_values(KF, VF[rverts])                         # (rows, #facets)
        kclear = (kv < -error_bound(km, n)) & rows_safe[:, None]
    else:
        kclear = np.zeros((len(rverts), len(KA)), bool)
    kunclear = _sorted_entries(row_region, np.argwhere(~kclear))
    layer_unclear: list[np.ndarray] = []
    for l, xs in enumerate(bps):
        if not xs or R == 0:
            layer_unclear.append(np.zeros((0, 4), np.int64))
            continue
        T = len(xs)
        index: dict[int, int] = {}
        distinct = []
        cmap = np.empty(R, np.int64)
        for r, Zs in enumerate(region_maps):
            k = index.get(id(Zs[l]))
            if k is None:
                k = index[id(Zs[l])] = len(distinct)
                distinct.append(Zs[l])
            cmap[r] = k
        live = np.array([[any(z[:-1]) for z in Z.ints] for Z in distinct], bool).reshape(
            len(distinct), widths[l])
        pieces = np.array([P[l] for P in region_patterns], np.int64).reshape(R, widths[l])
        clear = np.zeros((len(rverts), widths[l], T), bool)
        if bpf[l] is not None and len(rverts):
            stack, msafe = safe_float_quotients([[x for z in Z.ints for x in z]
                                                 for Z in distinct],
                                                [Z.D for Z in distinct], widths[l] * (n + 1))
            stack = stack.reshape(len(distinct), widths[l], n + 1)
            which = cmap[row_region]
            step = max(1, AFFINE_CHUNK // max(1, widths[l] * T))
            for lo in range(0, len(rverts), step):   # chunks bound the float temporaries
                hi = min(len(rverts), lo + step)
                vals, mags = affine_values_each(stack, which[lo:hi], VF[rverts[lo:hi]])
                d = vals[:, :, None] - bpf[l][None, None, :]
                bound = error_bound(mags[:, :, None], n, np.abs(bpf[l])[None, None, :])
                # side +1 where the region has z_i >= ξ_j, -1 where z_i <= ξ_j
                up = np.arange(T)[None, None, :] < pieces[row_region[lo:hi]][:, :, None]
                clear[lo:hi] = (np.where(up, d > bound, d < -bound)
                                & (rows_safe[lo:hi] & msafe[which[lo:hi]])[:, None, None])
        # a vertex not clearly placed, on a live neuron
        clear |= ~live[cmap[row_region]][:, :, None]
        layer_unclear.append(_sorted_entries(row_region, np.argwhere(~clear)))
    return kunclear, layer_unclear


def _sorted_entries(row_region: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Entries ``(row, key…)`` as ``(region, key…, row)``, sorted: by region, then key, then
    row."""
    out = np.concatenate([row_region[at[:, 0]][:, None], at[:, 1:], at[:, :1]], axis=1)
    return out[np.lexsort(out.T[::-1])] if len(out) else out.reshape(0, at.shape[1] + 1)


def _check_shapes(zeros: np.ndarray, ptr: np.ndarray, rverts: np.ndarray, pats: np.ndarray,
                  cols: list[tuple], widths: list[int], T: list[int], n: int, F: int) -> None:
    """A malformed proposal (from any source) is rejected, never an IndexError."""
    ok = (zeros.ndim == 2 and zeros.shape[1] == n and ptr.ndim == 1 and len(ptr) >= 1
          and ptr[0] == 0 and (np.diff(ptr) >= 0).all() and ptr[-1] == len(rverts)
          and pats.shape == (len(ptr) - 1, sum(widths))
          and (len(zeros) == 0 or (zeros.min() >= 0 and zeros.max() < len(cols)))
          and (len(rverts) == 0 or (rverts.min() >= 0 and rverts.max() < len(zeros))))
    if ok:
        for c in cols:
            if c[0] == "domain":
                ok = ok and len(c) == 2 and 0 <= c[1] < F
            else:
                ok = (ok and len(c) == 4 and c[0] == "neuron" and 0 <= c[1] < len(widths)
                      and 0 <= c[2] < widths[c[1]] and 0 <= c[3] < T[c[1]])
    if ok and len(pats):
        k = 0
        for w, t in zip(widths, T):
            block = pats[:, k:k + w]
            ok = ok and block.min() >= 0 and block.max() <= t
            k += w
    if not ok:
        raise ProposalRejected("the proposal's arrays do not fit the net and K")
    if len(ptr) > 1 and np.diff(ptr).min() <= n:
        raise ProposalRejected("a proposed region has fewer than n + 1 vertices")
