"""Proposition 11: for every set of k distinct neurons z_1..z_k, the mean (n_in−k)-volume of the
part of B_N,k where exactly those neurons switch (and are good) is ∫_K E[Y_{z_1..z_k}(x)] dx.

Theorem 3 sums this over k-sets; here each k-set is checked on its own.  Paired design: on every
random net, the exact volume of the pieces of B_N,k whose neurons are exactly {z_1..z_k} (from
the exact region complex: rational lengths, point counts) and the integral of that k-set's
integrand (Monte Carlo over x in K) on the same net.  Two tests at 99% together:

* per layer signature (which layers the k neurons sit in — neurons of one layer are exchangeable
  under the random initialisation, so these sums are the natural per-set quantities at this
  sample size): paired |z| within the family threshold, plantable (``--plant E``), with power;
* over every individual k-set: max |z| within the Bonferroni threshold for that many sets (valid
  whatever their correlation — sets sharing a neuron are correlated, so Σ z² is reported beside
  its χ² quantile but not tested): a wrong term for a few sets, invisible in the sum, shows here.
"""

from __future__ import annotations

import ast
import math
import time
from typing import Any

import numpy as np

from proofs_check.coarea import FloatNet, theorem3_integrand
from proofs_check.context import RunContext
from proofs_check.nets import make_net
from proofs_check.result import CheckResult, verdict_of
from proofs_check.stats import Z99, family_z, paired
from proofs_check.theorem_3 import exact_volumes

__all__ = ["NAME", "STATEMENT", "run", "measure", "judge", "set_volumes", "chi2_quantile"]

NAME = "proposition_11"
STATEMENT = ("For each set of k distinct neurons z_1..z_k: E[vol_{n_in−k}(S̃_{z_1..z_k} ∩ K)] = "
             "∫_K E[Y_{z_1..z_k}(x)] dx, S̃ the set where exactly z_1..z_k are at a breakpoint "
             "and good (Proposition 11; Theorem 3 is its sum over k-sets).")
BIAS_STD = 1.0


def chi2_quantile(df: int, p: float = 0.99) -> float:
    """The p-quantile of χ²(df) (Wilson–Hilferty; within 1% for df ≥ 3).

    >>> round(chi2_quantile(10), 1), round(chi2_quantile(100), 1)
    (23.2, 135.8)
    """
    from statistics import NormalDist
    z = NormalDist().inv_cdf(p)
    c = 2.0 / (9.0 * df)
    return df * (1.0 - c + z * math.sqrt(c)) ** 3


def set_volumes(spec: tuple) -> dict[str, Any]:
    """One net: exact volume and formula per k-set of neurons (k = 1, 2), keyed by the set."""
    act, widths, seed, points = spec
    n = widths[0]
    ex = exact_volumes((act, widths, seed, BIAS_STD))
    fn = FloatNet.of(make_net(widths, act, seed, BIAS_STD))
    X = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(points, n))
    formula = {}
    for k in range(1, n + 1):
        for zs, y in theorem3_integrand(fn, X, k, BIAS_STD, per_set=True).items():
            formula[repr(tuple(zs))] = float(2.0 ** n * y.mean())
    return {"seed": seed, "exact": ex["by_set"], "formula": formula}


def sizes(quick: bool) -> dict[str, Any]:
    """Architecture, nets per activation, x per net."""
    return ({"widths": (2, 4, 4, 1), "nets": 300, "points": 256} if quick
            else {"widths": (2, 6, 6, 1), "nets": 600, "points": 1024})


ACTS = ("relu", "hardtanh")


