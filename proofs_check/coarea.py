"""The integrand of Theorem 3 / Theorem 6 (Proposition 11), evaluated by Monte Carlo in float64.

For distinct neurons z_1..z_k and breakpoints ξ_1..ξ_k, Proposition 11 writes
E[vol_{n-k}(S̃_{z_1..z_k} ∩ K)] = ∫_K E[Y(x)] dx with

    Y(x) = ‖J_{z_1..z_k}(x)‖ · ρ_b(b*_1, …, b*_k) · 1{every z_j good at x},

where b*_j is the bias that puts z_j exactly at ξ_j at x (the co-area change of variables),
u_j(x) the pre-activation of z_j without its bias, and ‖J‖ = det(Gram(∇u_1, …, ∇u_k))^{1/2}.
Here the pre-activation includes the bias (h = u + b, φ(h)), so b*_j = ξ_j − u_j(x).  The
forward pass forces the z_j in layer order: downstream quantities (u of later z's, goodness) are
evaluated with the earlier z's sitting at their breakpoints — exactly the set the co-area
formula integrates over.  A forced neuron's kink is not propagated into later gradients: the
Gram determinant is the same with either side's gradient, since the two differ by a multiple
of the earlier ∇u.

This is statistics, not the exact path: it estimates the right-hand side that the exact
volumes are compared with.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from exactregions.exact.network import Network

__all__ = ["FloatNet", "theorem3_integrand", "neuron_gradient_norms"]


@dataclass(frozen=True)
class FloatNet:
    """float64 copies of a net's weights, biases and activation data (hidden layers and output)."""

    W: tuple[np.ndarray, ...]
    b: tuple[np.ndarray, ...]
    breakpoints: tuple[np.ndarray, ...]
    slopes: tuple[np.ndarray, ...]
    offsets: tuple[np.ndarray, ...]

    @staticmethod
    def of(net: Network) -> "FloatNet":
        """Round the exact net to float64 (for Monte Carlo only)."""
        f = lambda xs: np.array([float(x) for x in xs], dtype=float)  # noqa: E731
        return FloatNet(tuple(np.array([[float(w) for w in r] for r in l.weight]) for l in net.layers),
                        tuple(f(l.bias) for l in net.layers),
                        tuple(f(l.activation.breakpoints) for l in net.layers),
                        tuple(f(l.activation.slopes) for l in net.layers),
                        tuple(f(l.activation.offsets) for l in net.layers))

    def neurons(self) -> list[tuple[int, int]]:
        """(layer, index) of every unit with a breakpoint."""
        return [(l, i) for l, bp in enumerate(self.breakpoints) if bp.size
                for i in range(self.W[l].shape[0])]


def _forced_passes(net: FloatNet, X: np.ndarray, k: int, conditional: bool = True,
                   opens_needed: bool = True
                   ) -> Iterator[tuple[tuple[tuple[int, int], ...], dict, dict, list[np.ndarray]]]:
    """Every forced forward pass of k distinct neurons at breakpoints, all points at once: yields
    (the k-set in layer order, b*, ∇u of each forced neuron, per-layer open masks) for every
    k-set and breakpoint tuple, k-sets in :func:`itertools.combinations` order and each set's
    tuples in :func:`itertools.product` order.

    Each forced neuron's pre-activation is set to its breakpoint (with ``conditional=False``,
    the plain pass: forced neurons keep their own value downstream, the ablation that drops the
    theorem's conditioning).  The passes share their prefixes: the layers before a set's first
    neuron are computed once for all sets, and so on down a tree of choices, layer by layer
    (each pass's arithmetic is the same as a pass of its own).  Once a set is complete, the
    rest of its pass computes only what goodness reads (the open masks; none if not
    ``opens_needed``)."""
    L = len(net.W)
    units = [net.W[l].shape[0] if net.breakpoints[l].size else 0 for l in range(L)]
    later = [sum(units[l + 1:]) for l in range(L)]   # neurons that can still be chosen

    def finish(l: int, a: np.ndarray, opens: list[np.ndarray]) -> list[np.ndarray]:
        for m in range(l, L if opens_needed else l):
            h = a @ net.W[m].T + net.b[m]
            piece = np.searchsorted(net.breakpoints[m], h, side="right")
            q = net.slopes[m][piece]
            opens = opens + [q != 0]
            a = q * h + net.offsets[m][piece]
        return opens

    def layer(l: int, a: np.ndarray, G: np.ndarray, chosen: tuple, bstar: dict, grad: dict,
              opens: list[np.ndarray]) -> Iterator:
        W, b = net.W[l], net.b[l]
        bps, qs, offs = net.breakpoints[l], net.slopes[l], net.offsets[l]
        h = a @ W.T + b
        Gh = np.einsum("oi,pin->pon", W, G)
        piece = np.searchsorted(bps, h, side="right")
        q = qs[piece]
        plain = None   # the unforced continuation, made once
        r = k - len(chosen)
        for m in range(max(0, r - later[l]), min(r, units[l]) + 1):
            for S in itertools.combinations(range(units[l]), m):
                for xis in itertools.product(bps.tolist(), repeat=m):
                    bs, gs = dict(bstar), dict(grad)
                    for i, xi in zip(S, xis):
                        bs[(l, i)] = xi - (h[:, i] - b[i])
                        gs[(l, i)] = Gh[:, i, :]
                    if m and conditional:
                        h2, piece2, is_open = h.copy(), piece.copy(), q != 0
                        for i, xi in zip(S, xis):
                            j = int(np.searchsorted(bps, xi))
                            h2[:, i] = xi
                            piece2[:, i] = j + 1
                            is_open[:, i] = (qs[j] != 0) or (qs[j + 1] != 0)
                        a2 = qs[piece2] * h2 + offs[piece2]
                        qg = qs[piece2]
                        qg[:, list(S)] = 0.0
                        step = (a2, qg, is_open)
                    else:
                        if plain is None:
                            plain = (q * h + offs[piece], q, q != 0)
                        step = plain
                    now = chosen + tuple((l, i) for i in S)
                    if m == r:
                        yield now, bs, gs, finish(l + 1, step[0], opens + [step[2]])
                    else:
                        yield from layer(l + 1, step[0], step[1][:, :, None] * Gh, now, bs, gs,
                                         opens + [step[2]])

    P, n = X.shape
    yield from layer(0, X, np.broadcast_to(np.eye(n), (P, n, n)), (), {}, {}, [])


