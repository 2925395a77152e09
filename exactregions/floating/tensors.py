"""A network as float tensors on a device: the float path's view of an exact :class:`Network`."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Callable

import torch

from exactregions.exact.network import Network

__all__ = ["TorchNet", "DEFAULT_DTYPE", "DEFAULT_TOL", "chunks", "row_chunk"]

DEFAULT_DTYPE = torch.float64
DEFAULT_TOL = 1e-9
"""Relative tolerance below which two float events (breakpoints, a value and a breakpoint) are
reported as a near-tie instead of being trusted."""


@dataclass(frozen=True)
class TorchNet:
    """Weights ``W[l]: (n_l, n_{l-1})``, biases ``b[l]: (n_l,)`` and per-layer activation tables
    (breakpoints ``xi[l]: (T_l,)``, slopes ``q[l]: (T_l+1,)``, offsets ``p[l]: (T_l+1,)``).  A
    layer whose neurons have slopes of their own (a per-channel PReLU) has ``q[l], p[l]:
    (T_l+1, n_l)``; index them through :meth:`piece_slope`, :meth:`piece_offset` and
    :meth:`neuron_table`, which serve both shapes.

    Each exact rational is rounded once to ``dtype``.

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> tn = TorchNet.from_network(random_network([2, 3, 1], seed=0))
    >>> tn.forward(torch.zeros(4, 2, dtype=torch.float64)).shape
    torch.Size([4, 1])
    """

    W: tuple[torch.Tensor, ...]
    b: tuple[torch.Tensor, ...]
    xi: tuple[torch.Tensor, ...]
    q: tuple[torch.Tensor, ...]
    p: tuple[torch.Tensor, ...]

    @staticmethod
    def from_network(net: Any, device: str | torch.device = "cpu",
                     dtype: torch.dtype = DEFAULT_DTYPE) -> "TorchNet":
        """Round the exact net to float tensors on ``device``; any model
        :func:`exactregions.load_network` takes (an ``nn.Module``, an ONNX model, a path) is
        converted first."""
        if not isinstance(net, Network):
            from exactregions.models import load_network
            net = load_network(net)
        def t(values: list) -> torch.Tensor:
            return torch.tensor([float(v) for v in values], dtype=dtype, device=device)
        W, b, xi, q, p = [], [], [], [], []
        for layer in net.layers:
            W.append(torch.tensor([[float(w) for w in row] for row in layer.weight], dtype=dtype,
                                  device=device))
            b.append(t(list(layer.bias)))
            xi.append(t(list(layer.breakpoints)))
            if layer.per_neuron:   # (T+1, n_l): column i is neuron i's slopes
                acts = layer.activations
                q.append(torch.tensor([[float(a.slopes[j]) for a in acts]
                                       for j in range(len(acts[0].slopes))], dtype=dtype,
                                      device=device))
                p.append(torch.tensor([[float(a.offsets[j]) for a in acts]
                                       for j in range(len(acts[0].offsets))], dtype=dtype,
                                      device=device))
            else:
                a = layer.activation
                q.append(t(list(a.slopes)))
                p.append(t(list(a.offsets)))
        return TorchNet(tuple(W), tuple(b), tuple(xi), tuple(q), tuple(p))

    @property
    def device(self) -> torch.device:
        return self.W[0].device

    @property
    def dtype(self) -> torch.dtype:
        return self.W[0].dtype

    @property
    def depth(self) -> int:
        return len(self.W)

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.W[0].shape[1],) + tuple(w.shape[0] for w in self.W)

    def num_neurons(self) -> int:
        """Neurons with at least one breakpoint."""
        return sum(w.shape[0] for w, x in zip(self.W, self.xi) if x.numel())

    def piece(self, l: int, z: torch.Tensor, dtype: torch.dtype = torch.long) -> torch.Tensor:
        """Piece index of every entry of ``z`` (ties go to the right piece, as in the exact path)."""
        xi = self.xi[l]
        if xi.numel() == 0:
            return torch.zeros_like(z, dtype=dtype)
        if xi.numel() == 1:
            return (z >= xi[0]).to(dtype)
        return torch.bucketize(z, xi, right=True).to(dtype)

    def per_neuron(self, l: int) -> bool:
        """Whether layer l's neurons have slopes of their own (``q[l]`` is (T+1, n_l))."""
        return self.q[l].dim() == 2

    def is_relu(self, l: int) -> bool:
        """Is layer l's activation c·relu (one breakpoint at 0, slope 0 left of it)?"""
        xi, q, p = self.xi[l], self.q[l], self.p[l]
        return (not self.per_neuron(l) and xi.numel() == 1 and float(q[0]) == 0.0
                and float(p[0]) == 0.0 and float(xi[0]) == 0.0)

    def neuron_table(self, l: int, table: torch.Tensor, piece: torch.Tensor,
                     neuron: torch.Tensor | None = None) -> torch.Tensor:
        """``table[piece]`` for a per-layer table (``q[l]``, ``p[l]`` or a function of them), and
        ``table[piece, neuron]`` for a per-neuron one; ``neuron`` defaults to the last axis of
        ``piece`` (one entry a neuron of the layer)."""
        if table.dim() == 1:
            return table[piece]
        if neuron is None:
            neuron = torch.arange(table.shape[1], device=table.device)
        return table[piece, neuron]

    def slope(self, l: int, z: torch.Tensor) -> torch.Tensor:
        """φ_l'(z), elementwise: the slope q of the piece each entry of ``z`` is on."""
        if self.is_relu(l):
            on = (z > 0).to(z.dtype)
            return on if float(self.q[l][1]) == 1.0 else on.mul_(self.q[l][1])
        return self.neuron_table(l, self.q[l], self.piece(l, z))

    def slope_(self, l: int, z: torch.Tensor) -> torch.Tensor:
        """:meth:`slope`, written over ``z`` where φ is a ReLU (no new tensor); returns it."""
        if not self.is_relu(l):
            return self.slope(l, z)
        z.gt_(0.0)
        return z if float(self.q[l][1]) == 1.0 else z.mul_(self.q[l][1])

    def piece_slope(self, l: int, piece: torch.Tensor) -> torch.Tensor:
        """The slope q of φ_l on each piece index of ``piece`` (any integer dtype), as floats."""
        if self.is_relu(l):
            on = piece.to(self.dtype)
            return on if float(self.q[l][1]) == 1.0 else on.mul_(self.q[l][1])
        return self.neuron_table(l, self.q[l], piece.long())

    def piece_offset(self, l: int, piece: torch.Tensor) -> torch.Tensor:
        """The offset p of φ_l on each piece index of ``piece`` (last axis: the layer's
        neurons)."""
        return self.neuron_table(l, self.p[l], piece.long())

    def act(self, l: int, z: torch.Tensor) -> torch.Tensor:
        """φ_l(z), elementwise: q_0 z + p_0 + Σ_j (q_j - q_{j-1}) relu(z - ξ_j) (no gathers)."""
        xi, q, p = self.xi[l], self.q[l], self.p[l]
        T = xi.numel()
        if self.is_relu(l):
            return torch.relu(z) * q[1] if float(q[1]) != 1.0 else torch.relu(z)
        out = z * q[0] + p[0]
        for j in range(T):  # T breakpoints of φ, not points
            out = out + (q[j + 1] - q[j]) * torch.relu(z - xi[j])
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(B, n_out)`` for inputs ``x: (B, n_in)``."""
        h = x
        for l in range(self.depth):
            h = self.act(l, h @ self.W[l].T + self.b[l])
        return h


SMALL_NET_WEIGHTS = 50_000
"""Below this many weights a float kernel runs on one CPU thread: its matmuls are too small to
share, and OpenMP threads spinning on a core another process holds made the 2-32-32-32-1 slice
4x slower (0.19 s instead of 0.044 s) while one thread stays at its quiet time."""


@contextlib.contextmanager
def threads_for(net: "TorchNet"):
    """Intra-op threads chosen by problem size: one for small nets on the CPU (restored after),
    torch's own choice otherwise (big matmuls, GPUs).

    >>> from exactregions.exact.random import random_network
    >>> with threads_for(TorchNet.from_network(random_network([2, 4, 1]))):
    ...     torch.get_num_threads()
    1
    """
    small = net.device.type == "cpu" and sum(w.numel() for w in net.W) < SMALL_NET_WEIGHTS
    before = torch.get_num_threads()
    if small and before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small and before != 1:
            torch.set_num_threads(before)


def threads_by_size(kernel: Callable[..., Any]) -> Callable[..., Any]:
    """Run a kernel whose first argument is a :class:`TorchNet` under :func:`threads_for`."""
    @functools.wraps(kernel)
    def wrapped(net: "TorchNet", *args: Any, **kwargs: Any) -> Any:
        with threads_for(net):
            return kernel(net, *args, **kwargs)
    return wrapped


def row_chunk(width: int) -> int:
    """Rows per chunk when a (rows, width) block is evaluated: about 16 MB of float64 (below
    glibc's 32 MB mmap threshold, so freed blocks are reused instead of page-faulted anew)."""
    return max(1024, int(16e6 // (8 * max(width, 1))))


def chunks(n: int, size: int) -> list[tuple[int, int]]:
    """Consecutive ranges [a, b) of length ``size`` covering range(n)."""
    return [(a, min(a + size, n)) for a in range(0, n, size)]
