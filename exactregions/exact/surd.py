"""Exact sums of square roots Σ c_i √r_i (c_i, r_i rational): the volumes of boundary pieces.

A piece of B_N,k lies in one affine plane, so its (n-k)-volume is (rational) · √(Gram
determinant).  Keeping that as a value type avoids sympy's factoring of huge radicands in the
inner loop; :meth:`SurdSum.to_sympy` gives the sympy expression when it is wanted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Iterable

import gmpy2

from exactregions.exact.rational import BIG_BITS, coprime_fraction, mpq_to_fraction

if TYPE_CHECKING:
    import sympy

__all__ = ["SurdSum"]


@dataclass(frozen=True, slots=True)
class SurdSum:
    """Σ coefficient · √radicand with integer radicands, kept sorted; exact and hashable.

    Examples
    --------
    >>> s = SurdSum.of(Fraction(1, 2), Fraction(2)) + SurdSum.of(Fraction(3), Fraction(8))
    >>> str(s), round(float(s), 6)
    ('13*sqrt(2)/2', 9.192388)
    """

    terms: tuple[tuple[int, Fraction], ...] = ()

    @staticmethod
    def of(coefficient: "Fraction | gmpy2.mpq", radicand: "Fraction | gmpy2.mpq" = Fraction(1)
           ) -> "SurdSum":
        """coefficient · √radicand (radicand ≥ 0; Fractions, gmpy2 rationals or ints)."""
        return SurdSum(tuple((r, coprime_fraction(p, q))
                             for r, p, q in SurdSum.parts(coefficient, radicand)))

    @staticmethod
    def parts(coefficient: "Fraction | gmpy2.mpq", radicand: "Fraction | gmpy2.mpq" = Fraction(1)
              ) -> tuple[tuple[int, int, int], ...]:
        """The terms of :meth:`of` as plain ints ``(radicand, numerator, denominator)`` (what
        crosses a process boundary; no Fraction is made).

        >>> SurdSum.parts(Fraction(1, 2), Fraction(8))
        ((2, 1, 1),)
        """
        c = gmpy2.mpq(coefficient)
        R = gmpy2.mpq(radicand)
        if R < 0:
            raise ValueError("negative radicand")
        if c == 0 or R == 0:
            return ()
        # √(p/q) = √(p q) / q: an integer radicand (gmpy2 arithmetic, no Fraction gcds)
        r = R.numerator * R.denominator
        f = gmpy2.mpq(1, R.denominator)
        root, exact = gmpy2.iroot(r, 2)
        if exact:
            c = c * f * root
            return ((1, int(c.numerator), int(c.denominator)),)
        # pull out the square part that is cheap to find (small primes only: no factoring)
        for p in (2, 3, 5, 7, 11, 13):
            pp = p * p
            while r % pp == 0:
                r //= pp
                f *= p
        c = c * f
        return ((int(r), int(c.numerator), int(c.denominator)),)

    @staticmethod
    def total(items: Iterable["SurdSum"]) -> "SurdSum":
        """Sum of many, grouped by radicand (linear time)."""
        acc: dict[int, gmpy2.mpq] = {}
        for s in items:
            for r, c in s.terms:
                acc[r] = acc.get(r, gmpy2.mpq(0)) + gmpy2.mpq(c)
        return SurdSum(tuple(sorted((r, mpq_to_fraction(c)) for r, c in acc.items() if c != 0)))

    def __add__(self, other: "SurdSum") -> "SurdSum":
        return SurdSum.total((self, other))

    def __float__(self) -> float:
        with gmpy2.context(gmpy2.get_context(), precision=200):
            v = sum((gmpy2.mpq(c.numerator, c.denominator) * gmpy2.sqrt(gmpy2.mpz(r))
                     for r, c in self.terms), gmpy2.mpfr(0))
        return float(v)

    def square(self) -> Fraction:
        """The square of a single term c·√r, c²·r (what a certificate records of a boundary
        piece's volume: exact, no radicals).

        With c = p/q in lowest terms, gcd(p²r, q²) = gcd(r, q²): one small gcd, no
        normalisation of the big products.

        >>> SurdSum.of(Fraction(3, 2), Fraction(2)).square()
        Fraction(9, 2)
        >>> SurdSum.of(Fraction(-1, 6), Fraction(3)).square()
        Fraction(1, 12)
        """
        if len(self.terms) > 1:
            raise ValueError("the square of a sum of several surds is not rational in general")
        if not self.terms:
            return Fraction(0)
        r, c = self.terms[0]
        p, qq = c.numerator, c.denominator ** 2
        g = math.gcd(r, qq)
        return coprime_fraction(p * p * (r // g), qq // g)

    def is_rational(self) -> bool:
        return all(r == 1 for r, _ in self.terms)

    def to_sympy(self) -> "sympy.Expr":
        """The sympy expression (no factoring is attempted)."""
        import sympy  # on demand: importing sympy costs ~0.2 s
        parts = []
        for r, c in self.terms:
            q = sympy.Rational(c.numerator, c.denominator)
            parts.append(q if r == 1 else q * sympy.Pow(sympy.Integer(r), sympy.S.Half,
                                                         evaluate=False))
        return sympy.Add(*parts)

    def __str__(self) -> str:
        if not self.terms:
            return "0"
        out = []
        for r, c in self.terms:
            num, den = c.numerator, c.denominator
            if num.bit_length() > BIG_BITS or den.bit_length() > BIG_BITS:
                num, den = gmpy2.mpz(num), gmpy2.mpz(den)   # subquadratic decimal digits
            s = str(num) if r == 1 else (f"sqrt({r})" if num == 1 else f"{num}*sqrt({r})")
            out.append(s if den == 1 else f"{s}/{den}")
        return " + ".join(out).replace("+ -", "- ")
