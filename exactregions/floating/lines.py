"""Regions along lines, batched (Theorem 1, Figure 5 of the paper).

The paper's method, vectorised: along a segment x(t) = p + t d every pre-activation is piecewise
affine in t, with kinks only at the breakpoints found in earlier layers.  So a layer needs its
pre-activations only at the current breakpoints (one matmul over all of them, all lines at once);
a neuron crosses ξ inside a piece iff z - ξ changes sign between the piece's ends, at the
linearly interpolated t; and the new points' pre-activations are interpolated too.  Ragged pieces
live in flat tensors sorted by (line, t): there is no Python loop over lines, pieces or points.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from exactregions.errors import InvalidDomainError
from exactregions.floating.tensors import DEFAULT_TOL, TorchNet

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


def _sort_points(line: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    order = torch.argsort(t, stable=True)
    return order[torch.argsort(line[order], stable=True)]


def line_regions(net: TorchNet, p: torch.Tensor, d: torch.Tensor, t0: float = 0.0, t1: float = 1.0,
                 tol: float = DEFAULT_TOL, chunk: int | None = None) -> LineResult:
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
        Lines per batch (bounds memory: a batch holds every breakpoint's pre-activations).
        Default: all lines at once for narrow nets, fewer for wide ones.

    Returns
    -------
    LineResult

    Raises
    ------
    InvalidDomainError
        On shape mismatch or an empty range.

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
    if chunk is None:
        # about 2 GB of float64 pre-activations: ~#neurons breakpoints a line, width-wide rows
        per_line = max(1, net.num_neurons()) * max(net.widths) * 8 * 3
        chunk = max(1, int(2e9 // per_line))
    if p.shape[0] > chunk:
        parts = [line_regions(net, p[i:i + chunk], d[i:i + chunk], t0, t1, tol, chunk)
                 for i in range(0, p.shape[0], chunk)]
        offs = [i for i in range(0, p.shape[0], chunk)]
        return LineResult(torch.cat([r.t for r in parts]),
                          torch.cat([r.line + o for r, o in zip(parts, offs)]),
                          torch.cat([r.layer for r in parts]), torch.cat([r.neuron for r in parts]),
                          torch.cat([r.good for r in parts]),
                          torch.cat([r.activation_pieces for r in parts]),
                          torch.cat([r.linear_pieces for r in parts]),
                          torch.cat([r.near_ties for r in parts]), tol)
    B = p.shape[0]
    dev, dt = net.device, net.dtype
    p, d = p.to(dev, dt), d.to(dev, dt)
    # points: both ends of every line
    line = torch.arange(B, device=dev).repeat_interleave(2)
    t = torch.tensor([t0, t1], dtype=dt, device=dev).repeat(B)
    src_layer = torch.full_like(line, -1)
    src_neuron = torch.full_like(line, -1)
    H = p[line] + t[:, None] * d[line]
    span = t1 - t0
    zs: list[torch.Tensor] = []
    for l in range(net.depth):
        Z = H @ net.W[l].T + net.b[l]                              # (M, n_l)
        xi = net.xi[l]
        if xi.numel():
            same = line[1:] == line[:-1]                            # consecutive points, one line
            za, zb = Z[:-1], Z[1:]
            ta, tb = t[:-1], t[1:]
            new_t, new_line, new_neuron, new_Z = [], [], [], []
            for k in range(xi.numel()):  # loop over the T breakpoints of φ only
                sa, sb = za - xi[k], zb - xi[k]
                cross = (sa * sb < 0) & same[:, None]
                pair, neuron = torch.nonzero(cross, as_tuple=True)
                lam = sa[pair, neuron] / (sa[pair, neuron] - sb[pair, neuron])
                new_t.append(ta[pair] + lam * (tb[pair] - ta[pair]))
                new_line.append(line[pair])
                new_neuron.append(neuron)
                new_Z.append(za[pair] + lam[:, None] * (zb[pair] - za[pair]))
                # the switching neuron sits exactly on ξ
                new_Z[-1][torch.arange(len(pair), device=dev), neuron] = xi[k]
            nt = torch.cat(new_t)
            order_new = torch.cat(new_line)
            t = torch.cat([t, nt])
            line = torch.cat([line, order_new])
            src_layer = torch.cat([src_layer, torch.full_like(order_new, l)])
            src_neuron = torch.cat([src_neuron, torch.cat(new_neuron)])
            Z = torch.cat([Z, torch.cat(new_Z)])
            # earlier layers' pre-activations at the new points, interpolated the same way
            order = _sort_points(line, t)
            t, line, src_layer, src_neuron, Z = t[order], line[order], src_layer[order], \
                src_neuron[order], Z[order]
            zs = [_interpolate_prev(zp, order, t, line) for zp in zs]
        zs.append(Z)
        H = net.act(l, Z)
    interior = src_layer >= 0
    # goodness of the switching neuron: a path of open neurons after it to the output
    good = _goodness(net, zs, src_layer, src_neuron) & interior
    counts = torch.bincount(line[interior], minlength=B)
    lin_counts = torch.bincount(line[good], minlength=B)
    # near-ties: consecutive events too close to order, or a second neuron at its breakpoint
    gaps = (t[1:] - t[:-1]).abs() <= tol * span
    tie = gaps & (line[1:] == line[:-1])
    ties = torch.bincount(line[1:][tie], minlength=B)
    ties = ties + _value_ties(net, zs, src_layer, src_neuron, line, B, tol)
    keep = interior
    return LineResult(t[keep], line[keep], src_layer[keep], src_neuron[keep], good[keep],
                      counts + 1, lin_counts + 1, ties, tol)


def _interpolate_prev(Zp: torch.Tensor, order: torch.Tensor, t: torch.Tensor,
                      line: torch.Tensor) -> torch.Tensor:
    """Earlier layers' pre-activations at newly inserted points: affine between known points."""
    n_old = Zp.shape[0]
    is_old = order < n_old
    out = torch.empty((order.shape[0], Zp.shape[1]), dtype=Zp.dtype, device=Zp.device)
    out[is_old] = Zp[order[is_old]]
    if (~is_old).any():
        idx = torch.arange(order.shape[0], device=Zp.device)
        old_idx = torch.where(is_old, idx, torch.full_like(idx, -1))
        prev_old = torch.cummax(old_idx, 0).values                 # last old point at or before
        rev = torch.where(is_old, idx, torch.full_like(idx, order.shape[0]))
        next_old = torch.flip(torch.cummin(torch.flip(rev, [0]), 0).values, [0])
        new = ~is_old
        a, b = prev_old[new], next_old[new]
        lam = (t[new] - t[a]) / (t[b] - t[a])
        out[new] = out[a] + lam[:, None] * (out[b] - out[a])
    return out


