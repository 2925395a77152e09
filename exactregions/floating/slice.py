"""Float partition of a 2-D slice into convex polygons (Figures 1 and 8 of the paper).

Polygons live in flat tensors: vertex coordinates ``(K, 2)`` in slice coordinates (s, t),
grouped by polygon and in counter-clockwise order, with each vertex carrying the label of the
edge that starts at it (the neuron whose breakpoint made it, or -1 for the slice's box).  Layer
by layer, every polygon is clipped at once by each hyperplane z(x) = ξ of the layer (the loop
is over neurons only).  Only the current layer's pre-activations at the vertices are kept; new
vertices get theirs by interpolation (z is affine on a polygon), so a 784-1000-1000-1000 net
streams through.

Linear regions: across an edge made by neuron z the neighbour's pattern is this polygon's with
z's piece changed; the two are glued iff z is not good there (Proposition 9), then
union-find (vectorised label propagation) counts the components.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from exactregions.errors import InvalidDomainError
from exactregions.floating.tensors import DEFAULT_TOL, TorchNet

__all__ = ["SliceResult", "slice_regions", "plot_slice"]


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


def _clip(V, lab, poly, n_poly, s, neuron):
    """Clip, by s = 0, the polygons of the rows (V, lab, poly) — all of them cut.

    Returns the rows of the pieces: the s <= 0 part keeps the polygon id, the s >= 0 part gets a
    fresh id from ``n_poly`` on; and the parents of the fresh ids.
    """
    dev = V.device
    uniq, local = torch.unique(poly, return_inverse=True)
    nxt = _next_index(poly)
    sn = s[nxt]
    new_id = n_poly + torch.arange(uniq.numel(), device=dev)
    cross = s * sn < 0
    lam = torch.where(cross, s / torch.where(cross, s - sn, torch.ones_like(s)), torch.zeros_like(s))
    XV = V + lam[:, None] * (V[nxt] - V)
    zlab = torch.full_like(lab, neuron)
    keep_neg_v = s <= 0
    keep_pos_v = s >= 0
    lab_neg_v = torch.where((s == 0) & (sn > 0), zlab, lab)
    lab_pos_v = torch.where((s == 0) & (sn < 0), zlab, lab)
    lab_neg_x = torch.where(s < 0, zlab, lab)     # leaving the negative side: the cut follows
    lab_pos_x = torch.where(s > 0, zlab, lab)
    K = V.shape[0]
    pos = torch.arange(K, device=dev)
    outs = [(keep_neg_v, lab_neg_v, V, poly, 0), (cross, lab_neg_x, XV, poly, 1),
            (keep_pos_v, lab_pos_v, V, new_id[local], 0), (cross, lab_pos_x, XV, new_id[local], 1)]
    Vn = torch.cat([v[m] for m, _, v, _, _ in outs])
    Ln = torch.cat([lb[m] for m, lb, _, _, _ in outs])
    Pn = torch.cat([pi[m] for m, _, _, pi, _ in outs])
    key = torch.cat([2 * pos[m] + sl for m, _, _, _, sl in outs])
    order = torch.argsort(key, stable=True)
    order = order[torch.argsort(Pn[order], stable=True)]
    return Vn[order], Ln[order], Pn[order], uniq


class _Rows1:
    """A growable 1-D long buffer (the layer-start ancestor of each row)."""

    def __init__(self, t: torch.Tensor):
        self.t = t
        self.size = t.shape[0]

    def keep(self, m: torch.Tensor) -> None:
        k = int(m.sum())
        self.t[:k] = self.t[:self.size][m]
        self.size = k

    def append(self, v: torch.Tensor) -> None:
        need = self.size + v.shape[0]
        if need > self.t.shape[0]:
            out = torch.empty(max(need, 2 * self.t.shape[0]), dtype=self.t.dtype, device=self.t.device)
            out[:self.size] = self.t[:self.size]
            self.t = out
        self.t[self.size:need] = v
        self.size = need


class _Rows:
    """Growable row buffers; dead rows (clipped polygons) are dropped once per layer."""

    def __init__(self, V, lab, poly):
        self.V, self.lab, self.poly = V, lab, poly
        self.alive = torch.ones(V.shape[0], dtype=torch.bool, device=V.device)
        self.size = V.shape[0]
        self._grow(self.size // 4)  # some room for new rows before the first copy

    def _grow(self, extra: int) -> None:
        need = self.size + extra
        cap = self.V.shape[0]
        if need <= cap:
            return
        new_cap = max(need, cap + cap // 2)

        def grow(t):
            out = torch.empty((new_cap,) + tuple(t.shape[1:]), dtype=t.dtype, device=t.device)
            out[:self.size] = t[:self.size]
            return out
        self.V, self.lab, self.poly = grow(self.V), grow(self.lab), grow(self.poly)
        self.alive = grow(self.alive)
        self.alive[self.size:] = False

    def append(self, V, lab, poly) -> None:
        k = V.shape[0]
        self._grow(k)
        sl = slice(self.size, self.size + k)
        self.V[sl], self.lab[sl], self.poly[sl] = V, lab, poly
        self.alive[sl] = True
        self.size += k

    def compact(self):
        m = self.alive[:self.size]
        return self.V[:self.size][m], self.lab[:self.size][m], self.poly[:self.size][m]

    def dead_fraction(self) -> float:
        return 1.0 - float(self.alive[:self.size].sum()) / max(self.size, 1)

    def compact_inplace(self) -> torch.Tensor:
        """Drop dead rows now (memory); returns the kept-row mask for buffers kept in step."""
        m = self.alive[:self.size].clone()
        k = int(m.sum())
        for name in ("V", "lab", "poly"):
            t = getattr(self, name)
            t[:k] = t[:self.size][m]
        self.alive[:k] = True
        self.alive[k:] = False
        self.size = k
        return m


def slice_regions(net: TorchNet, p1: torch.Tensor, p2: torch.Tensor, p3: torch.Tensor,
                  box: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 1.0), (0.0, 1.0)),
                  tol: float = DEFAULT_TOL) -> SliceResult:
    """Partition the slice box into activation regions, and glue them into linear regions.

    Memory: every pre-activation of layer l is affine on each polygon of the layer's start, so
    the kernel keeps those maps (polygons × 3 × width), not values at every corner, and streams
    layer by layer; a neuron's values at the corners it may cut are evaluated when it is its
    turn (a 784-1000-1000-1000-10 slice stays within a few GB).

    Parameters
    ----------
    net : TorchNet
    p1, p2, p3 : (n_in,) tensors
        The plane x = p1 + s (p2 - p1) + t (p3 - p1).
    box : ((s0, s1), (t0, t1))

    Raises
    ------
    InvalidDomainError
        On wrong shapes or an empty box.

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
    D = torch.stack([pts[1] - pts[0], pts[2] - pts[0]])          # (2, n)
    V = torch.tensor([[s0, t0], [s1, t0], [s1, t1], [s0, t1]], dtype=dt, device=dev)
    lab = torch.full((4,), -1, dtype=torch.long, device=dev)
    poly = torch.zeros(4, dtype=torch.long, device=dev)
    n_poly = 1
    # Every pre-activation of layer l is affine on a polygon of the layer's start: keep that map,
    # Zmap (polygons, 3, n_l), z = s·Zmap[0] + t·Zmap[1] + Zmap[2], instead of per-vertex values.
    # Rows then carry only (s, t), a label and a polygon id; a neuron's values at the rows it
    # may cut are evaluated when it is its turn (memory: polygons × width, not corners × width).
    G = torch.cat([D, pts[0][None]])[None]                        # (1, 3, n): the input map
    Zmap = G @ net.W[0].T
    Zmap[:, 2] += net.b[0]
    patterns = torch.zeros((1, 0), dtype=torch.int8, device=dev)
    offset = 0
    ties = 0
    for l in range(net.depth):
        xi = net.xi[l]
        width = net.W[l].shape[0]
        rows = _Rows(V, lab, poly)
        n_before = n_poly
        parent_chunks = [torch.arange(n_poly, device=dev)]
        root_of_poly = torch.arange(n_poly, device=dev)
        root_rows = _Rows1(poly.clone())
        # which (neuron, breakpoint) cuts which polygon at the start of the layer: a neuron that
        # does not cut a polygon cuts none of the pieces it is later clipped into
        cuts = []
        if xi.numel():
            lo = torch.full((n_poly, width), float("inf"), dtype=dt, device=dev)
            hi = torch.full((n_poly, width), float("-inf"), dtype=dt, device=dev)
            for a, b in _chunks(V.shape[0], _row_chunk(width)):
                Z = _eval_rows(Zmap, poly[a:b], V[a:b])
                idx = poly[a:b, None].expand_as(Z)
                lo.scatter_reduce_(0, idx, Z, reduce="amin")
                hi.scatter_reduce_(0, idx, Z, reduce="amax")
            cuts = [(lo < xi[k]) & (hi > xi[k]) for k in range(xi.numel())]
            del lo, hi
        for j in range(width):               # loop over the layer's neurons only
            for k in range(xi.numel()):
                n = rows.size
                if not cuts[k][:, j].any():
                    continue
                cand = torch.nonzero(rows.alive[:n] & cuts[k][:, j][root_rows.t[:n]]).flatten()
                if cand.numel() == 0:
                    continue
                Vc = rows.V[cand]
                r = root_rows.t[cand]
                sv = Vc[:, 0] * Zmap[r, 0, j] + Vc[:, 1] * Zmap[r, 1, j] + Zmap[r, 2, j] - xi[k]
                pl = rows.poly[cand]
                uniq, local = torch.unique(pl, return_inverse=True)
                neg = torch.zeros(uniq.numel(), dtype=torch.bool, device=dev)
                pos_ = torch.zeros_like(neg)
                neg[local[sv < 0]] = True
                pos_[local[sv > 0]] = True
                cutl = neg & pos_
                if not cutl.any():
                    continue
                keep = cutl[local]
                sel = cand[keep]
                Vn, Ln, Pn, parents = _clip(Vc[keep], rows.lab[sel], pl[keep], n_poly, sv[keep],
                                            offset + j)
                rows.alive[sel] = False
                rows.append(Vn, Ln, Pn)
                root_of_poly = torch.cat([root_of_poly, root_of_poly[parents]])
                root_rows.append(root_of_poly[Pn])
                parent_chunks.append(parents)
                n_poly += parents.numel()
                if rows.dead_fraction() > 0.4:
                    root_rows.keep(rows.compact_inplace())
        V, lab, poly = rows.compact()
        if n_poly > n_before:
            # every new polygon's pattern so far is its oldest ancestor's: pointer jumping
            parent = torch.cat(parent_chunks)
            while True:
                nxt = parent[parent]
                if torch.equal(nxt, parent):
                    break
                parent = nxt
            patterns = patterns[parent]
        # this layer's pattern: pieces at each polygon's vertex average (z affine on it)
        cnt = torch.bincount(poly, minlength=n_poly).to(dt)
        cen = torch.zeros((n_poly, 2), dtype=dt, device=dev).index_add_(0, poly, V) / cnt[:, None]
        piece_l = torch.empty((n_poly, width), dtype=torch.int8, device=dev)
        for a, b in _chunks(n_poly, _row_chunk(width)):
            piece_l[a:b] = net.piece(l, _eval_rows(Zmap, root_of_poly[a:b], cen[a:b]))
        patterns = torch.cat([patterns, piece_l], dim=1)
        if xi.numel():
            # near-ties: a vertex within tolerance of a hyperplane that did not cut there
            prev_lab = lab[_prev_index(poly)]
            for a, b in _chunks(V.shape[0], _row_chunk(width)):
                Z = _eval_rows(Zmap, root_of_poly[poly[a:b]], V[a:b])
                scale = Z.abs().amax(dim=1, keepdim=True).clamp_min(1.0) * tol
                close = torch.zeros_like(Z, dtype=torch.bool)
                for k in range(xi.numel()):
                    close |= (Z - xi[k]).abs() <= scale
                for lb in (lab[a:b], prev_lab[a:b]):
                    rr = torch.nonzero((lb >= offset) & (lb < offset + width)).flatten()
                    close[rr, lb[rr] - offset] = False
                ties += int(close.any(dim=1).sum())
        offset += width
        if l + 1 < net.depth:
            # the next layer's map on each polygon: φ's piece fixed, z ↦ q z + p, then W, b
            nxt_w = net.W[l + 1].shape[0]
            new_map = torch.empty((n_poly, 3, nxt_w), dtype=dt, device=dev)
            for a, b in _chunks(n_poly, _row_chunk(max(width, nxt_w))):
                pc = piece_l[a:b].long()
                Gp = Zmap[root_of_poly[a:b]] * net.q[l][pc][:, None, :]
                Gp[:, 2] += net.p[l][pc]
                new_map[a:b] = Gp @ net.W[l + 1].T
                new_map[a:b, 2] += net.b[l + 1]
            Zmap = new_map
    area = _areas(V, poly, n_poly)
    # a polygon whose size nears the float resolution is itself a near-tie
    ties += int((area <= tol * tol * (s1 - s0) * (t1 - t0)).sum())
    linear = _glue(net, patterns, lab, poly, n_poly)
    return SliceResult(V, poly, patterns, linear, n_poly, int(linear.unique().numel()), ties, tol)


