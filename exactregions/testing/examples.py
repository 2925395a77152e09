"""Example counters: deliberately wrong sampling ones, and correct ones (our float kernels).

The wrong ones are what the kit is for: a fixed grid misses every piece narrower than its step.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from exactregions.exact.netfile import activation_spec_of_layer

__all__ = ["grid_line_counter", "grid_slice_counter", "float_line_counter", "float_slice_counter"]


def _tables(layer: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """φ of a numpy layer from its JSON form (one activation, one a neuron, or a prelu):
    breakpoints (T,), slopes and offsets (width, T + 1)."""
    width = len(layer["bias"])
    act = activation_spec_of_layer(layer["activation"], width)
    acts = act if isinstance(act, tuple) else (act,) * width
    bps = np.array([float(x) for x in acts[0].breakpoints])
    return (bps, np.array([[float(v) for v in a.slopes] for a in acts]),
            np.array([[float(v) for v in a.offsets] for a in acts]))


def _on_pieces(layer: dict, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces j (rows, width) of z, and the slope and offset of each neuron on its piece."""
    bps, Q, P = _tables(layer)
    j = np.searchsorted(bps, z, side="right") if bps.size else np.zeros(z.shape, int)
    cols = np.arange(z.shape[1])
    return j, Q[cols, j], P[cols, j]


def _forward_patterns(model: list, X: np.ndarray) -> np.ndarray:
    """Activation patterns of the numpy model at the rows of X (with φ from its JSON form)."""
    h = X
    pats = []
    for layer in model:
        z = h @ layer["weight"].T + layer["bias"]
        j, q, p = _on_pieces(layer, z)
        pats.append(j)
        h = q * z + p
    return np.concatenate(pats, axis=1)


_OFFSET = 0.3819660112501051  # grid shifted off the dyadics, so it never sits on a dyadic kink


def _local_maps(model: list, X: np.ndarray) -> np.ndarray:
    """The affine map (Jacobian and offset of all outputs) at each row of X, by pattern products."""
    n = X.shape[1]
    h = X
    J = np.broadcast_to(np.eye(n), (X.shape[0], n, n))
    for layer in model:
        W, b = layer["weight"], layer["bias"]
        z = h @ W.T + b
        _, q, p = _on_pieces(layer, z)
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
