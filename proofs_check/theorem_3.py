"""Theorem 3 / Theorem 6 / Proposition 11: the mean (n_in−k)-volume of B_N,k ∩ K equals
Σ_{z_1..z_k} Σ_{ξ} ∫_K E[Y] dx.

Left side: exact volumes (rational lengths times square roots, point counts) of B_N,k ∩ int K
from the exact region complex, averaged over M random nets.  Right side: the integrand Y of
:mod:`proofs_check.coarea` averaged over x uniform in K and over M other random nets.  The two
means must agree within a 99% two-sample interval, for every k and for ReLU (T = 1), hard tanh
and a PWL with a zero-slope middle piece (T = 2).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from exactregions.exact.complex import region_complex
from exactregions.exact.domain import box
from proofs_check.coarea import FloatNet, theorem3_integrand
from proofs_check.context import RunContext
from proofs_check.nets import breakpoint_count, make_net
from proofs_check.result import CheckResult, verdict_of
from proofs_check.stats import Z99, agree, estimate

__all__ = ["NAME", "STATEMENT", "run", "exact_volumes", "formula_volumes"]

NAME = "theorem_3"
STATEMENT = ("E[vol_{n_in−k}(B_N,k ∩ K)] = Σ_{distinct z_1..z_k} ∫_K E[Y_{z_1..z_k}(x)] dx with "
             "Y = ‖J_{z_1..z_k}(x)‖ ρ_b(z(x) − ξ) 1{all z_j good at x} (Theorem 3 for ReLU, "
             "Theorem 6 for any PWL φ with T breakpoints; Proposition 11 for each k-set).")

ACTS = ("relu", "hardtanh", "pwl0")


def exact_volumes(spec: tuple) -> dict[str, Any]:
    """Exact vol(B_N,k ∩ int K) for k = 1..n of one random net on [-1, 1]^n (floats for the
    statistics; the exact values are sums of square roots)."""
    act, widths, seed, bias_std = spec
    n = widths[0]
    rc = region_complex(make_net(widths, act, seed, bias_std), box([(-1, 1)] * n))
    vols = rc.boundary_volumes()
    return {"seed": seed, "regions": len(rc.activation_regions),
            "volumes": {str(k): float(v) for k, v in vols.items()},
            "certificate_ok": bool(rc.certificate["ok"])}


def formula_volumes(spec: tuple) -> dict[str, Any]:
    """vol(K) · mean over P uniform x of Σ Y, for one random net and each k."""
    act, widths, seed, bias_std, points = spec
    n = widths[0]
    fn = FloatNet.of(make_net(widths, act, seed, bias_std))
    X = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(points, n))
    return {"seed": seed, "volumes": {str(k): float(2.0 ** n * theorem3_integrand(fn, X, k, bias_std).mean())
                                      for k in range(1, n + 1)}}


def run(ctx: RunContext) -> CheckResult:
    """Compare the exact means with the formula for each activation and k."""
    t0 = time.perf_counter()
    widths = (2, 6, 6, 1) if ctx.quick else (2, 8, 8, 8, 1)
    M = 40 if ctx.quick else 120
    P = 512
    bias_std = 1.0
    n = widths[0]
    ex_specs = [(a, widths, ctx.seed_for(NAME, i * len(ACTS) + j), bias_std)
                for j, a in enumerate(ACTS) for i in range(M)]
    mc_specs = [(a, widths, ctx.seed_for(NAME + "/formula", i * len(ACTS) + j), bias_std, P)
                for j, a in enumerate(ACTS) for i in range(M)]
    ex = ctx.runner.map(exact_volumes, ex_specs, NAME + " exact")
    mc = ctx.runner.map(formula_volumes, mc_specs, NAME + " formula")
    criteria: dict[str, dict[str, Any]] = {}
    figures: dict[str, Any] = {}
    for j, a in enumerate(ACTS):
        rows_e = ex[j * M:(j + 1) * M]
        rows_m = mc[j * M:(j + 1) * M]
        for k in range(1, n + 1):
            e = estimate([r["volumes"][str(k)] for r in rows_e])
            m = estimate([r["volumes"][str(k)] for r in rows_m])
            test = agree(e, m)
            key = f"{a}_k{k}"
            figures[key] = {"T": breakpoint_count(a), "exact": e.to_json(), "formula": m.to_json(),
                            "z": test["z"]}
            criteria[key] = {"ok": test["ok"], "rule": "|exact − formula| ≤ 2.576 combined SE",
                             "z": test["z"]}
        criteria[f"{a}_certificates"] = {"ok": all(r["certificate_ok"] for r in rows_e),
                                         "rule": "every exact complex certified"}
    for src in ("exact", "formula"):
        figures[f"T_factor_k1_{src}"] = (figures["hardtanh_k1"][src]["mean"]
                                         / figures["relu_k1"][src]["mean"])
    plots = []
    path = ctx.plot_path("theorem_3.png")
    if path is not None:
        from proofs_check.plotting import bars_with_ci

        labels = [f"{a} k={k}" for a in ACTS for k in range(1, n + 1)]
        series = {src: [(figures[f"{a}_k{k}"][src]["mean"], Z99 * figures[f"{a}_k{k}"][src]["se"])
                        for a in ACTS for k in range(1, n + 1)] for src in ("exact", "formula")}
        plots.append(bars_with_ci(path, labels, series,
                                  f"Theorem 3: E vol(B_N,k ∩ [-1,1]²), widths {list(widths)}, "
                                  f"{M} nets each", "volume (k=1: length, k=2: #points)"))
    evidence = {"exact": {a: ex[j * M:(j + 1) * M] for j, a in enumerate(ACTS)},
                "formula": {a: mc[j * M:(j + 1) * M] for j, a in enumerate(ACTS)}}
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures, evidence,
                       {"widths": list(widths), "nets_per_side": M, "points_per_net": P,
                        "bias_std": bias_std, "domain": "[-1,1]^2", "seed": ctx.seed,
                        "test": "two-sample z at 99% (normal approximation)"},
                       time.perf_counter() - t0, tuple(plots))
