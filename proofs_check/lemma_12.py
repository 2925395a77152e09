"""Lemma 12: for a compact piecewise-linear set S ⊂ R^n with S_k the interiors of its
k-dimensional pieces, vol_n(T_ε(S)) ≤ Σ_k ω_{n−k} ε^{n−k} vol_k(S_k).

Checked in 2-D on S = closure(B_N ∩ int K) of random nets: S_1 = the B_N,1 pieces (exact
lengths), S_0 = the B_N,2 points plus the ends of B_N on ∂K, so the bound is
2 ε · length + π ε² · #points.  The tube's area is enclosed from both sides by a quadtree over
the plane: a square whose centre is within ε − (half-diagonal) of S lies in the tube, one whose
centre is farther than ε + (half-diagonal) misses it, others are split; float64 distances carry a
1e-9 guard.  Each case is decided with a real margin: the quadtree is refined until the
enclosure's upper end is at least 1% below the bound (confirmed) or its lower end is above the
bound (violated); a case still straddling at the deepest level is reported as undecided, never
counted as a confirmation.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from exactregions.exact.complex import region_complex
from exactregions.exact.domain import box
from proofs_check.context import RunContext
from proofs_check.nets import make_net
from proofs_check.result import CheckResult, verdict_of

__all__ = ["NAME", "STATEMENT", "run", "tube_area", "tube_bound", "decide", "segment_distance"]

NAME = "lemma_12"
STATEMENT = ("vol_n(T_ε(S)) ≤ Σ_k ω_{n−k} ε^{n−k} vol_k(S_k) for a compact piecewise-linear S "
             "(Lemma 12, the tube bound behind Corollaries 5 and 8); here S = closure(B_N ∩ K) in 2-D.")
GUARD = 1e-9
MARGIN = 0.01
"""A case is confirmed when the tube's certified upper end is ≤ (1 − MARGIN) · bound."""


