"""Networks built by hand whose region counts are known in closed form."""

from __future__ import annotations

from fractions import Fraction

from exactregions.errors import InvalidNetworkError
from exactregions.exact.activation import Activation
from exactregions.exact.network import Layer, Network

__all__ = ["sawtooth_network"]


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
