"""Float partition of a 2-D slice into convex polygons (Figures 1 and 8 of the paper).

Polygons live in flat tensors: vertex coordinates ``(K, 2)`` in slice coordinates (s, t),
grouped by polygon and in counter-clockwise order, with each vertex carrying the label of the
edge that starts at it (the neuron whose breakpoint made it, or -1 for the slice's box).

Layer by layer: every pre-activation of layer l is affine on each polygon of the layer's start,
so the kernel keeps those maps (polygons × 3 × width), not values at corners.  The range of
each z over each start polygon tells which hyperplanes z = ξ cut it; a hyperplane that does not
cut a polygon cuts none of its pieces.  Then rounds: in each, every polygon with a pending
hyperplane that cuts it is clipped by the one passing nearest its middle, all polygons at once
(the number of rounds is the depth of these balanced cuts, not the number of neurons).  Polygons
are then renumbered by start polygon; the next layer's maps are one matmul per start polygon
plus rank-one corrections where a piece's pattern differs.

Linear regions: the polygons glued across edges whose neuron is not good (Proposition 9), in
:mod:`exactregions.floating.glue`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from exactregions.errors import InvalidDomainError
from exactregions.floating.glue import glue_polygons
from exactregions.floating.tensors import (DEFAULT_TOL, TorchNet, chunks, row_chunk,
                                          threads_by_size)

__all__ = ["SliceResult", "slice_regions"]


@dataclass(frozen=True)
class SliceResult:
    """A float partition of the box ``[s0,s1] x [t0,t1]`` of the plane P1 + s(P2-P1) + t(P3-P1).

    ``verts (K, 2)``, ``poly (K,)`` (polygon of each vertex, grouped, counter-clockwise),
    ``patterns (P, N)`` (piece of every neuron in each polygon), ``linear (P,)`` (linear
    region id of each polygon), ``near_ties``: vertices within tolerance of a hyperplane they
    were not cut by plus polygons of relative area below the tolerance.
    """

    verts: torch.Tensor
    poly: torch.Tensor
    patterns: torch.Tensor
    linear: torch.Tensor
    activation_regions: int
    linear_regions: int
    near_ties: int
    tol: float


def _next_index(poly: torch.Tensor) -> torch.Tensor:
    """Index of the next vertex of the same polygon (cyclic); vertices grouped by polygon."""
    K = poly.shape[0]
    idx = torch.arange(K, device=poly.device)
    last = torch.ones(K, dtype=torch.bool, device=poly.device)
    last[:-1] = poly[1:] != poly[:-1]
    first = torch.ones(K, dtype=torch.bool, device=poly.device)
    first[1:] = poly[1:] != poly[:-1]
    start = torch.cummax(torch.where(first, idx, torch.zeros_like(idx)), 0).values
    return torch.where(last, start, idx + 1)


def _clip(V: Tensor, lab: Tensor, poly: Tensor, n_poly: int, s: Tensor,
          neuron: Tensor | int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Clip, by s = 0, the polygons of the rows (V, lab, poly) — all of them cut; rows grouped by
    polygon, polygons in increasing id.

    Returns the rows of the pieces: the s <= 0 part keeps the polygon id, the s >= 0 part gets a
    fresh id from ``n_poly`` on (in the same order); and the parents of the fresh ids.  Each
    piece's rows follow its polygon's (a corner, then the crossing on the edge after it), so
    no sort is needed.
    """
    dev = V.device
    head = torch.ones(poly.shape[0], dtype=torch.bool, device=dev)
    head[1:] = poly[1:] != poly[:-1]
    uniq = poly[head]
    local = torch.cumsum(head, 0) - 1
    nxt = _next_index(poly)
    sn = s[nxt]
    cross = s * sn < 0
    lam = torch.where(cross, s / torch.where(cross, s - sn, torch.ones_like(s)),
                      torch.zeros_like(s))
    XV = V + lam[:, None] * (V[nxt] - V)
    zlab = neuron if torch.is_tensor(neuron) else torch.full_like(lab, neuron)
    VX = torch.stack([V, XV], dim=1)                       # (K, 2, 2): corner, then crossing
    neg = torch.stack([s <= 0, cross], dim=1)
    pos = torch.stack([s >= 0, cross], dim=1)
    lab_neg = torch.stack([torch.where((s == 0) & (sn > 0), zlab, lab),
                           torch.where(s < 0, zlab, lab)], dim=1)   # leaving the s < 0 side
    lab_pos = torch.stack([torch.where((s == 0) & (sn < 0), zlab, lab),
                           torch.where(s > 0, zlab, lab)], dim=1)
    ids = torch.stack([poly, n_poly + local], dim=1)
    Vn = torch.cat([VX[neg], VX[pos]])
    Ln = torch.cat([lab_neg[neg], lab_pos[pos]])
    Pn = torch.cat([ids[:, :1].expand(-1, 2)[neg], ids[:, 1:].expand(-1, 2)[pos]])
    return Vn, Ln, Pn, uniq


