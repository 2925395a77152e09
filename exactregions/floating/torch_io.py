"""Import and export of torch ``nn.Sequential`` networks (the float side of the door).

Float parameters enter the exact path by their exact binary values (one explicit conversion,
:func:`exactregions.exact.rational.exact_rational`); the resulting :class:`Network` records where
it came from.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from torch import nn

from exactregions.errors import (FormatError, InvalidNetworkError, InvalidOptionError,
                                 UnsupportedActivationError)
from exactregions.exact.activation import Activation
from exactregions.exact.builder import NetworkBuilder
from exactregions.exact.network import Network
from exactregions.exact.rational import exact_rational

__all__ = ["network_from_torch", "checked_network_from_torch", "network_from_state_dict",
           "network_to_torch", "load_torch_network", "PiecewiseLinear"]


class PiecewiseLinear(nn.Module):
    """φ(t) = q_0 t + p_0 + Σ_j (q_j - q_{j-1}) relu(t - ξ_j): any continuous PWL activation,
    or a tuple of one a unit (the last axis), sharing breakpoints.

    Parameters are float64 buffers made from the exact activation (rounded once).
    """

    def __init__(self, activation: "Activation | tuple[Activation, ...]") -> None:
        super().__init__()
        self.activation = activation
        acts = activation if isinstance(activation, tuple) else (activation,)
        self.register_buffer("xi", torch.tensor([float(x) for x in acts[0].breakpoints],
                                                dtype=torch.float64))
        # (units, T) slope jumps, and q_0, p_0 per unit (one unit: they broadcast)
        self.register_buffer("dq", torch.tensor(
            [[float(a.slopes[j + 1] - a.slopes[j]) for j in range(len(a.slopes) - 1)]
             for a in acts], dtype=torch.float64).reshape(len(acts), -1))
        self.register_buffer("q0", torch.tensor([float(a.slopes[0]) for a in acts],
                                                dtype=torch.float64))
        self.register_buffer("p0", torch.tensor([float(a.offsets[0]) for a in acts],
                                                dtype=torch.float64))

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # noqa: D401
        # as_tensor: modules pickled by older versions hold q0, p0 as plain floats
        out = (torch.as_tensor(self.q0, dtype=t.dtype, device=t.device) * t
               + torch.as_tensor(self.p0, dtype=t.dtype, device=t.device))
        if self.xi.numel():
            out = out + (torch.relu(t.unsqueeze(-1) - self.xi.to(t.dtype))
                         * self.dq.to(t.dtype)).sum(-1)
        return out


_NOT_PWL_REASON = {
    "Sigmoid": "smooth, not piecewise linear", "Tanh": "smooth, not piecewise linear",
    "GELU": "smooth, not piecewise linear", "SiLU": "smooth, not piecewise linear",
    "ELU": "exponential for negative inputs", "SELU": "exponential for negative inputs",
    "CELU": "exponential for negative inputs", "Softplus": "smooth, not piecewise linear",
    "Mish": "smooth, not piecewise linear", "Hardswish": "piecewise quadratic",
    "Hardsigmoid": "piecewise linear but of another form (a slope of 1/6 between ±3): write it "
                   "as a pwl activation",
    "MaxPool1d": "a maximum over a window is piecewise linear but not a neuron φ(w·x + b) of "
                 "this form", "MaxPool2d": "a maximum over a window is piecewise linear but not "
                 "a neuron φ(w·x + b) of this form", "AdaptiveMaxPool2d": "a maximum over a "
                 "window is not a neuron φ(w·x + b)",
    "Softmax": "not piecewise linear; drop the final softmax (argmax and the logits have the "
               "same regions) and import the logits", "LogSoftmax": "not piecewise linear; "
               "drop the final log-softmax and import the logits",
}
_SKIP = ("Identity", "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout")


def _kind(module: nn.Module) -> str:
    """The layer type, also for TorchScript modules (their ``original_name``)."""
    return getattr(module, "original_name", None) or type(module).__name__


def _leaves(module: nn.Module):
    """The layers of a (nested) Sequential — or of a custom module, in the order its children
    were registered (:func:`checked_network_from_torch` verifies that its forward agrees)."""
    children = list(module.children())
    if children and _kind(module) not in _LEAF_KINDS and not isinstance(module, PiecewiseLinear):
        for child in children:
            yield from _leaves(child)
    else:
        yield module


_LEAF_KINDS = ("Linear", "Conv2d", "AvgPool2d", "BatchNorm1d", "ReLU", "LeakyReLU", "PReLU",
               "ReLU6", "Hardtanh", "Flatten", "Identity", "Dropout")


def _f64(t: torch.Tensor) -> list:
    return t.detach().to(torch.float64).cpu().tolist()


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _activation_of(module: nn.Module) -> Activation | tuple[Activation, ...] | None:
    """The exact activation of a torch module; None if it is not an activation."""
    kind = _kind(module)
    if kind == "ReLU":
        return Activation.relu()
    if kind == "LeakyReLU":
        return Activation.leaky_relu(float(module.negative_slope))
    if kind == "ReLU6":
        return Activation.relu6()
    if kind == "Hardtanh":
        lo, hi = exact_rational(float(module.min_val)), exact_rational(float(module.max_val))
        if (lo, hi) == (-1, 1):
            return Activation.hardtanh()
        return Activation.pwl([lo, hi], [0, 1, 0], lo)
    if kind == "PReLU":
        w = _f64(module.weight)
        if len(set(w)) == 1:      # one slope, or the same slope for every channel
            return Activation.leaky_relu(w[0])
        return tuple(Activation.leaky_relu(a) for a in w)   # per channel: see _Importer
    if isinstance(module, PiecewiseLinear):
        return module.activation
    return None


class _Importer:
    """Walks a model's layers in order and feeds an exact :class:`NetworkBuilder`."""

    def __init__(self, input_shape: tuple[int, ...] | None):
        self.shape = tuple(input_shape) if input_shape else None   # (C, H, W) while spatial
        self.builder: NetworkBuilder | None = None
        self.last_kind = ""

    def _start(self, width: int) -> NetworkBuilder:
        if self.builder is None:
            self.builder = NetworkBuilder(width)
        return self.builder

    def _per_unit(self, acts: tuple[Activation, ...]) -> tuple[Activation, ...]:
        """Per-channel activations (a PReLU's slopes) as one a unit of the dense layer: a
        channel's slope repeats over its H·W units after a convolution."""
        width = self.builder.width if self.builder is not None else 0
        if self.shape is not None and len(self.shape) == 3:
            if len(acts) != self.shape[0]:
                raise InvalidNetworkError(f"a PReLU with {len(acts)} slopes after a layer of "
                                          f"{self.shape[0]} channels")
            reps = self.shape[1] * self.shape[2]
            return tuple(a for a in acts for _ in range(reps))
        if len(acts) != width:
            raise InvalidNetworkError(f"a PReLU with {len(acts)} slopes after a layer of width "
                                      f"{width}")
        return acts

    def _flat_width(self) -> int | None:
        if self.shape is None:
            return None
        n = 1
        for d in self.shape:
            n *= d
        return n

    def feed(self, m: nn.Module, last: bool) -> None:
        kind = _kind(m)
        self.last_kind = kind
        if kind in _SKIP:
            return
        if kind == "Flatten":
            w = self._flat_width()
            self.shape = (w,) if w is not None else None
            return
        act = _activation_of(m)
        if act is not None:
            if self.builder is None:
                raise InvalidNetworkError("the model starts with an activation: it needs a "
                                          "Linear (or Conv2d) layer first")
            self.builder.activation(self._per_unit(act) if isinstance(act, tuple) else act)
            return
        if kind == "Linear":
            W = _f64(m.weight)
            b = _f64(m.bias) if m.bias is not None else None
            self._finite(W, b)
            self._start(len(W[0])).affine(W, b)
            self.shape = (len(W),)
        elif kind == "BatchNorm1d":
            if m.training:
                raise InvalidNetworkError("BatchNorm1d is in training mode: call model.eval() "
                                          "first (its running statistics are folded)")
            # eval mode: y = γ (x − μ)/√(σ² + ε) + β; the scale is computed once in float64
            # and enters by its exact binary value (a square root has no exact rational)
            var = m.running_var.detach().to(torch.float64)
            mean = m.running_mean.detach().to(torch.float64)
            gamma = m.weight.detach().to(torch.float64) if m.weight is not None else torch.ones_like(var)
            beta = m.bias.detach().to(torch.float64) if m.bias is not None else torch.zeros_like(var)
            scale = gamma / torch.sqrt(var + m.eps)
            b = self._require_builder(kind)
            b.scale_shift(scale.tolist(), [exact_rational(float(x)) for x in beta.tolist()])
            # … minus scale·μ: one more exact affine step (scale and μ exact binary values)
            b.affine(_identity(b.width), [-exact_rational(float(s)) * exact_rational(float(u))
                                          for s, u in zip(scale.tolist(), mean.tolist())])
        elif kind == "Conv2d":
            self._conv(m)
        elif kind in ("AvgPool2d",):
            self._avgpool(m)
        elif kind in _NOT_PWL_REASON:
            where = "the final " if last else ""
            raise UnsupportedActivationError(f"{where}{kind} is refused: {_NOT_PWL_REASON[kind]}")
        else:
            raise UnsupportedActivationError(
                f"torch module {kind} is not supported (Linear, Conv2d, AvgPool2d, BatchNorm1d, "
                "ReLU, LeakyReLU, PReLU, ReLU6, Hardtanh, Flatten, Identity, Dropout, nested "
                "Sequential)")

    def _require_builder(self, kind: str) -> NetworkBuilder:
        if self.builder is None:
            raise InvalidNetworkError(f"the model starts with {kind}: it needs a Linear layer "
                                      "first")
        return self.builder

    @staticmethod
    def _finite(W: list, b: list | None) -> None:
        t = torch.tensor(W, dtype=torch.float64)
        if not torch.isfinite(t).all() or (b is not None and not all(map(math.isfinite, b))):
            raise InvalidNetworkError("the torch model has NaN or infinite parameters")

    def _spatial(self, kind: str) -> tuple[int, int, int]:
        if self.shape is None or len(self.shape) != 3:
            raise InvalidNetworkError(
                f"{kind} needs the input's shape: pass input_shape=(C, H, W) (CLI: "
                "--input-shape C,H,W)")
        return self.shape  # type: ignore[return-value]

    def _conv(self, m: nn.Module) -> None:
        C, H, Wd = self._spatial("Conv2d")
        if m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise UnsupportedActivationError("Conv2d: only groups=1, zero padding given as "
                                             "numbers is supported")
        w = m.weight.detach().to(torch.float64).cpu().numpy()
        oc, ic, kh, kw = w.shape
        if ic != C:
            raise InvalidNetworkError(f"Conv2d expects {ic} channels, the input has {C}")
        (sh, sw), (ph, pw), (dh, dw) = _pair(m.stride), _pair(m.padding), _pair(m.dilation)
        Ho = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        Wo = (Wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if not np.isfinite(w).all():
            raise InvalidNetworkError("the torch model has NaN or infinite parameters")
        M = np.zeros((oc * Ho * Wo, C * H * Wd), dtype=object)
        M[:] = 0
        for o in range(oc):
            for y in range(Ho):
                for x in range(Wo):
                    row = (o * Ho + y) * Wo + x
                    for c in range(C):
                        for i in range(kh):
                            iy = y * sh - ph + i * dh
                            if not 0 <= iy < H:
                                continue
                            for j in range(kw):
                                ix = x * sw - pw + j * dw
                                if 0 <= ix < Wd and w[o, c, i, j] != 0:
                                    M[row, (c * H + iy) * Wd + ix] = float(w[o, c, i, j])
        bias = (np.repeat(m.bias.detach().to(torch.float64).cpu().numpy(), Ho * Wo).tolist()
                if m.bias is not None else None)
        self._start(C * H * Wd).affine(M, bias)
        self.shape = (oc, Ho, Wo)

    def _avgpool(self, m: nn.Module) -> None:
        C, H, Wd = self._spatial("AvgPool2d")
        (kh, kw) = _pair(m.kernel_size)
        (sh, sw) = _pair(m.stride if m.stride else m.kernel_size)
        (ph, pw) = _pair(m.padding)
        if m.ceil_mode or getattr(m, "divisor_override", None):
            raise UnsupportedActivationError("AvgPool2d: ceil_mode and divisor_override are not "
                                             "supported")
        Ho = (H + 2 * ph - kh) // sh + 1
        Wo = (Wd + 2 * pw - kw) // sw + 1
        M = np.zeros((C * Ho * Wo, C * H * Wd), dtype=object)
        M[:] = Fraction(0)
        for c in range(C):
            for y in range(Ho):
                for x in range(Wo):
                    cells = [(y * sh - ph + i, x * sw - pw + j) for i in range(kh) for j in range(kw)]
                    inside = [(iy, ix) for iy, ix in cells if 0 <= iy < H and 0 <= ix < Wd]
                    share = Fraction(1, len(cells) if m.count_include_pad else len(inside))
                    for iy, ix in inside:
                        M[(c * Ho + y) * Wo + x, (c * H + iy) * Wd + ix] = share
        self._start(C * H * Wd).affine(M, None)
        self.shape = (C, Ho, Wo)


def _identity(n: int) -> np.ndarray:
    M = np.zeros((n, n), dtype=object)
    M[:] = Fraction(0)
    for i in range(n):
        M[i, i] = Fraction(1)
    return M


def network_from_torch(model: nn.Module, source: str = "",
                       input_shape: tuple[int, ...] | None = None) -> Network:
    """Convert a torch model (a nested ``nn.Sequential``, a TorchScript one too) to an exact
    :class:`Network`.

    Affine layers are composed exactly (Linear; Conv2d and AvgPool2d unrolled to dense matrices
    for ``input_shape`` = (C, H, W); eval-mode BatchNorm1d folded; Flatten, Identity, Dropout
    skipped); each PWL activation (ReLU, LeakyReLU, PReLU with one slope, ReLU6, Hardtanh)
    closes a layer. Every float parameter enters by its exact binary value.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1)))
    >>> network_from_torch(model).widths
    (2, 3, 1)

    Raises
    ------
    UnsupportedActivationError
        For modules that are not piecewise linear of this form (Sigmoid, Tanh, GELU, MaxPool2d,
        a final Softmax, ...), named with the reason.
    InvalidNetworkError
        For an empty model, two activations in a row, NaN parameters, a BatchNorm1d in
        training mode, or a Conv2d without ``input_shape``.
    """
    leaves = list(_leaves(model))
    imp = _Importer(input_shape)
    for i, m in enumerate(leaves):
        imp.feed(m, last=i == len(leaves) - 1)
    if imp.builder is None:
        raise InvalidNetworkError("the torch model has no Linear layer")
    return imp.builder.network(source or f"torch {_kind(model)} (exact binary values)")


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
        if layer.per_neuron:
            acts = layer.activations
            if all(x.name == "leaky_relu" for x in acts):
                prelu = nn.PReLU(layer.out_dim, dtype=dtype)
                with torch.no_grad():
                    prelu.weight.copy_(torch.tensor([float(x.slopes[0]) for x in acts],
                                                    dtype=dtype))
                mods.append(prelu)
            else:
                mods.append(PiecewiseLinear(acts))
            continue
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


def network_from_state_dict(state: Any, widths: Any, activation: Any = "relu",
                            source: str = "") -> Network:
    """A ``state_dict`` of Linear layers (``*.weight``/``*.bias`` in order) plus the architecture:
    widths (n_in, n_1, …, n_L) and the hidden layers' activation (the last is the identity).

    Examples
    --------
    >>> sd = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).state_dict()
    >>> network_from_state_dict(sd, [2, 3, 1]).widths
    (2, 3, 1)

    Raises
    ------
    InvalidNetworkError
        If the weights' shapes do not match the widths.
    """
    from exactregions.exact.activation import activation_from_spec
    act = activation if isinstance(activation, Activation) else activation_from_spec(activation)
    widths = [int(w) for w in widths]
    weights = [(k[:-len("weight")], v) for k, v in state.items()
               if k.endswith("weight") and getattr(v, "ndim", 0) == 2]
    if len(weights) != len(widths) - 1:
        raise InvalidNetworkError(f"the state_dict has {len(weights)} weight matrices, the widths "
                                  f"{widths} need {len(widths) - 1}")
    builder = NetworkBuilder(widths[0])
    for i, (prefix, W) in enumerate(weights):
        if tuple(W.shape) != (widths[i + 1], widths[i]):
            raise InvalidNetworkError(f"{prefix}weight has shape {tuple(W.shape)}, the widths "
                                      f"want ({widths[i + 1]}, {widths[i]})")
        b = state.get(prefix + "bias")
        Wl, bl = _f64(W), (_f64(b) if b is not None else None)
        _Importer._finite(Wl, bl)
        builder.affine(Wl, bl)
        if i < len(weights) - 1:
            builder.activation(act)
    return builder.network(source or "torch state_dict (exact binary values)")


def _import_module(spec: str) -> Any:
    """Import ``pkg.mod:Class`` (the current folder on the path) and return the class."""
    import importlib
    import sys
    mod_name, _, cls_name = spec.partition(":")
    if not mod_name:
        raise FormatError(f"--module {spec!r}: write PACKAGE.MODULE:CLASS")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(mod_name)
        cls = getattr(mod, cls_name) if cls_name else None
    except (ImportError, AttributeError) as exc:
        raise FormatError(f"cannot import {spec!r} ({exc}); the model's class must be "
                          "importable from the current folder or an installed package") from None
    if cls is not None:   # a model saved from a script pickles its class as __main__.Name
        main = sys.modules.get("__main__")
        if main is not None and not hasattr(main, cls_name):
            setattr(main, cls_name, cls)
    return cls


def load_torch_network(path: str | os.PathLike[str], widths: Any = None, activation: Any = "relu",
                       input_shape: tuple[int, ...] | None = None,
                       module: str | None = None) -> Network:
    """Load a saved torch model as an exact network: a whole module (``torch.save(model)``), a
    TorchScript file (``torch.jit.save``), or a ``state_dict`` with ``widths`` (and
    ``activation``).  ``module="pkg.mod:Class"`` imports a custom model class first.

    The file is unpickled (``weights_only=False``): load only files you trust.

    Raises
    ------
    FormatError
        If the file cannot be read as a torch model, a state_dict comes without ``widths``, or
        the model's class cannot be imported (the message says so and names ``--module``).
    """
    import warnings
    if module:
        _import_module(module)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # torch's note that a TorchScript file was given
            obj = torch.load(path, map_location="cpu", weights_only=False)
    except (AttributeError, ModuleNotFoundError) as exc:
        raise FormatError(
            f"cannot load {str(path)!r}: its model class is not importable here ({exc}); pass "
            "the class with --module PACKAGE.MODULE:CLASS (Python: module=...)") from None
    except Exception as exc:  # torch raises many types here
        raise FormatError(f"cannot load torch model {str(path)!r}: {exc}") from None
    if isinstance(obj, dict):
        if widths is None:
            raise FormatError(f"{str(path)!r} holds a state_dict: give the architecture too "
                              "(--widths n_in,n_1,...,n_L [--activation relu])")
        if input_shape is not None:
            raise InvalidOptionError(f"{str(path)!r} holds a state_dict of dense layers: an "
                                     "input shape (for Conv2d layers) would be ignored")
        return network_from_state_dict(obj, widths, activation, source=str(path))
    if not isinstance(obj, (nn.Module, torch.jit.ScriptModule)):
        raise FormatError(f"{str(path)!r} holds a {type(obj).__name__}, not an nn.Module")
    net = checked_network_from_torch(obj, source=str(path), input_shape=input_shape)
    if widths is not None and tuple(int(w) for w in widths) != net.widths:
        raise InvalidNetworkError(f"{str(path)!r} holds a whole module of widths "
                                  f"{'-'.join(map(str, net.widths))}, not the widths given "
                                  f"({'-'.join(map(str, widths))}); widths are for a state_dict")
    return net


def checked_network_from_torch(model: nn.Module, source: str = "",
                               input_shape: tuple[int, ...] | None = None) -> Network:
    """:func:`network_from_torch`, then a self-check: the exact net and the model agree (float64,
    relative 1e-9) on random inputs — a custom ``forward`` that does not apply its layers in the
    order they were registered is refused instead of silently mis-converted.

    Raises
    ------
    InvalidNetworkError
        If the converted net does not compute what the model computes.
    """
    try:
        net = network_from_torch(model, source=source, input_shape=input_shape)
    except InvalidNetworkError as exc:
        if isinstance(model, nn.Sequential) or _kind(model) == "Sequential":
            raise
        raise InvalidNetworkError(
            f"{exc}: the layers of {_kind(model)}, in the order they were registered, do not "
            "chain; its forward applies them differently (export an nn.Sequential, TorchScript "
            "or ONNX)") from None
    gen = torch.Generator().manual_seed(0)
    shape = tuple(input_shape) if input_shape else (net.input_dim,)
    x = torch.rand((4,) + shape, generator=gen, dtype=torch.float64) * 2 - 1
    try:
        with torch.no_grad():
            want = model.double()(x).reshape(4, -1)
    except Exception as exc:  # noqa: BLE001 - the model's own forward failed on our input
        raise InvalidNetworkError(f"the model's forward failed on inputs of shape {shape}: "
                                  f"{exc}") from None
    got = torch.tensor([[float(v) for v in net.forward([exact_rational(float(t)) for t in row])]
                        for row in x.reshape(4, -1).tolist()], dtype=torch.float64)
    if want.shape != got.shape or not torch.allclose(want, got, rtol=1e-9, atol=1e-9):
        raise InvalidNetworkError(
            "the converted net does not compute what the model computes: its forward does not "
            "apply the registered layers in order (export an nn.Sequential, TorchScript or ONNX)")
    return net
