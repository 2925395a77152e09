"""Float intervals rounded outward: the certificates' own filter for signs of exact numbers.

The decision (:mod:`exactregions.exact.decide`) settles a clear sign in float64 when its margin
beats an a-priori rounding bound (:mod:`exactregions.exact.floatfilter`), and the certificates
check what it decided.  A checker must not share the bug it checks, so the certificates use no
a-priori bound at all: every exact number is enclosed between two floats, and every operation on
the endpoints is followed by one step outward (to the next float).  A sign is settled only where
the whole enclosure lies on one side; the rest is recomputed exactly by the caller.

Why one step outward is enough.  numpy's float64 arithmetic rounds each result to nearest
(IEEE 754), so the exact result lies between the two floats next to the rounded one — also
where the result underflows (the step from 0.0 or a subnormal is 2^-1074, more than rounding
there can lose).  A conversion ``float(x)`` of a Fraction, a gmpy2 mpq or an int is also within
one float of x (both round to nearest); a number beyond the float range encloses as
(-inf, inf).  An upper end that overflows to +inf (a lower end to -inf) becomes NaN at its next
step, and NaN compares false, so it never settles a sign (the entry goes to the exact path); an
upper end rounded to -inf (a lower end to +inf) steps back to -DBL_MAX (+DBL_MAX), which is
still beyond the exact value.

>>> from fractions import Fraction
>>> x = enclose([Fraction(1, 3)])
>>> bool(x.lo[0] < Fraction(1, 3) < x.hi[0])
True
>>> s = dot(enclose_rows([[Fraction(1, 10), Fraction(2, 10)]], 2),
...         enclose_rows([[1, 1]], 2))                 # 0.1 + 0.2, rounded outward
>>> bool(s.lo[0] <= Fraction(3, 10) <= s.hi[0]), bool(s.hi[0] - s.lo[0] < 1e-15)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["Interval", "enclose", "enclose_rows", "enclose_quotients", "dot"]

_DOWN, _UP = -np.inf, np.inf


def _quiet() -> Any:
    """Overflow and NaN are expected here (see the module docstring): no warnings."""
    return np.errstate(over="ignore", invalid="ignore")


def _up(x: np.ndarray) -> np.ndarray:
    """The next float above each entry (``np.nextafter(x, inf)``, on the bit patterns: twice
    as fast).  ``x + 0.0`` turns -0.0 into +0.0; a positive float's successor is its bit
    pattern + 1, a negative one's − 1 (``(b >> 63) | 1`` is +1 or −1); -inf gives -DBL_MAX,
    +inf and NaN give NaN, which never settles a sign."""
    b = (x + 0.0).view(np.int64)
    return (b + ((b >> 63) | 1)).view(np.float64)


def _down(x: np.ndarray) -> np.ndarray:
    """The next float below each entry: −(the next float above −x)."""
    return -_up(-x)


@dataclass(frozen=True, eq=False)
class Interval:
    """Arrays of closed float intervals [lo, hi], each enclosing one exact number.

    Arithmetic broadcasts like numpy's and rounds every endpoint outward by one float.

    >>> a = Interval(np.array([1.0]), np.array([2.0]))
    >>> b = a * Interval(np.array([-1.0]), np.array([3.0])) - a
    >>> float(b.lo[0]) < -4.0 and float(b.hi[0]) > 5.0
    True
    """

    lo: np.ndarray
    hi: np.ndarray

    def __add__(self, other: "Interval") -> "Interval":
        with _quiet():
            return Interval(_down(self.lo + other.lo), _up(self.hi + other.hi))

    def __sub__(self, other: "Interval") -> "Interval":
        with _quiet():
            return Interval(_down(self.lo - other.hi), _up(self.hi - other.lo))

    def __mul__(self, other: "Interval") -> "Interval":
        with _quiet():
            p, q = self.lo * other.lo, self.lo * other.hi
            r, s = self.hi * other.lo, self.hi * other.hi
        # np.minimum / np.maximum keep a NaN, so it reaches the comparisons (never clear)
        return Interval(_down(np.minimum(np.minimum(p, q), np.minimum(r, s))),
                        _up(np.maximum(np.maximum(p, q), np.maximum(r, s))))

    def __getitem__(self, index: Any) -> "Interval":
        return Interval(self.lo[index], self.hi[index])

    def ge(self, other: "Interval") -> np.ndarray:
        """Where every number of ``self`` is ≥ every number of ``other`` (so the exact ones
        are): ``self.lo >= other.hi``."""
        return self.lo >= other.hi

    def le(self, other: "Interval") -> np.ndarray:
        """Where every number of ``self`` is ≤ every number of ``other``."""
        return self.hi <= other.lo


def _outward(f: np.ndarray) -> Interval:
    """The floats one step outside each entry of f (each within one float of its exact
    number); a NaN entry (a number beyond the float range) encloses as (-inf, inf)."""
    lo, hi = _down(f), _up(f)
    big = np.isnan(f)
    lo[big], hi[big] = _DOWN, _UP
    return Interval(lo, hi)


def enclose(values: Sequence[Any]) -> Interval:
    """Enclosures of exact numbers (Fraction, gmpy2 mpq, int): shape (len(values),).

    >>> from fractions import Fraction
    >>> e = enclose([Fraction(1, 2), 10**400])
    >>> float(e.lo[0]) < 0.5 < float(e.hi[0]), float(e.lo[1]), float(e.hi[1])
    (True, -inf, inf)
    """
    try:
        f = np.array([float(v) for v in values], np.float64)
    except OverflowError:
        f = np.empty(len(values))
        for i, v in enumerate(values):
            try:
                f[i] = float(v)
            except OverflowError:
                f[i] = np.nan                 # marks the value; enclosed by (-inf, inf)
    return _outward(f)


def enclose_rows(rows: Sequence[Sequence[Any]], width: int) -> Interval:
    """:func:`enclose` of equal-length rows: shape (len(rows), width).

    >>> enclose_rows([[1, 2], [3, 4]], 2).lo.shape
    (2, 2)
    """
    e = enclose([x for r in rows for x in r])
    return Interval(e.lo.reshape(len(rows), width), e.hi.reshape(len(rows), width))


def enclose_quotients(rows: Sequence[Sequence[int]], dens: Sequence[int], width: int
                      ) -> Interval:
    """Enclosures of the rationals x / dens[i] for the integers x of row i: shape
    (len(rows), width).  ``int / int`` in Python rounds to nearest, as ``float`` of a rational
    does; a quotient beyond the float range encloses as (-inf, inf).

    >>> e = enclose_quotients([[1, 3], [2**2000, 0]], [3, 1], 2)
    >>> bool(e.lo[0, 0] < 1 / 3 < e.hi[0, 0]), float(e.lo[1, 0]), float(e.hi[1, 0])
    (True, -inf, inf)
    """
    try:
        # from a generator: no list of a Python float per entry (6 million entries, 140 MB,
        # for the maps of 3-24-24-24-1)
        f = np.fromiter((x / d for r, d in zip(rows, dens) for x in r), np.float64,
                        len(rows) * width).reshape(len(rows), width)
    except OverflowError:
        f = np.array([_quotient(x, d) for r, d in zip(rows, dens) for x in r],
                     np.float64).reshape(len(rows), width)
    return _outward(f)


def _quotient(x: int, d: int) -> float:
    try:
        return x / d
    except OverflowError:
        return np.nan                         # marks the value; enclosed by (-inf, inf)


def dot(x: Interval, y: Interval) -> Interval:
    """Σ_k x[..., k] · y[..., k] (broadcast), one term at a time, every step rounded outward.

    >>> one = enclose_rows([[1, 1, 1]], 3)
    >>> s = dot(one, one)
    >>> float(s.lo[0]) < 3.0 < float(s.hi[0])
    True
    """
    total = x[..., 0] * y[..., 0]
    for k in range(1, x.lo.shape[-1]):
        total = total + x[..., k] * y[..., k]
    return total
