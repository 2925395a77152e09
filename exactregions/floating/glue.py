"""Linear regions of a float slice: activation polygons glued across edges (Proposition 9).

Across an edge made by neuron z the neighbour's pattern is this polygon's with z's piece
changed; the two are glued iff z is good on neither side (a path of open neurons after it to the
output), then union-find (vectorised label propagation) counts the components.  Where z is good
but the output's affine map is the same on both sides (weights that cancel), the float path
cannot decide and reports a near-tie.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import torch

from exactregions.floating.tensors import TorchNet, chunks, row_chunk

__all__ = ["glue_polygons"]


def _opened(net: TorchNet, l: int, block: torch.Tensor) -> torch.Tensor:
    """Which entries of layer l's pieces ``block`` are on a piece of nonzero slope (for a
    ReLU layer the pieces themselves: 0 closed, 1 open)."""
    q = net.q[l]
    if net.is_relu(l) and float(q[1]) != 0.0:
        return block
    if net.per_neuron(l):   # slopes of their own a neuron: one gather
        return net.neuron_table(l, q != 0, block.long())
    opened = torch.zeros_like(block, dtype=torch.bool)
    for v in torch.nonzero(q != 0).flatten().tolist():   # pieces of φ, not polygons
        opened |= block == v
    return opened


def _good_at(net: TorchNet, patterns: torch.Tensor, poly: torch.Tensor,
             neuron: torch.Tensor) -> torch.Tensor:
    """Is ``neuron`` good in polygon ``poly`` (a path of open neurons after it to the output,
    Proposition 9)?  Where every later layer's weights have no zero, "reached" is one bit a
    polygon, the AND over the later layers of "some neuron open"; otherwise a row of bits a
    layer, propagated back through the weights' support."""
    widths = [w.shape[0] for w in net.W]
    starts = [sum(widths[:l]) for l in range(len(widths))]
    layer = torch.bucketize(neuron, torch.tensor(starts[1:], device=neuron.device), right=True)
    out = torch.ones(poly.shape, dtype=torch.bool, device=poly.device)
    if all(bool((net.W[l] != 0).all()) for l in range(1, net.depth)):
        reach = torch.ones(patterns.shape[0], dtype=torch.bool, device=poly.device)
        for l in range(net.depth - 1, 0, -1):
            for a, b in chunks(patterns.shape[0], row_chunk(widths[l])):
                block = patterns[a:b, starts[l]:starts[l] + widths[l]]
                reach[a:b] &= _opened(net, l, block).any(dim=1)
            sel = layer == l - 1
            out[sel] = reach[poly[sel]]
        return out
    rows, inv = torch.unique(poly, return_inverse=True)
    P = patterns[rows]
    reach = torch.ones((rows.shape[0], 1), dtype=torch.bool, device=poly.device)
    for l in range(net.depth - 1, 0, -1):
        m = _opened(net, l, P[:, starts[l]:starts[l] + widths[l]]).bool() & reach
        reach = (m.to(net.dtype) @ (net.W[l] != 0).to(net.dtype)) > 0
        sel = layer == l - 1
        out[sel] = reach[inv[sel], neuron[sel] - starts[l - 1]]
    return out


def _bit_words(patterns: torch.Tensor, n_bits: int) -> torch.Tensor:
    """The patterns' bits packed into int64 words: (P, words), bit b of entry i at position
    b·N + i (N entries a pattern)."""
    P, N = patterns.shape
    planes = patterns.view(torch.uint8) if n_bits == 1 and patterns.dtype == torch.int8 else \
        torch.cat([(patterns >> b) & 1 for b in range(n_bits)], dim=1).to(torch.uint8)
    pad = (-planes.shape[1]) % 64
    if pad:
        planes = torch.cat([planes, planes.new_zeros((P, pad))], dim=1)
    if planes.device.type == "cpu":   # numpy's packbits is one pass in C
        packed = np.packbits(planes.contiguous().numpy(), axis=1, bitorder="little")
        return torch.from_numpy(packed).view(torch.int64)
    return _pack_octets(planes).view(torch.int64)


def _pack_octets(planes: torch.Tensor) -> torch.Tensor:
    """0/1 bytes ``(P, 8m)`` to octets ``(P, m)`` uint8, byte 8k+i at bit i of octet k, in
    torch on any device: eight bytes read as one little-endian int64 (byte i at bit 8i); the
    multiply moves byte i to bit 56 + i without carries (the shifts 56 - 7i are distinct), and
    the top byte is the octet (the cast to uint8 keeps the low byte of the shifted word)."""
    w8 = planes.contiguous().view(torch.int64)
    return ((w8 * _GATHER_BITS) >> 56).to(torch.uint8)