def _row_chunk(width: int) -> int:
    """Rows per chunk when a (rows, width) block is evaluated: about 64 MB of float64."""
    return max(1024, int(64e6 // (8 * max(width, 1))))


def _chunks(n: int, size: int):
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _eval_rows(Zmap: torch.Tensor, which: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """z at the points V (c, 2) under the maps Zmap[which]: (c, n_l), without forming the
    (c, 3, n_l) gather (index_select rows of each coefficient, fused multiply-add)."""
    out = torch.empty((V.shape[0], Zmap.shape[2]), dtype=Zmap.dtype, device=Zmap.device)
    for a, b in _chunks(V.shape[0], _row_chunk(Zmap.shape[2])):
        w = which[a:b]
        o = torch.index_select(Zmap[:, 2], 0, w)
        o.addcmul_(V[a:b, 0:1], torch.index_select(Zmap[:, 0], 0, w))
        o.addcmul_(V[a:b, 1:2], torch.index_select(Zmap[:, 1], 0, w))
        out[a:b] = o
    return out


def _prev_index(poly: torch.Tensor) -> torch.Tensor:
    nxt = _next_index(poly)
    prev = torch.empty_like(nxt)
    prev[nxt] = torch.arange(poly.shape[0], device=poly.device)
    return prev


def _areas(V: torch.Tensor, poly: torch.Tensor, n_poly: int) -> torch.Tensor:
    nxt = _next_index(poly)
    cross = V[:, 0] * V[nxt, 1] - V[:, 1] * V[nxt, 0]
    return torch.zeros(n_poly, dtype=V.dtype, device=V.device).index_add_(0, poly, cross) / 2


def _good_mask(net: TorchNet, patterns: torch.Tensor) -> torch.Tensor:
    """(P, N) bool: neuron good in polygon (path of open neurons after it to the output);
    computed in chunks of polygons (the float temporaries are chunk × width)."""
    widths = [w.shape[0] for w in net.W]
    starts = [sum(widths[:l]) for l in range(len(widths))]
    nz = [(w != 0).to(net.dtype) for w in net.W]
    open_of = [net.q[l] != 0 for l in range(net.depth)]
    out = torch.empty(patterns.shape, dtype=torch.bool, device=patterns.device)
    for a, b in _chunks(patterns.shape[0], _row_chunk(max(widths))):
        P = patterns[a:b]
        reach = torch.ones((b - a, widths[-1]), dtype=net.dtype, device=P.device)
        out[a:b, starts[-1]:] = True
        for l in range(net.depth - 1, 0, -1):
            opened = open_of[l][P[:, starts[l]:starts[l] + widths[l]].long()].to(net.dtype)
            reach = (((opened * reach) @ nz[l]) > 0).to(net.dtype)
            out[a:b, starts[l - 1]:starts[l - 1] + widths[l - 1]] = reach > 0
    return out


def _glue(net: TorchNet, patterns: torch.Tensor, lab: torch.Tensor, poly: torch.Tensor,
          n_poly: int) -> torch.Tensor:
    """Linear-region label of each polygon."""
    dev = patterns.device
    labels = torch.arange(n_poly, device=dev)
    inner = lab >= 0
    if not inner.any():
        return labels
    A = poly[inner]
    z = lab[inner]
    good = _good_mask(net, patterns)
    # neighbour across a z-edge: same pattern except at z (the piece on the other side)
    P = patterns.shape[1]
    weights = torch.randint(1, 2 ** 61, (P,), generator=torch.Generator().manual_seed(0)).to(dev)
    h = torch.empty(n_poly, dtype=torch.long, device=dev)           # hash of each pattern
    for a_, b_ in _chunks(n_poly, _row_chunk(P)):
        h[a_:b_] = (patterns[a_:b_].long() * weights).sum(dim=1)
    key_self = h[A] - patterns[A, z].long() * weights[z]
    # map (hash without z, z) -> polygons; two entries with the same key are the two sides
    k = key_self * 1_000_003 + z
    order = torch.argsort(k)
    ks, As, zs = k[order], A[order], z[order]
    same = ks[1:] == ks[:-1]
    a, b, zz = As[:-1][same], As[1:][same], zs[:-1][same]
    diff = a != b
    a, b, zz = a[diff], b[diff], zz[diff]
    glued = ~(good[a, zz] | good[b, zz])
    a, b = a[glued], b[glued]
    while a.numel():
        la, lb = labels[a], labels[b]
        m = torch.minimum(la, lb)
        new = labels.clone()
        new.scatter_reduce_(0, a, m, reduce="amin")
        new.scatter_reduce_(0, b, m, reduce="amin")
        new = new[new]  # pointer jumping
        if torch.equal(new, labels):
            break
        labels = new
    return labels


def plot_slice(res: SliceResult, path: str, points: bool = True, title: str = "") -> None:
    """Draw the partition, one colour per activation region (edges of linear regions darker)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.collections import PolyCollection

    V = res.verts.cpu().numpy()
    poly = res.poly.cpu().numpy()
    bounds = np.flatnonzero(np.r_[True, poly[1:] != poly[:-1], True])
    polys = [V[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    rng = np.random.default_rng(0)
    colours = rng.uniform(0.15, 0.95, size=(len(polys), 3))
    fig, ax = plt.subplots(figsize=(7, 7), dpi=120)
    ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="k", linewidths=0.1))
    if points:
        ax.scatter([0, 1, 0], [0, 0, 1], c="k", s=25, zorder=3)
    ax.set_xlim(V[:, 0].min(), V[:, 0].max())
    ax.set_ylim(V[:, 1].min(), V[:, 1].max())
    ax.set_aspect("equal")
    ax.set_title(title or f"{res.activation_regions} activation regions, "
                          f"{res.linear_regions} linear regions")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
