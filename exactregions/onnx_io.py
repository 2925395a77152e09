"""ONNX models as exact networks (needs the ``onnx`` package; no torch, no onnxruntime).

A chain of nodes in graph order: Gemm, MatMul (+ Add), BatchNormalization (folded; its scale
γ/√(var + ε) is computed once in float64), Flatten, Identity, Dropout are affine and compose
exactly; Relu, LeakyRelu, PRelu (one slope or one a neuron), Clip (→ ReLU6, hard tanh or a PWL clamp) close a
layer. Every float initializer enters by its exact binary value.

>>> import numpy as np
>>> from onnx import TensorProto, helper, numpy_helper
>>> W = numpy_helper.from_array(np.array([[1.0, -2.0], [0.5, 0.0]]), "W")
>>> b = numpy_helper.from_array(np.array([0.0, 0.25]), "b")
>>> g = helper.make_graph([helper.make_node("Gemm", ["x", "W", "b"], ["h"], transB=1),
...                        helper.make_node("Relu", ["h"], ["y"])], "g",
...                       [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 2])],
...                       [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 2])], [W, b])
>>> net = network_from_onnx(helper.make_model(g))
>>> net.widths, net.layers[0].activation.name, net.layers[0].bias[1]
((2, 2), 'relu', Fraction(1, 4))
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from exactregions.errors import FormatError, InvalidNetworkError, UnsupportedActivationError
from exactregions.exact.activation import Activation
from exactregions.exact.builder import NetworkBuilder
from exactregions.exact.network import Network
from exactregions.exact.rational import exact_rational

__all__ = ["network_from_onnx", "load_onnx"]

_REFUSED = {
    "Sigmoid": "smooth, not piecewise linear", "Tanh": "smooth, not piecewise linear",
    "Gelu": "smooth, not piecewise linear", "Elu": "exponential for negative inputs",
    "Selu": "exponential for negative inputs", "Softplus": "smooth, not piecewise linear",
    "MaxPool": "a maximum over a window is not a neuron φ(w·x + b) of this form",
    "Softmax": "not piecewise linear; drop the final softmax and export the logits",
    "LogSoftmax": "not piecewise linear; drop the final log-softmax and export the logits",
    "Conv": "convolutions are imported from torch (with --input-shape); export a dense model",
}


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _finite(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise InvalidNetworkError("the ONNX model has NaN or infinite initializers")
    return arr


def network_from_onnx(model: Any, source: str = "") -> Network:
    """Convert an ONNX ``ModelProto`` (a chain of the supported nodes) to an exact network.

    Raises
    ------
    UnsupportedActivationError
        For a node that is not one of the supported kinds (named, with the reason).
    InvalidNetworkError
        For a graph that is not a chain, NaN initializers, or shapes that do not fit.
    """
    from onnx import numpy_helper

    graph = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:   # constants given as nodes count as initializers
        if node.op_type == "Constant":
            init[node.output[0]] = numpy_helper.to_array(_attrs(node)["value"])
    inputs = [i for i in graph.input if i.name not in init]
    if len(inputs) != 1:
        raise InvalidNetworkError(f"the ONNX graph has {len(inputs)} data inputs; one is needed")
    builder: NetworkBuilder | None = None
    current = inputs[0].name
    nodes = [n for n in graph.node if n.op_type != "Constant"]
    for k, node in enumerate(nodes):
        op = node.op_type
        data = [x for x in node.input if x and x not in init]
        if data != [current]:
            raise InvalidNetworkError(f"node {node.name or op} does not continue a chain: "
                                      "exactregions imports sequential models")
        a = _attrs(node)
        consts = [init[x] for x in node.input if x in init]

        def start(width: int) -> NetworkBuilder:
            nonlocal builder
            if builder is None:
                builder = NetworkBuilder(width)
            return builder

        if op in ("Identity", "Dropout", "Flatten", "Reshape"):
            pass
        elif op == "Gemm":
            W = _finite(consts[0])
            if a.get("transA", 0):
                raise UnsupportedActivationError("Gemm with transA is not a layer")
            if not a.get("transB", 0):
                W = W.T
            alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
            b = _finite(consts[1]).reshape(-1) if len(consts) > 1 else np.zeros(W.shape[0])
            Wq = [[exact_rational(alpha) * exact_rational(float(x)) for x in row] for row in W]
            bq = [exact_rational(beta) * exact_rational(float(x)) for x in np.broadcast_to(b, W.shape[:1])]
            start(W.shape[1]).affine(Wq, bq)
        elif op == "MatMul":
            W = _finite(consts[0]).T          # x @ W: the weight is (in, out)
            start(W.shape[1]).affine(W.tolist(), None)
        elif op == "Add":
            if builder is None:
                raise InvalidNetworkError("an Add before any MatMul/Gemm")
            b = _finite(consts[0]).reshape(-1)
            width = builder.width
            builder.affine(_eye(width), np.broadcast_to(b, (width,)).tolist())
        elif op == "BatchNormalization":
            if builder is None:
                raise InvalidNetworkError("a BatchNormalization before any layer")
            gamma, beta, mean, var = (_finite(c).reshape(-1) for c in consts[:4])
            eps = float(a.get("epsilon", 1e-5))
            scale = gamma / np.sqrt(var + eps)   # once in float64: a square root is not rational
            builder.scale_shift(scale.tolist(), beta.tolist())
            builder.affine(_eye(builder.width), [-exact_rational(float(s)) * exact_rational(float(u))
                                                 for s, u in zip(scale, mean)])
        elif op in ("Relu", "LeakyRelu", "PRelu", "Clip"):
            if builder is None:
                raise InvalidNetworkError("the model starts with an activation")
            builder.activation(_activation(op, a, consts, builder.width))
        elif op in _REFUSED:
            raise UnsupportedActivationError(f"ONNX {op} is refused: {_REFUSED[op]}")
        else:
            raise UnsupportedActivationError(
                f"ONNX {op} is not supported (Gemm, MatMul, Add, Relu, LeakyRelu, PRelu, Clip, "
                "Flatten, Identity, Dropout, BatchNormalization)")
        current = node.output[0]
    if builder is None:
        raise InvalidNetworkError("the ONNX model has no Gemm or MatMul")
    return builder.network(source or "onnx model (exact binary values)")


def _eye(n: int) -> list[list[int]]:
    return [[int(i == j) for j in range(n)] for i in range(n)]


def _activation(op: str, a: dict[str, Any], consts: list[np.ndarray], width: int
                ) -> Activation | tuple[Activation, ...]:
    if op == "Relu":
        return Activation.relu()
    if op == "LeakyRelu":
        return Activation.leaky_relu(float(a.get("alpha", 0.01)))
    if op == "PRelu":
        slopes = _finite(consts[0]).reshape(-1)
        if np.unique(slopes).size == 1:
            return Activation.leaky_relu(float(slopes[0]))
        if slopes.size != width:
            raise InvalidNetworkError(f"a PRelu with {slopes.size} slopes after a layer of width "
                                      f"{width}")
        return tuple(Activation.leaky_relu(float(s)) for s in slopes)   # one a neuron
    # Clip: bounds as inputs (opset ≥ 11) or attributes
    lo = float(consts[0]) if len(consts) > 0 else float(a.get("min", -math.inf))
    hi = float(consts[1]) if len(consts) > 1 else float(a.get("max", math.inf))
    if lo == 0 and hi == math.inf:
        return Activation.relu()
    if lo == 0 and hi == 6:
        return Activation.relu6()
    if lo == -1 and hi == 1:
        return Activation.hardtanh()
    if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
        return Activation.pwl([exact_rational(lo), exact_rational(hi)], [0, 1, 0], exact_rational(lo))
    if math.isfinite(lo) and not math.isfinite(hi):
        return Activation.pwl([exact_rational(lo)], [0, 1], exact_rational(lo))
    if math.isfinite(hi):
        return Activation.pwl([exact_rational(hi)], [1, 0], exact_rational(hi))
    raise UnsupportedActivationError("a Clip without bounds is the identity: drop it")


def load_onnx(path: str | os.PathLike[str]) -> Network:
    """Read an ``.onnx`` file as an exact network.

    Raises
    ------
    FormatError
        If the ``onnx`` package is missing or the file is no ONNX model.
    """
    try:
        import onnx
    except ImportError:
        raise FormatError("reading .onnx files needs the onnx package: pip install onnx") from None
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises several kinds
        raise FormatError(f"cannot read ONNX model {str(path)!r}: {exc}") from None
    return network_from_onnx(model, source=str(path))
