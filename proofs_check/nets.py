"""The random and constructed networks the checks run on (specs are plain tuples, so Dask can
ship them; the network is built inside the task from the spec and its seed)."""

from __future__ import annotations

from fractions import Fraction
from collections.abc import Callable
from typing import Any

from exactregions.exact.activation import Activation, activation_from_spec
from exactregions.exact.network import Layer, Network
from exactregions.exact.random import random_network

__all__ = ["ACTIVATIONS", "make_activation", "make_net", "breakpoint_count", "dead_neuron_net",
           "float_net", "analyse_spec"]

# name -> activation spec (the network file format's).  ``pwl0`` has a zero-slope middle piece,
# so neurons on it are dead (Proposition 9's "good" matters); ``zigzag`` has |φ'| = 1 everywhere
# and two breakpoints, ``abs`` one: the pair isolates the factor T of Theorem 1.
ACTIVATIONS: dict[str, Any] = {
    "relu": "relu",
    "leaky_relu": {"name": "leaky_relu", "negative_slope": "1/10"},
    "hardtanh": "hardtanh",
    "pwl0": {"name": "pwl", "breakpoints": ["-1/2", "1/2"], "slopes": [1, 0, 1],
             "value_at_first": "-1/2"},
    "abs": "abs",
    "zigzag": {"name": "pwl", "breakpoints": ["-1/20", "1/20"], "slopes": [-1, 1, -1],
               "value_at_first": "1/20"},
}


def make_activation(name: str) -> Activation:
    """The activation registered under ``name``.

    >>> make_activation("pwl0").slopes
    (Fraction(1, 1), Fraction(0, 1), Fraction(1, 1))
    """
    return activation_from_spec(ACTIVATIONS[name])


def breakpoint_count(name: str) -> int:
    """T, the number of breakpoints.

    >>> breakpoint_count("hardtanh"), breakpoint_count("relu")
    (2, 1)
    """
    return make_activation(name).num_breakpoints


def make_net(widths: tuple[int, ...], activation: str, seed: int, bias_std: float) -> Network:
    """He-normal weights, N(0, bias_std²) biases, the named activation on hidden layers and an
    identity output (the paper's setting).

    >>> make_net((2, 3, 1), "hardtanh", 0, 0.5).widths
    (2, 3, 1)
    """
    return random_network(list(widths), seed=seed, activation=make_activation(activation),
                          bias_std=bias_std)


def dead_neuron_net(seed: int, n_in: int = 2) -> Network:
    """A generic 2-6-4-1 ReLU net (n_in-6-4-1) made to have neurons that are never good: hidden
    neuron (1, 3) has zero weight to the output, and input neuron (0, 5) feeds only it.  Both
    still switch inside [-1, 1]^n_in, so ∪ S_z is strictly larger than B_N there.

    >>> dead_neuron_net(3, n_in=3).widths
    (3, 6, 4, 1)
    """
    base = random_network([n_in, 6, 4, 1], seed=seed, bias_std=0.1)
    l0, l1, l2 = base.layers
    W1 = [list(r) for r in l1.weight]
    for j in range(3):
        W1[j][5] = Fraction(0)
    W2 = [list(r) for r in l2.weight]
    W2[0][3] = Fraction(0)
    b0 = list(l0.bias)
    b0[5] = Fraction(1, 10)
    return Network(n_in, (Layer(l0.weight, tuple(b0), l0.activation),
                       Layer(tuple(map(tuple, W1)), l1.bias, l1.activation),
                       Layer(tuple(map(tuple, W2)), l2.bias, l2.activation)),
                   source=f"dead-neuron net seed={seed}")


def float_net(widths: tuple[int, ...], activation: str, seed: int, bias_std: float,
              device: str = "cpu"):
    """The same net as :func:`make_net` (same draws, same float64 values), built straight into
    a :class:`~exactregions.floating.tensors.TorchNet` without the exact detour — for the
    MNIST-scale float checks.

    >>> import torch
    >>> a = float_net((3, 4, 1), "relu", 7, 0.5)
    >>> from exactregions.floating.tensors import TorchNet
    >>> b = TorchNet.from_network(make_net((3, 4, 1), "relu", 7, 0.5))
    >>> all(torch.equal(x, y) for x, y in zip(a.W + a.b, b.W + b.b))
    True
    """
    import numpy as np
    import torch

    from exactregions.floating.tensors import TorchNet

    act = make_activation(activation)
    ident = activation_from_spec("identity")
    rng = np.random.default_rng(seed)
    t = lambda v: torch.as_tensor(np.asarray(v, dtype=float), device=device)  # noqa: E731
    W, b, xi, q, p = [], [], [], [], []
    widths = [int(w) for w in widths]
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        W.append(t(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))))
        b.append(t(rng.normal(0.0, bias_std, size=fan_out) if bias_std > 0 else np.zeros(fan_out)))
        a = act if i < len(widths) - 2 else ident
        xi.append(t([float(x) for x in a.breakpoints]))
        q.append(t([float(x) for x in a.slopes]))
        p.append(t([float(x) for x in a.offsets]))
    return TorchNet(tuple(W), tuple(b), tuple(xi), tuple(q), tuple(p))


def analyse_spec(spec: tuple, analyse: Callable[[Network, int], dict[str, Any]],
                 special: Callable[[str, tuple[int, ...], int], Network | None] = lambda *_: None,
                 ) -> dict[str, Any]:
    """One task of a check: build the net of ``spec = (kind, widths, activation, seed,
    bias_std)`` (``special(kind, widths, seed)`` for constructed nets, :func:`make_net`
    otherwise), run ``analyse`` on it and tag the row with the spec.

    >>> analyse_spec(("random", (2, 3, 1), "relu", 0, 0.5), lambda net, n: {"n": n})["n"]
    2
    """
    kind, widths, act, seed, bias_std = spec
    net = special(kind, widths, seed) or make_net(widths, act, seed, bias_std)
    out = analyse(net, widths[0])
    out.update({"kind": kind, "activation": act, "widths": list(widths), "seed": seed})
    return out
