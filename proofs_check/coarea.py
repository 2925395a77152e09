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


def _forced_pass(net: FloatNet, X: np.ndarray, forced: dict[tuple[int, int], float],
                 conditional: bool = True):
    """Forward pass with each forced neuron's pre-activation set to its breakpoint (with
    ``conditional=False``, the plain pass: forced neurons keep their own value downstream, the
    ablation that drops the theorem's conditioning).

    Returns (b*, ∇u of each forced neuron in order of ``forced``, per-layer open masks)."""
    P, n = X.shape
    a = X
    G = np.broadcast_to(np.eye(n), (P, n, n))
    bstar: dict[tuple[int, int], np.ndarray] = {}
    grad: dict[tuple[int, int], np.ndarray] = {}
    opens = []
    for l, (W, b) in enumerate(zip(net.W, net.b)):
        h = a @ W.T + b
        Gh = np.einsum("oi,pin->pon", W, G)
        bps, qs, offs = net.breakpoints[l], net.slopes[l], net.offsets[l]
        piece = np.searchsorted(bps, h, side="right")
        q = qs[piece]
        is_open = q != 0
        for (fl, i), xi in forced.items():
            if fl != l:
                continue
            bstar[(fl, i)] = xi - (h[:, i] - b[i])
            grad[(fl, i)] = Gh[:, i, :].copy()
            if not conditional:
                continue
            j = int(np.searchsorted(bps, xi))
            h[:, i] = xi
            piece[:, i] = j + 1
            is_open[:, i] = (qs[j] != 0) or (qs[j + 1] != 0)
        a = qs[piece] * h + offs[piece]
        qg = qs[piece]
        for (fl, i) in forced:
            if fl == l and conditional:
                qg[:, i] = 0.0
        G = qg[:, :, None] * Gh
        opens.append(is_open)
    return bstar, grad, opens


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
    for zs in itertools.combinations(net.neurons(), k):
        part = np.zeros(P)
        for xis in itertools.product(*[net.breakpoints[l] for (l, _) in zs]):
            forced = dict(zip(zs, map(float, xis)))
            bstar, grad, opens = _forced_pass(net, X, forced, conditional)
            Gm = np.stack([grad[z] for z in zs], axis=1)  # (P, k, n)
            gram = np.einsum("pkn,pjn->pkj", Gm, Gm)
            vol = np.sqrt(np.clip(np.linalg.det(gram), 0.0, None))
            dens = np.prod([norm * np.exp(-0.5 * (bstar[z] / bias_std) ** 2) for z in zs], axis=0)
            if goodness:
                good = _good(net, opens)
                vol = vol * np.all([good[l][:, i] for (l, i) in zs], axis=0)
            part += vol * dens
        total += part
        if per_set:
            sets[zs] = part
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
