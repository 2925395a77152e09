"""Distance from points to the boundary of their activation region, and to B_N (Corollary 5).

For x in its activation region P, dist(x, ∂P) = min over neurons z and breakpoints ξ of
|z(x) - ξ| / ‖∇z(x)‖ (``docs/concepts.md``); restricted to neurons good at x it is the
paper's estimate of dist(x, B_N).  All neurons' input gradients come from batched Jacobian
products layer by layer, J_l = W_l diag(φ'_{l-1}) J_{l-1}, never autograd one neuron at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from exactregions.errors import InvalidDomainError
from exactregions.floating.tensors import DEFAULT_TOL, TorchNet, threads_by_size

__all__ = ["DistanceResult", "boundary_distance"]


@dataclass(frozen=True)
class DistanceResult:
    """Per point (B,): ``region`` = dist to the activation region's boundary; ``good`` = the same
    min over good neurons (the estimate of dist(x, B_N)); ``near_ties`` = points with a neuron
    within ``tol`` of a breakpoint (their pattern, hence their distance, is not settled)."""

    region: torch.Tensor
    good: torch.Tensor
    near_ties: torch.Tensor
    tol: float


@threads_by_size
def boundary_distance(net: TorchNet, x: torch.Tensor, chunk: int = 1024,
                      tol: float = DEFAULT_TOL,
                      progress: Callable[[int, int], None] | None = None) -> DistanceResult:
    """Distances for a batch of points ``x: (B, n_in)`` (chunked to bound memory;
    ``progress(done, total)`` is called after each chunk).

    Raises
    ------
    InvalidDomainError
        If ``x`` is not (B, n_in), is empty, or holds NaN or inf.

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> tn = TorchNet.from_network(random_network([2, 4, 1], seed=0))
    >>> r = boundary_distance(tn, torch.zeros(3, 2, dtype=torch.float64))
    >>> r.region.shape
    torch.Size([3])
    """
    if x.ndim != 2 or x.shape[1] != net.widths[0]:
        raise InvalidDomainError(f"points must be (B, {net.widths[0]}), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise InvalidDomainError("no points")
    if not bool(torch.isfinite(x).all()):
        raise InvalidDomainError("the points must be finite (NaN or inf found)")
    outs = []
    for i in range(0, x.shape[0], chunk):
        outs.append(_distance_chunk(net, x[i:i + chunk].to(net.device, net.dtype), tol))
        if progress is not None:
            progress(min(i + chunk, x.shape[0]), x.shape[0])
    return DistanceResult(torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs]),
                          torch.cat([o[2] for o in outs]), tol)


def _distance_chunk(net: TorchNet, x: torch.Tensor, tol: float):
    B = x.shape[0]
    h = x
    J = None                                  # (B, n_{l-1}, n_in): ∂h_{l-1}/∂x; None = identity
    dists, opens, zs = [], [], []
    for l in range(net.depth):
        W = net.W[l]
        z = h @ W.T + net.b[l]
        G = W.expand(B, *W.shape) if J is None else torch.matmul(W, J)   # ∂z_l/∂x
        xi = net.xi[l]
        if xi.numel():
            norm = torch.linalg.vector_norm(G, dim=2)
            gap = (z[:, :, None] - xi).abs().amin(dim=2)
            d = torch.where(norm > 0, gap / norm, torch.full_like(gap, float("inf")))
        else:
            d = torch.full_like(z, float("inf"))
        dists.append(d)
        zs.append(z)
        j = net.piece(l, z)
        slope = net.piece_slope(l, j)
        opens.append(slope != 0)
        h = slope * z + net.piece_offset(l, j)
        J = slope[:, :, None] * G
    # goodness, backwards: good_L = all outputs; good_l = reaches an open good neuron of l+1
    L = net.depth
    good = [None] * L
    good[L - 1] = torch.ones_like(opens[L - 1])
    for l in range(L - 2, -1, -1):
        nxt = (opens[l + 1] & good[l + 1]).to(net.dtype)
        good[l] = (nxt @ (net.W[l + 1] != 0).to(net.dtype)) > 0
    inf = torch.tensor(float("inf"), dtype=net.dtype, device=x.device)
    region = torch.stack([d.amin(dim=1) for d in dists]).amin(dim=0)
    good_d = torch.stack([torch.where(g, d, inf).amin(dim=1) for d, g in zip(dists, good)]).amin(dim=0)
    ties = torch.zeros(B, dtype=torch.bool, device=x.device)
    for l, z in enumerate(zs):
        xi = net.xi[l]
        if xi.numel():
            scale = z.abs().amax(dim=1, keepdim=True).clamp_min(1.0)
            ties |= ((z[:, :, None] - xi).abs() <= tol * scale[:, :, None]).any(dim=2).any(dim=1)
    return region, good_d, ties