def segment_distance(P: np.ndarray, A: np.ndarray, B: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """min over segments [A_j, B_j] of the distance from each row of P: (M, 2) → (M,).

    >>> segment_distance(np.array([[0.0, 1.0]]), np.array([[-1.0, 0.0]]), np.array([[1.0, 0.0]]))
    array([1.])
    """
    D = B - A
    dd = np.maximum((D * D).sum(1), 1e-300)
    out = np.empty(P.shape[0])
    for i in range(0, P.shape[0], chunk):
        Q = P[i:i + chunk, None, :] - A[None]
        t = np.clip((Q * D[None]).sum(2) / dd[None], 0.0, 1.0)
        R = Q - t[..., None] * D[None]
        out[i:i + chunk] = np.sqrt((R * R).sum(2)).min(1)
    return out


def tube_area(A: np.ndarray, B: np.ndarray, eps: float, lo: np.ndarray, hi: np.ndarray,
              depth: int = 11) -> tuple[float, float]:
    """An enclosure [lower, upper] of the area of the ε-tube around the union of segments.

    >>> a = tube_area(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), 0.1,
    ...               np.array([-1.0, -1.0]), np.array([2.0, 1.0]), depth=9)
    >>> a[0] <= 2 * 0.1 + math.pi * 0.01 <= a[1]
    True
    """
    side = float(max(hi - lo))
    centres = np.array([lo + side / 2])
    h = side
    inside = 0.0
    undecided = 0.0
    for level in range(depth + 1):
        d = segment_distance(centres, A, B)
        r = h / math.sqrt(2)
        full = d + r <= eps - GUARD
        miss = d - r > eps + GUARD
        inside += full.sum() * h * h
        rest = centres[~full & ~miss]
        if level == depth or rest.size == 0:
            undecided = rest.shape[0] * h * h
            break
        q = h / 4
        offs = np.array([[-q, -q], [-q, q], [q, -q], [q, q]])
        centres = (rest[:, None, :] + offs[None]).reshape(-1, 2)
        h /= 2
    return float(inside), float(inside + undecided)


def decide(A: np.ndarray, B: np.ndarray, eps: float, bound: float, lo_b: np.ndarray,
           hi_b: np.ndarray, depth: int, max_depth: int) -> tuple[float, float, str, int]:
    """Refine the tube's enclosure from ``depth`` until it is ≤ (1 − MARGIN)·bound
    (``confirmed``) or above the bound (``violated``), else ``undecided`` at ``max_depth``.

    >>> A, B = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])
    >>> stadium = 2 * 0.1 + math.pi * 0.01
    >>> box_lo, box_hi = np.array([-1.0, -1.0]), np.array([2.0, 1.0])
    >>> [decide(A, B, 0.1, f * stadium, box_lo, box_hi, 8, 11)[2] for f in (1.05, 1.0, 0.95)]
    ['confirmed', 'undecided', 'violated']
    """
    d = depth
    while True:
        lo, hi = tube_area(A, B, eps, lo_b, hi_b, d)
        status = ("confirmed" if hi <= (1 - MARGIN) * bound else
                  "violated" if lo > bound else "undecided")
        if status != "undecided" or d >= max_depth:
            return float(lo), float(hi), status, d
        d += 1


def tube_bound(eps: float, length: float, points: int) -> float:
    """Lemma 12's right side in 2-D: ω_1 ε vol_1(S_1) + ω_2 ε² #S_0 = 2ε·length + πε²·#points.

    >>> round(tube_bound(0.1, 1.0, 2), 4)
    0.2628
    """
    return 2 * eps * length + math.pi * eps ** 2 * points


def _task(spec: tuple) -> dict[str, Any]:
    widths, act, seed, cs, depth, max_depth = spec
    net = make_net(widths, act, seed, 0.5)
    rc = region_complex(net, box([(-1, 1), (-1, 1)]))
    V = np.array([[float(c) for c in v] for v in rc.vertices])
    edges = [f for f in rc.faces if f.dim == 1 and f.in_bn and not f.on_boundary]
    A = np.array([V[min(f.verts)] for f in edges]).reshape(-1, 2)
    B = np.array([V[max(f.verts)] for f in edges]).reshape(-1, 2)
    vols = rc.boundary_volumes()
    length = float(vols[1])
    points_in = int(float(vols[2]))
    ends = {v for f in edges for v in f.verts
            if any(V[v][i] in (-1.0, 1.0) for i in range(2))}
    npts = points_in + len(ends)
    N = net.num_neurons
    out = []
    for c in cs:
        eps = c / N
        lo_b, hi_b = np.array([-1 - 2 * eps] * 2), np.array([1 + 2 * eps] * 2)
        bound = tube_bound(eps, length, npts)
        lo, hi, status, d = (decide(A, B, eps, bound, lo_b, hi_b, depth, max_depth) if edges
                             else (0.0, 0.0, "confirmed" if bound >= 0 else "violated", depth))
        out.append({"eps": eps, "tube_lower": lo, "tube_upper": hi, "bound": bound,
                    "status": status, "depth": d, "ok": status == "confirmed",
                    "upper_over_bound": hi / bound if bound else 0.0})
    return {"seed": seed, "length": length, "points": npts, "boundary_ends": len(ends),
            "neurons": N, "by_eps": out}


def run(ctx: RunContext) -> CheckResult:
    """Tube enclosures against the bound for several nets and ε = c / #neurons."""
    t0 = time.perf_counter()
    reps = 3 if ctx.quick else 20
    cs = (0.25, 0.5, 1.0)
    depth, max_depth = (10, 13) if ctx.quick else (12, 15)
    specs = [((2, 6, 6, 1), act, ctx.seed_for(NAME, j * reps + i), cs, depth, max_depth)
             for j, act in enumerate(("relu", "hardtanh")) for i in range(reps)]
    rows = ctx.runner.map(_task, specs, NAME)
    allc = [e for r in rows for e in r["by_eps"]]
    status = {s: sum(e["status"] == s for e in allc) for s in ("confirmed", "violated",
                                                               "undecided")}
    criteria = {
        "no_violation": {
            "ok": status["violated"] == 0, "violated": status["violated"],
            "rule": "no case where the certified lower end of the tube area exceeds "
                    "2ε·length + πε²·#points"},
        "confirmed_with_margin": {
            "ok": status["undecided"] <= 0.1 * len(allc), **status, "cases": len(allc),
            "rule": f"the certified upper end ≤ (1 − {MARGIN:g})·bound in at least 90% of the "
                    f"cases (quadtree refined to depth ≤ {max_depth}); the rest are listed as "
                    "undecided, not confirmed"}}
    figures = {"cases": len(allc), **status,
               "undecided_cases": [{"seed": r["seed"], **e} for r in rows for e in r["by_eps"]
                                   if e["status"] == "undecided"],
               "max_upper_over_bound": max(e["upper_over_bound"] for e in allc),
               "mean_lower_over_bound": float(np.mean([e["tube_lower"] / e["bound"] for e in allc
                                                       if e["bound"]]))}
    plots = []
    path = ctx.plot_path("lemma_12.png")
    if path is not None:
        from proofs_check.plotting import figure, save

        fig, ax = figure()
        for c in cs:
            pts = [(e["bound"], e["tube_lower"], e["tube_upper"]) for r in rows for e in r["by_eps"]
                   if abs(e["eps"] * r["neurons"] - c) < 1e-12]
            b_, lo_, hi_ = (np.array(v) for v in zip(*pts))
            ax.errorbar(b_, (lo_ + hi_) / 2, yerr=(hi_ - lo_) / 2, fmt="o", ms=3,
                        label=f"ε = {c}/#neurons")
        top = max(e["bound"] for e in allc)
        ax.plot([0, top], [0, top], "k--", lw=0.8, label="the bound")
        ax.set(xlabel="2ε·length + πε²·#points", ylabel="tube area (certified enclosure)",
               title="Lemma 12: tube area around closure(B_N ∩ K) vs the bound")
        ax.legend(fontsize=8)
        plots.append(save(fig, path))
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures, rows,
                       {"widths": [2, 6, 6, 1], "eps": "c/#neurons, c in " + str(list(cs)),
                        "quadtree_depth": [depth, max_depth], "margin": MARGIN,
                        "seed": ctx.seed}, time.perf_counter() - t0,
                       tuple(plots))