@threads_by_size
def slice_regions(net: TorchNet, p1: torch.Tensor, p2: torch.Tensor, p3: torch.Tensor,
                  box: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 1.0), (0.0, 1.0)),
                  tol: float = DEFAULT_TOL,
                  progress: Callable[[int, int], None] | None = None) -> SliceResult:
    """Partition the slice box into activation regions, and glue them into linear regions.

    Memory: the kernel keeps each start polygon's affine maps (polygons × 3 × width), not
    values at every corner, and streams layer by layer (a 784-1000-1000-1000-10 slice stays
    within a few GB).

    Parameters
    ----------
    net : TorchNet
    p1, p2, p3 : (n_in,) tensors
        The plane x = p1 + s (p2 - p1) + t (p3 - p1).
    box : ((s0, s1), (t0, t1))
    tol : float
        Relative tolerance for near-ties.
    progress : callable, optional
        Called as ``progress(layers_done, depth)`` after each layer.

    Raises
    ------
    InvalidDomainError
        On wrong shapes, an empty box, or NaN or inf in the input.

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> tn = TorchNet.from_network(random_network([2, 3, 1], seed=0))
    >>> e = torch.eye(2, dtype=torch.float64)
    >>> r = slice_regions(tn, torch.zeros(2, dtype=torch.float64), e[0], e[1], ((-1, 1), (-1, 1)))
    >>> r.activation_regions >= 1
    True
    """
    n = net.widths[0]
    dev, dt = net.device, net.dtype
    pts = [torch.as_tensor(q, dtype=dt).to(dev).reshape(-1) for q in (p1, p2, p3)]
    if any(q.shape[0] != n for q in pts):
        raise InvalidDomainError(f"the three points must have dimension {n}")
    (s0, s1), (t0, t1) = box
    if not (s1 > s0 and t1 > t0):
        raise InvalidDomainError(f"empty or inverted slice box {box}")
    if not (all(map(math.isfinite, (s0, s1, t0, t1)))
            and all(bool(torch.isfinite(q).all()) for q in pts)):
        raise InvalidDomainError("the three points and the slice box must be finite (NaN or inf "
                                 "found)")
    D = torch.stack([pts[1] - pts[0], pts[2] - pts[0]])          # (2, n)
    V = torch.tensor([[s0, t0], [s1, t0], [s1, t1], [s0, t1]], dtype=dt, device=dev)
    lab = torch.full((4,), -1, dtype=torch.long, device=dev)
    poly = torch.zeros(4, dtype=torch.long, device=dev)
    n_poly = 1
    # Every pre-activation of layer l is affine on a polygon of the layer's start: keep that map,
    # Zmap (polygons, 3, n_l), z = s·Zmap[0] + t·Zmap[1] + Zmap[2], instead of per-vertex values.
    # Rows then carry only (s, t), a label and a polygon id; values at corners are evaluated
    # only where needed (memory: polygons × width, not corners × width).
    G = torch.cat([D, pts[0][None]])[None]                        # (1, 3, n): the input map
    Zmap = G @ net.W[0].T
    Zmap[:, 2] += net.b[0]
    patterns = torch.zeros((1, 0), dtype=torch.int8, device=dev)
    offset = 0
    ties = 0
    for l in range(net.depth):
        xi = net.xi[l]
        width = net.W[l].shape[0]
        n_before = n_poly
        parent_chunks = [torch.arange(n_poly, device=dev)]
        root_of_poly = torch.arange(n_poly, device=dev)
        # which (neuron, breakpoint) cuts which polygon at the start of the layer: a neuron that
        # does not cut a polygon cuts none of the pieces it is later clipped into
        near = torch.zeros((n_poly, width), dtype=torch.bool, device=dev)
        piece_root = torch.zeros((n_poly, width), dtype=torch.int8, device=dev)
        scale = torch.zeros(n_poly, dtype=dt, device=dev)
        if xi.numel():
            cut_at, near, piece_root, scale = _start_facts(net, l, Zmap, V, poly, n_poly, tol)
            # pending hyperplanes (neuron j, breakpoint k) of each polygon, in (j, k) order
            hr, hj, hk = (torch.cat([c[m] for c in cut_at]) for m in range(3))
            order = torch.argsort(hr * (width * xi.numel()) + hj * xi.numel() + hk)
            pend_p, pend_j, pend_k = hr[order], hj[order], hk[order]
            # rows of polygons with something pending take part in the rounds; the others are done
            active = torch.zeros(n_poly, dtype=torch.bool, device=dev)
            active[pend_p] = True
            on = active[poly]
            done = [(V[~on], lab[~on], poly[~on])]
            V, lab, poly = V[on], lab[on], poly[on]
            while pend_p.numel():  # rounds: each polygon clipped by one cutting hyperplane
                V, lab, poly, n_new, pend_p, pend_j, pend_k, parents, finished = _clip_round(
                    V, lab, poly, n_poly, pend_p, pend_j, pend_k, Zmap, root_of_poly, xi, offset)
                done.append(finished)
                if n_new:
                    root_of_poly = torch.cat([root_of_poly, root_of_poly[parents]])
                    parent_chunks.append(parents)
                    n_poly += n_new
            done.append((V, lab, poly))
            V, lab, poly = (torch.cat([d[m] for d in done]) for m in range(3))
        if n_poly > n_before:
            # every new polygon's pattern so far is its oldest ancestor's: pointer jumping
            parent = torch.cat(parent_chunks)
            while True:
                nxt = parent[parent]
                if torch.equal(nxt, parent):
                    break
                parent = nxt
            # renumber the polygons by start polygon, so that each start polygon's pieces are
            # consecutive (the next layer's maps are then one block a start polygon)
            perm = torch.argsort(root_of_poly, stable=True)
            rank = torch.empty_like(perm)
            rank[perm] = torch.arange(n_poly, device=dev)
            root_of_poly = root_of_poly[perm]
            patterns = patterns[parent[perm]]
            poly = rank[poly]
            order = torch.argsort(poly, stable=True)
            V, lab, poly = V[order], lab[order], poly[order]
        # this layer's pattern: the start polygon's, except for the neurons that come near it,
        # evaluated at the vertex average (z is affine on a polygon)
        near_r, near_j = torch.nonzero(near, as_tuple=True)       # sorted by start polygon
        n_near = torch.bincount(near_r, minlength=near.shape[0])
        first_near = torch.cumsum(n_near, 0) - n_near
        cnt = torch.bincount(poly, minlength=n_poly).to(dt)
        cen = torch.zeros((n_poly, 2), dtype=dt, device=dev).index_add_(0, poly, V) / cnt[:, None]
        base_l = piece_root[root_of_poly]
        piece_l = base_l.clone()
        for items, js, z in _near_values(Zmap, root_of_poly, cen, n_near, first_near, near_j):
            if js is None:
                piece_l[items] = net.piece(l, z, torch.int8)
            else:
                piece_l[items, js] = net.piece(l, z, torch.int8)
        patterns = torch.cat([patterns, piece_l], dim=1)
        if xi.numel():
            # near-ties: a vertex within tolerance of a hyperplane that did not cut there (only
            # hyperplanes that come near the vertex's start polygon can)
            prev_lab = lab[_prev_index(poly)]
            rv = root_of_poly[poly]
            tied = torch.zeros(V.shape[0], dtype=torch.bool, device=dev)
            for items, js, z in _near_values(Zmap, rv, V, n_near, first_near, near_j):
                close = torch.zeros_like(z, dtype=torch.bool)
                tol_v = scale[rv[items]] if js is not None else scale[rv[items], None]
                for k in range(xi.numel()):
                    close |= (z - xi[k]).abs() <= tol_v
                if js is None:
                    close &= near[rv[items]]
                    for lb in (lab[items], prev_lab[items]):
                        own = torch.nonzero((lb >= offset) & (lb < offset + width)).flatten()
                        close[own, lb[own] - offset] = False
                    tied[items] |= close.any(dim=1)
                else:
                    close &= (lab[items] != offset + js) & (prev_lab[items] != offset + js)
                    tied[items[close]] = True
            ties += int(tied.sum())
        offset += width
        if l + 1 < net.depth:
            dp, dj = torch.nonzero(piece_l != base_l, as_tuple=True)
            Zmap = _next_maps(net, l, Zmap, piece_root, piece_l, root_of_poly, dp, dj)
        if progress is not None:
            progress(l + 1, net.depth)
    area = _areas(V, poly, n_poly)
    # a polygon whose size nears the float resolution is itself a near-tie
    ties += int((area <= tol * tol * (s1 - s0) * (t1 - t0)).sum())
    # the output's affine map on each final polygon (the last layer's pieces fixed)
    L = net.depth - 1

    def out_map(P: torch.Tensor) -> torch.Tensor:
        m = Zmap[root_of_poly[P]]
        if net.xi[L].numel() == 0:   # a linear output layer (the usual case): one q and p
            m *= net.q[L][0]
            m[:, 2] += net.p[L][0]
            return m
        pc = piece_l[P].long()
        m *= net.piece_slope(L, pc)[:, None, :]
        m[:, 2] += net.piece_offset(L, pc)
        return m
    linear, flat = glue_polygons(net, patterns, lab, poly, n_poly, out_map, tol)
    ties += flat
    return SliceResult(V, poly, patterns, linear, n_poly, int(linear.unique().numel()), ties, tol)


