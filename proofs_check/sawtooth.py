"""Figure 3: Telgarsky's sawtooth — n tents composed — has exactly 2^n linear pieces on [0, 1]
(exact core), and Gaussian noise of standard deviation 0.1 on every weight and bias collapses
that count (the mean and spread over seeds, per n, exact counts too).

Our construction uses 3 ReLU neurons per tent (3n neurons and a linear output); the paper's
figure quotes 3n + 4 for its variant.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from exactregions.exact.complex import region_complex
from exactregions.exact.constructions import perturb_network, sawtooth_network
from exactregions.exact.domain import box
from exactregions.exact.network import Network
from proofs_check.context import RunContext
from proofs_check.result import CheckResult, verdict_of
from proofs_check.stats import estimate

__all__ = ["NAME", "STATEMENT", "run", "perturbed_sawtooth"]

NAME = "sawtooth"
STATEMENT = ("Telgarsky's sawtooth of depth n has exactly 2^n linear pieces on [0,1]; adding "
             "N(0, 0.1²) noise to its weights and biases collapses the count (Figure 3).")
SIGMA = 0.1


def perturbed_sawtooth(n: int, seed: int, sigma: float = SIGMA) -> Network:
    """The sawtooth with i.i.d. N(0, σ²) added to every weight and bias.

    >>> perturbed_sawtooth(3, 0).widths
    (1, 3, 3, 3, 1)
    """
    return perturb_network(sawtooth_network(n), sigma, seed)


def _count(spec: tuple) -> dict[str, Any]:
    n, seed = spec
    net = sawtooth_network(n) if seed is None else perturbed_sawtooth(n, seed)
    rc = region_complex(net, box([(0, 1)]))
    return {"n": n, "seed": seed, "linear_regions": len(rc.linear_regions),
            "certificate_ok": bool(rc.certificate["ok"])}


def run(ctx: RunContext) -> CheckResult:
    """Exact counts of the sawtooth and of its perturbations."""
    t0 = time.perf_counter()
    ns = list(range(1, (8 if ctx.quick else 10) + 1))
    seeds = 30 if ctx.quick else 100
    clean = ctx.runner.map(_count, [(n, None) for n in ns], NAME + " exact")
    noisy_specs = [(n, ctx.seed_for(NAME, n * 1000 + i)) for n in ns for i in range(seeds)]
    noisy = ctx.runner.map(_count, noisy_specs, NAME + " perturbed")
    figures: dict[str, Any] = {"neurons": {str(n): 3 * n for n in ns}}
    figures["exact_counts"] = {str(r["n"]): r["linear_regions"] for r in clean}
    per = {}
    for n in ns:
        cs = [r["linear_regions"] for r in noisy if r["n"] == n]
        e = estimate(cs)
        per[n] = e
        figures.setdefault("perturbed", {})[str(n)] = {
            **e.to_json(), "std": float(np.std(cs, ddof=1)), "min": min(cs), "max": max(cs),
            "fraction_of_2n": e.mean / 2 ** n}
    big = ns[-1]
    criteria = {
        "exact_2_to_n": {"ok": all(r["linear_regions"] == 2 ** r["n"] for r in clean),
                         "rule": "the unperturbed sawtooth has exactly 2^n linear pieces, n = "
                                 f"1..{big}"},
        "certified": {"ok": all(r["certificate_ok"] for r in clean + noisy),
                      "rule": "every exact complex certified"},
        "noise_collapses": {"ok": per[big].ci99[1] < 0.5 * 2 ** big, "n": big,
                            "mean": per[big].mean, "two_to_n": 2 ** big,
                            "rule": f"with σ = {SIGMA} noise the mean count at n = {big} is below "
                                    "half of 2^n (99% interval)"},
    }
    plots = []
    path = ctx.plot_path("sawtooth.png")
    if path is not None:
        from proofs_check.plotting import figure, save

        fig, ax = figure()
        ax.plot(ns, [2 ** n for n in ns], "k-o", label="exact sawtooth (2^n)")
        ax.errorbar(ns, [per[n].mean for n in ns],
                    yerr=[np.std([r["linear_regions"] for r in noisy if r["n"] == n]) for n in ns],
                    fmt="s-", label=f"perturbed σ={SIGMA} (mean ± sd, {seeds} seeds)")
        ax.set(yscale="log", xlabel="n (tents)", ylabel="linear pieces on [0,1]",
               title="Figure 3: the sawtooth and its perturbation")
        ax.legend(fontsize=8)
        plots.append(save(fig, path))
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures,
                       {"clean": clean, "perturbed": noisy},
                       {"n_max": big, "seeds_per_n": seeds, "sigma": SIGMA, "seed": ctx.seed},
                       time.perf_counter() - t0, tuple(plots))
