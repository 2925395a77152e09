"""Regions along lines, batched (Theorem 1, Figure 5 of the paper).

The paper's method, layer by layer: along a segment x(t) = p + t d every pre-activation of layer l
is affine between the breakpoints found in layers < l, so a neuron crosses ξ inside such a piece
iff z - ξ changes sign between the piece's ends, at the root of that affine piece.

Lines live in padded ``(lines, points)`` tensors sorted by t (``+inf`` pads): the points are the
segment ends and the breakpoints found so far, and per point the kernel keeps the current layer's
pre-activations and their slope on the piece that starts there.  The next layer's slopes are not
a matmul at every point: across a breakpoint of the current layer one neuron changes piece, so
the next layer's slope changes by one column of W times a scalar (a rank-one update, O(width)).
Only the pieces that start at a segment end or at a breakpoint of an earlier layer ("anchors")
take a full matmul; a cumulative sum along each line does the rest, and values follow from
slopes by another.  There is no Python loop over lines, pieces or points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from exactregions.errors import InvalidDomainError
from exactregions.floating.tensors import DEFAULT_TOL, TorchNet, threads_by_size

__all__ = ["LineResult", "line_regions"]


@dataclass(frozen=True)
class LineResult:
    """Breakpoints of B lines, in flat tensors.

    Attributes
    ----------
    t : (M,) float
        Interior breakpoints, sorted by (line, t).
    line : (M,) long
        The line of each breakpoint.
    layer, neuron : (M,) long
        The neuron that switches there.
    good : (M,) bool
        Whether that neuron is good there (the full Jacobian changes: a linear-region boundary).
    activation_pieces, linear_pieces, near_ties : (B,) long
        Per line: #activation pieces, #linear pieces, #near-ties (events closer than the
        tolerance, which the float path cannot order or decide; settle them with ``--exact``).
    tol : float
        The tolerance used.
    """

    t: torch.Tensor
    line: torch.Tensor
    layer: torch.Tensor
    neuron: torch.Tensor
    good: torch.Tensor
    activation_pieces: torch.Tensor
    linear_pieces: torch.Tensor
    near_ties: torch.Tensor
    tol: float


@threads_by_size
def line_regions(net: TorchNet, p: torch.Tensor, d: torch.Tensor, t0: float = 0.0, t1: float = 1.0,
                 tol: float = DEFAULT_TOL, chunk: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> LineResult:
    """Activation and linear pieces along the segments x(t) = p + t d, t ∈ [t0, t1].

    Parameters
    ----------
    net : TorchNet
    p, d : (B, n_in) tensors
        Base points and directions, on ``net.device``.
    t0, t1 : float
        The parameter range.
    tol : float
        Relative tolerance for near-ties.
    chunk : int, optional
        Lines per batch (a batch holds every breakpoint's pre-activations and slopes).  Default:
        adaptive, a few tens of MB a batch on a CPU, about a GB on a GPU.
    progress : callable, optional
        Called as ``progress(lines_done, lines_total)`` after each batch.

    Returns
    -------
    LineResult

    Raises
    ------
    InvalidDomainError
        On shape mismatch, an empty range, or NaN or inf in the input.

    Examples
    --------
    >>> from exactregions.exact.constructions import sawtooth_network
    >>> tn = TorchNet.from_network(sawtooth_network(4))
    >>> r = line_regions(tn, torch.zeros(1, 1, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64))
    >>> int(r.linear_pieces[0])
    16
    """
    if p.ndim != 2 or p.shape != d.shape or p.shape[1] != net.widths[0]:
        raise InvalidDomainError(f"points and directions must be (B, {net.widths[0]}), got "
                                 f"{tuple(p.shape)} and {tuple(d.shape)}")
    if not t1 > t0:
        raise InvalidDomainError(f"empty or inverted parameter range [{t0}, {t1}]")
    if not (math.isfinite(t0) and math.isfinite(t1)
            and bool(torch.isfinite(p).all()) and bool(torch.isfinite(d).all())):
        raise InvalidDomainError("points, directions and the parameter range must be finite "
                                 "(NaN or inf found)")
    aux = _Aux(tuple(w.T.contiguous() for w in net.W), tuple(bool((w != 0).all()) for w in net.W))
    p, d = p.to(net.device, net.dtype), d.to(net.device, net.dtype)
    # Lines per batch: each batch holds a few (lines, points, width) float tensors; on a CPU they
    # should stay small enough for the allocator to reuse (tens of MB), on a GPU large.  Without
    # ``chunk`` the batch size adapts to the points per line seen so far.
    budget = (32e6 if net.device.type == "cpu" else 1e9) / (8 * max(net.widths))
    per_line = max(16, net.num_neurons() // 4)                      # points a line, first guess
    parts, start = [], 0
    while start < p.shape[0]:
        size = chunk or max(1, int(budget // per_line))
        r = _line_batch(net, aux, p[start:start + size], d[start:start + size], t0, t1, tol)
        parts.append((start, r))
        per_line = max(16, int(r.activation_pieces.max()) + 1)
        start += size
        if progress is not None:
            progress(min(start, p.shape[0]), p.shape[0])
    if not parts:                       # no lines
        none = torch.zeros(0, dtype=torch.long, device=net.device)
        return LineResult(torch.zeros(0, dtype=net.dtype, device=net.device), none, none, none,
                          none.bool(), none, none, none, tol)
    if len(parts) == 1:
        return parts[0][1]
    return LineResult(torch.cat([r.t for _, r in parts]),
                      torch.cat([r.line + o for o, r in parts]),
                      torch.cat([r.layer for _, r in parts]),
                      torch.cat([r.neuron for _, r in parts]),
                      torch.cat([r.good for _, r in parts]),
                      torch.cat([r.activation_pieces for _, r in parts]),
                      torch.cat([r.linear_pieces for _, r in parts]),
                      torch.cat([r.near_ties for _, r in parts]), tol)


@dataclass(frozen=True)
class _Aux:
    """Per-call constants: transposed weights (rows = a neuron's outgoing weights) and whether a
    layer's weight matrix has no zero."""

    WT: tuple[torch.Tensor, ...]
    dense: tuple[bool, ...]


def _line_batch(net: TorchNet, aux: _Aux, p: torch.Tensor, d: torch.Tensor, t0: float, t1: float,
                tol: float) -> LineResult:
    """One batch of lines (see :func:`line_regions`)."""
    B = p.shape[0]
    dev, dt = net.device, net.dtype
    t = torch.tensor([t0, t1], dtype=dt, device=dev).repeat(B, 1)      # (B, K), sorted, +inf pads
    layer_of = torch.full((B, 2), -1, dtype=torch.long, device=dev)     # -1: a segment end
    neuron_of = torch.full_like(layer_of, -1)
    ident = torch.arange(2 * B, device=dev).view(B, 2)                  # ids that survive sorting
    n_ids = 2 * B
    U = torch.zeros((B, 2, net.W[0].shape[0]), dtype=dt, device=dev)    # slope on the next piece
    U[:, 0] = d @ net.W[0].T
    Z = _values((p + t0 * d) @ net.W[0].T + net.b[0], U, t)            # pre-activations at points
    ties = torch.zeros(B, dtype=torch.long, device=dev)
    opens: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    dense = aux.dense
    for l in range(net.depth):
        xi = net.xi[l]
        t_old, valid_old, inner_old, ident_old = t, torch.isfinite(t), layer_of >= 0, ident
        if xi.numel():
            # a neuron at its breakpoint on an earlier layer's breakpoint: the float path cannot
            # tell whether it crosses there
            ties += _value_ties(Z, inner_old, xi, tol)
            t, layer_of, neuron_of, ident, dS, parent, new_pos = _insert_crossings(
                t, layer_of, neuron_of, ident, Z, U, net, l)
            n_ids = max(n_ids, int(ident.max()) + 1)
        else:
            parent = new_pos = torch.arange(t.shape[1], device=dev).expand_as(t)
        # this layer's pieces: on the first piece after each old point (its midpoint in the new
        # layout), computed in the old layout, where Z and U live
        valid = torch.isfinite(t)
        is_old = valid & (layer_of != l)
        t_next = torch.cat([t[:, 1:], torch.full_like(t[:, :1], float("inf"))], dim=1)
        half = torch.zeros_like(t_old)
        half[valid_old] = torch.where(torch.isfinite(t_next), (t_next - t) / 2,
                                      torch.zeros_like(t))[is_old]
        q_on = net.slope_(l, torch.addcmul(Z, U, half[..., None]))
        # for goodness of earlier layers' events: which neurons are open there (one bit a point
        # where only "some neuron open" matters: this layer's and the next layer's weights dense)
        if (l == net.depth - 1 or dense[l + 1]) and dense[l]:
            is_open = q_on.any(dim=2)[inner_old][:, None]
        else:
            is_open = q_on[inner_old] != 0
        opens[l] = (ident_old[inner_old], is_open)
        if l == net.depth - 1:
            break
        # next layer: a full matmul on old points' pieces, rank-one updates across new ones
        w_next = net.W[l + 1].shape[0]
        Ua_next = (q_on.mul_(U).view(-1, U.shape[2]) @ aux.WT[l + 1]).view(*t_old.shape, w_next)
        del q_on
        nb, nk = torch.nonzero(valid & (layer_of == l), as_tuple=True)
        if nb.numel():
            # U at point k = Ua at its anchor + C[k] - C[anchor], C the running sum of the
            # rank-one jumps: subtract C at each anchor once, on the (fewer) old points
            C = torch.zeros((*t.shape, w_next), dtype=dt, device=dev)
            C[nb, nk] = aux.WT[l + 1][neuron_of[nb, nk]] * dS[nb, nk, None]
            C.cumsum_(dim=1)
            Ua_next -= _take_rows(C, new_pos)
            C += _take_rows(Ua_next, parent)
            U = C
            del C
        else:
            U = _take_rows(Ua_next, parent)
        del Ua_next
        z_start = net.act(l, Z[:, 0]) @ aux.WT[l + 1] + net.b[l + 1]
        Z = _values(z_start, U, t)
    valid = torch.isfinite(t)
    eb, ek = torch.nonzero(valid & (layer_of >= 0), as_tuple=True)
    ev_layer, ev_neuron = layer_of[eb, ek], neuron_of[eb, ek]
    good = _goodness(net, dense, opens, ev_layer, ev_neuron, ident[eb, ek], n_ids)
    counts = torch.bincount(eb, minlength=B)
    lin_counts = torch.bincount(eb[good], minlength=B)
    if not net.xi[-1].numel() and bool((net.q[-1][0] != 0).all()):
        # a good switch whose output slope does not change (weights that cancel, as integer
        # nets can have): Proposition 9 is a generic statement, so the float count cannot
        # decide it; report it instead of counting it
        gb, gk = eb[good], ek[good]
        after, before = U[gb, gk], U[gb, gk - 1]
        size = torch.maximum(after.abs().amax(dim=1), before.abs().amax(dim=1)).clamp_min(1.0)
        still = (after - before).abs().amax(dim=1) <= tol * size
        ties = ties + torch.bincount(gb[still], minlength=B)
    # near-ties: consecutive points too close to order
    both = valid[:, 1:] & valid[:, :-1]
    gap = torch.where(both, t[:, 1:] - t[:, :-1], torch.full_like(t[:, 1:], float("inf")))
    ties = ties + (gap.abs() <= tol * (t1 - t0)).sum(dim=1)
    return LineResult(t[eb, ek], eb, ev_layer, ev_neuron, good, counts + 1, lin_counts + 1, ties,
                      tol)


def _values(z_start: torch.Tensor, U: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Pre-activations at every point from the line start's value and the pieces' slopes."""
    valid = torch.isfinite(t)
    step = torch.where(valid[:, 1:], t[:, 1:] - t[:, :-1], torch.zeros_like(t[:, 1:]))
    Z = torch.empty_like(U)
    Z[:, 0] = z_start
    rest = Z[:, 1:]
    torch.mul(U[:, :-1], step[..., None], out=rest)
    rest.cumsum_(dim=1)
    rest += z_start[:, None]
    return Z


def _take_rows(X: torch.Tensor, parent: torch.Tensor) -> torch.Tensor:
    """``X[b, parent[b, k]]`` for (B, K, w) X, by one row gather."""
    B, K, w = X.shape
    rows = torch.arange(B, device=X.device)[:, None] * K + parent
    return X.reshape(B * K, w).index_select(0, rows.flatten()).view(B, parent.shape[1], w)


def _insert_crossings(t: Tensor, layer_of: Tensor, neuron_of: Tensor, ident: Tensor, Z: Tensor,
                      U: Tensor, net: TorchNet, l: int) -> tuple[Tensor, ...]:
    """Add layer l's breakpoints inside every piece; returns the sorted, padded point tensors,
    the slope jump (q_after - q_before)·|z'| of each new point's neuron, each point's parent
    (the old point that starts its piece) and each old point's new position (B, K_old)."""
    B, K = t.shape
    dev = t.device
    xi, q = net.xi[l], net.q[l]
    piece_ok = torch.isfinite(t[:, 1:])
    Za, Zb = Z[:, :-1], Z[:, 1:]
    found = []
    for j in range(xi.numel()):  # loop over the T breakpoints of φ only
        x = float(xi[j])
        prod = Za * Zb if x == 0.0 else (Za - x) * (Zb - x)
        b, k, i = torch.nonzero(prod < 0, as_tuple=True)
        del prod
        ok = piece_ok[b, k]             # (pads repeat the last value, so rarely any to drop)
        b, k, i = b[ok], k[ok], i[ok]
        u = U[b, k, i]
        tn = torch.minimum(torch.maximum(t[b, k] - (Za[b, k, i] - x) / u, t[b, k]), t[b, k + 1])
        jump = q[j + 1] - q[j]   # a number, or one a neuron (per-channel slopes)
        found.append((b, i, tn, (jump[i] if jump.dim() else jump) * u.abs()))
    b = torch.cat([f[0] for f in found])
    n_new = b.numel()
    parent = torch.arange(K, device=dev).expand(B, K)
    dS = torch.zeros_like(t)
    if n_new == 0:
        return t, layer_of, neuron_of, ident, dS, parent, parent
    i, tn, jump = (torch.cat([f[m] for f in found]) for m in (1, 2, 3))
    order = torch.argsort(b, stable=True)
    b, i, tn, jump = b[order], i[order], tn[order], jump[order]
    cnt = torch.bincount(b, minlength=B)
    slot = K + torch.arange(n_new, device=dev) - (torch.cumsum(cnt, 0) - cnt)[b]
    extra = int(cnt.max())

    def widen(x, fill, new_vals):
        out = torch.cat([x, torch.full((B, extra), fill, dtype=x.dtype, device=dev)], dim=1)
        out[b, slot] = new_vals
        return out
    n_ids = int(ident.max()) + 1
    t = widen(t, float("inf"), tn)
    layer_of = widen(layer_of, -1, torch.full_like(b, l))
    neuron_of = widen(neuron_of, -1, i)
    ident = widen(ident, -1, n_ids + torch.arange(n_new, device=dev))
    dS = widen(dS, 0.0, jump)
    srt = torch.argsort(t, dim=1, stable=True)         # old points first at equal t
    keep = int(torch.isfinite(t).sum(dim=1).max())
    srt = srt[:, :keep]
    t, layer_of, neuron_of, ident, dS = (x.gather(1, srt) for x in (t, layer_of, neuron_of,
                                                                    ident, dS))
    pos = torch.arange(keep, device=dev).expand(B, keep)
    was_old = srt < K
    last_old = torch.cummax(torch.where(was_old, pos, torch.zeros_like(pos)), dim=1).values
    # new points write to a spare column; old pads cut off past ``keep`` stay at 0
    new_pos = torch.zeros((B, K + 1), dtype=torch.long, device=dev)
    new_pos.scatter_(1, torch.where(was_old, srt, torch.full_like(srt, K)), pos)
    return t, layer_of, neuron_of, ident, dS, srt.gather(1, last_old), new_pos[:, :K]


def _value_ties(Z: torch.Tensor, at: torch.Tensor, xi: torch.Tensor, tol: float) -> torch.Tensor:
    """Per line: points ``at`` where some neuron is within tol·max(1, max|z|) of a breakpoint."""
    scale = torch.linalg.vector_norm(Z, ord=float("inf"), dim=2).clamp_min(1.0) * tol
    close = torch.zeros_like(at)
    for x in xi.tolist():
        near = torch.linalg.vector_norm(Z if x == 0.0 else Z - x, ord=float("-inf"), dim=2)
        close |= near <= scale
    return (close & at).sum(dim=1)


def _goodness(net: TorchNet, dense: tuple[bool, ...],
              opens: dict[int, tuple[torch.Tensor, torch.Tensor]],
              layer: torch.Tensor, neuron: torch.Tensor, ident: torch.Tensor,
              n_ids: int) -> torch.Tensor:
    """Per event: is the neuron switching there good (a path of open neurons after it to the
    output, Proposition 9)?  Where a layer's weights have no zero, "reached" is one bit a point."""
    n = layer.shape[0]
    dev = layer.device
    good = torch.zeros(n, dtype=torch.bool, device=dev)
    reach = torch.ones((n, 1), dtype=torch.bool, device=dev)
    for l in range(net.depth - 1, -1, -1):
        sel = layer == l
        if sel.any():
            good[sel] = reach[sel, neuron[sel] if reach.shape[1] > 1 else 0]
        rows = layer < l
        if l == 0 or not rows.any():
            break
        if l in opens:
            ids, op = opens[l]
            where = torch.full((n_ids,), -1, dtype=torch.long, device=dev)
            where[ids] = torch.arange(ids.numel(), device=dev)
            open_l = torch.zeros((n, op.shape[1]), dtype=torch.bool, device=dev)
            open_l[rows] = op[where[ident[rows]]]
        else:  # no breakpoint in this layer: one piece everywhere
            open_l = (net.q[l][0] != 0).reshape(1, -1).expand(n, -1)
        m = open_l & reach
        if dense[l]:
            reach = m.any(dim=1, keepdim=True)
        else:
            m = m.expand(-1, net.W[l].shape[0])
            reach = (m.to(net.dtype) @ (net.W[l] != 0).to(net.dtype)) > 0
    return good
