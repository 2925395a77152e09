"""Float kernels side by side with regioncam (PyPI ``regioncam``, Rust float32), printed.

    .venv/bin/pip install regioncam==0.5.2     # benchmark-only, not a dependency
    .venv/bin/python benchmarks/bench_float.py [--lines 1000] [--regioncam-lines 50] [--device cpu]

Both tools run on the same nets and the same plane/segments: regioncam's own square (read back
from its ``plane``) and its own segment ends (``inputs`` before any layer) are handed to ours.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import exactregions as er
from exactregions.floating.distance import boundary_distance
from exactregions.floating.lines import line_regions
from exactregions.floating.slice import slice_regions
from exactregions.floating.tensors import TorchNet
from exactregions.floating.torch_io import network_to_torch

try:
    import regioncam as R
except ImportError:  # pragma: no cover - optional
    R = None


def _sync(dev: str) -> None:
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


def bench_slice(dev: str, size: float = 1.5, reps: int = 5) -> None:
    """Median of ``reps`` runs each, the two tools alternating (this machine's timings vary).
    ``size``: regioncam's square half-width around the three points (its default 1.5; 2.0 gives
    ~35,000 faces, the scale quoted in the issue)."""
    net = er.random_network([784, 200, 200, 200, 10], seed=0, bias_std=0.1)
    P = np.random.default_rng(0).uniform(0, 1, size=(3, 784)).astype(np.float32)
    tn = TorchNet.from_network(net, device=dev)
    t_rc, faces = [], "-"
    if R is not None:
        layers = R.nn.convert(network_to_torch(net, dtype=torch.float32))
        rc = R.Regioncam.through_points(P, size=size)
        W = np.asarray(rc.plane.weight, np.float64)
        b = np.asarray(rc.plane.bias, np.float64)
        a = float(np.asarray(rc.vertex_inputs)[2, 0])
        corners = [b + np.array(c) @ W for c in ([-a, -a], [a, -a], [-a, a])]
    else:
        corners = list(P.astype(np.float64))
    args = [torch.tensor(c, device=dev) for c in corners]
    slice_regions(tn, *args)  # warm-up
    t_ours = []
    for _ in range(reps):
        if R is not None:
            rc = R.Regioncam.through_points(P, size=size)
            t = time.perf_counter()
            rc.add(layers)
            t_rc.append(time.perf_counter() - t)
            faces = rc.num_faces
        _sync(dev)
        t = time.perf_counter()
        res = slice_regions(tn, *args)
        _sync(dev)
        t_ours.append(time.perf_counter() - t)
    ours, theirs = float(np.median(t_ours)), float(np.median(t_rc)) if t_rc else float("nan")
    print(f"slice 784-200-200-200-10 (bias sd 0.1, square size {size}): ours "
          f"{res.activation_regions} regions "
          f"({res.near_ties} near-ties) in {ours:.2f} s on {dev} (median of {reps}); regioncam "
          f"{faces} faces in {theirs:.2f} s; ours/regioncam time {ours / theirs:.2f} "
          f"(target <= 0.5)", flush=True)


def bench_slice_2d(dev: str) -> None:
    net = er.random_network([2, 32, 32, 32, 1], seed=0, bias_std=1e-3)
    tn = TorchNet.from_network(net, device=dev)
    e = torch.eye(2, dtype=torch.float64, device=dev)
    z = torch.zeros(2, dtype=torch.float64, device=dev)
    slice_regions(tn, z, e[0], e[1], ((-1.0, 1.0), (-1.0, 1.0)))
    t = time.perf_counter()
    res = slice_regions(tn, z, e[0], e[1], ((-1.0, 1.0), (-1.0, 1.0)))
    _sync(dev)
    el = time.perf_counter() - t
    exact = er.region_complex(net, er.box([(-1, 1), (-1, 1)]))
    areas = sorted(float(r.volume) for r in exact.activation_regions)
    small = sum(a < 1e-8 for a in areas)
    print(f"2-32-32-32-1 on [-1,1]^2 (bias sd 1e-3): float {res.activation_regions} regions, "
          f"{res.near_ties} near-ties, {el:.3f} s; exact {len(exact.activation_regions)} "
          f"({small} of area < 1e-8); agree: {res.activation_regions == len(exact.activation_regions)}",
          flush=True)


def bench_under_load(dev: str, reps: int = 7) -> None:
    """The 2-32-32-32-1 slice quiet and while a second CPU-bound process spins (medians of
    alternating runs; the kernel picks one thread for a net this small)."""
    import statistics
    import subprocess
    import sys
    net = er.random_network([2, 32, 32, 32, 1], seed=0, bias_std=1e-3)
    tn = TorchNet.from_network(net, device=dev)
    e = torch.eye(2, dtype=torch.float64, device=dev)
    z = torch.zeros(2, dtype=torch.float64, device=dev)

    def once() -> float:
        t = time.perf_counter()
        slice_regions(tn, z, e[0], e[1], ((-1.0, 1.0), (-1.0, 1.0)))
        _sync(dev)
        return time.perf_counter() - t

    once()
    quiet, busy = [], []
    for _ in range(reps):
        quiet.append(once())
        spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.2)
        try:
            busy.append(once())
        finally:
            spin.kill()
            spin.wait()
    q, b = statistics.median(quiet), statistics.median(busy)
    print(f"2-32-32-32-1 slice under load: quiet {q:.3f} s, with a second busy process {b:.3f} s "
          f"({b / q:.2f}x; target <= 1.5x)", flush=True)


def bench_lines(dev: str, n_lines: int, n_rc: int) -> None:
    net = er.random_network([784, 1000, 1000, 1000, 10], seed=0, bias_std=1e-3)
    tn = TorchNet.from_network(net, device=dev)
    rng = np.random.default_rng(1)
    A0 = rng.uniform(0, 1, size=(n_lines, 784))   # lines through two random points of [0,1]^784
    X = rng.uniform(0, 1, size=(n_lines, 784))
    if R is not None:
        layers = R.nn.convert(network_to_torch(net, dtype=torch.float32))
        # regioncam's segment through P1, P2 (size 1.5): midpoint +- (1.5/4)(P2 - P1); checked
        # once by reading the inputs back through an identity layer
        def seg(i):
            mid, half = (A0[i] + X[i]) / 2, 0.375 * (X[i] - A0[i])
            return mid - half, mid + half
        probe = R.Regioncam1D.through_points(np.stack([A0[0], X[0]]).astype(np.float32))
        lid = probe.add(R.nn.Linear(np.eye(784, dtype=np.float32), np.zeros(784, np.float32)))
        got = np.asarray(probe.activations(lid), np.float64)
        assert np.allclose(got, np.stack(seg(0)), atol=1e-4), "regioncam's segment is elsewhere"
        ends, t_rc, pieces_rc = [], 0.0, []
        for i in range(n_lines):
            ends.append(seg(i))
            if i < n_rc:
                r1 = R.Regioncam1D.through_points(np.stack([A0[i], X[i]]).astype(np.float32))
                t = time.perf_counter()
                r1.add(layers)
                t_rc += time.perf_counter() - t
                pieces_rc.append(r1.num_edges)
        p = torch.tensor(np.array([a for a, _ in ends]), device=dev)
        d = torch.tensor(np.array([b - a for a, b in ends]), device=dev)
        rc_per_line = t_rc / n_rc
    else:
        p = torch.tensor(A0, device=dev)
        d = torch.tensor(X - A0, device=dev)
        rc_per_line, pieces_rc = float("nan"), []
    line_regions(tn, p[:2], d[:2])
    _sync(dev)
    t = time.perf_counter()
    res = line_regions(tn, p, d)
    _sync(dev)
    el = time.perf_counter() - t
    ours_rate = n_lines / el
    rc_rate = 1 / rc_per_line
    same = (res.activation_pieces[:len(pieces_rc)].cpu().numpy() == np.array(pieces_rc)).mean() \
        if pieces_rc else float("nan")
    print(f"lines 784-1000-1000-1000-10: ours {n_lines} lines in {el:.2f} s ({ours_rate:.1f} lines/s, "
          f"{int(res.near_ties.sum())} near-ties) on {dev}; regioncam {rc_per_line * 1e3:.1f} ms a line "
          f"({rc_rate:.1f} lines/s, {n_rc} lines); speed-up {ours_rate / rc_rate:.1f}x (target >= 10); "
          f"same piece count on {same:.0%} of the lines compared", flush=True)


def bench_distance(dev: str) -> None:
    net = er.random_network([784, 64, 64, 64, 10], seed=0, bias_std=1e-3)
    tn = TorchNet.from_network(net, device=dev)
    x = torch.rand(10000, 784, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).to(dev)
    boundary_distance(tn, x[:10])
    t = time.perf_counter()
    r = boundary_distance(tn, x)
    _sync(dev)
    el = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, 10000, 1024):
        J = tn.W[0].expand(min(1024, 10000 - i), *tn.W[0].shape)
        for W in tn.W[1:]:
            J = torch.matmul(W, J)
    _sync(dev)
    jac = time.perf_counter() - t
    print(f"distance 10,000 points through 784-64-64-64-10: {el:.2f} s on {dev}; bare Jacobian "
          f"matmuls {jac:.2f} s; ratio {el / jac:.2f} (target <= 3); mean distance x #neurons "
          f"{float(r.good.mean()) * tn.num_neurons():.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--regioncam-lines", type=int, default=50)
    ap.add_argument("--only", choices=["slice", "slice2d", "lines", "distance", "load"])
    a = ap.parse_args()
    torch.manual_seed(0)
    if a.only in (None, "slice2d"):
        bench_slice_2d(a.device)
    if a.only in (None, "load"):
        bench_under_load(a.device)
    if a.only in (None, "slice"):
        for size in (1.5, 2.0):
            bench_slice(a.device, size)
    if a.only in (None, "distance"):
        bench_distance(a.device)
    if a.only in (None, "lines"):
        bench_lines(a.device, a.lines, min(a.regioncam_lines, a.lines))


if __name__ == "__main__":
    main()
