"""Corollary 5 / Corollary 8: the mean distance from a point to B_N is at least c / #neurons,
so distance × #neurons stays bounded below across architectures (the paper's Figure 6a puts it
between 0.4 and 1.5 on MNIST).

Distances come from the batched float kernel
(:func:`exactregions.floating.distance.boundary_distance`: min over good neurons of
|z(x) − ξ| / ‖∇z(x)‖, the estimate of dist(x, B_N)), at points uniform in [0, 1]^784 through
He-initialised 784-n1-n2-n3-10 ReLU nets with the paper's architectures.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from proofs_check.context import RunContext
from proofs_check.nets import float_net
from proofs_check.result import CheckResult, verdict_of
from proofs_check.stats import estimate, fit_line

__all__ = ["NAME", "STATEMENT", "run", "distance_task"]

NAME = "corollary_5"
STATEMENT = ("E[distance(x, B_N)] ≥ c / #neurons for x uniform in K (Corollary 5, and Corollary 8 "
             "with the factor T): distance × #neurons is bounded below across architectures.")

ARCHS = [(20, 20, 20), (32, 32, 32), (40, 20, 10), (64, 64, 64), (128, 128, 128)]
BIAS_STD = 1e-3


def distance_task(spec: tuple) -> dict[str, Any]:
    """Mean distance to B_N (good neurons) and to the region boundary, × #neurons, one net."""
    import torch

    from exactregions.floating.distance import boundary_distance

    hidden, seed, points, device = spec
    net = float_net((784, *hidden, 10), "relu", seed, BIAS_STD, device)
    g = torch.Generator().manual_seed(seed % (2 ** 63))
    X = torch.rand(points, 784, dtype=torch.float64, generator=g).to(device)
    r = boundary_distance(net, X)
    N = sum(hidden)
    return {"seed": seed, "good_times_neurons": float(r.good.mean()) * N,
            "region_times_neurons": float(r.region.mean()) * N,
            "near_ties": int(r.near_ties.sum())}


def run(ctx: RunContext) -> CheckResult:
    """Products per architecture, their spread, and the log-log slope of distance vs #neurons."""
    t0 = time.perf_counter()
    M = 6 if ctx.quick else 20
    P = 300 if ctx.quick else 2000
    specs = [(a, ctx.seed_for(NAME, ai * 10_000 + i), P, ctx.device)
             for ai, a in enumerate(ARCHS) for i in range(M)]
    rows = ctx.runner.map(distance_task, specs, NAME)
    figures: dict[str, Any] = {}
    per = {}
    for ai, a in enumerate(ARCHS):
        rs = rows[ai * M:(ai + 1) * M]
        e = estimate([r["good_times_neurons"] for r in rs])
        per[str(list(a))] = e
        figures[str(list(a))] = {"distance_x_neurons": e.to_json(),
                                 "region_distance_x_neurons":
                                     estimate([r["region_times_neurons"] for r in rs]).to_json()}
    Ns = [sum(a) for a in ARCHS]
    # one point a net (log mean distance vs log #neurons): the interval carries net-to-net and
    # architecture-to-architecture scatter, with Student's t on n − 2 degrees of freedom
    xs = [np.log(sum(a)) for ai, a in enumerate(ARCHS) for _ in range(M)]
    ys = [np.log(r["good_times_neurons"] / sum(ARCHS[i // M])) for i, r in enumerate(rows)]
    f = fit_line(xs, ys)
    figures["distance_vs_neurons_loglog"] = f.to_json()
    figures["distance_vs_neurons_loglog_of_means"] = fit_line(
        np.log(Ns), np.log([per[str(list(a))].mean / sum(a) for a in ARCHS])).to_json()
    ties = sum(r["near_ties"] for r in rows)
    figures["near_ties"] = ties
    lo = min(e.ci99[0] for e in per.values())
    hi = max(e.ci99[1] for e in per.values())
    criteria = {
        "decays_like_c_over_n": {
            "ok": -1.2 < f.slope_ci99[0] and f.slope_ci99[1] < -0.8, "slope": f.slope,
            "slope_ci99": list(f.slope_ci99),
            "rule": "mean distance ∝ #neurons^β: the 99% interval of β (one point a net, t on "
                    "n − 2 df) rejects both −0.8 and −1.2 — it pins β near −1, so a decay faster "
                    "than c/#neurons (or a slower one) would be seen"},
        "paper_band": {"ok": lo >= 0.4 and hi <= 1.5, "range_ci99": [lo, hi],
                       "rule": "distance × #neurons inside the paper's Figure 6a band 0.4–1.5 "
                               "for every architecture (99% intervals)"},
    }
    plots = []
    path = ctx.plot_path("corollary_5.png")
    if path is not None:
        from proofs_check.plotting import bars_with_ci

        labels = list(per)
        plots.append(bars_with_ci(path, labels, {"distance × #neurons": [
            (e.mean, 2.576 * e.se) for e in per.values()]},
            f"Corollary 5: mean distance to B_N × #neurons, {P} points in [0,1]^784, {M} nets",
            "distance × #neurons"))
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures, rows,
                       {"points_per_net": P, "nets_per_arch": M, "bias_std": BIAS_STD,
                        "points": "uniform in [0,1]^784", "seed": ctx.seed},
                       time.perf_counter() - t0, tuple(plots))