def _goodness(net: TorchNet, zs: list[torch.Tensor], src_layer: torch.Tensor,
              src_neuron: torch.Tensor) -> torch.Tensor:
    """Per point: is the neuron switching there good (Proposition 9)?"""
    M = src_layer.shape[0]
    L = net.depth
    dev = src_layer.device
    good_at = torch.zeros(M, dtype=torch.bool, device=dev)
    reach = torch.ones((M, net.W[-1].shape[0]), dtype=net.dtype, device=dev)   # good, layer L-1
    for l in range(L - 1, -1, -1):
        sel = src_layer == l
        if sel.any():
            good_at[sel] = reach[sel, src_neuron[sel]] > 0
        if l == 0:
            break
        # neurons of layer l that are open and good, then back through the non-zero weights
        openl = (net.q[l][net.piece(l, zs[l])] != 0).to(net.dtype)
        reach = ((openl * reach) @ (net.W[l] != 0).to(net.dtype)) > 0
        reach = reach.to(net.dtype)
    return good_at


def _value_ties(net: TorchNet, zs: list[torch.Tensor], src_layer: torch.Tensor,
                src_neuron: torch.Tensor, line: torch.Tensor, B: int, tol: float) -> torch.Tensor:
    """Points where a neuron other than the switching one is within tol of a breakpoint."""
    ties = torch.zeros(B, dtype=torch.long, device=line.device)
    for l, Z in enumerate(zs):
        xi = net.xi[l]
        if not xi.numel():
            continue
        scale = Z.abs().amax(dim=1, keepdim=True).clamp_min(1.0)
        close = ((Z[:, :, None] - xi).abs() <= tol * scale[:, :, None]).any(dim=2)
        own = (src_layer == l)
        close[own, src_neuron[own].clamp_min(0)] = False
        close[src_layer < 0] = False  # segment ends are not events
        ties += torch.bincount(line[close.any(dim=1)], minlength=B)
    return ties
