"""Theorem 3 / Theorem 6: the mean (n_in−k)-volume of B_N,k ∩ K equals
Σ_{z_1..z_k} Σ_{ξ} ∫_K E[Y] dx.

Paired design: on every random net, the left side (exact volumes — rational lengths times square
roots, point counts — of B_N,k ∩ int K from the exact region complex) and the right side (the
integrand Y of :mod:`proofs_check.coarea`, averaged over x uniform in K on *the same net*) are
computed, and the mean of their differences must be 0 within a 99% interval, for every k and
for ReLU (T = 1), hard tanh and a PWL with a zero-slope middle piece (T = 2).

Teeth.  The report gives each comparison's power: the smallest relative error of the formula it
detects with probability 80% (``--plant E`` multiplies the formula by 1 + E to show it).  The
paper's two subtle terms — the goodness indicator 1{z_j good} and the forward pass conditioned on
the earlier z's sitting at their breakpoints — change the mean by a few percent on wide nets,
below what a few hundred nets resolve; so a second, narrow and deep architecture (where dead
paths are common) runs the theorem against both ablations, and each ablation must be rejected.
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
from proofs_check.stats import Z99, family_z, paired

__all__ = ["NAME", "STATEMENT", "run", "measure", "judge", "exact_volumes", "paired_volumes",
           "VARIANTS"]

NAME = "theorem_3"
STATEMENT = ("E[vol_{n_in−k}(B_N,k ∩ K)] = Σ_{distinct z_1..z_k} ∫_K E[Y_{z_1..z_k}(x)] dx with "
             "Y = ‖J_{z_1..z_k}(x)‖ ρ_b(z(x) − ξ) 1{all z_j good at x} (Theorem 3 for ReLU, "
             "Theorem 6 for any PWL φ with T breakpoints).")

ACTS = ("relu", "hardtanh", "pwl0")
TERMS_WIDTHS = (2, 2, 2, 2, 2, 1)
"""Narrow and deep: the goodness indicator changes the k = 1 formula by ~20% and the conditioned
pass the k = 2 formula by ~15% here (a few percent on 2-6-6-1)."""
VARIANTS = {"theorem": {}, "no_goodness": {"goodness": False},
            "plain_pass": {"conditional": False}}
BIAS_STD = 1.0


def exact_volumes(spec: tuple) -> dict[str, Any]:
    """Exact vol(B_N,k ∩ int K) for k = 1..n of one random net on [-1, 1]^n (floats for the
    statistics; the exact values are sums of square roots), and per set of neurons."""
    act, widths, seed, bias_std = spec
    n = widths[0]
    rc = region_complex(make_net(widths, act, seed, bias_std), box([(-1, 1)] * n))
    vols = rc.boundary_volumes()
    by_set: dict[str, float] = {}
    for p in rc.pieces:
        key = repr(tuple(sorted(p.neurons)))
        by_set[key] = by_set.get(key, 0.0) + float(p.volume)
    return {"seed": seed, "regions": len(rc.activation_regions),
            "volumes": {str(k): float(v) for k, v in vols.items()}, "by_set": by_set,
            "certificate_ok": bool(rc.certificate["ok"])}


def paired_volumes(spec: tuple) -> dict[str, Any]:
    """One net, both sides: the exact volumes and vol(K)·mean over P uniform x of Σ Y for each
    k and each requested formula variant (``theorem``, ``no_goodness``, ``plain_pass``)."""
    act, widths, seed, bias_std, points, variants = spec
    n = widths[0]
    out = exact_volumes((act, widths, seed, bias_std))
    fn = FloatNet.of(make_net(widths, act, seed, bias_std))
    X = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(points, n))
    out["formula"] = {v: {str(k): float(2.0 ** n * theorem3_integrand(
        fn, X, k, bias_std, **VARIANTS[v]).mean()) for k in range(1, n + 1)} for v in variants}
    return out


def sizes(quick: bool) -> dict[str, Any]:
    """Architecture and sample sizes: nets a side on the main design, nets of the ablation
    design, x per net."""
    if quick:
        return {"widths": (2, 6, 6, 1), "nets": 60, "terms_nets": 1000, "points": 512,
                "terms_points": 256}
    return {"widths": (2, 8, 8, 8, 1), "nets": 200, "terms_nets": 3000, "points": 512,
            "terms_points": 256}


def measure(ctx: RunContext) -> dict[str, Any]:
    """Run both designs on the cluster: per activation on the main architecture, and the
    ablation design on :data:`TERMS_WIDTHS`."""
    sz = sizes(ctx.quick)
    widths, M, M_terms, P = sz["widths"], sz["nets"], sz["terms_nets"], sz["points"]
    specs = [(a, widths, ctx.seed_for(NAME, i * len(ACTS) + j), BIAS_STD, P, ("theorem",))
             for j, a in enumerate(ACTS) for i in range(M)]
    rows = ctx.runner.map(paired_volumes, specs, NAME)
    tspecs = [("relu", TERMS_WIDTHS, ctx.seed_for(NAME + "/terms", i), BIAS_STD,
               sz["terms_points"], tuple(VARIANTS)) for i in range(M_terms)]
    terms = ctx.runner.map(paired_volumes, tspecs, NAME + " terms")
    return {"main": {a: rows[j * M:(j + 1) * M] for j, a in enumerate(ACTS)}, "terms": terms,
            "settings": {"widths": list(widths), "nets": M, "terms_widths": list(TERMS_WIDTHS),
                         "terms_nets": M_terms, "points_per_net": P,
                         "terms_points_per_net": sz["terms_points"], "bias_std": BIAS_STD,
                         "domain": "[-1,1]^2", "seed": ctx.seed,
                         "design": "paired (both sides on the same nets)",
                         "test": "paired z at 99% (normal approximation)"}}


def judge(data: dict[str, Any], plant: float = 0.0, plot_path: Any = None,
          seconds: float = 0.0) -> CheckResult:
    """The verdict from measured data; ``plant`` multiplies every formula by 1 + plant."""
    criteria: dict[str, dict[str, Any]] = {}
    figures: dict[str, Any] = {"planted_relative_error": plant}
    n = 2
    power = {}
    zc = family_z(n * (len(data["main"]) + 1))   # every comparison of the theorem
    for a, rows in data["main"].items():
        for k in range(1, n + 1):
            t = paired([r["volumes"][str(k)] for r in rows],
                       [r["formula"]["theorem"][str(k)] for r in rows], plant, zc)
            key = f"{a}_k{k}"
            figures[key] = {"T": breakpoint_count(a), **t}
            power[key] = t["detectable_relative_error"]
            criteria[key] = {"ok": t["ok"], "z": t["z"], "rule": "paired: |mean(exact − formula)|"
                             f" ≤ {zc:.3f} SE (99% for the theorem's comparisons together)",
                             "detectable_relative_error": t["detectable_relative_error"]}
        criteria[f"{a}_certificates"] = {"ok": all(r["certificate_ok"] for r in rows),
                                         "rule": "every exact complex certified"}
    for src in ("measured_mean", "predicted_mean"):
        figures[f"T_factor_k1_{src}"] = (figures["hardtanh_k1"][src] / figures["relu_k1"][src])
    # the ablation design: the theorem holds, and each ablated formula is rejected
    terms = data["terms"]
    ablations: dict[str, Any] = {}
    for k in range(1, n + 1):
        ex = [r["volumes"][str(k)] for r in terms]
        for v in VARIANTS:   # the plant is for the theorem's side only, not its ablations
            t = paired(ex, [r["formula"][v][str(k)] for r in terms],
                       plant if v == "theorem" else 0.0, zc)
            ablations[f"{v}_k{k}"] = t
        t = ablations[f"theorem_k{k}"]
        power[f"terms_k{k}"] = t["detectable_relative_error"]
        criteria[f"terms_theorem_k{k}"] = {
            "ok": t["ok"], "z": t["z"], "rule": f"narrow deep nets: paired |z| ≤ {zc:.3f}",
            "detectable_relative_error": t["detectable_relative_error"]}
    for v, k, why in (("no_goodness", 1, "the goodness indicator 1{z good}"),
                      ("plain_pass", 2, "the forward pass conditioned on z_1 at its breakpoint")):
        t = ablations[f"{v}_k{k}"]
        criteria[f"sees_{v}"] = {
            "ok": abs(t["z"]) > zc, "z": t["z"],
            "effect": t["relative_difference"],
            "rule": f"the formula without {why} is rejected (paired |z| > {zc:.3f}) at k = {k}: "
                    "the check can tell the paper's term from its omission"}
    figures["ablations"] = ablations
    figures["power_detectable_relative_error"] = power
    figures["power"] = min(power.values())   # its most sensitive comparison
    plots = []
    if plot_path is not None:
        from proofs_check.plotting import bars_with_ci

        keys = [f"{a}_k{k}" for a in data["main"] for k in range(1, n + 1)]
        series = {src: [(figures[key][f"{src}_mean"], Z99 * figures[key]["se"]) for key in keys]
                  for src in ("measured", "predicted")}
        s = data["settings"]
        plots.append(bars_with_ci(plot_path, keys, series,
                                  f"Theorem 3: E vol(B_N,k ∩ [-1,1]²), widths {s['widths']}, "
                                  f"{s['nets']} nets (paired)", "volume (k=1: length, k=2: #points)"))
    evidence = {"main": {a: [{kk: r[kk] for kk in ("seed", "regions", "volumes", "formula")}
                             for r in rows] for a, rows in data["main"].items()},
                "terms": [{kk: r[kk] for kk in ("seed", "volumes", "formula")} for r in terms]}
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures, evidence,
                       {**data["settings"], "plant": plant}, seconds, tuple(plots))


def run(ctx: RunContext) -> CheckResult:
    """Measure, then judge (with the run's planted error)."""
    t0 = time.perf_counter()
    data = measure(ctx)
    return judge(data, ctx.plant, ctx.plot_path("theorem_3.png"), time.perf_counter() - t0)
