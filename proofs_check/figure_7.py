"""Figure 7: the distribution of log distances from sample points to the nearest region boundary
(depth 4, width 16: 784-16-16-16-16-10) spans many orders of magnitude — small distances come from
many small regions, not from a uniformly fine partition.

At initialisation (He-normal weights, biases N(0, 10⁻⁶) as in the paper's §3), distances from the
batched float kernel (:func:`exactregions.floating.distance.boundary_distance`, good neurons) at
points uniform in [0, 1]^784.  The paper's own figure also shows 1 and 20 epochs of training on
MNIST; that part needs a data set and runs in ``exactregions experiment`` (docs there).  Checked:
the 1%–99% range of log10 distance covers at least two decades, and the histogram is drawn.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from proofs_check.context import RunContext
from proofs_check.nets import float_net
from proofs_check.result import CheckResult, verdict_of

__all__ = ["NAME", "STATEMENT", "run", "log_distances"]

NAME = "figure_7"
STATEMENT = ("For a depth-4, width-16 ReLU net the distance from a sample point to the nearest "
             "region boundary varies over many orders of magnitude (Figure 7, at initialisation).")
HIDDEN = (16, 16, 16, 16)
BIAS_STD = 1e-3   # variance 10⁻⁶, the paper's


def log_distances(spec: tuple) -> dict[str, Any]:
    """log10 of the distance to B_N (good neurons) at P uniform points, one net."""
    import torch

    from exactregions.floating.distance import boundary_distance

    seed, points, device = spec
    net = float_net((784, *HIDDEN, 10), "relu", seed, BIAS_STD, device)
    g = torch.Generator().manual_seed(seed % (2 ** 63))
    X = torch.rand(points, 784, dtype=torch.float64, generator=g).to(device)
    r = boundary_distance(net, X)
    d = r.good.cpu().numpy()
    d = d[np.isfinite(d) & (d > 0)]
    return {"seed": seed, "log10": np.log10(d).tolist(), "near_ties": int(r.near_ties.sum())}


def run(ctx: RunContext) -> CheckResult:
    """Pool the log distances of M nets; spread and histogram."""
    t0 = time.perf_counter()
    M = 4 if ctx.quick else 12
    P = 2000 if ctx.quick else 10000
    rows = ctx.runner.map(log_distances, [(ctx.seed_for(NAME, i), P, ctx.device)
                                          for i in range(M)], NAME)
    v = np.concatenate([np.array(r["log10"]) for r in rows])
    q = {p: float(np.quantile(v, p / 100)) for p in (1, 5, 25, 50, 75, 95, 99)}
    spread = q[99] - q[1]
    counts, edges = np.histogram(v, bins=40)
    figures = {"quantiles_log10": q, "decades_1_to_99": spread, "points": int(v.size),
               "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
               "near_ties": sum(r["near_ties"] for r in rows),
               "mean_distance_x_neurons": float(np.mean(10 ** v) * sum(HIDDEN))}
    criteria = {"many_orders_of_magnitude": {
        "ok": spread >= 2.0, "decades": spread,
        "rule": "the 1%–99% range of log10(distance to B_N) covers at least two decades"}}
    plots = []
    path = ctx.plot_path("figure_7.png")
    if path is not None:
        from proofs_check.plotting import figure, save

        fig, ax = figure()
        ax.hist(v, bins=40, color="C0")
        ax.set(xlabel="log10 distance to the nearest region boundary", ylabel="points",
               title=f"Figure 7 (init): 784-{'-'.join(map(str, HIDDEN))}-10, {M} nets × {P} points")
        plots.append(save(fig, path))
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures,
                       {"quantiles_by_net": [{"seed": r["seed"], "median_log10":
                                              float(np.median(r["log10"]))} for r in rows]},
                       {"hidden": list(HIDDEN), "nets": M, "points_per_net": P,
                        "bias_std": BIAS_STD, "points": "uniform in [0,1]^784", "seed": ctx.seed},
                       time.perf_counter() - t0, tuple(plots))