def _good(net: FloatNet, opens: list[np.ndarray]) -> list[np.ndarray]:
    """Per layer (P, n_l): good = a path of non-zero weights through open neurons to the output."""
    L = len(net.W)
    good = [None] * L
    good[L - 1] = np.ones_like(opens[L - 1], dtype=bool)
    for l in range(L - 2, -1, -1):
        ok = (good[l + 1] & opens[l + 1]).astype(float)
        good[l] = ok @ (net.W[l + 1] != 0).astype(float) > 0
    return good


def theorem3_integrand(net: FloatNet, X: np.ndarray, k: int, bias_std: float,
                       goodness: bool = True, conditional: bool = True,
                       per_set: bool = False) -> np.ndarray | dict[tuple, np.ndarray]:
    """Σ over k-sets of distinct neurons and breakpoint tuples of Y(x), at each row of X: (P,).

    ``goodness=False`` drops the indicator 1{all z_j good}, ``conditional=False`` replaces the
    forced forward pass by the plain one: the two ablations the checks must be able to tell
    from the theorem.  ``per_set=True`` returns {k-set of neurons: (P,)} (Proposition 11).

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> fn = FloatNet.of(random_network([2, 3, 1], seed=0, bias_std=1.0))
    >>> theorem3_integrand(fn, np.zeros((4, 2)), 1, 1.0).shape
    (4,)
    """
    P = X.shape[0]
    total = np.zeros(P)
    sets: dict[tuple, np.ndarray] = {}
    norm = 1.0 / (bias_std * math.sqrt(2 * math.pi))
    parts: dict[tuple, np.ndarray] = {}
    for zs, bstar, grad, opens in _forced_passes(net, X, k, conditional, goodness):
        Gm = np.stack([grad[z] for z in zs], axis=1)  # (P, k, n)
        gram = np.einsum("pkn,pjn->pkj", Gm, Gm)
        vol = np.sqrt(np.clip(np.linalg.det(gram), 0.0, None))
        dens = np.prod([norm * np.exp(-0.5 * (bstar[z] / bias_std) ** 2) for z in zs], axis=0)
        if goodness:
            good = _good(net, opens)
            vol = vol * np.all([good[l][:, i] for (l, i) in zs], axis=0)
        part = parts.get(zs)
        parts[zs] = vol * dens if part is None else part + vol * dens
    for zs in sorted(parts):   # combinations order, as the sums were always made
        total += parts[zs]
        if per_set:
            sets[zs] = parts[zs]
    return sets if per_set else total


def neuron_gradient_norms(net: FloatNet, X: np.ndarray) -> np.ndarray:
    """‖∇z(x)‖ for every neuron z (columns, in :meth:`FloatNet.neurons` order) at each row of X."""
    P, n = X.shape
    a = X
    G = np.broadcast_to(np.eye(n), (P, n, n))
    cols = []
    for l, (W, b) in enumerate(zip(net.W, net.b)):
        h = a @ W.T + b
        Gh = np.einsum("oi,pin->pon", W, G)
        if net.breakpoints[l].size:
            cols.append(np.linalg.norm(Gh, axis=2))
        piece = np.searchsorted(net.breakpoints[l], h, side="right")
        q = net.slopes[l][piece]
        a = q * h + net.offsets[l][piece]
        G = q[:, :, None] * Gh
    return np.concatenate(cols, axis=1)
