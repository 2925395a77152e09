"""Networks built by hand whose region counts are known in closed form."""

from __future__ import annotations

from fractions import Fraction

from exactregions.errors import InvalidNetworkError
from exactregions.exact.activation import Activation
from exactregions.exact.network import Layer, Network
from exactregions.exact.rational import exact_rational

__all__ = ["sawtooth_network", "perturb_network"]


def sawtooth_network(n: int) -> Network:
    """Telgarsky's sawtooth: the tent map t(x) = 2x on [0,1/2], 2-2x on [1/2,1] composed n times.

    Each tent is 2 relu(x) - 4 relu(x - 1/2) + 2 relu(x - 1) (3 neurons), folded into the next
    layer's weights; the last layer is linear.  On [0, 1] it has exactly 2^n linear pieces.

    Examples
    --------
    >>> net = sawtooth_network(3)
    >>> net.num_neurons, net.forward([Fraction(1, 16)])
    (9, (Fraction(1, 2),))

    Raises
    ------
    InvalidNetworkError
        If n < 1.
    """
    if n < 1:
        raise InvalidNetworkError("the sawtooth needs n >= 1 tents")
    relu = Activation.relu()
    F = Fraction
    shifts = (F(0), F(-1, 2), F(-1))
    combo = (F(2), F(-4), F(2))
    layers = [Layer(((F(1),), (F(1),), (F(1),)), shifts, relu)]
    for _ in range(n - 1):
        W = tuple(tuple(combo) for _ in range(3))
        layers.append(Layer(W, shifts, relu))
    layers.append(Layer((combo,), (F(0),), Activation.identity()))
    return Network(1, tuple(layers), source=f"Telgarsky sawtooth n={n}")


def perturb_network(net: Network, sigma: float, seed: int) -> Network:
    """``net`` with i.i.d. N(0, σ²) added to every weight and bias (Figure 3's perturbation);
    each float64 draw enters exactly, by its binary value.

    >>> p = perturb_network(sawtooth_network(2), 0.1, seed=0)
    >>> p.widths, p.layers[0].weight[0][0] != 1
    ((1, 3, 3, 1), True)

    Raises
    ------
    InvalidNetworkError
        If sigma is negative or not finite.
    """
    import numpy as np

    if not (sigma >= 0 and np.isfinite(sigma)):
        raise InvalidNetworkError(f"sigma must be a finite number >= 0, got {sigma}")
    rng = np.random.default_rng(seed)
    layers = []
    for layer in net.layers:
        W = tuple(tuple(w + exact_rational(float(rng.normal(0, sigma))) for w in row)
                  for row in layer.weight)
        b = tuple(x + exact_rational(float(rng.normal(0, sigma))) for x in layer.bias)
        layers.append(Layer(W, b, layer.activation))
    return Network(net.input_dim, tuple(layers),
                   source=f"{net.source} + N(0,{sigma}^2) noise seed={seed}")
