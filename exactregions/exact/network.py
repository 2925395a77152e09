"""Feed-forward piecewise-linear networks as immutable exact values."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from exactregions.errors import InvalidNetworkError
from exactregions.exact.activation import Activation
from exactregions.exact.rational import exact_rational

__all__ = ["Layer", "Network", "NeuronId"]

NeuronId = tuple[int, int]
"""A neuron as (layer index from 0, index in the layer)."""


@dataclass(frozen=True, slots=True, repr=False)
class Layer:
    """One affine layer followed by its activation: h ↦ φ(W h + b).

    ``weight`` has shape (out, in) as a tuple of row tuples of Fractions.  ``activation`` is one
    :class:`Activation` for the whole layer, or a tuple of one per neuron (a per-channel PReLU):
    those share their breakpoints and differ in slopes.  A tuple of equal activations is stored
    as the one activation.

    Examples
    --------
    >>> lay = Layer.from_numbers([[1], [2]], [0, 0], (Activation.leaky_relu("1/10"),
    ...                                               Activation.leaky_relu("1/4")))
    >>> lay.per_neuron, lay.breakpoints, lay.neuron_activation(1).slopes[0]
    (True, (Fraction(0, 1),), Fraction(1, 4))
    """

    weight: tuple[tuple[Fraction, ...], ...]
    bias: tuple[Fraction, ...]
    activation: Activation | tuple[Activation, ...]

    def __post_init__(self) -> None:
        act = self.activation
        if isinstance(act, Activation):
            return
        acts = tuple(act)
        if len(acts) != len(self.weight) or not all(isinstance(a, Activation) for a in acts):
            raise InvalidNetworkError(
                f"a layer of {len(self.weight)} neurons needs one activation or {len(self.weight)} "
                f"(one per neuron), got {len(acts)}")
        if any(a.breakpoints != acts[0].breakpoints for a in acts):
            raise InvalidNetworkError(
                "the neurons of a layer must share their activation's breakpoints (their slopes "
                "may differ, as in a per-channel PReLU)")
        object.__setattr__(self, "activation", acts[0] if len(set(acts)) == 1 else acts)

    @property
    def per_neuron(self) -> bool:
        """Whether the neurons have activations of their own (different slopes)."""
        return not isinstance(self.activation, Activation)

    @property
    def activations(self) -> tuple[Activation, ...]:
        """One activation per neuron."""
        act = self.activation
        return act if isinstance(act, tuple) else (act,) * self.out_dim

    def neuron_activation(self, i: int) -> Activation:
        """The activation of neuron ``i``."""
        act = self.activation
        return act[i] if isinstance(act, tuple) else act

    @property
    def breakpoints(self) -> tuple[Fraction, ...]:
        """ξ_1 < … < ξ_T, shared by the layer's neurons."""
        act = self.activation
        return (act[0] if isinstance(act, tuple) else act).breakpoints

    @property
    def activation_name(self) -> str:
        """The activation's name (``prelu`` for different slopes per neuron)."""
        act = self.activation
        return "prelu" if isinstance(act, tuple) else act.name

    @property
    def in_dim(self) -> int:
        return len(self.weight[0])

    @property
    def out_dim(self) -> int:
        return len(self.weight)

    @staticmethod
    def from_numbers(weight: Sequence[Sequence[Any]], bias: Sequence[Any],
                     activation: "Activation | Sequence[Activation]") -> "Layer":
        """Build a layer, sending every number through :func:`exact_rational`.

        Raises
        ------
        InvalidNetworkError
            On ragged or empty weights, or a bias of the wrong length.
        """
        rows = [list(r) if not isinstance(r, (str, bytes)) else None for r in weight]
        if not rows or any(r is None or len(r) == 0 for r in rows):
            raise InvalidNetworkError("a layer's weight must be a non-empty 2-D array")
        width = len(rows[0])
        if any(len(r) != width for r in rows):  # type: ignore[arg-type]
            raise InvalidNetworkError("a layer's weight rows have different lengths")
        if isinstance(bias, (str, bytes)) or len(bias) != len(rows):
            raise InvalidNetworkError(
                f"bias has length {len(bias)} but the weight has {len(rows)} rows")
        W = tuple(tuple(exact_rational(x) for x in r) for r in rows)  # type: ignore[union-attr]
        b = tuple(exact_rational(x) for x in bias)
        act = activation if isinstance(activation, Activation) else tuple(activation)
        return Layer(W, b, act)

    def __repr__(self) -> str:
        return f"Layer({self.out_dim}x{self.in_dim}, {self.activation_name})"


