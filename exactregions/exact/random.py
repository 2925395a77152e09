"""Random networks at the paper's initialisation (He-normal weights, normal biases)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from exactregions.errors import InvalidNetworkError
from exactregions.exact.activation import Activation
from exactregions.exact.network import Layer, Network

__all__ = ["random_network"]


def random_network(widths: Sequence[int], seed: int = 0, activation: Activation | None = None,
                   bias_std: float = 1e-3, output_activation: Activation | None = None) -> Network:
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
        If fewer than two widths are given or one is not positive.
    """
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise InvalidNetworkError(f"widths must be at least two positive integers, got {widths}")
    if not (bias_std >= 0 and np.isfinite(bias_std)):
        raise InvalidNetworkError(f"bias_std must be a finite number >= 0, got {bias_std}")
    act = activation or Activation.relu()
    out_act = output_activation or Activation.identity()
    rng = np.random.default_rng(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
        b = rng.normal(0.0, bias_std, size=fan_out) if bias_std > 0 else np.zeros(fan_out)
        a = act if i < len(widths) - 2 else out_act
        layers.append(Layer.from_numbers(W.tolist(), b.tolist(), a))
    return Network(widths[0], tuple(layers),
                   source=f"random He-normal widths={widths} seed={seed} bias_std={bias_std}")
