"""The paper's figures from experiment records (PNG, each with its data as CSV or JSON)."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["curves", "plot_curves", "plot_accuracy_scatter", "plot_slices", "plot_sawtooth",
           "plot_1d_graph", "write_csv", "circumcentre_frame"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """All keys of all rows as columns."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()})


def curves(records: Sequence[dict[str, Any]], key: str) -> dict[str, dict[str, list[float]]]:
    """Per architecture: epochs, mean and sd over seeds of ``key``."""
    out: dict[str, dict[str, list[float]]] = {}
    archs = sorted({tuple(r["hidden"]) for r in records}, key=lambda h: (sum(h), h))
    for h in archs:
        rs = [r for r in records if tuple(r["hidden"]) == h]
        epochs = sorted({r["epoch"] for r in rs})
        m, s = [], []
        for e in epochs:
            v = [r[key] for r in rs if r["epoch"] == e]
            m.append(float(np.mean(v)))
            s.append(float(np.std(v)))
        out[str(list(h))] = {"epoch": epochs, "mean": m, "sd": s}
    return out


def plot_curves(path: Path, records: Sequence[dict[str, Any]], key: str, ylabel: str, title: str,
                max_epoch: float | None = None, band: tuple[float, float] | None = None,
                band_over_neurons: tuple[float, float] | None = None, log_y: bool = False) -> str:
    """One line per architecture (mean ± sd over seeds) against epochs; data as ``.json``.
    ``band``: a horizontal band; ``band_over_neurons``: per architecture the curves a/#neurons
    and b/#neurons, dashed in its colour (Figure 6a's 0.4/N and 1.5/N)."""
    plt = _plt()
    data = curves([r for r in records if max_epoch is None or r["epoch"] <= max_epoch], key)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, c in data.items():
        m, s = np.array(c["mean"]), np.array(c["sd"])
        line, = ax.plot(c["epoch"], m, "o-", ms=3, label=name)
        ax.fill_between(c["epoch"], m - s, m + s, alpha=0.2)
        if band_over_neurons:
            N = sum(json.loads(name))
            for v in band_over_neurons:
                ax.axhline(v / N, color=line.get_color(), ls="--", lw=0.7)
    if band:
        ax.axhspan(*band, color="grey", alpha=0.12, label=f"paper's band {band[0]}–{band[1]}")
    if band_over_neurons:
        ax.plot([], [], "k--", lw=0.7, label=f"{band_over_neurons[0]}/#neurons, "
                f"{band_over_neurons[1]}/#neurons")
    if log_y:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=ylabel)
    ax.set_title(textwrap.fill(title, 80), fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    path.with_suffix(".json").write_text(json.dumps({"key": key, "curves": data}, indent=1))
    return str(path)


def plot_accuracy_scatter(path: Path, records: Sequence[dict[str, Any]], title: str,
                          key: str = "distance_times_neurons") -> str:
    """Figure 6c: distance × #neurons against test accuracy, every checkpoint of every run."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = []
    for name, rs in _by_arch(records).items():
        ax.scatter([r["test_accuracy"] for r in rs], [r[key] for r in rs], s=10, label=name)
        rows += [{"arch": name, "test_accuracy": r["test_accuracy"], key: r[key]} for r in rs]
    ax.set(xlabel="test accuracy", ylabel="mean distance to B_N × #neurons")
    ax.set_title(textwrap.fill(title, 80), fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    write_csv(path.with_suffix(".csv"), rows)
    return str(path)


def _by_arch(records):
    out: dict[str, list] = {}
    for r in records:
        out.setdefault(str(r["hidden"]), []).append(r)
    return out


def circumcentre_frame(p: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor,
                                                            torch.Tensor, float, np.ndarray]:
    """The plane through three points in Euclidean coordinates: its circumcentre c, an
    orthonormal pair (e1, e2), the circumradius R and the three points' (s, t) coordinates.

    >>> c, e1, e2, R, st = circumcentre_frame([torch.tensor([0., 0, 0]), torch.tensor([2., 0, 0]),
    ...                                        torch.tensor([0., 2, 0])])
    >>> c.tolist(), round(R, 6)
    ([1.0, 1.0, 0.0], 1.414214)
    """
    a, b, c3 = (x.to(torch.float64) for x in p)
    u, v = b - a, c3 - a
    e1 = u / u.norm()
    w = v - (v @ e1) * e1
    e2 = w / w.norm()
    B = np.array([[float(u @ e1), 0.0], [float(v @ e1), float(v @ e2)]])
    # circumcentre q (in the frame at a): |q|² = |q − B_i|², i.e. 2 B q = |B_i|²
    q = np.linalg.solve(2 * B, (B ** 2).sum(1))
    centre = a + float(q[0]) * e1 + float(q[1]) * e2
    st = np.array([[0.0, 0.0], B[0], B[1]]) - q
    return centre, e1, e2, float(np.hypot(*q)), st


def plot_slices(path: Path, tns: Sequence[Any], labels: Sequence[str], p: Sequence[torch.Tensor],
                title: str, point_labels: Sequence[str] = ("P1", "P2", "P3")
                ) -> tuple[str, list[dict[str, Any]]]:
    """Figures 1/8: the square around the circumcentre of three training examples (side 2.2 ×
    the circumradius, Euclidean coordinates in their plane), one colour per region, the points
    marked and labelled, for each net (e.g. at init and after training) side by side."""
    from matplotlib.collections import PolyCollection

    from exactregions.floating.slice import slice_regions

    plt = _plt()
    fig, axes = plt.subplots(1, len(tns), figsize=(5 * len(tns), 5))
    axes = np.atleast_1d(axes)
    stats = []
    centre, e1, e2, R, st = circumcentre_frame(p)
    h = 1.1 * R
    box = ((-h, h), (-h, h))
    for ax, tn, lab in zip(axes, tns, labels):
        res = slice_regions(tn, centre, centre + e1, centre + e2, box)
        V = res.verts.cpu().numpy()
        poly = res.poly.cpu().numpy()
        cut = np.flatnonzero(np.r_[True, poly[1:] != poly[:-1], True])
        polys = [V[a:b] for a, b in zip(cut[:-1], cut[1:])]
        colours = np.random.default_rng(0).uniform(0.15, 0.95, size=(len(polys), 3))
        ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="k", linewidths=0.08))
        ax.scatter(st[:, 0], st[:, 1], c="k", s=30, zorder=3)
        for (s_, t_), name in zip(st, point_labels):
            ax.annotate(name, (s_, t_), xytext=(4, 4), textcoords="offset points", fontsize=8,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.8})
        ax.set_xlim(*box[0])
        ax.set_ylim(*box[1])
        ax.set_aspect("equal")
        ax.set_title(f"{lab}: {res.activation_regions} regions "
                     f"({res.linear_regions} linear)", fontsize=9)
        N = sum(tn.widths[1:-1])
        stats.append({"net": lab, "activation_regions": res.activation_regions,
                      "linear_regions": res.linear_regions, "near_ties": res.near_ties,
                      "neurons": N, "regions_over_neurons_squared": res.activation_regions / N ** 2,
                      "square_half_side": h, "circumradius": R})
    fig.suptitle(textwrap.fill(title, 120), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    path.with_suffix(".json").write_text(json.dumps(stats, indent=1))
    return str(path), stats


def _graph(net, xs: np.ndarray) -> np.ndarray:
    from exactregions.floating.tensors import TorchNet

    tn = TorchNet.from_network(net)
    return tn.forward(torch.as_tensor(xs[:, None], dtype=torch.float64))[:, 0].numpy()


def plot_sawtooth(path: Path, n: int, sigma: float, seed: int) -> str:
    """Figure 3: the sawtooth with 2^n teeth and its perturbed version (exact piece counts)."""
    from exactregions.exact.complex import region_complex
    from exactregions.exact.constructions import perturb_network, sawtooth_network
    from exactregions.exact.domain import box

    plt = _plt()
    xs = np.linspace(0, 1, 4001)
    nets = [("sawtooth", sawtooth_network(n)),
            (f"perturbed (σ={sigma})", perturb_network(sawtooth_network(n), sigma, seed))]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    data = {"x": xs.tolist()}
    for ax, (name, net) in zip(axes, nets):
        pieces = len(region_complex(net, box([(0, 1)])).linear_regions)
        y = _graph(net, xs)
        ax.plot(xs, y, lw=0.8)
        ax.set_title(f"{name}: {pieces} linear pieces (exact)", fontsize=9)
        data[name] = {"y": y.tolist(), "pieces": pieces}
    fig.suptitle(f"Figure 3: Telgarsky's sawtooth, n = {n} ({3 * n} ReLU neurons), seed {seed}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    path.with_suffix(".json").write_text(json.dumps(data))
    return str(path)


def plot_1d_graph(path: Path, widths: Sequence[int], seed: int, bias_std: float = 1e-3) -> str:
    """Figure 4: the graph of a 1-in 1-out He-initialised net with its breakpoints (exact),
    biases N(0, bias_std²) — the paper's 10⁻⁶ variance by default.  With biases that small every
    breakpoint sits within a few bias scales of 0 (the net is nearly positively homogeneous), so
    a second panel zooms in on them."""
    from exactregions.exact.complex import region_complex
    from exactregions.exact.domain import box
    from exactregions.exact.random import random_network

    plt = _plt()
    net = random_network(list(widths), seed=seed, bias_std=bias_std)
    rc = region_complex(net, box([(-2, 2)]))
    bps = sorted(float(p.witness[0]) for p in rc.pieces)
    zoom = max(20 * bias_std, 1.2 * max((abs(b) for b in bps), default=0.0))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    data: dict[str, Any] = {"breakpoints": bps, "bias_std": bias_std}
    for ax, (lo, hi), name in ((axes[0], (-2.0, 2.0), "whole"), (axes[1], (-zoom, zoom), "zoom")):
        xs = np.linspace(lo, hi, 4001)
        y = _graph(net, xs)
        ax.plot(xs, y, lw=1)
        inside = [b for b in bps if lo <= b <= hi]
        yb = _graph(net, np.array(inside)) if inside else np.array([])
        ax.scatter(inside, yb, s=8, c="r", zorder=3,
                   label=f"{len(inside)} breakpoints of N (exact)")
        ax.set(xlabel="x", ylabel="N(x)", title=f"x in [{lo:.3g}, {hi:.3g}]")
        ax.legend(fontsize=7)
        data[name] = {"x": xs.tolist(), "y": y.tolist()}
    fig.suptitle(f"Figure 4: 1-in 1-out net {list(widths)} at init, He weights, biases "
                 f"N(0, {bias_std ** 2:.0e}) ({net.num_neurons} neurons, "
                 f"{len(rc.linear_regions)} linear pieces on [-2,2])", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    path.with_suffix(".json").write_text(json.dumps(data))
    return str(path)