@dataclass(frozen=True, slots=True, repr=False)
class Network:
    """A fully connected feed-forward net x ↦ φ_L(W_L … φ_1(W_1 x + b_1) …).

    Every layer's neurons count as neurons of the net (the last layer's too, when its activation
    has breakpoints). ``source`` records where the numbers came from.

    Examples
    --------
    >>> from exactregions.exact.activation import Activation
    >>> net = Network(1, (Layer.from_numbers([[1], [1]], [0, -1], Activation.relu()),
    ...                   Layer.from_numbers([[1, -2]], [0], Activation.identity())))
    >>> net.forward([Fraction(3, 2)])
    (Fraction(1, 2),)
    """

    input_dim: int
    layers: tuple[Layer, ...]
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.input_dim, int) or self.input_dim < 1:
            raise InvalidNetworkError(f"input_dim must be a positive integer, got {self.input_dim!r}")
        if not self.layers:
            raise InvalidNetworkError("a network needs at least one layer")
        width = self.input_dim
        for i, layer in enumerate(self.layers):
            if layer.in_dim != width:
                raise InvalidNetworkError(
                    f"layer {i} weight has shape ({layer.out_dim}, {layer.in_dim}) but its input "
                    f"has dimension {width}")
            width = layer.out_dim

    @property
    def output_dim(self) -> int:
        return self.layers[-1].out_dim

    @property
    def widths(self) -> tuple[int, ...]:
        """(n_in, n_1, …, n_L)."""
        return (self.input_dim,) + tuple(layer.out_dim for layer in self.layers)

    def neurons(self) -> list[NeuronId]:
        """All neurons whose activation has at least one breakpoint, as (layer, index)."""
        return [(l, i) for l, layer in enumerate(self.layers)
                if layer.breakpoints for i in range(layer.out_dim)]

    @property
    def num_neurons(self) -> int:
        """#neurons in the paper's sense (units with a non-linearity)."""
        return len(self.neurons())

    def forward_with_pattern(self, x: Sequence[Fraction]) -> tuple[tuple[Fraction, ...],
                                                                     tuple[tuple[int, ...], ...]]:
        """Exact forward pass: outputs and the activation pattern (piece of every neuron)."""
        if len(x) != self.input_dim:
            raise InvalidNetworkError(f"input has dimension {len(x)}, the net wants {self.input_dim}")
        h = [exact_rational(v) for v in x]
        pattern = []
        for layer in self.layers:
            z = [sum((w * v for w, v in zip(row, h)), b) for row, b in zip(layer.weight, layer.bias)]
            acts = layer.activations
            pieces = tuple(act.piece(t) for act, t in zip(acts, z))
            pattern.append(pieces)
            h = [act.slopes[j] * t + act.offsets[j] for act, t, j in zip(acts, z, pieces)]
        return tuple(h), tuple(pattern)

    def forward(self, x: Sequence[Fraction]) -> tuple[Fraction, ...]:
        """Exact outputs at ``x``."""
        return self.forward_with_pattern(x)[0]

    def preactivations(self, x: Sequence[Fraction]) -> list[list[Fraction]]:
        """Exact pre-activations z(x) of every layer."""
        h = [exact_rational(v) for v in x]
        out = []
        for layer in self.layers:
            z = [sum((w * v for w, v in zip(row, h)), b) for row, b in zip(layer.weight, layer.bias)]
            out.append(z)
            h = [act(t) for act, t in zip(layer.activations, z)]
        return out

    def __repr__(self) -> str:
        acts = "/".join(dict.fromkeys(layer.activation_name for layer in self.layers))
        src = f", source={self.source!r}" if self.source else ""
        return f"Network({'-'.join(map(str, self.widths))}, {acts}{src})"