def measure(ctx: RunContext) -> dict[str, Any]:
    """Per-set volumes on the cluster."""
    sz = sizes(ctx.quick)
    specs = [(a, sz["widths"], ctx.seed_for(NAME, j * sz["nets"] + i), sz["points"])
             for j, a in enumerate(ACTS) for i in range(sz["nets"])]
    rows = ctx.runner.map(set_volumes, specs, NAME)
    M = sz["nets"]
    return {"rows": {a: rows[j * M:(j + 1) * M] for j, a in enumerate(ACTS)},
            "settings": {"widths": list(sz["widths"]), "nets_per_activation": M,
                         "points_per_net": sz["points"], "bias_std": BIAS_STD,
                         "domain": "[-1,1]^2", "seed": ctx.seed,
                         "design": "paired (exact and formula on the same nets, per k-set)"}}


def _signature(key: str) -> str:
    return "layers " + ",".join(str(l) for l, _ in ast.literal_eval(key))


def judge(data: dict[str, Any], plant: float = 0.0, plot_path: Any = None,
          seconds: float = 0.0) -> CheckResult:
    """Per signature (plantable, with power) and per set (χ²)."""
    criteria: dict[str, dict[str, Any]] = {}
    figures: dict[str, Any] = {"planted_relative_error": plant}
    power: dict[str, float] = {}
    groups = {a: sorted({_signature(key) for r in rows for key in r["formula"]})
              for a, rows in data["rows"].items()}
    zc = family_z(sum(len(g) for g in groups.values()))
    for a, rows in data["rows"].items():
        keys = sorted({key for r in rows for key in r["formula"]})
        for sig in groups[a]:
            mine = [key for key in keys if _signature(key) == sig]
            t = paired([sum(r["exact"].get(key, 0.0) for key in mine) for r in rows],
                       [sum(r["formula"][key] for key in mine) for r in rows], plant, zc)
            name = f"{a} {sig}"
            power[name] = t["detectable_relative_error"]
            figures[name] = {**t, "sets": len(mine)}
            criteria[name] = {"ok": t["ok"], "z": t["z"], "sets": len(mine),
                              "detectable_relative_error": t["detectable_relative_error"],
                              "rule": f"paired sum over the k-sets in these layers: |z| ≤ {zc:.3f}"}
        zs = []
        for key in keys:
            t = paired([r["exact"].get(key, 0.0) for r in rows], [r["formula"][key] for r in rows],
                       plant)
            if math.isfinite(t["z"]):
                zs.append(t["z"])
        stat, q = float(np.sum(np.square(zs))), chi2_quantile(len(zs))
        worst = abs(max(zs, key=abs))
        zs_crit = family_z(len(zs))
        figures[f"{a} per set"] = {"sets": len(zs), "sum_z2": stat,
                                   "chi2_99_if_independent": q, "max_abs_z": worst}
        criteria[f"{a}_every_set"] = {
            "ok": worst <= zs_crit, "max_abs_z": worst, "sets": len(zs),
            "rule": f"every one of the {len(zs)} k-sets: paired |z| ≤ {zs_crit:.3f} (99% for "
                    "them together, Bonferroni)"}
    figures["power_detectable_relative_error"] = power
    figures["power"] = min(power.values())
    plots = []
    if plot_path is not None:
        from proofs_check.plotting import bars_with_ci

        names = [n for n in power]
        series = {src: [(figures[n][f"{src}_mean"], Z99 * figures[n]["se"]) for n in names]
                  for src in ("measured", "predicted")}
        plots.append(bars_with_ci(plot_path, names, series,
                                  "Proposition 11: per k-set volume of B_N,k (sums by layers)",
                                  "volume (k=1: length, k=2: #points)"))
    evidence = {a: rows[:20] for a, rows in data["rows"].items()}
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures,
                       {"first_20_nets": evidence}, {**data["settings"], "plant": plant},
                       seconds, tuple(plots))


def run(ctx: RunContext) -> CheckResult:
    """Measure, then judge (with the run's planted error)."""
    t0 = time.perf_counter()
    data = measure(ctx)
    return judge(data, ctx.plant, ctx.plot_path("proposition_11.png"), time.perf_counter() - t0)
