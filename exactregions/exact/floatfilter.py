"""Float64 copies of exact numbers that a sign filter may rely on — or none at all.

The exact path lets floats *guide* (which hyperplanes to try) and settle a sign only when its
margin beats a proven rounding bound.  The bound used throughout is Higham's

    |fl(Σ_{i<k} x_i y_i) − Σ x_i y_i|  ≤  γ_{k+2} · Σ |x_i y_i|,      γ_m = m u / (1 − m u),

for float copies x̂ = fl(x), ŷ = fl(y) of exact rationals (two conversions, one product and at
most k − 1 additions: k + 2 roundings on every term).  It is a *relative* model, and it holds
only where no rounding leaves the normal range:

* a conversion of a rational below 2^-1022 (subnormal) or below 2^-1075 (flushed to 0.0) has a
  relative error up to 100%, and a later product by 2^90 turns that into an absolute error no
  small absolute term covers; a rational above 2^1024 has no float at all (OverflowError);
* a product of two normal floats may underflow (absolute error 2^-1075) or overflow (inf);
* an addition never needs an absolute term: a sum that lands in the subnormal range is exact.

:func:`safe_floats` therefore returns float copies only when *every* value is 0 exactly or has
magnitude in [2^-SAFE_EXP, 2^SAFE_EXP] with SAFE_EXP = 500.  Then every conversion is a normal
rounding (relative error ≤ u = 2^-53, and 0 is exact); every product of two such values lies in
[2^-1000, 2^1000] or is 0, so it neither underflows nor overflows; and a sum of k ≤ 2^20 of
them stays below 2^1020 < 2^1024.  Under these conditions the relative bound above is a theorem
(with u, not a heuristic ε), and callers use ``2·γ_{k+4}·(computed Σ|x̂ŷ|) + TINY`` — the factor
2 and the four extra roundings absorb the rounding of the bound's own computation, and TINY
covers the bound itself being rounded in the subnormal range.  When :func:`safe_floats` returns
``None`` the caller decides every sign exactly: the fallback costs time, never correctness.

>>> from gmpy2 import mpq
>>> safe_floats([mpq(1, 3), mpq(0), mpq(-5)]).tolist()
[0.3333333333333333, 0.0, -5.0]
>>> safe_floats([mpq(27, 4 * 2**1074)]) is None      # a subnormal: no relative bound
True
>>> safe_floats([mpq(10**400)]) is None               # beyond the float range: no traceback
True
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["SAFE_EXP", "U", "TINY", "gamma", "safe_float", "safe_floats", "safe_float_rows",
           "safe_float_quotients", "safe_float_matrix",
           "affine_values", "affine_values_each", "error_bound", "display_float"]

SAFE_EXP = 500
U = 2.0 ** -53
TINY = 2.0 ** -960
"""The absolute slack added to every bound: far above a rounded bound's own subnormal error
(≤ 2^-1074) and far below any margin a safe input can produce that matters (products of safe
values are ≥ 2^-1000 only when non-zero; a margin smaller than TINY is simply decided exactly)."""

_LO = 2.0 ** -SAFE_EXP
_HI = 2.0 ** SAFE_EXP


def gamma(k: int) -> float:
    """Higham's γ_k = k u / (1 − k u) with u = 2^-53.

    >>> 0 < gamma(5) < 1e-15
    True
    """
    return k * U / (1.0 - k * U)


def safe_float(value: Any) -> float | None:
    """The scalar form of :func:`safe_floats` (for pure-Python inner loops).

    >>> from fractions import Fraction
    >>> safe_float(Fraction(1, 4)), safe_float(0), safe_float(Fraction(1, 2**600))
    (0.25, 0.0, None)
    """
    try:
        f = float(value)
    except OverflowError:
        return None
    a = abs(f)
    if a > _HI or (a < _LO and (a != 0.0 or value != 0)):
        return None
    return f


def safe_floats(values: Sequence[Any]) -> np.ndarray | None:
    """float64 copies of exact rationals, or ``None`` if any lies outside the safe range.

    Parameters
    ----------
    values : sequence of gmpy2.mpq, Fraction or int

    Returns
    -------
    numpy.ndarray of shape (len(values),), or None
        ``None`` when some value is non-zero with magnitude outside [2^-500, 2^500] (see the
        module docstring for why the rounding bound then does not hold).
    """
    try:
        arr = np.array([float(v) for v in values], dtype=np.float64)
    except OverflowError:
        return None
    mag = np.abs(arr)
    if (mag > _HI).any():
        return None
    small = mag < _LO
    if small.any():
        # a float 0.0 is safe only for an exact 0; anything else in (0, 2^-500) is not
        for i in np.flatnonzero(small):
            if values[i] != 0 or mag[i] != 0.0:
                return None
    return arr


def safe_float_rows(rows: Sequence[Sequence[Any]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`safe_floats` of many rows of one width at once: ``(floats, ok)`` of shapes
    (len(rows), width) and (len(rows),); a row not ok (some value outside the safe range) is
    left 0.0 and must be decided exactly.

    >>> from gmpy2 import mpq
    >>> F, ok = safe_float_rows([[mpq(1, 4), mpq(0)], [mpq(1, 2**600), mpq(1)]], 2)
    >>> F.tolist(), ok.tolist()
    ([[0.25, 0.0], [0.0, 0.0]], [True, False])
    """
    m = len(rows)
    try:
        F = np.array([float(x) for r in rows for x in r], np.float64).reshape(m, width)
    except OverflowError:         # some value beyond the float range: row by row
        F, ok = np.zeros((m, width)), np.zeros(m, bool)
        for i, r in enumerate(rows):
            f = safe_floats(r)
            if f is not None:
                F[i], ok[i] = f, True
        return F, ok
    return _refuse_unsafe(F, np.ones(m, bool), rows)


