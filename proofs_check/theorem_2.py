"""Theorem 2: for n_in > 1 the density of B_N, E[vol_{n_in−1}(B_N ∩ K)] / vol(K) ≈ T·#neurons,
grows linearly with the number of neurons — and so the number of regions in a 2-D square grows
like (#neurons)² (Theorem 3 with k = n_in counts the vertices, C(#neurons, 2) of them up to a
constant, and a planar subdivision has about as many regions as vertices).

Measured exactly: the exact region complex of 2-w-w-1 ReLU nets on [-1, 1]² for several widths
(B_N,1 lengths, activation and linear region counts), biases N(0, 0.1²) — small biases put the
nets' B_N inside K — and widths from 6 (below that the per-neuron density still drifts: widths
2–12 give an exponent of 1.22).  One point a net, log-log least
squares with Student's t intervals.  The exponents must be pinned: the boundary density's to
within 1 ± 1/4 (a law one power of N off is excluded), the region count's to within 2 ± 1/2
(Theorem 1's linear law, exponent 1, is excluded).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from exactregions.exact.complex import region_complex
from exactregions.exact.domain import box
from proofs_check.context import RunContext
from proofs_check.nets import make_net
from proofs_check.result import CheckResult, verdict_of
from proofs_check.stats import estimate, fit_line

__all__ = ["NAME", "STATEMENT", "run", "complex_task"]

NAME = "theorem_2"
STATEMENT = ("For n_in > 1: E[vol_{n_in−1}(B_N ∩ K)]/vol(K) ≈ T·#neurons (Theorem 2), so the "
             "boundary density grows linearly in #neurons and a 2-D square holds ≍ "
             "(#neurons)² regions.")
BIAS_STD = 0.1


def complex_task(spec: tuple) -> dict[str, Any]:
    """B_N,1 length and region counts of one net on [-1,1]²."""
    widths, seed = spec
    rc = region_complex(make_net(widths, "relu", seed, BIAS_STD), box([(-1, 1), (-1, 1)]),
                        independent_check=False)
    return {"seed": seed, "neurons": sum(widths[1:-1]),
            "length": float(rc.boundary_volumes()[1]),
            "regions": len(rc.activation_regions), "linear_regions": len(rc.linear_regions),
            "certificate_ok": bool(rc.certificate["ok"])}


def run(ctx: RunContext) -> CheckResult:
    """Fit the exponents of the density and the region count in #neurons."""
    t0 = time.perf_counter()
    widths = [6, 8, 12, 16] if ctx.quick else [6, 8, 12, 16, 24, 32]
    M = 8 if ctx.quick else 40
    archs = [(2, w, w, 1) for w in widths]
    rows = ctx.runner.map(complex_task, [(a, ctx.seed_for(NAME, ai * M + i))
                                         for ai, a in enumerate(archs) for i in range(M)], NAME)
    volK = 4.0
    N = [r["neurons"] for r in rows]
    logN = np.log(N)
    density = fit_line(logN, np.log([r["length"] / volK for r in rows]))
    regions = fit_line(logN, np.log([r["linear_regions"] for r in rows]))
    figures: dict[str, Any] = {
        "density_exponent": density.to_json(), "regions_exponent": regions.to_json(),
        "by_neurons": {str(sum(a[1:-1])): {
            "density_over_neurons": estimate([r["length"] / volK / r["neurons"]
                                              for r in rows[ai * M:(ai + 1) * M]]).to_json(),
            "linear_regions_over_neurons_squared": estimate(
                [r["linear_regions"] / r["neurons"] ** 2
                 for r in rows[ai * M:(ai + 1) * M]]).to_json()}
            for ai, a in enumerate(archs)}}
    lo, hi = density.slope_ci99
    rlo, rhi = regions.slope_ci99
    criteria = {
        "density_linear_in_neurons": {
            "ok": 0.75 < lo and hi < 1.25, "exponent": density.slope, "ci99": [lo, hi],
            "rule": "vol_1(B_N ∩ K)/vol(K) ∝ #neurons^β: the 99% interval of β within (3/4, 5/4)"},
        "regions_quadratic_in_neurons": {
            "ok": 1.5 < rlo and rhi < 2.5, "exponent": regions.slope, "ci99": [rlo, rhi],
            "rule": "#linear regions in [-1,1]² ∝ #neurons^γ: the 99% interval of γ within "
                    "(3/2, 5/2) — n_in = 2, not the 1-D law"},
        "certificates": {"ok": all(r["certificate_ok"] for r in rows),
                         "rule": "every exact complex certified"},
    }
    plots = []
    path = ctx.plot_path("theorem_2.png")
    if path is not None:
        from proofs_check.plotting import figure, save

        fig, ax = figure((5.5, 3.8))
        ax.scatter(N, [r["linear_regions"] for r in rows], s=8, label="linear regions")
        ax.scatter(N, [r["length"] for r in rows], s=8, label="length of B_N ∩ K")
        ax.set(xscale="log", yscale="log", xlabel="#neurons (2-w-w-1)",
               title=f"Theorem 2: length ∝ N^{density.slope:.2f}, regions ∝ N^{regions.slope:.2f}")
        ax.legend(fontsize=8)
        plots.append(save(fig, path))
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures, rows,
                       {"archs": [list(a) for a in archs], "nets_per_arch": M,
                        "bias_std": BIAS_STD, "domain": "[-1,1]^2", "seed": ctx.seed,
                        "fit": "one point a net, log-log, Student t on n − 2 df"},
                       time.perf_counter() - t0, tuple(plots))
