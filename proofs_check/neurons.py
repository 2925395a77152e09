"""Exact neuron-level facts at a point or on a cell, computed from the network alone.

These are the checks' independent view of a net: which neurons sit at a breakpoint at x, which
are good there (Appendix A: a path to the output whose neurons are all open), and the exact
gradients of every pre-activation on a cell.  They do not use the region complex's own
bookkeeping, so comparing the two can catch a wrong complex.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from exactregions.exact.network import Network

__all__ = ["preactivations", "tight_neurons", "good_neurons", "cell_gradients",
           "output_jacobian", "rank"]

NeuronId = tuple[int, int]


def preactivations(net: Network, x: Sequence[Fraction]) -> list[list[Fraction]]:
    """Exact pre-activations (bias included) of every layer at ``x``."""
    return net.preactivations(list(x))


def tight_neurons(net: Network, pre: list[list[Fraction]]) -> set[NeuronId]:
    """Neurons whose pre-activation is exactly at a breakpoint of their activation."""
    out = set()
    for l, (layer, z) in enumerate(zip(net.layers, pre)):
        bps = set(layer.activation.breakpoints)
        out |= {(l, i) for i, t in enumerate(z) if t in bps}
    return out


def _open(act, t: Fraction) -> bool:
    """Open at pre-activation t: φ' ≠ 0 there; at a breakpoint, on either adjacent piece."""
    bps = act.breakpoints
    if t in bps:
        j = bps.index(t)
        return act.slopes[j] != 0 or act.slopes[j + 1] != 0
    return act.slopes[act.piece(t)] != 0


def good_neurons(net: Network, pre: list[list[Fraction]]) -> set[NeuronId]:
    """Neurons good at the point with pre-activations ``pre``: some path to an output through
    non-zero weights whose later neurons (outputs included) are all open there.  Output
    neurons are good.

    Examples
    --------
    >>> from exactregions.exact.netfile import network_from_dict
    >>> net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
    ...   "layers": [{"weight": [[1], [1]], "bias": [0, 0], "activation": "relu"},
    ...              {"weight": [[1, 0]], "bias": [-5], "activation": "relu"},
    ...              {"weight": [[1]], "bias": [0], "activation": "identity"}]})
    >>> sorted(good_neurons(net, preactivations(net, [Fraction(1)])))  # layer-1 neuron is off
    [(1, 0), (2, 0)]
    """
    L = len(net.layers)
    good = [[False] * layer.out_dim for layer in net.layers]
    good[L - 1] = [True] * net.layers[L - 1].out_dim
    for l in range(L - 2, -1, -1):
        nxt = net.layers[l + 1]
        ok_next = [good[l + 1][j] and _open(nxt.activation, pre[l + 1][j])
                   for j in range(nxt.out_dim)]
        for i in range(net.layers[l].out_dim):
            good[l][i] = any(ok_next[j] and nxt.weight[j][i] != 0 for j in range(nxt.out_dim))
    return {(l, i) for l in range(L) for i, g in enumerate(good[l]) if g}


def cell_gradients(net: Network, pattern: Sequence[Sequence[int]]) -> list[list[tuple[Fraction, ...]]]:
    """Exact ∇z of every pre-activation z on the cell with this activation pattern.

    >>> from exactregions.exact.random import random_network
    >>> net = random_network([2, 3, 1], seed=0)
    >>> g = cell_gradients(net, [(1, 1, 1), (0,)])
    >>> g[0][0] == net.layers[0].weight[0]
    True
    """
    grads: list[list[tuple[Fraction, ...]]] = []
    prev = None
    for l, layer in enumerate(net.layers):
        if prev is None:
            rows = [tuple(row) for row in layer.weight]
        else:
            rows = []
            for wrow in layer.weight:
                acc = [Fraction(0)] * net.input_dim
                for w, g in zip(wrow, prev):
                    if w:
                        for c, gc in enumerate(g):
                            if gc:
                                acc[c] += w * gc
                rows.append(tuple(acc))
        grads.append(rows)
        act = layer.activation
        prev = [tuple(act.slopes[j] * x for x in r) for r, j in zip(rows, pattern[l])]
    return grads


def output_jacobian(net: Network, pattern: Sequence[Sequence[int]]) -> tuple[tuple[Fraction, ...], ...]:
    """The exact Jacobian of all outputs on the cell with this pattern."""
    last = cell_gradients(net, pattern)[-1]
    act = net.layers[-1].activation
    return tuple(tuple(act.slopes[j] * x for x in r) for r, j in zip(last, pattern[-1]))


def rank(rows: Sequence[Sequence[Fraction]]) -> int:
    """Exact rank by fraction-free-enough Gaussian elimination.

    >>> rank([(Fraction(1), Fraction(2)), (Fraction(2), Fraction(4))])
    1
    """
    M = [list(map(Fraction, r)) for r in rows]
    r = 0
    ncols = len(M[0]) if M else 0
    for c in range(ncols):
        piv = next((i for i in range(r, len(M)) if M[i][c] != 0), None)
        if piv is None:
            continue
        M[r], M[piv] = M[piv], M[r]
        for i in range(r + 1, len(M)):
            if M[i][c] != 0:
                f = M[i][c] / M[r][c]
                M[i] = [a - f * b for a, b in zip(M[i], M[r])]
        r += 1
    return r
