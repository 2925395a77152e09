"""Small, explicit statistics for the checks: means with standard errors, 99% intervals, and
least-squares slopes with their intervals (normal approximation, stated in every report)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Z99", "Estimate", "estimate", "agree", "Fit", "fit_line"]

Z99 = 2.5758293035489004  # two-sided 99% normal quantile


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


@dataclass(frozen=True)
class Fit:
    """y ≈ intercept + slope·x by least squares, with standard errors and 99% intervals."""

    slope: float
    slope_se: float
    intercept: float
    intercept_se: float
    r2: float
    n: int

    @property
    def slope_ci99(self) -> tuple[float, float]:
        return (self.slope - Z99 * self.slope_se, self.slope + Z99 * self.slope_se)

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
