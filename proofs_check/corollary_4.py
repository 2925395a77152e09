"""Corollary 4 / Corollary 7: the boundary density E[vol_{n−k}(B_N,k ∩ K)] / vol(K) lies between
C(#neurons, k) · c_bias^k and C(#neurons, k) · (T · C_grad · C_bias)^k.

The density is measured exactly (the exact complexes of :mod:`proofs_check.theorem_3`).  The
constants are computed for the nets used: C_bias = sup ρ_b = 1/(σ_b √(2π)); C_grad = sup_z sup_x
E[‖∇z(x)‖^{2k}]^{1/k}, estimated over random nets on a grid of x in K (the sup over K only,
which can only make the upper bound smaller, i.e. harder to meet); c_bias = ρ_b(η) with
η = sup_K ‖x‖²/n_in + Σ_j σ_{b_j}² and the unknown constant C' of the paper set to 0 — the
largest c_bias, so the strongest form of the lower bound (Corollary 4 states it for ReLU).

The lower bound is far below the measurement (the report gives both ratios: three to six orders
of magnitude), but the upper bound for k = 1 is within 5×, so what can fail is the scaling: the
density must stay below C(#neurons, k)·(T·C_grad·C_bias)^k as the net grows.  Both bounds are
therefore checked at four sizes (ReLU 2-3-3-1 … 2-8-8-1, each size with its own C_grad), and
the fitted exponent β of density ∝ C(N, k)^β is reported with its 99% interval (the drift of β
above 1 is what the size dependence of C_grad ≤ C·exp(C Σ 1/n_j) allows).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from proofs_check.coarea import FloatNet, neuron_gradient_norms
from proofs_check.context import RunContext
from proofs_check.nets import breakpoint_count, make_net
from proofs_check.result import CheckResult, verdict_of
from proofs_check.stats import Z99, estimate
from proofs_check.theorem_3 import exact_volumes

__all__ = ["NAME", "STATEMENT", "run"]

NAME = "corollary_4"
STATEMENT = ("C(#neurons,k)·c_bias^k ≤ E[vol_{n_in−k}(B_N,k ∩ K)]/vol(K) ≤ "
             "C(#neurons,k)·(T·C_grad·C_bias)^k (Corollary 4 for ReLU; Corollary 7's upper bound "
             "for any PWL φ with T breakpoints).")
BIAS_STD = 1.0
ACTS = ("relu", "hardtanh", "pwl0")


def gradient_moments(spec: tuple) -> dict[str, Any]:
    """‖∇z(x)‖^{2k} for every neuron at a grid of x in [-1,1]², for one net (k = 1, 2)."""
    act, widths, seed = spec
    fn = FloatNet.of(make_net(widths, act, seed, BIAS_STD))
    g = np.linspace(-1, 1, 9)
    X = np.array([(a, b) for a in g for b in g])
    norms = neuron_gradient_norms(fn, X)  # (P, #neurons)
    return {"m1": (norms ** 2).tolist(), "m2": (norms ** 4).tolist()}


def run(ctx: RunContext) -> CheckResult:
    """Exact densities against both bounds, per activation and k."""
    t0 = time.perf_counter()
    widths = (2, 6, 6, 1) if ctx.quick else (2, 8, 8, 8, 1)
    M = 24 if ctx.quick else 200
    n = widths[0]
    N = sum(widths[1:-1])
    volK = 2.0 ** n
    ex = ctx.runner.map(exact_volumes, [(a, widths, ctx.seed_for(NAME, j * M + i), BIAS_STD)
                                        for j, a in enumerate(ACTS) for i in range(M)],
                        NAME + " exact")
    gm = ctx.runner.map(gradient_moments, [(a, widths, ctx.seed_for(NAME + "/grad", j * M + i))
                                           for j, a in enumerate(ACTS) for i in range(M)],
                        NAME + " gradients")
    C_bias = 1.0 / (BIAS_STD * math.sqrt(2 * math.pi))
    # η = sup_K ‖x‖²/n_in + Σ_j σ_bj² with C' = 0; on K = [-1,1]^n, sup ‖x‖² = n
    eta = float(n) / n + (len(widths) - 1) * BIAS_STD ** 2
    c_bias = C_bias * math.exp(-0.5 * (eta / BIAS_STD) ** 2)
    criteria: dict[str, dict[str, Any]] = {}
    figures: dict[str, Any] = {"C_bias": C_bias, "c_bias": c_bias, "eta": eta, "neurons": N}
    for j, a in enumerate(ACTS):
        T = breakpoint_count(a)
        rows = gm[j * M:(j + 1) * M]
        for k in range(1, n + 1):
            moments = np.mean([np.array(r[f"m{k}"]) for r in rows], axis=0)  # (P, #neurons)
            C_grad = float(moments.max()) ** (1.0 / k)
            dens = estimate([r["volumes"][str(k)] / volK for r in ex[j * M:(j + 1) * M]])
            upper = math.comb(N, k) * (T * C_grad * C_bias) ** k
            lower = math.comb(N, k) * c_bias ** k if a == "relu" else None
            key = f"{a}_k{k}"
            figures[key] = {"density": dens.to_json(), "C_grad": C_grad, "T": T, "upper": upper,
                            "lower": lower, "upper_over_density": upper / dens.mean,
                            "density_over_lower": dens.mean / lower if lower else None}
            criteria[key + "_upper"] = {"ok": dens.ci99[1] <= upper, "rule": "99% interval of the "
                                        "density below the upper bound", "upper": upper,
                                        "density_ci99_high": dens.ci99[1]}
            if lower is not None:
                criteria[key + "_lower"] = {"ok": dens.ci99[0] >= lower, "rule": "99% interval "
                                            "of the density above the lower bound", "lower": lower,
                                            "density_ci99_low": dens.ci99[0],
                                            "density_over_lower": dens.mean / lower}
    # the scaling in N across sizes (ReLU): both bounds at every size, each with its own C_grad
    sizes = [(2, 3, 3, 1), (2, 4, 4, 1), (2, 6, 6, 1), (2, 8, 8, 1)]
    Ms = 40 if ctx.quick else 150
    seeds = [(si, ctx.seed_for(NAME + "/sizes", si * Ms + i)) for si in range(len(sizes))
             for i in range(Ms)]
    sc = ctx.runner.map(exact_volumes, [("relu", sizes[si], s, BIAS_STD) for si, s in seeds],
                        NAME + " sizes")
    sg = ctx.runner.map(gradient_moments, [("relu", sizes[si], s) for si, s in seeds],
                        NAME + " size gradients")
    for k in range(1, n + 1):
        xs, ys, ws, margins = [], [], [], {}
        for si, w in enumerate(sizes):
            Nw = sum(w[1:-1])
            part = slice(si * Ms, (si + 1) * Ms)
            dens = estimate([r["volumes"][str(k)] / volK for r in sc[part]])
            C_grad = float(np.mean([np.array(r[f"m{k}"]) for r in sg[part]], axis=0).max()) ** (1 / k)
            upper = math.comb(Nw, k) * (C_grad * C_bias) ** k
            lower = math.comb(Nw, k) * c_bias ** k
            margins[str(Nw)] = {"density": dens.to_json(), "upper": upper, "lower": lower,
                                "upper_over_density": upper / dens.mean,
                                "density_over_lower": dens.mean / lower}
            criteria[f"sizes_N{Nw}_k{k}"] = {
                "ok": lower <= dens.ci99[0] and dens.ci99[1] <= upper,
                "upper_over_density": upper / dens.mean, "density_over_lower": dens.mean / lower,
                "rule": f"ReLU {'-'.join(map(str, w))}: 99% interval of the density between "
                        f"C(N,{k})·c_bias^{k} and C(N,{k})·(C_grad·C_bias)^{k}, C_grad of this size"}
            xs.append(math.log(math.comb(Nw, k)))
            ys.append(math.log(dens.mean))
            ws.append((dens.mean / dens.se) ** 2 if dens.se > 0 else 1e12)
        # density ∝ C(N,k)^β, weighted by the size's own precision (delta method)
        X, Y, W = np.array(xs), np.array(ys), np.array(ws)
        xm = float((W * X).sum() / W.sum())
        beta = float((W * (X - xm) * (Y - float((W * Y).sum() / W.sum()))).sum()
                     / (W * (X - xm) ** 2).sum())
        beta_se = float(1.0 / math.sqrt((W * (X - xm) ** 2).sum()))
        figures[f"sizes_k{k}"] = {"by_neurons": margins, "exponent_of_binomial": beta,
                                  "exponent_ci99": [beta - Z99 * beta_se, beta + Z99 * beta_se]}
    plots = []
    path = ctx.plot_path("corollary_4.png")
    if path is not None:
        from proofs_check.plotting import figure, save

        fig, ax = figure((7, 3.8))
        keys = [f"{a}_k{k}" for a in ACTS for k in range(1, n + 1)]
        xs = range(len(keys))
        ax.scatter(xs, [figures[k]["density"]["mean"] for k in keys], c="k", label="exact density")
        ax.scatter(xs, [figures[k]["upper"] for k in keys], marker="v", label="upper bound")
        lows = [(i, figures[k]["lower"]) for i, k in enumerate(keys) if figures[k]["lower"]]
        if lows:
            ax.scatter(*zip(*lows), marker="^", label="lower bound (C' = 0)")
        ax.set_yscale("log")
        ax.set_xticks(list(xs), keys, rotation=20, fontsize=8)
        ax.set_ylabel("E vol(B_N,k ∩ K) / vol(K)")
        ax.set_title(f"Corollary 4/7: density between the bounds, widths {list(widths)}, "
                     f"{M} nets", fontsize=9)
        ax.legend(fontsize=8)
        plots.append(save(fig, path))
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures,
                       {"volumes": ex, "note": "C_grad from the per-(neuron, x) means of "
                        "‖∇z‖^{2k} over the nets, sup over a 9×9 grid of K"},
                       {"widths": list(widths), "nets": M, "bias_std": BIAS_STD,
                        "domain": "[-1,1]^2", "seed": ctx.seed, "C_prime": 0},
                       time.perf_counter() - t0, tuple(plots))