_GATHER_BITS = sum(1 << (56 - 7 * i) for i in range(8))
assert sys.byteorder == "little", "bit packing reads bytes as little-endian words"


def glue_polygons(net: TorchNet, patterns: torch.Tensor, lab: torch.Tensor,
                  poly: torch.Tensor, n_poly: int, out_map: Callable[[torch.Tensor], torch.Tensor],
                  tol: float) -> tuple[torch.Tensor, int]:
    """Linear-region label of each polygon, and the number of near-ties found while gluing.

    ``patterns (P, N)``: every neuron's piece in each polygon; ``lab, poly``: the rows of the
    polygons' edges (the neuron that made each edge, -1 for the box); ``out_map(P)``: the
    output's affine maps on polygons ``P``, (len(P), 3, n_out).

    Keys: both sides of a z-edge have the same "pattern with z's bits cleared", a multilinear
    hash of the packed bit words (random odd multipliers, wrapping int64); matched pairs are
    then checked word by word, so a hash collision cannot glue two polygons that are not
    neighbours.

    Examples
    --------
    Two squares either side of neuron 0, which is good (its output weight is not zero): not
    glued; and equal output maps on both sides make that edge a near-tie.

    >>> from exactregions.exact.random import random_network
    >>> tn = TorchNet.from_network(random_network([2, 1, 1], seed=0))
    >>> patterns = torch.tensor([[0, 0], [1, 0]], dtype=torch.int8)
    >>> lab = torch.tensor([-1, 0, -1, -1, -1, -1, -1, 0])
    >>> poly = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    >>> same = lambda P: torch.zeros(len(P), 3, 1, dtype=torch.float64)
    >>> labels, ties = glue_polygons(tn, patterns, lab, poly, 2, same, 1e-9)
    >>> labels.tolist(), ties
    ([0, 1], 1)
    """
    dev = patterns.device
    labels = torch.arange(n_poly, device=dev)
    inner = lab >= 0
    if not inner.any():
        return labels, 0
    A = poly[inner]
    z = lab[inner]
    P, N = patterns.shape
    n_bits = max(1, int(patterns.max()).bit_length())
    words = _bit_words(patterns, n_bits)
    mult = torch.randint(-2 ** 62, 2 ** 62, (words.shape[1],),
                         generator=torch.Generator().manual_seed(0)).to(dev) | 1
    h = (words * mult).sum(dim=1)
    key = h[A]
    for b in range(n_bits):   # clear z's bit in every plane (wrapping arithmetic)
        pos = b * N + z
        w_i, bit = pos // 64, pos % 64
        set_ = (words[A, w_i] >> bit) & 1
        key = key - (set_ << bit) * mult[w_i]
    # two edges with the same (key, z) are the two sides of one edge
    order = torch.argsort(z, stable=True)
    order = order[torch.argsort(key[order], stable=True)]
    ks, As, zs = key[order], A[order], z[order]
    same = (ks[1:] == ks[:-1]) & (zs[1:] == zs[:-1])
    a, b, zz = As[:-1][same], As[1:][same], zs[:-1][same]
    keep = a != b
    a, b, zz = a[keep], b[keep], zz[keep]
    x = words[a] ^ words[b]                      # the two patterns' bits that differ
    for bp in range(n_bits):
        pos = bp * N + zz
        x[torch.arange(a.shape[0], device=dev), pos // 64] &= ~(torch.ones_like(pos) << (pos % 64))
    keep = (x == 0).all(dim=1) & (patterns[a, zz] != patterns[b, zz])
    a, b, zz = a[keep], b[keep], zz[keep]
    good = _good_at(net, patterns, torch.cat([a, b]), torch.cat([zz, zz])).view(2, -1)
    glued = ~(good[0] | good[1])
    # a good neuron whose two sides have the same output map (weights that cancel, as integer
    # nets can have): Proposition 9 is generic, the float path cannot decide it: a near-tie
    flat = 0
    sa, sb = a[~glued], b[~glued]
    for c0, c1 in chunks(sa.shape[0], row_chunk(3 * net.W[-1].shape[0])):
        ma, mb = out_map(sa[c0:c1]).flatten(1), out_map(sb[c0:c1]).flatten(1)
        size = torch.maximum(torch.linalg.vector_norm(ma, float("inf"), dim=1),
                             torch.linalg.vector_norm(mb, float("inf"), dim=1)).clamp_min(1.0)
        flat += int((torch.linalg.vector_norm(ma.sub_(mb), float("inf"), dim=1)
                     <= tol * size).sum())
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
    return labels, flat
