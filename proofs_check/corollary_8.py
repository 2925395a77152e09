"""Corollary 8: E[distance(x, B_N)] ≥ c / (T · C_grad · C_bias · #neurons) — the distance bound of
Corollary 5 with the factor T (breakpoints of φ), checked with a constant derived from the
paper's proof sketch (Appendix E; the paper states no value of c).

The proof: E[dist] ≥ ε · P(dist > ε), and P(dist ≤ ε) ≤ vol(T_ε(B_N) ∩ K) / vol(K) ≈ 2ε ·
E[vol_1(B_N ∩ K)] / vol(K) ≤ 2ε · T · C_grad · C_bias · #neurons (Lemma 12, Corollary 7 with
k = 1).  Taking ε = 1 / (4 T C_grad C_bias #neurons) gives P(dist > ε) ≥ 1/2, hence
c = 1/8 (the ε² and ∂K terms of the tube dropped, as the sketch does).

Measured exactly in 2-D: the distance from x uniform in K = [-1, 1]² to B_N is the distance to the
union of the exact B_N,1 segments of the region complex on K' = [-1-r, 1+r]² (certified: a point
of B_N nearer to x than r lies in K'; r doubles from 1 until every measured distance is below
it).  ReLU
(T = 1) and hard tanh (T = 2) on the same architecture.  ``--plant E`` multiplies the bound by
1 + E; the margin (the largest E it survives) is the report's power.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from exactregions.exact.complex import region_complex
from exactregions.exact.domain import box
from proofs_check.context import RunContext
from proofs_check.corollary_4 import gradient_moments
from proofs_check.lemma_12 import segment_distance
from proofs_check.nets import breakpoint_count, make_net
from proofs_check.result import CheckResult, verdict_of
from proofs_check.stats import estimate

__all__ = ["NAME", "STATEMENT", "run", "distance_task", "C_PROOF"]

NAME = "corollary_8"
STATEMENT = ("E[distance(x, B_N)] ≥ c / (T · C_grad · C_bias · #neurons) for x uniform in K "
             "(Corollary 8; c = 1/8, our derivation from the proof sketch of Appendix E with "
             "ε = 1/(4 T C_grad C_bias #neurons)).")
C_PROOF = 1.0 / 8.0
BIAS_STD = 1.0
ACTS = ("relu", "hardtanh")
WIDTHS = (2, 6, 6, 1)
MAX_REACH = 16
"""The box K' grows ([-2,2]², [-3,3]², [-5,5]², …) until every distance is below its reach."""


def distance_task(spec: tuple) -> dict[str, Any]:
    """Mean exact distance to B_N over P uniform points of [-1,1]², one net."""
    act, widths, seed, points = spec
    net = make_net(widths, act, seed, BIAS_STD)
    X = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(points, 2))
    r = 1
    while True:
        # B_N on K' = [-1-r, 1+r]²: exact for every x in K whose distance is below r
        rc = region_complex(net, box([(-1 - r, 1 + r)] * 2), independent_check=False)
        V = np.array([[float(c) for c in v] for v in rc.vertices])
        edges = [f for f in rc.faces if f.dim == 1 and f.in_bn and not f.on_boundary]
        d = segment_distance(X, np.array([V[min(f.verts)] for f in edges]),
                             np.array([V[max(f.verts)] for f in edges])) if edges else None
        if d is not None and d.max() < r:
            break
        if r >= MAX_REACH:
            return {"seed": seed, "mean_distance": math.inf, "max_distance": math.inf,
                    "reach": r, "neurons": net.num_neurons}
        r *= 2
    return {"seed": seed, "mean_distance": float(d.mean()), "max_distance": float(d.max()),
            "reach": r, "neurons": net.num_neurons}


def run(ctx: RunContext) -> CheckResult:
    """Exact mean distances against the proof's bound, per T."""
    t0 = time.perf_counter()
    M = 30 if ctx.quick else 150
    P = 400 if ctx.quick else 2000
    N = sum(WIDTHS[1:-1])
    specs = [(a, WIDTHS, ctx.seed_for(NAME, j * M + i), P) for j, a in enumerate(ACTS)
             for i in range(M)]
    rows = ctx.runner.map(distance_task, specs, NAME)
    grads = ctx.runner.map(gradient_moments, [(a, WIDTHS, s) for a, _, s, _ in specs],
                           NAME + " gradients")
    C_bias = 1.0 / (BIAS_STD * math.sqrt(2 * math.pi))
    criteria: dict[str, dict[str, Any]] = {}
    figures: dict[str, Any] = {"C_bias": C_bias, "c": C_PROOF, "neurons": N,
                               "planted_relative_error": ctx.plant}
    margins = {}
    per_T = {}
    for j, a in enumerate(ACTS):
        T = breakpoint_count(a)
        rs = rows[j * M:(j + 1) * M]
        C_grad = float(np.mean([np.array(r["m1"]) for r in grads[j * M:(j + 1) * M]],
                               axis=0).max())
        bound = C_PROOF / (T * C_grad * C_bias * N) * (1.0 + ctx.plant)
        e = estimate([r["mean_distance"] for r in rs])
        far = max(r["max_distance"] / r["reach"] for r in rs)
        margins[a] = e.ci99[0] / bound * (1.0 + ctx.plant) - 1.0
        per_T[T] = e
        figures[a] = {"T": T, "C_grad": C_grad, "bound": bound, "distance": e.to_json(),
                      "distance_x_neurons": e.mean * N, "measured_over_bound": e.mean / bound,
                      "largest_distance_over_reach": far}
        criteria[a] = {"ok": e.ci99[0] >= bound, "bound": bound, "distance_ci99_low": e.ci99[0],
                       "rule": f"T = {T}: 99% interval of the mean exact distance ≥ "
                               "1/(8·T·C_grad·C_bias·#neurons)"}
        criteria[f"{a}_certified"] = {
            "ok": far < 1.0, "largest_distance_over_reach": far,
            "rule": "every distance below its box's reach r, so B_N within [-1-r, 1+r]² is all "
                    "of B_N that matters (a net with no B_N within reach 16 fails this)"}
    figures["T2_over_T1_distance"] = per_T[2].mean / per_T[1].mean
    figures["margin"] = margins
    figures["power"] = min(margins.values())
    plots = []
    path = ctx.plot_path("corollary_8.png")
    if path is not None:
        from proofs_check.plotting import bars_with_ci

        plots.append(bars_with_ci(path, list(ACTS), {
            "mean distance": [(figures[a]["distance"]["mean"],
                               figures[a]["distance"]["ci99"][1] - figures[a]["distance"]["mean"])
                              for a in ACTS],
            "bound c/(T C_grad C_bias N)": [(figures[a]["bound"], 0.0) for a in ACTS]},
            f"Corollary 8: exact distance to B_N, {list(WIDTHS)}, {M} nets", "distance"))
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures, rows,
                       {"widths": list(WIDTHS), "nets_per_activation": M, "points_per_net": P,
                        "bias_std": BIAS_STD, "domain": "[-1,1]^2 (B_N from [-1-r,1+r]^2)",
                        "seed": ctx.seed, "plant": ctx.plant,
                        "C_grad": "sup over a 9×9 grid of K of the per-(neuron, x) mean of ‖∇z‖²"},
                       time.perf_counter() - t0, tuple(plots))
