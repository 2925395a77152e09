"""Example counters: deliberately wrong sampling ones, and correct ones (our float kernels).

The wrong ones are what the kit is for: a fixed grid misses every piece narrower than its step.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["grid_line_counter", "grid_slice_counter", "float_line_counter", "float_slice_counter"]


def _pieces(spec: Any, z: np.ndarray) -> np.ndarray:
    name = spec if isinstance(spec, str) else spec["name"]
    if name == "identity":
        return np.zeros(z.shape, int)
    bps = {"relu": [0.0], "leaky_relu": [0.0], "abs": [0.0], "hardtanh": [-1.0, 1.0],
           "relu6": [0.0, 6.0]}.get(name)
    if bps is None:
        from fractions import Fraction
        bps = [float(Fraction(b)) for b in spec["breakpoints"]]
    return np.searchsorted(np.array(bps), z, side="right")


def _forward_patterns(model: list, X: np.ndarray) -> np.ndarray:
    """Activation patterns of the numpy model at the rows of X (with φ from its JSON form)."""
    from exactregions.exact.activation import activation_from_spec
    h = X
    pats = []
    for layer in model:
        z = h @ layer["weight"].T + layer["bias"]
        act = activation_from_spec(layer["activation"])
        j = _pieces(layer["activation"], z)
        pats.append(j)
        q = np.array([float(v) for v in act.slopes])
        p = np.array([float(v) for v in act.offsets])
        h = q[j] * z + p[j]
    return np.concatenate(pats, axis=1)


_OFFSET = 0.3819660112501051  # grid shifted off the dyadics, so it never sits on a dyadic kink


def _local_maps(model: list, X: np.ndarray) -> np.ndarray:
    """The affine map (Jacobian and offset of all outputs) at each row of X, by pattern products."""
    from exactregions.exact.activation import activation_from_spec
    n = X.shape[1]
    h = X
    J = np.broadcast_to(np.eye(n), (X.shape[0], n, n))
    for layer in model:
        W, b = layer["weight"], layer["bias"]
        z = h @ W.T + b
        act = activation_from_spec(layer["activation"])
        j = _pieces(layer["activation"], z)
        q = np.array([float(v) for v in act.slopes])[j]
        p = np.array([float(v) for v in act.offsets])[j]
        h = q * z + p
        J = q[:, :, None] * np.einsum("ok,bki->boi", W, J)
    c = h - np.einsum("boi,bi->bo", J, X)
    return np.concatenate([J.reshape(X.shape[0], -1), c], axis=1)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.isclose(a, b, rtol=1e-9, atol=1e-12).all(axis=-1)


def grid_line_counter(model: list, p1: Sequence[float], p2: Sequence[float], n: int = 64) -> int:
    """WRONG on purpose: samples the local affine map at n grid points and counts its changes,
    so every piece narrower than the grid step is missed."""
    t = (np.arange(n) + _OFFSET) / n
    a, b = np.array(p1, float), np.array(p2, float)
    maps = _local_maps(model, a + t[:, None] * (b - a))
    return 1 + int((~_same(maps[1:], maps[:-1])).sum())


def grid_slice_counter(model: list, p1, p2, p3, box, n: int = 48) -> list[tuple[float, float]]:
    """WRONG on purpose: one point per distinct local affine map seen on an n x n grid, so small
    linear regions are missed (and a map seen in two separate regions is counted once)."""
    (s0, s1), (t0, t1) = box
    g = (np.arange(n) + _OFFSET) / n
    s, t = np.meshgrid(s0 + g * (s1 - s0), t0 + g * (t1 - t0))
    S, T = s.ravel(), t.ravel()
    a, b, c = (np.array(p, float) for p in (p1, p2, p3))
    maps = _local_maps(model, a + S[:, None] * (b - a) + T[:, None] * (c - a))
    keys = np.round(maps, 9) + 0.0  # no -0.0: np.unique(axis=0) compares bytes
    _, first = np.unique(keys, axis=0, return_index=True)
    return [(float(S[i]), float(T[i])) for i in sorted(first)]


def float_line_counter(model: Any, p1: Sequence[float], p2: Sequence[float]) -> list[float]:
    """Correct: our batched torch line kernel (float64); returns the linear breakpoints t."""
    import torch

    from exactregions.floating.lines import line_regions
    from exactregions.floating.tensors import TorchNet
    tn = TorchNet.from_network(model) if not isinstance(model, list) else _torchnet(model)
    a = torch.tensor([p1], dtype=torch.float64)
    d = torch.tensor([[y - x for x, y in zip(p1, p2)]], dtype=torch.float64)
    r = line_regions(tn, a, d)
    if int(r.near_ties[0]):  # floats cannot settle it: the exact core does (as `lines --exact`)
        from exactregions.exact.complex import region_complex
        from exactregions.exact.domain import segment
        rc = region_complex(_exact(model), segment(p1, p2))
        return [float(p.witness[0]) for p in rc.pieces]
    return r.t[r.good].tolist()


def float_slice_counter(model: Any, p1, p2, p3, box) -> int:
    """Correct: our float slice kernel; returns the number of linear regions."""
    import torch

    from exactregions.floating.slice import slice_regions
    from exactregions.floating.tensors import TorchNet
    tn = TorchNet.from_network(model) if not isinstance(model, list) else _torchnet(model)
    pts = [torch.tensor(p, dtype=torch.float64) for p in (p1, p2, p3)]
    res = slice_regions(tn, *pts, box=tuple(tuple(b) for b in box))
    if res.near_ties:  # floats cannot settle it: the exact core does (as `slice --exact`)
        from exactregions.exact.complex import region_complex
        from exactregions.exact.domain import plane
        return len(region_complex(_exact(model), plane(p1, p2, p3, bounds=box)).linear_regions)
    return res.linear_regions


def _exact(model: Any):
    """The exact net behind a numpy model (its float64 values are exact binary rationals)."""
    if not isinstance(model, list):
        return model
    from exactregions.exact.netfile import network_from_dict
    return network_from_dict({"format": "exactregions-network", "version": 1,
                             "input_dim": int(model[0]["weight"].shape[1]),
                             "layers": [{"weight": l["weight"].tolist(), "bias": l["bias"].tolist(),
                                         "activation": l["activation"]} for l in model]})


def _torchnet(model: list):
    from exactregions.floating.tensors import TorchNet
    return TorchNet.from_network(_exact(model))
