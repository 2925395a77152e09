"""Random networks at the paper's initialisation (He-normal weights, normal biases)."""

from __future__ import annotations

from typing import Sequence

import os

import numpy as np

from exactregions.errors import InvalidNetworkError, UnsupportedActivationError
from exactregions.exact.activation import Activation, activation_from_spec
from exactregions.exact.network import Layer, Network

__all__ = ["random_network"]


BYTES_PER_WEIGHT = 400
"""What one exact weight costs, all told (a Fraction of two ~55-bit ints, its row tuple, the
float it came from): the memory check below refuses nets that would not fit."""


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2 ** 30


def random_network(widths: Sequence[int], seed: int = 0, activation: Activation | str | None = None,
                   bias_std: float = 1e-3, output_activation: Activation | str | None = None) -> Network:
    """He-normal weights (variance 2/fan-in) and i.i.d. N(0, bias_std²) biases, §3 of the paper.

    The float64 draws enter the exact path by their exact binary values.

    Parameters
    ----------
    widths : sequence of int
        (n_in, n_1, …, n_L).
    seed : int
        numpy ``default_rng`` seed; the same seed gives the same net.

    Examples
    --------
    >>> net = random_network([2, 4, 1], seed=0)
    >>> net.widths
    (2, 4, 1)

    Raises
    ------
    InvalidNetworkError
        If fewer than two widths are given, one is not positive, or the net would not fit in
        this machine's memory (checked before anything is allocated).
    UnsupportedActivationError
        If ``activation`` is not an :class:`Activation` or the name of a PWL one.
    """
    try:
        widths = [int(w) for w in widths]
    except (TypeError, ValueError):
        raise InvalidNetworkError(f"widths must be integers, got {widths!r}") from None
    if len(widths) < 2 or min(widths) < 1:
        raise InvalidNetworkError(f"widths must be at least two positive integers, got {widths}")
    weights = sum(a * b + b for a, b in zip(widths, widths[1:]))
    if weights * BYTES_PER_WEIGHT > _memory_bytes() // 2:
        raise InvalidNetworkError(
            f"widths {widths} make {weights:,} exact weights (~{weights * BYTES_PER_WEIGHT / 2**30:.0f}"
            f" GiB), more than half of this machine's memory")
    if not (bias_std >= 0 and np.isfinite(bias_std)):
        raise InvalidNetworkError(f"bias_std must be a finite number >= 0, got {bias_std}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidNetworkError(f"seed must be a whole number from 0 up, got {seed!r}")
    act = _activation(activation, Activation.relu())
    out_act = _activation(output_activation, Activation.identity())
    rng = np.random.default_rng(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
        b = rng.normal(0.0, bias_std, size=fan_out) if bias_std > 0 else np.zeros(fan_out)
        a = act if i < len(widths) - 2 else out_act
        layers.append(Layer.from_numbers(W.tolist(), b.tolist(), a))
    return Network(widths[0], tuple(layers),
                   source=f"random He-normal widths={widths} seed={seed} bias_std={bias_std}")


def _activation(value: Activation | str | None, default: Activation) -> Activation:
    if value is None:
        return default
    if isinstance(value, Activation):
        return value
    if isinstance(value, str):
        return activation_from_spec(value)
    raise UnsupportedActivationError(
        f"activation must be an Activation or a name such as 'relu', got {type(value).__name__}")