def _refuse_unsafe(F: np.ndarray, ok: np.ndarray, rows: Sequence[Sequence[Any]]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of float copies ``F`` of the exact ``rows`` with a value outside the safe range
    marked not ok (a float 0.0 is safe only for an exact 0) and set to 0.0."""
    mag = np.abs(F)
    ok &= ~(mag > _HI).any(axis=1)
    for i, k in np.argwhere(mag < _LO).tolist():
        if mag[i, k] != 0.0 or rows[i][k] != 0:
            ok[i] = False
    F[~ok] = 0.0
    return F, ok


def safe_float_quotients(rows: Sequence[Sequence[int]], dens: Sequence[int], width: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`safe_float_rows` of the rationals x / dens[i] for the integers x of row i (an
    exact map kept as integers over one denominator): ``int / int`` in Python is rounded
    correctly, as ``float`` of a rational is, and raises OverflowError beyond the float range.

    >>> F, ok = safe_float_quotients([[1, 0], [1, 2**700]], [4, 2], 2)
    >>> F.tolist(), ok.tolist()
    ([[0.25, 0.0], [0.0, 0.0]], [True, False])
    """
    m = len(rows)
    F, ok = np.zeros((m, width)), np.ones(m, bool)
    try:
        F[:] = np.fromiter((x / d for r, d in zip(rows, dens) for x in r), np.float64,
                           m * width).reshape(m, width)     # no list of Python floats
    except OverflowError:         # some value beyond the float range: row by row
        for i, (r, d) in enumerate(zip(rows, dens)):
            try:
                F[i] = [x / d for x in r]
            except OverflowError:
                ok[i] = False
    return _refuse_unsafe(F, ok, rows)


def safe_float_matrix(rows: Iterable[Sequence[Any]]) -> np.ndarray | None:
    """Like :func:`safe_floats` for a list of equal-length rows; shape (m, n) or ``None``.

    >>> from fractions import Fraction
    >>> safe_float_matrix([[Fraction(1, 2), 0], [3, -1]]).tolist()
    [[0.5, 0.0], [3.0, -1.0]]
    """
    rows = [list(r) for r in rows]
    if not rows:
        return np.zeros((0, 0))
    flat = safe_floats([x for r in rows for x in r])
    if flat is None:
        return None
    return flat.reshape(len(rows), -1)


def affine_values(Zf: np.ndarray, Vf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float values of affine rows at points, with the magnitudes their error bound needs.

    Parameters
    ----------
    Zf : (m, n + 1) array
        Safe copies (:func:`safe_float_matrix`) of rows (a, c) meaning z(v) = a·v + c.
    Vf : (p, n) array
        Safe copies of the points.

    Returns
    -------
    vals, mags : (p, m) arrays
        fl(a·v + c) and fl(Σ|a_i v_i| + |c|).  With :func:`error_bound`, the exact z(v) − s
        has the sign of ``vals − s`` wherever ``|vals − s| > error_bound(mags, n, s)``.

    Examples
    --------
    >>> Z = np.array([[1.0, -1.0, 0.0]]); V = np.array([[0.5, 0.5], [1.0, 0.0]])
    >>> vals, mags = affine_values(Z, V)
    >>> (np.abs(vals) > error_bound(mags, 2)).ravel().tolist()
    [False, True]
    """
    vals = Vf @ Zf[:, :-1].T + Zf[:, -1]
    mags = np.abs(Vf) @ np.abs(Zf[:, :-1]).T + np.abs(Zf[:, -1])
    return vals, mags


AFFINE_CHUNK = 1 << 16
"""Entries of the gathered maps that :func:`affine_values_each` holds at once (512 KiB: a
batch that stays in cache)."""


def affine_values_each(Zf: np.ndarray, which: np.ndarray, Vf: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`affine_values` with a map of its own for every point: point p against the rows of
    ``Zf[which[p]]`` — many small maps in one batched call instead of a Python loop.

    Parameters
    ----------
    Zf : (M, m, n + 1) array
        Safe copies of M maps of m affine rows each.
    which : (p,) int array
        The map of each point.
    Vf : (p, n) array
        Safe copies of the points.

    Returns
    -------
    vals, mags : (p, m) arrays
        As for :func:`affine_values` (the bound of :func:`error_bound` holds in any order of
        summation, so it holds here too).

    Examples
    --------
    >>> Z = np.array([[[1.0, 0.0, -1.0]], [[0.0, 2.0, 0.0]]])
    >>> V = np.array([[3.0, 1.0], [3.0, 1.0], [0.0, 5.0]])
    >>> vals, _ = affine_values_each(Z, np.array([0, 1, 1]), V)
    >>> vals.ravel().tolist()
    [2.0, 2.0, 10.0]
    """
    p = len(Vf)
    M, m, k = Zf.shape
    vals = np.empty((p, m))
    mags = np.empty((p, m))
    # only the maps these points use, transposed (rows as columns): a caller that goes through
    # its points a chunk at a time against all of a layer's maps would otherwise copy them all
    # for every chunk (3-32-32-32-1's decision: 1,893 chunks, ~100,000 maps a layer)
    used, which = np.unique(which, return_inverse=True)
    Zt = np.ascontiguousarray(Zf[used].transpose(0, 2, 1))     # (used, n + 1, m)
    aZt = np.abs(Zt)
    V1 = np.concatenate([Vf, np.ones((p, 1))], axis=1)[:, None, :]   # (p, 1, n + 1)
    aV1 = np.abs(V1)
    step = max(1, AFFINE_CHUNK // max(1, m * k))
    for lo in range(0, p, step):
        hi = min(p, lo + step)
        w = which[lo:hi]
        vals[lo:hi] = np.matmul(V1[lo:hi], Zt[w])[:, 0]
        mags[lo:hi] = np.matmul(aV1[lo:hi], aZt[w])[:, 0]
    return vals, mags


def error_bound(mags: np.ndarray, n: int, shift: float = 0.0) -> np.ndarray:
    """The proven bound on |fl(z(v)) − s − (z(v) − s)| for values from :func:`affine_values`
    (n + 1 terms, two conversions each, the subtraction of a safe shift s): 2·γ_{n+4}·(mags +
    |s|) + TINY.  Valid only for safe copies (see the module docstring)."""
    return 2.0 * gamma(n + 4) * (mags + abs(shift)) + TINY


def display_float(value: Any) -> float:
    """A float for display or plotting only (never for a decision): ±inf beyond the range.

    >>> from fractions import Fraction
    >>> display_float(Fraction(10**400)), display_float(Fraction(-10**400, 3)), display_float(Fraction(1, 4))
    (inf, -inf, 0.25)
    """
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")
