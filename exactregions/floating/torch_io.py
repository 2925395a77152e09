"""Import and export of torch ``nn.Sequential`` networks (the float side of the door).

Float parameters enter the exact path by their exact binary values (one explicit conversion,
:func:`exactregions.exact.rational.exact_rational`); the resulting :class:`Network` records where
it came from.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from exactregions.errors import FormatError, InvalidNetworkError, UnsupportedActivationError
from exactregions.exact.activation import Activation
from exactregions.exact.network import Layer, Network
from exactregions.exact.rational import exact_rational

__all__ = ["network_from_torch", "network_to_torch", "load_torch_network", "PiecewiseLinear"]


class PiecewiseLinear(nn.Module):
    """φ(t) = q_0 t + p_0 + Σ_j (q_j - q_{j-1}) relu(t - ξ_j): any continuous PWL activation.

    Parameters are float64 buffers made from the exact activation (rounded once).
    """

    def __init__(self, activation: Activation) -> None:
        super().__init__()
        self.activation = activation
        self.register_buffer("xi", torch.tensor([float(x) for x in activation.breakpoints],
                                                dtype=torch.float64))
        q = activation.slopes
        self.register_buffer("dq", torch.tensor([float(q[j + 1] - q[j]) for j in range(len(q) - 1)],
                                                dtype=torch.float64))
        self.q0 = float(q[0])
        self.p0 = float(activation.offsets[0])

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # noqa: D401
        out = self.q0 * t + self.p0
        if self.xi.numel():
            out = out + (torch.relu(t.unsqueeze(-1) - self.xi.to(t.dtype)) * self.dq.to(t.dtype)).sum(-1)
        return out


def _activation_of(module: nn.Module) -> Activation | None:
    """The exact activation of a torch module, None for Identity/Flatten/Dropout."""
    if isinstance(module, (nn.Identity, nn.Flatten, nn.Dropout)):
        return None
    if isinstance(module, nn.ReLU):
        return Activation.relu()
    if isinstance(module, nn.LeakyReLU):
        return Activation.leaky_relu(module.negative_slope)
    if isinstance(module, nn.ReLU6):
        return Activation.relu6()
    if isinstance(module, nn.Hardtanh):
        lo, hi = exact_rational(float(module.min_val)), exact_rational(float(module.max_val))
        if (lo, hi) == (-1, 1):
            return Activation.hardtanh()
        return Activation.pwl([lo, hi], [0, 1, 0], lo)
    if isinstance(module, PiecewiseLinear):
        return module.activation
    raise UnsupportedActivationError(
        f"torch module {type(module).__name__} is not a supported piecewise-linear layer "
        "(Linear, ReLU, LeakyReLU, Hardtanh, ReLU6, Identity, Flatten)")


def network_from_torch(model: nn.Module, source: str = "") -> Network:
    """Convert an ``nn.Sequential`` of Linear and PWL activations to an exact :class:`Network`.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> network_from_torch(model).widths
    (2, 3, 1)

    Raises
    ------
    UnsupportedActivationError
        For non-PWL modules (Sigmoid, Tanh, Conv2d, ...).
    InvalidNetworkError
        For an empty model, two activations in a row, or NaN parameters.
    """
    modules = list(model) if isinstance(model, nn.Sequential) else [model]
    layers: list[Layer] = []
    pending: tuple[Any, Any] | None = None
    acts_after: Activation | None = None
    for m in modules:
        if isinstance(m, nn.Linear):
            if pending is not None:
                layers.append(Layer.from_numbers(*pending, acts_after or Activation.identity()))
            W = m.weight.detach().to(torch.float64).cpu()
            b = (m.bias.detach().to(torch.float64).cpu() if m.bias is not None
                 else torch.zeros(W.shape[0], dtype=torch.float64))
            if not (torch.isfinite(W).all() and torch.isfinite(b).all()):
                raise InvalidNetworkError("the torch model has NaN or infinite parameters")
            pending = (W.tolist(), b.tolist())
            acts_after = None
            continue
        act = _activation_of(m)
        if act is None:
            continue
        if pending is None or acts_after is not None:
            raise InvalidNetworkError("an activation must follow a Linear layer (one per layer)")
        acts_after = act
    if pending is None:
        raise InvalidNetworkError("the torch model has no Linear layer")
    layers.append(Layer.from_numbers(*pending, acts_after or Activation.identity()))
    return Network(layers[0].in_dim, tuple(layers),
                   source=source or f"torch {type(model).__name__} (exact binary values)")


def network_to_torch(net: Network, dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """An ``nn.Sequential`` computing ``net`` in floats (each rational rounded once).

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> model = network_to_torch(random_network([2, 3, 1], seed=0))
    >>> model(torch.zeros(1, 2, dtype=torch.float64)).shape
    torch.Size([1, 1])
    """
    mods: list[nn.Module] = []
    for layer in net.layers:
        lin = nn.Linear(layer.in_dim, layer.out_dim, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[float(w) for w in r] for r in layer.weight], dtype=dtype))
            lin.bias.copy_(torch.tensor([float(v) for v in layer.bias], dtype=dtype))
        mods.append(lin)
        a = layer.activation
        if a.name == "identity":
            continue
        if a.name == "relu":
            mods.append(nn.ReLU())
        elif a.name == "relu6":
            mods.append(nn.ReLU6())
        elif a.name == "hardtanh":
            mods.append(nn.Hardtanh())
        elif a.name == "leaky_relu":
            mods.append(nn.LeakyReLU(float(a.slopes[0])))
        else:
            mods.append(PiecewiseLinear(a))
    return nn.Sequential(*mods)


def load_torch_network(path: str | os.PathLike[str]) -> Network:
    """Load a saved ``nn.Sequential`` (``torch.save(model, path)``) as an exact network.

    The file is unpickled (``weights_only=False``): load only files you trust.

    Raises
    ------
    FormatError
        If the file cannot be read as a torch model.
    """
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types here
        raise FormatError(f"cannot load torch model {str(path)!r}: {exc}") from None
    if not isinstance(obj, nn.Module):
        raise FormatError(f"{str(path)!r} holds a {type(obj).__name__}, not an nn.Module")
    return network_from_torch(obj, source=str(path))
