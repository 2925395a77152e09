"""Theorem 1: along a line (here a 1-input, 1-output net on an interval I, the theorem's own
setting), the mean number of linear-region boundaries is ≈ |I| · T · #neurons — linear in the
number of neurons and independent of how they are arranged in depth.

Counts come from the batched float line kernel (:func:`exactregions.floating.lines.line_regions`),
which the test suite ties to the exact core; a line with a near-tie is recounted exactly.  Fits are least
squares with normal-approximation 99% intervals.

Teeth.  Theorem 1's constant is the co-area integral (Theorem 3 with n_in = k = 1):
E[#B_N points in I] = ∫_I Σ_z E[|u_z'(x)| ρ_b(ξ − u_z(x)) 1{z good}] dx.  On every net of the
depth and length designs that integral is evaluated (Monte Carlo over x in I, the integrand of
:mod:`proofs_check.coarea`) and the count must equal it (paired, 99%); ``--plant E`` multiplies it
by 1 + E and the report gives the power.  Depth independence is judged by the 99% interval of the
max/min ratio of regions per neuron (delta method), against a law multiplicative in depth (≥ 12×
at 48 neurons).  Beyond |I| = 1 the count per unit length falls (the lines reach |x| where the
pre-activations spread, so ρ_b(ξ − u) is smaller): measured and reported, with the count still
equal to the co-area integral there.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from exactregions.exact.complex import region_complex
from exactregions.exact.domain import box
from exactregions.exact.rational import exact_rational
from proofs_check.coarea import FloatNet, theorem3_integrand
from proofs_check.context import RunContext
from proofs_check.nets import float_net, make_net
from proofs_check.parallel import chunks
from proofs_check.result import CheckResult, verdict_of
from proofs_check.stats import Z99, estimate, family_z, fit_line, paired

__all__ = ["NAME", "STATEMENT", "run", "measure", "judge", "line_counts"]

NAME = "theorem_1"
STATEMENT = ("At initialisation the mean number of linear regions along a line segment I is "
             "≈ |I| · T · #neurons: constant per neuron across depths at a fixed #neurons, "
             "linear in #neurons, proportional to |I| and to T (Theorem 1).")

BIAS_STD = 1.0
FORMULA_POINTS = 256
"""x per net for the co-area integral over I (Monte Carlo; its noise enters the paired SE)."""


def line_counts(spec: tuple) -> dict[str, Any]:
    """B_N points on I = [-L/2, L/2] for each seed: float line kernel, one segment per net; with
    ``formula``, also the co-area integral over I on the same net."""
    import torch

    from exactregions.floating.lines import line_regions

    widths, act, L, seeds, device, formula = spec
    counts, ties, changed, integrals = [], 0, 0, []
    for s in seeds if formula else ():
        fn = FloatNet.of(make_net(widths, act, s, BIAS_STD))
        X = np.random.default_rng(s).uniform(-L / 2, L / 2, size=(FORMULA_POINTS, 1))
        integrals.append(float(L * theorem3_integrand(fn, X, 1, BIAS_STD).mean()))
    p = torch.full((1, 1), -L / 2, dtype=torch.float64)
    d = torch.full((1, 1), float(L), dtype=torch.float64)
    for s in seeds:
        tn = float_net(widths, act, s, BIAS_STD, device)
        r = line_regions(tn, p.to(device), d.to(device))
        c = int(r.linear_pieces[0]) - 1
        if int(r.near_ties[0]):
            # the float path cannot order these events: the exact core settles the count
            ties += 1
            rc = region_complex(make_net(widths, act, s, BIAS_STD),
                                box([(exact_rational(-L / 2), exact_rational(L / 2))]))
            exact = len(rc.linear_regions) - 1
            changed += exact != c
            c = exact
        counts.append(c)
    return {"counts": counts, "near_ties": ties, "changed_by_exact": changed,
            "formula": integrals}


def _plan(quick: bool) -> dict[str, list[tuple]]:
    depth = [(1, 48, 1), (1, 24, 24, 1), (1, 16, 16, 16, 1), (1, 12, 12, 12, 12, 1)]
    width = [(1, h, h, h, 1) for h in ((8, 16, 32, 64) if quick else (4, 8, 16, 32, 64, 128))]
    return {
        "depth": [(w, "relu", 2.0) for w in depth],
        "neurons": [(w, "relu", 2.0) for w in width],
        "length": [((1, 16, 16, 16, 1), "relu", L) for L in (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)],
        "breakpoints": [((1, 16, 16, 16, 1), a, 2.0) for a in ("abs", "zigzag")],
    }


def nets_per_setting(quick: bool) -> int:
    """Random nets (one line each) per setting."""
    return 200 if quick else 1000


def measure(ctx: RunContext) -> dict[str, Any]:
    """Counts (and, on the depth and length designs, the co-area integrals) per setting."""
    M = nets_per_setting(ctx.quick)
    plan = _plan(ctx.quick)
    configs = [c for group in plan.values() for c in group]
    with_formula = set(plan["depth"]) | set(plan["length"])
    # one setting can serve several designs ((1, 16, 16, 16, 1), ReLU, |I| = 2 serves three):
    # it is measured once, with the seeds of its last place in the plan
    last = {c: ci for ci, c in enumerate(configs)}
    specs, owners = [], []
    for ci, (w, a, L) in enumerate(configs):
        if last[(w, a, L)] != ci:
            continue
        seeds = [ctx.seed_for(NAME, ci * 100_000 + i) for i in range(M)]
        for part in chunks(seeds, 100):
            specs.append((w, a, L, part, ctx.device, (w, a, L) in with_formula))
            owners.append(ci)
    out = ctx.runner.map(line_counts, specs, NAME)
    counts: list[list[int]] = [[] for _ in configs]
    formula: list[list[float]] = [[] for _ in configs]
    ties = changed = 0
    for ci, r in zip(owners, out):
        counts[ci] += r["counts"]
        formula[ci] += r["formula"]
        ties += r["near_ties"]
        changed += r["changed_by_exact"]
    return {"plan": plan, "M": M, "counts": {c: counts[i] for i, c in enumerate(configs)},
            "formula": {c: formula[i] for i, c in enumerate(configs) if formula[i]},
            "ties": ties, "changed": changed, "seed": ctx.seed, "quick": ctx.quick}


def _ratio_ci(a, b) -> tuple[float, float, float]:
    """a.mean / b.mean with its 99% interval (delta method, independent estimates)."""
    r = a.mean / b.mean
    se = r * math.hypot(a.se / a.mean, b.se / b.mean)
    return r, r - Z99 * se, r + Z99 * se


def judge(data: dict[str, Any], plant: float = 0.0, plot_path: Any = None,
          seconds: float = 0.0) -> CheckResult:
    """The verdict from measured counts; ``plant`` multiplies the co-area integral by 1 + plant."""
    plan, M, by = data["plan"], data["M"], data["counts"]
    configs = [c for group in plan.values() for c in group]
    neurons = lambda w: sum(w[1:-1])  # noqa: E731
    figures: dict[str, Any] = {"lines_with_near_ties_settled_exactly": data["ties"],
                               "counts_changed_by_exact": data["changed"], "nets_per_setting": M,
                               "planted_relative_error": plant}
    criteria: dict[str, dict[str, Any]] = {}
    power: dict[str, float] = {}
    # the constant: count = co-area integral, net by net (paired)
    compared = list(dict.fromkeys(plan["depth"] + plan["length"]))
    zc = family_z(len(compared))
    for (w, a, L) in compared:
        t = paired(by[(w, a, L)], data["formula"][(w, a, L)], plant, zc)
        key = f"formula_{'x'.join(map(str, w[1:-1]))}_L{L:g}"
        power[key] = t["detectable_relative_error"]
        figures[key] = t
        criteria[key] = {"ok": t["ok"], "z": t["z"], "rule": "paired: mean #B_N points on I = "
                         f"co-area integral over I (|z| ≤ {zc:.3f}: 99% for the "
                         f"{len(compared)} comparisons together)",
                         "detectable_relative_error": t["detectable_relative_error"]}
    figures["power_detectable_relative_error"] = power
    figures["power"] = min(power.values())
    # depth: per-neuron density at #neurons = 48
    per = {"×".join(map(str, w[1:-1])): estimate(np.array(by[(w, a, L)]) / neurons(w))
           for (w, a, L) in plan["depth"]}
    figures["per_neuron_by_depth"] = {k: e.to_json() for k, e in per.items()}
    hi_e = max(per.values(), key=lambda e: e.mean)
    lo_e = min(per.values(), key=lambda e: e.mean)
    ratio, r_lo, r_hi = _ratio_ci(hi_e, lo_e)
    criteria["depth_independent"] = {
        "ok": r_hi < 2.0, "ratio_max_min": ratio, "ratio_ci99": [r_lo, r_hi],
        "rule": "99% interval of the max/min regions-per-neuron ratio across depth 1–4 (48 "
                "neurons) below 2: far from a law multiplicative in depth (48 vs 24², 16³, 12⁴ "
                "regions: ratios ≥ 12)"}
    # linear in #neurons: log-log slope
    Ns = [neurons(w) for (w, _, _) in plan["neurons"]]
    ms = [estimate(by[c]) for c in plan["neurons"]]
    f = fit_line(np.log(Ns), np.log([e.mean for e in ms]))
    figures["by_neurons"] = {str(N): e.to_json() for N, e in zip(Ns, ms)}
    figures["neurons_loglog"] = f.to_json()
    criteria["linear_in_neurons"] = {"ok": abs(f.slope - 1) <= 0.15, "slope": f.slope,
                                     "rule": "log-log slope of regions vs #neurons within 1 ± 0.15"}
    # proportional to |I| where the density is near constant (|x| ≤ 1/2)
    Ls = [L for (_, _, L) in plan["length"]]
    ls = [estimate(by[c]) for c in plan["length"]]
    small = [i for i, L in enumerate(Ls) if L <= 1.0]
    g = fit_line(np.log([Ls[i] for i in small]), np.log([ls[i].mean for i in small]))
    figures["by_length"] = {str(L): e.to_json() for L, e in zip(Ls, ls)}
    figures["length_loglog_L_le_1"] = g.to_json()
    criteria["proportional_to_length"] = {
        "ok": abs(g.slope - 1) <= 0.2, "slope": g.slope, "slope_ci99": list(g.slope_ci99),
        "rule": "log-log slope of regions vs |I| for |I| ≤ 1 within 1 ± 0.2"}
    # beyond |I| = 1: how the law loosens (count per unit length, relative to |I| ≤ 1)
    base = np.mean([ls[i].mean / Ls[i] for i in small])
    figures["per_unit_length_relative_to_short"] = {f"{L:g}": e.mean / L / base
                                                    for L, e in zip(Ls, ls)}
    big = [i for i, L in enumerate(Ls) if L >= 1.0]
    figures["length_loglog_L_ge_1"] = fit_line(np.log([Ls[i] for i in big]),
                                               np.log([ls[i].mean for i in big])).to_json() \
        if len(big) >= 3 else None
    # T: abs (T=1) vs zigzag (T=2), both |φ'| = 1
    ea, ez = (estimate(by[c]) for c in plan["breakpoints"])
    tr = ez.mean / ea.mean
    tr_se = tr * math.hypot(ez.se / ez.mean, ea.se / ea.mean)
    figures["T_ratio"] = {"abs_T1": ea.to_json(), "zigzag_T2": ez.to_json(), "ratio": tr,
                          "ratio_se": tr_se}
    criteria["proportional_to_T"] = {"ok": abs(tr - 2) <= 0.3, "ratio": tr,
                                     "rule": "zigzag (T=2) / abs (T=1) regions within 2 ± 0.3"}
    plots = []
    path = plot_path
    if path is not None:
        from proofs_check.plotting import figure, save

        fig, ax = figure((9, 3.4))
        fig.clf()
        a1, a2, a3 = fig.subplots(1, 3)
        a1.errorbar(Ns, [e.mean for e in ms], yerr=[2.576 * e.se for e in ms], fmt="o-")
        a1.set(xscale="log", yscale="log", xlabel="#neurons (depth 3)", ylabel="B_N points on I",
               title=f"slope {f.slope:.2f}")
        a1.minorticks_off()
        a1.set_xticks(Ns, [str(x) for x in Ns])
        a2.bar(list(per), [e.mean for e in per.values()], yerr=[2.576 * e.se for e in per.values()])
        a2.set(ylabel="regions / neuron", title="48 neurons, by depth")
        a2.tick_params(axis="x", labelrotation=20, labelsize=7)
        a3.errorbar(Ls, [e.mean for e in ls], yerr=[2.576 * e.se for e in ls], fmt="o-")
        a3.set(xscale="log", yscale="log", xlabel="|I|", title=f"slope (|I|≤1) {g.slope:.2f}")
        a3.minorticks_off()
        a3.set_xticks(Ls, [f"{x:g}" for x in Ls])
        plots.append(save(fig, path))
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures,
                       {str(list(c)): by[c] for c in configs} if not data["quick"] else
                       {"counts_per_setting": {str(list(c)): by[c][:20] for c in configs},
                        "note": "first 20 counts per setting (quick run)"},
                       {"input": "1-D, I = [-L/2, L/2]", "bias_std": BIAS_STD,
                        "seed": data["seed"], "init": "He-normal weights", "plant": plant,
                        "formula_points_per_net": FORMULA_POINTS,
                        "design": "paired (count and co-area integral on the same nets)"},
                       seconds, tuple(plots))


def run(ctx: RunContext) -> CheckResult:
    """Measure, then judge (with the run's planted error)."""
    t0 = time.perf_counter()
    data = measure(ctx)
    return judge(data, ctx.plant, ctx.plot_path("theorem_1.png"), time.perf_counter() - t0)