def _eval_rows(Zmap: torch.Tensor, which: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """z at the points V (c, 2) under the maps Zmap[which]: (c, n_l), without forming the
    (c, 3, n_l) gather (index_select rows of each coefficient, fused multiply-add)."""
    if Zmap.shape[0] == 1:   # one map (the first layer's): a plain matmul
        return torch.addmm(Zmap[0, 2], V, Zmap[0, :2])
    out = torch.empty((V.shape[0], Zmap.shape[2]), dtype=Zmap.dtype, device=Zmap.device)
    for a, b in chunks(V.shape[0], row_chunk(Zmap.shape[2])):
        w = which[a:b]
        o = torch.index_select(Zmap[:, 2], 0, w)
        o.addcmul_(V[a:b, 0:1], torch.index_select(Zmap[:, 0], 0, w))
        o.addcmul_(V[a:b, 1:2], torch.index_select(Zmap[:, 1], 0, w))
        out[a:b] = o
    return out


def _next_maps(net: TorchNet, l: int, Zmap: torch.Tensor, piece_root: torch.Tensor,
               piece_l: torch.Tensor, root_of_poly: torch.Tensor, pp: torch.Tensor,
               pj: torch.Tensor) -> torch.Tensor:
    """The next layer's affine map on every polygon, (n_poly, 3, n_{l+1}).  Consumes ``Zmap``
    (overwritten in place).

    With φ's pieces fixed, z ↦ q z + p then W, b.  Polygons are numbered by start polygon
    (``root_of_poly`` sorted): one matmul per start polygon (with its own pieces), copied to its
    pieces, then a rank-one correction per (polygon, neuron) whose piece differs from the start
    polygon's (the pairs ``pp, pj``).  Work blocks are reused chunk to chunk."""
    W, b = net.W[l + 1], net.b[l + 1]
    q, p = net.q[l], net.p[l]
    n_poly, w_next, w_l = root_of_poly.shape[0], W.shape[0], W.shape[1]
    n_roots = Zmap.shape[0]
    shift = bool((p != 0).any())
    step = row_chunk(3 * max(W.shape))
    out = torch.empty((n_poly, 3, w_next), dtype=Zmap.dtype, device=Zmap.device)
    if pp.shape[0] * 8 > n_poly * w_l:
        # many differing pieces a polygon (start polygons cut by many hyperplanes): one matmul a
        # polygon is cheaper than the corrections
        buf = Zmap.new_empty((min(step, n_poly), 3, w_l))
        for a, c in chunks(n_poly, step):
            pc = piece_l[a:c]
            G = torch.index_select(Zmap, 0, root_of_poly[a:c], out=buf[:c - a])
            G.mul_(net.piece_slope(l, pc)[:, None, :])
            if shift:
                G[:, 2] += net.piece_offset(l, pc)
            torch.matmul(G, W.T, out=out[a:c])
            out[a:c, 2] += b
        return out
    if pp.numel():   # the corrections' coefficients, before Zmap is overwritten
        r = root_of_poly[pp]
        new, old = piece_l[pp, pj].long(), piece_root[r, pj].long()
        coef = Zmap[r, :, pj] * (net.neuron_table(l, q, new, pj)
                                 - net.neuron_table(l, q, old, pj))[:, None]
        if shift:
            coef[:, 2] += net.neuron_table(l, p, new, pj) - net.neuron_table(l, p, old, pj)
    ends = torch.cumsum(torch.bincount(root_of_poly, minlength=n_roots), 0).tolist()
    buf = Zmap.new_empty((min(step, n_roots), 3, w_next))
    for r0, r1 in chunks(n_roots, step):
        pc = piece_root[r0:r1]
        G = Zmap[r0:r1].mul_(net.piece_slope(l, pc)[:, None, :])
        if shift:
            G[:, 2] += net.piece_offset(l, pc)
        base = torch.matmul(G, W.T, out=buf[:r1 - r0])
        base[:, 2] += b
        a, c = (ends[r0 - 1] if r0 else 0), ends[r1 - 1]
        torch.index_select(base, 0, root_of_poly[a:c] - r0, out=out[a:c])
    if pp.numel():
        WT = W.T.contiguous()
        for a, c in chunks(pp.shape[0], row_chunk(3 * w_next)):
            out.index_add_(0, pp[a:c], coef[a:c, :, None] * WT[pj[a:c]][:, None, :])
    return out


def _clip_round(V: Tensor, lab: Tensor, poly: Tensor, n_poly: int, pend_p: Tensor, pend_j: Tensor,
                pend_k: Tensor, Zmap: Tensor, root_of_poly: Tensor, xi: Tensor, offset: int):
    """One round: every polygon with a pending hyperplane that cuts it is clipped by one such
    (the one passing nearest its vertex average), all at once.  Pending entries that do not cut
    their polygon are dropped (nor will they cut its pieces); the other cutting ones pass to
    both pieces.

    Returns the rows still active (polygons with something pending), the number of new
    polygons, the next pending table, the parents of the new polygons and the finished rows."""
    dev = V.device
    start, count = _row_ranges(poly, n_poly)
    reps = count[pend_p]
    pair = torch.repeat_interleave(torch.arange(pend_p.shape[0], device=dev), reps)
    first = torch.cumsum(reps, 0) - reps
    row = start[pend_p][pair] + torch.arange(pair.shape[0], device=dev) - first[pair]
    sv = _eval_pairs(Zmap, root_of_poly[pend_p][pair], pend_j[pair], V[row]) - xi[pend_k][pair]
    neg = torch.zeros(pend_p.shape[0], dtype=torch.bool, device=dev)
    pos = torch.zeros_like(neg)
    neg[pair[sv < 0]] = True
    pos[pair[sv > 0]] = True
    cutting = neg & pos
    # each polygon's cutting entry whose line passes nearest its vertex average (z is affine:
    # its value there is the mean over the rows): balanced cuts, so fewer rounds
    n_pend = pend_p.shape[0]
    w = Zmap.shape[2]
    at = root_of_poly[pend_p] * (3 * w) + pend_j
    flat = Zmap.reshape(-1)
    mean = torch.zeros(n_pend, dtype=sv.dtype, device=dev).index_add_(0, pair, sv) / reps
    gnorm = torch.hypot(torch.take(flat, at), torch.take(flat, at + w))
    score = mean.abs_() / gnorm.clamp_min(torch.finfo(sv.dtype).tiny)   # never NaN
    score = torch.where(cutting, score, torch.full_like(score, float("inf")))
    best = torch.full((n_poly,), float("inf"), dtype=sv.dtype, device=dev)
    best.scatter_reduce_(0, pend_p, score, reduce="amin")
    cand = cutting & (score == best[pend_p])
    idx = torch.arange(n_pend, device=dev)
    firsts = torch.full((n_poly,), n_pend, dtype=torch.long, device=dev)
    firsts.scatter_reduce_(0, pend_p[cand], idx[cand], reduce="amin")
    chosen = cand & (firsts[pend_p] == idx)
    if not chosen.any():
        empty = pend_p[:0]
        return V[:0], lab[:0], poly[:0], 0, empty, empty, empty, empty, (V, lab, poly)
    crow = chosen[pair]
    Vn, Ln, Pn, parents = _clip(V[row[crow]], lab[row[crow]], poly[row[crow]], n_poly, sv[crow],
                                offset + pend_j[pair[crow]])
    n_new = parents.shape[0]
    # what stays pending: cutting entries after the chosen one, for both pieces
    child = torch.full((n_poly,), -1, dtype=torch.long, device=dev)
    child[parents] = n_poly + torch.arange(n_new, device=dev)
    stay = cutting & ~chosen
    sp, sj, sk = pend_p[stay], pend_j[stay], pend_k[stay]
    both_p = torch.stack([sp, child[sp]], dim=1).flatten()
    order = torch.argsort(both_p, stable=True)
    pj = torch.stack([sj, sj], dim=1).flatten()[order]
    pk = torch.stack([sk, sk], dim=1).flatten()[order]
    # rows: the pieces with something still pending stay active; all others are finished
    pending = torch.zeros(n_poly + n_new, dtype=torch.bool, device=dev)
    pending[both_p] = True
    clipped = torch.zeros(n_poly, dtype=torch.bool, device=dev)
    clipped[parents] = True
    rest = ~clipped[poly]
    go = pending[Pn]
    finished = (torch.cat([V[rest], Vn[~go]]), torch.cat([lab[rest], Ln[~go]]),
                torch.cat([poly[rest], Pn[~go]]))
    return Vn[go], Ln[go], Pn[go], n_new, both_p[order], pj, pk, parents, finished


def _row_ranges(poly: torch.Tensor, n_poly: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First row and row count of every polygon (rows grouped by polygon)."""
    K = poly.shape[0]
    head = torch.ones(K, dtype=torch.bool, device=poly.device)
    head[1:] = poly[1:] != poly[:-1]
    at = torch.nonzero(head).flatten()
    start = torch.zeros(n_poly, dtype=torch.long, device=poly.device)
    count = torch.zeros(n_poly, dtype=torch.long, device=poly.device)
    start[poly[at]] = at
    count[poly[at]] = torch.diff(at, append=torch.tensor([K], device=poly.device))
    return start, count


def _start_facts(net: TorchNet, l: int, Zmap: Tensor, V: Tensor, poly: Tensor, n_poly: int,
                 tol: float) -> tuple[list[tuple[Tensor, Tensor, Tensor]], Tensor, Tensor, Tensor]:
    """What layer l's hyperplanes do to each start polygon, from the range of every z over its
    corners (min and max over the corners; never stored for all polygons at once).

    Returns the cutting (polygon, neuron, breakpoint) triples (z crosses ξ strictly inside),
    ``near`` (n_poly, width): z comes within tol·scale of a breakpoint, ``piece`` (n_poly, width):
    the piece at the range's middle (the polygon's piece where z does not come near), and the
    per-polygon ``scale``·tol, scale = max(1, max |z| over corners and neurons) (|z| is convex,
    so this bounds it on every piece of the polygon)."""
    dev = V.device
    xi = net.xi[l]
    width = Zmap.shape[2]
    K = poly.shape[0]
    first = torch.ones(K, dtype=torch.bool, device=dev)
    first[1:] = poly[1:] != poly[:-1]
    start = torch.nonzero(first).flatten()
    count = torch.diff(start, append=torch.tensor([K], device=dev))
    ids = poly[start]
    near = torch.zeros((n_poly, width), dtype=torch.bool, device=dev)
    piece = torch.zeros((n_poly, width), dtype=torch.int8, device=dev)
    scale = torch.zeros(n_poly, dtype=V.dtype, device=dev)
    cut_at = []
    step = max(16, 2 ** 18 // width)   # polygons a chunk: (chunk, width) blocks stay in cache
    for m in torch.unique(count).tolist():     # loop over corner counts only
        sel = torch.nonzero(count == m).flatten()
        for a, b in chunks(sel.shape[0], step):
            pid = ids[sel[a:b]]
            Zp = Zmap[pid]                                        # (c, 3, width)
            Vr = V[start[sel[a:b], None] + torch.arange(m, device=dev)]   # (c, m, 2)
            lo = hi = None
            for i in range(m):   # corners of a polygon, not polygons
                z = torch.addcmul(Zp[:, 2], Vr[:, i, 0:1], Zp[:, 0])
                z.addcmul_(Vr[:, i, 1:2], Zp[:, 1])
                if lo is None:
                    lo, hi = z, z.clone()
                else:
                    torch.minimum(lo, z, out=lo)
                    torch.maximum(hi, z, out=hi)
            del Zp
            sc = torch.maximum(hi.amax(dim=1), -lo.amin(dim=1)).clamp_min(1.0) * tol
            scale[pid] = sc
            nr = torch.zeros_like(lo, dtype=torch.bool)
            for k in range(xi.numel()):
                r_, j_ = torch.nonzero((lo < xi[k]) & (hi > xi[k]), as_tuple=True)
                cut_at.append((pid[r_], j_, torch.full_like(j_, k)))
                nr |= (lo <= xi[k] + sc[:, None]) & (hi >= xi[k] - sc[:, None])
            near[pid] = nr
            piece[pid] = net.piece(l, (lo + hi) / 2, torch.int8)
    return cut_at, near, piece, scale


def _near_values(Zmap: Tensor, owner: Tensor, X: Tensor, n_near: Tensor, first_near: Tensor,
                 near_j: Tensor) -> Iterator[tuple[Tensor, Tensor | None, Tensor]]:
    """z at the points X (one per item, item i in start polygon ``owner[i]``) for the neurons
    that come near the item's start polygon.  Yields ``(items, js, z)`` chunks: (item, neuron)
    pairs where a polygon has few near neurons, whole rows (``js`` None, z: (c, width)) where it
    has many (one dense evaluation is then cheaper than gathers)."""
    width = Zmap.shape[2]
    heavy = n_near[owner] * 8 >= width
    rows = torch.nonzero(heavy).flatten()
    for a, b in chunks(rows.shape[0], row_chunk(width)):
        it = rows[a:b]
        yield it, None, _eval_rows(Zmap, owner[it], X[it])
    light = torch.nonzero(~heavy).flatten()
    item, js = _pairs(owner[light], n_near, first_near, near_j)
    if item.numel():
        item = light[item]
        yield item, js, _eval_pairs(Zmap, owner[item], js, X[item])


def _pairs(owner: torch.Tensor, n_near: torch.Tensor, first_near: torch.Tensor,
           near_j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For items whose start polygon is ``owner[i]``: every (item, neuron) with the neuron in that
    polygon's near list (``near_j[first_near[r]:first_near[r] + n_near[r]]``)."""
    reps = n_near[owner]
    item = torch.repeat_interleave(torch.arange(owner.shape[0], device=owner.device), reps)
    start = torch.cumsum(reps, 0) - reps
    k = torch.arange(item.shape[0], device=owner.device) - start[item]
    return item, near_j[first_near[owner[item]] + k]


def _eval_pairs(Zmap: torch.Tensor, which: torch.Tensor, j: torch.Tensor,
                V: torch.Tensor) -> torch.Tensor:
    """z_j at the points V (c, 2) under the maps Zmap[which]: one value per (point, neuron)."""
    w = Zmap.shape[2]
    at = which * (3 * w) + j
    flat = Zmap.reshape(-1)
    out = torch.take(flat, at + 2 * w)
    out.addcmul_(V[:, 0], torch.take(flat, at))
    return out.addcmul_(V[:, 1], torch.take(flat, at + w))


def _prev_index(poly: torch.Tensor) -> torch.Tensor:
    nxt = _next_index(poly)
    prev = torch.empty_like(nxt)
    prev[nxt] = torch.arange(poly.shape[0], device=poly.device)
    return prev


def _areas(V: torch.Tensor, poly: torch.Tensor, n_poly: int) -> torch.Tensor:
    nxt = _next_index(poly)
    cross = V[:, 0] * V[nxt, 1] - V[:, 1] * V[nxt, 0]
    return torch.zeros(n_poly, dtype=V.dtype, device=V.device).index_add_(0, poly, cross) / 2
