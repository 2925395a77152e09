"""Small, explicit statistics for the checks: means with standard errors, 99% intervals, and
least-squares slopes with their intervals (normal approximation, stated in every report)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Z99", "Z80", "Estimate", "estimate", "agree", "paired", "family_z", "t_quantile",
           "Fit", "fit_line"]

Z99 = 2.5758293035489004  # two-sided 99% normal quantile
Z80 = 0.8416212335729143  # one-sided 80% normal quantile (power)


@dataclass(frozen=True)
class Estimate:
    """A sample mean with its standard error and 99% interval.

    >>> e = estimate([1.0, 2.0, 3.0])
    >>> e.mean, round(e.se, 4), e.n
    (2.0, 0.5774, 3)
    """

    mean: float
    se: float
    n: int

    @property
    def ci99(self) -> tuple[float, float]:
        return (self.mean - Z99 * self.se, self.mean + Z99 * self.se)

    def to_json(self) -> dict[str, float]:
        lo, hi = self.ci99
        return {"mean": self.mean, "se": self.se, "ci99": [lo, hi], "n": self.n}


def estimate(values: Sequence[float]) -> Estimate:
    """Mean and standard error (ddof = 1) of independent samples."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("no samples")
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.inf
    return Estimate(float(v.mean()), se, int(v.size))


def agree(a: Estimate, b: Estimate) -> dict[str, float | bool]:
    """Two-sample z-test at 99%: the difference is within 2.576 combined standard errors.

    >>> agree(estimate([1.0, 1.1, 0.9]), estimate([1.05, 0.95, 1.0]))["ok"]
    True
    """
    se = math.hypot(a.se, b.se)
    z = (a.mean - b.mean) / se if se > 0 else (0.0 if a.mean == b.mean else math.inf)
    return {"z": z, "ok": bool(abs(z) <= Z99), "difference": a.mean - b.mean, "se": se}


def family_z(m: int, alpha: float = 0.01) -> float:
    """The two-sided normal threshold that keeps the family-wise error of m tests at ``alpha``
    (Bonferroni): a check that makes m comparisons passes a true statement with probability
    ≥ 1 − alpha.

    >>> round(family_z(1), 3), round(family_z(10), 3)
    (2.576, 3.291)
    """
    from statistics import NormalDist
    return NormalDist().inv_cdf(1.0 - alpha / (2 * max(m, 1)))


def paired(measured: Sequence[float], predicted: Sequence[float], plant: float = 0.0,
           z_crit: float = Z99) -> dict[str, float | bool]:
    """Paired test of measured_i against (1 + plant)·predicted_i (the same nets): |z| of the
    mean difference within ``z_crit`` (99% alone; :func:`family_z` for one of several), and the
    power — the smallest relative error of the prediction the test detects with probability 80%
    at this sample size, (z_crit + z_80)·SE / |mean prediction|.

    >>> r = paired([1.0, 2.1, 2.9, 4.0], [1.0, 2.0, 3.0, 4.0])
    >>> r["ok"], round(r["detectable_relative_error"], 3)
    (True, 0.056)
    >>> paired([1.0, 2.1, 2.9, 4.0], [1.0, 2.0, 3.0, 4.0], plant=0.2)["ok"]
    False
    """
    m = np.asarray(measured, float)
    p = np.asarray(predicted, float) * (1.0 + plant)
    d = m - p
    n = d.size
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    mean = float(d.mean())
    z = mean / se if se > 0 else (0.0 if mean == 0 else math.inf)
    scale = abs(float(p.mean()))
    return {"z": z, "ok": bool(abs(z) <= z_crit), "z_crit": z_crit, "difference": mean,
            "se": se, "n": n, "measured_mean": float(m.mean()), "predicted_mean": float(p.mean()),
            "relative_difference": mean / scale if scale else math.inf,
            "detectable_relative_error": (z_crit + Z80) * se / scale if scale else math.inf}


_T995 = {1: 63.657, 2: 9.925, 3: 5.841, 4: 4.604}


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile (Cornish–Fisher expansion in 1/df; within 0.5% for df ≥ 5, and
    exact in the limit).

    >>> round(t_quantile(0.995, 28), 2), round(t_quantile(0.995, 10_000), 3)
    (2.76, 2.576)
    """
    if p == 0.995 and df in _T995:   # the expansion is poor below 5 degrees of freedom
        return _T995[df]
    from statistics import NormalDist
    z = NormalDist().inv_cdf(p)
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


@dataclass(frozen=True)
class Fit:
    """y ≈ intercept + slope·x by least squares, with standard errors and 99% intervals
    (Student's t with n − 2 degrees of freedom)."""

    slope: float
    slope_se: float
    intercept: float
    intercept_se: float
    r2: float
    n: int

    @property
    def slope_ci99(self) -> tuple[float, float]:
        t = t_quantile(0.995, max(self.n - 2, 1))
        return (self.slope - t * self.slope_se, self.slope + t * self.slope_se)

    def to_json(self) -> dict[str, object]:
        return {"slope": self.slope, "slope_se": self.slope_se, "slope_ci99": list(self.slope_ci99),
                "intercept": self.intercept, "intercept_se": self.intercept_se, "r2": self.r2,
                "n": self.n}


def fit_line(x: Sequence[float], y: Sequence[float]) -> Fit:
    """Ordinary least squares with the usual standard errors.

    >>> f = fit_line([1, 2, 3, 4], [2.0, 4.0, 6.0, 8.0])
    >>> round(f.slope, 2), f.n
    (2.0, 4)
    """
    X = np.asarray(x, float)
    Y = np.asarray(y, float)
    n = X.size
    if n < 3:
        raise ValueError("a fit needs at least three points")
    xm, ym = X.mean(), Y.mean()
    sxx = float(((X - xm) ** 2).sum())
    slope = float(((X - xm) * (Y - ym)).sum() / sxx)
    intercept = float(ym - slope * xm)
    resid = Y - (intercept + slope * X)
    s2 = float((resid ** 2).sum() / (n - 2))
    sst = float(((Y - ym) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / sst if sst > 0 else 1.0
    return Fit(slope, math.sqrt(s2 / sxx), intercept, math.sqrt(s2 * (1 / n + xm * xm / sxx)), r2, n)
