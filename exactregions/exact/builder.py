"""Build a :class:`Network` from a chain of affine maps and activations, exactly.

Model importers (torch modules, TorchScript, ONNX) walk their layers in order and hand every
affine piece — a Linear or Gemm, a convolution or average pooling unrolled to a dense matrix, an
eval-mode batch norm, a flatten — to :meth:`NetworkBuilder.affine`; consecutive affine pieces
compose exactly into one (W, b). Each piecewise-linear activation closes a layer. Numbers enter
through :func:`~exactregions.exact.rational.exact_rational` (a float keeps its exact binary
value), so the composition is exact.

>>> from fractions import Fraction
>>> b = NetworkBuilder(2)
>>> b.affine([[1, 0], [0, 2]], [0, 1])          # a Linear
>>> b.affine([[Fraction(1, 2), 0], [0, 1]], None) # a diagonal scale (a folded batch norm)
>>> b.activation(Activation.relu())
>>> b.affine([[1, 1]], [0])
>>> net = b.network("example")
>>> net.widths, net.layers[0].weight[0][0], net.layers[0].bias[1]
((2, 2, 1), Fraction(1, 2), Fraction(1, 1))
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from exactregions.errors import InvalidNetworkError
from exactregions.exact.activation import Activation
from exactregions.exact.network import Layer, Network
from exactregions.exact.rational import exact_rational

__all__ = ["NetworkBuilder"]


def _matrix(rows: Any) -> np.ndarray:
    arr = np.asarray(rows, dtype=object)
    if arr.ndim != 2 or 0 in arr.shape:
        raise InvalidNetworkError(f"an affine map needs a non-empty 2-D weight, got shape {arr.shape}")
    out = np.empty(arr.shape, dtype=object)
    flat_in, flat_out = arr.reshape(-1), out.reshape(-1)
    cache: dict[Any, Fraction] = {}
    for k, x in enumerate(flat_in):
        key = (type(x), x) if isinstance(x, (int, float, str)) else None
        v = cache.get(key) if key is not None else None
        if v is None:
            v = exact_rational(float(x) if isinstance(x, np.floating) else x)
            if key is not None:
                cache[key] = v
        flat_out[k] = v
    return out


class NetworkBuilder:
    """Collects affine maps and activations in order; see the module docstring."""

    def __init__(self, input_dim: int):
        if input_dim < 1:
            raise InvalidNetworkError(f"input dimension must be positive, got {input_dim}")
        self.input_dim = input_dim
        self.width = input_dim
        self.layers: list[Layer] = []
        self._W: np.ndarray | None = None   # the pending affine map, exact (object arrays)
        self._b: np.ndarray | None = None

    def affine(self, weight: Any, bias: Sequence[Any] | None) -> None:
        """Compose h ↦ weight·h + bias after what is pending (weight of shape (out, width))."""
        W = _matrix(weight)
        if W.shape[1] != self.width:
            raise InvalidNetworkError(
                f"an affine map of shape {W.shape} follows a layer of width {self.width}")
        b = (np.array([exact_rational(float(x) if isinstance(x, np.floating) else x) for x in bias],
                      dtype=object) if bias is not None
             else np.array([Fraction(0)] * W.shape[0], dtype=object))
        if b.shape != (W.shape[0],):
            raise InvalidNetworkError(f"bias of length {b.shape[0]} for {W.shape[0]} outputs")
        if self._W is None:
            self._W, self._b = W, b
        else:
            self._W, self._b = W.dot(self._W), W.dot(self._b) + b
        self.width = W.shape[0]

    def scale_shift(self, scale: Sequence[Any], shift: Sequence[Any]) -> None:
        """h ↦ scale ⊙ h + shift (an eval-mode batch norm), composed like :meth:`affine`."""
        s = [exact_rational(float(x) if isinstance(x, np.floating) else x) for x in scale]
        if len(s) != self.width:
            raise InvalidNetworkError(f"a per-channel scale of length {len(s)} on width {self.width}")
        D = np.zeros((self.width, self.width), dtype=object)
        D[:] = Fraction(0)
        for i, v in enumerate(s):
            D[i, i] = v
        self.affine(D, shift)

    def activation(self, act: "Activation | Sequence[Activation]") -> None:
        """Close the pending affine map into a layer with this activation (or one a neuron)."""
        if self._W is None:
            raise InvalidNetworkError(
                "two activations in a row: exactregions needs an affine layer between two "
                "activations" if self.layers else "the model starts with an activation: it needs "
                "a Linear (or Conv2d, Gemm) layer first")
        if not isinstance(act, Activation):
            act = tuple(act)
        self.layers.append(Layer(tuple(tuple(r) for r in self._W.tolist()), tuple(self._b.tolist()),
                                 act))
        self._W = self._b = None

    def network(self, source: str) -> Network:
        """The net: a pending affine map becomes a last layer with the identity."""
        if self._W is not None:
            self.activation(Activation.identity())
        if not self.layers:
            raise InvalidNetworkError("the model has no affine layer")
        return Network(self.input_dim, tuple(self.layers), source=source)
