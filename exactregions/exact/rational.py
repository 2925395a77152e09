"""The one door from numbers to exact rationals.

Every number that enters the exact path goes through :func:`exact_rational`:

* ``int`` and :class:`fractions.Fraction` are taken as they are;
* a ``float`` (or numpy float) becomes its *exact binary value* (``0.1`` becomes
  ``3602879701896397/36028797018963968``), never a "nice" guess;
* a string is an exact rational ``"-3/7"`` or an exact decimal ``"0.1"`` (= 1/10).

Anything else (tensors, ``Decimal`` with context, ``None``, NaN, inf) raises.
"""

from __future__ import annotations

import math
import numbers
import re
from fractions import Fraction
from typing import Any, Iterable

from gmpy2 import lcm, mpq, mpz

from exactregions.errors import NotExactError, InvalidNetworkError

__all__ = ["exact_rational", "format_rational", "describe_rational", "parse_rational_string",
           "mpq_to_fraction", "coprime_fraction", "sum_of_fractions", "homogeneous_integers",
           "integer_det"]

_RATIONAL_RE = re.compile(r"^\s*[+-]?\d+\s*/\s*[+-]?\d+\s*$")
_DECIMAL_RE = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


BIG_BITS = 1300
"""Integers above this many bits (~400 digits) are converted from and to decimal by gmpy2:
subquadratic, where CPython's conversion is quadratic (they break even near this size)."""


def _int(text: str) -> int:
    """An integer from its decimal digits, however many (gmpy2 for long ones: faster, and
    past CPython's 4300-digit limit)."""
    text = text.strip()
    return int(text) if len(text) < 400 else int(mpz(text))


def parse_rational_string(text: str) -> Fraction:
    """Parse ``"p/q"`` or a decimal literal exactly.

    Examples
    --------
    >>> parse_rational_string("-3/7")
    Fraction(-3, 7)
    >>> parse_rational_string("0.1")
    Fraction(1, 10)

    Raises
    ------
    InvalidNetworkError
        If the text is neither form, or the denominator is zero.
    """
    num, slash, den = text.partition("/")
    digits = num[1:] if num[:1] == "-" else num
    if slash and digits.isascii() and digits.isdigit() and den.isascii() and den.isdigit():
        # the "p/q" we write: the fast path
        if den.lstrip("0") == "":
            raise InvalidNetworkError(f"rational {text!r} has a zero denominator")
        return Fraction(_int(num), _int(den))
    if _RATIONAL_RE.match(text):
        num, den = text.split("/")
        if _int(den) == 0:
            raise InvalidNetworkError(f"rational {text!r} has a zero denominator")
        return Fraction(_int(num), _int(den))
    if _DECIMAL_RE.match(text):
        return Fraction(text.strip())
    raise InvalidNetworkError(f"{text!r} is not an exact rational ('p/q') or a decimal ('0.1')")


def exact_rational(value: Any) -> Fraction:
    """Convert one number to an exact :class:`~fractions.Fraction` (the only float door).

    Examples
    --------
    >>> exact_rational(0.5), exact_rational("2/6"), exact_rational(3)
    (Fraction(1, 2), Fraction(1, 3), Fraction(3, 1))
    >>> exact_rational(0.1) == Fraction(1, 10)
    False

    Raises
    ------
    InvalidNetworkError
        For NaN, infinities, or an unparsable string.
    NotExactError
        For types that are not numbers (tensors, arrays, None).
    """
    if isinstance(value, bool):
        raise NotExactError("a bool is not a number here; pass 0 or 1")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, str):
        return parse_rational_string(value)
    if isinstance(value, numbers.Integral):  # numpy ints
        return Fraction(int(value))
    if isinstance(value, numbers.Real) and type(value).__module__ in ("builtins", "numpy"):
        f = float(value)
        if not math.isfinite(f):
            raise InvalidNetworkError(f"non-finite number {f!r}")
        return Fraction(f)
    if isinstance(value, numbers.Rational):  # gmpy2.mpq and friends
        return Fraction(int(value.numerator), int(value.denominator))
    raise NotExactError(
        f"cannot take {type(value).__name__} into the exact path; convert with "
        "exactregions.exact_rational (floats) or exactregions.network_from_torch (tensors)"
    )


def format_rational(value: Fraction) -> str:
    """Format a rational as ``"p/q"`` (or ``"p"`` when integral), the JSON form we write.

    Examples
    --------
    >>> format_rational(Fraction(-3, 7)), format_rational(Fraction(4))
    ('-3/7', '4')
    """
    if not isinstance(value, Fraction):
        value = Fraction(value)
    n, d = value.numerator, value.denominator
    # gmpy2 writes big integers in subquadratic time (CPython's is quadratic: 8.4 against
    # 3.1 µs at 800 digits, the size of a 3-D region's volume) and of any length (CPython
    # refuses more than 4300 digits by default, and exact volumes of deep nets have more)
    if n.bit_length() > BIG_BITS or d.bit_length() > BIG_BITS:
        n, d = mpz(n), mpz(d)
    if d == 1:
        return str(n)
    return f"{n}/{d}"


def describe_rational(value: Any) -> str:
    """A rational (Fraction, gmpy2 mpq, flint fmpq, or its ``"p/q"`` string) for a message: in
    full when short, else its float value and its size — exact volumes of deep nets have
    thousands of digits, and an error message is one line.

    >>> describe_rational(Fraction(-3, 7)), describe_rational(Fraction(2**4000 + 1, 3 * 2**4000))
    ('-3/7', '≈0.333333 (a rational of 2410 digits)')
    """
    if isinstance(value, str):
        text = value.strip()
        return text if len(text) <= 60 else f"{text[:14]}… ({len(text)} characters)"
    num = int(getattr(value, "numerator", getattr(value, "p", 0)))
    den = int(getattr(value, "denominator", getattr(value, "q", 1)))
    if num.bit_length() + den.bit_length() <= 190:
        return f"{num}/{den}" if den != 1 else str(num)
    try:
        approx = f"{num / den:.6g}"
    except OverflowError:
        approx = "-inf" if num < 0 else "inf"
    digits = int((num.bit_length() + den.bit_length()) * math.log10(2)) + 1
    return f"≈{approx} (a rational of {digits} digits)"


def _coprime_constructor():
    """Build a Fraction from a numerator and a positive denominator already in lowest terms
    (gmpy2's mpq always is) without a second gcd; plain normalisation where Python lacks it.

    Fastest: fill the two slots of a bare Fraction (CPython's ``fractions`` keeps exactly
    ``_numerator``/``_denominator``); this is probed once against the public constructor and
    not used if the layout differs."""
    def slots(n: int, d: int) -> Fraction:
        f = object.__new__(Fraction)
        f._numerator = n  # type: ignore[attr-defined]
        f._denominator = d  # type: ignore[attr-defined]
        return f

    try:
        probe = slots(-3, 7)
        if (probe == Fraction(-3, 7) and hash(probe) == hash(Fraction(-3, 7))
                and str(probe) == "-3/7" and probe + 1 == Fraction(4, 7)):
            return slots
    except (AttributeError, TypeError):
        pass
    try:
        Fraction(1, 1, _normalize=False)  # type: ignore[call-arg]
        return lambda n, d: Fraction(n, d, _normalize=False)  # type: ignore[call-arg]
    except TypeError:
        fast = getattr(Fraction, "_from_coprime_ints", None)
        return fast if fast is not None else Fraction


_from_coprime = _coprime_constructor()


def coprime_fraction(numerator: int, denominator: int) -> Fraction:
    """The Fraction numerator/denominator of two ints already in lowest terms with a positive
    denominator (no gcd is taken: the caller guarantees it, e.g. from a Fraction's parts).

    >>> coprime_fraction(-3, 7)
    Fraction(-3, 7)
    """
    return _from_coprime(numerator, denominator)


def mpq_to_fraction(value: Any) -> Fraction:
    """An exact ``gmpy2.mpq`` (lowest terms) as a Fraction with plain ``int`` parts.

    >>> from gmpy2 import mpq
    >>> mpq_to_fraction(mpq(6, -4))
    Fraction(-3, 2)
    """
    return _from_coprime(int(value.numerator), int(value.denominator))


def sum_of_fractions(terms: list[tuple[Any, Any]], divisor: Any = 1) -> "mpq":
    """(Σ p_i / q_i) / divisor for integer pairs (p_i, q_i) and a divisor, all denominators
    positive, not necessarily in lowest terms:
    fraction-free, summed in pairs (a balanced tree keeps the products small), with a single
    gcd at the end.  gmpy2's rationals normalise after every operation, which on the volumes of
    3-D and 4-D cells (denominators of thousands of bits) costs 1.3–1.5× this.

    >>> sum_of_fractions([(1, 2), (2, 6), (-1, 4)])
    mpq(7,12)
    >>> sum_of_fractions([(1, 2), (2, 6), (-1, 4)], 7)
    mpq(1,12)
    >>> sum_of_fractions([])
    mpq(0,1)
    """
    items = list(terms)
    while len(items) > 1:
        pairs = [(a * d + c * b, b * d) for (a, b), (c, d) in zip(items[::2], items[1::2])]
        if len(items) % 2:
            pairs.append(items[-1])
        items = pairs
    return mpq(items[0][0], items[0][1] * divisor) if items else mpq(0)


def homogeneous_integers(values: Iterable[Any]) -> tuple[Any, ...]:
    """Rationals (gmpy2 ``mpq``, ``Fraction``) over their least common denominator D > 0:
    ``(X_1, …, X_k, D)`` with x_i = X_i / D — fraction-free arithmetic on them needs no gcd
    until its one result.

    >>> homogeneous_integers([mpq(1, 2), mpq(-1, 3), mpq(2)])
    (mpz(3), mpz(-2), mpz(12), mpz(6))
    """
    values = list(values)
    D = values[0].denominator
    for x in values[1:]:
        if x.denominator != D:
            D = lcm(D, x.denominator)
    return tuple(x.numerator * (D // x.denominator) for x in values) + (D,)


def integer_det(M: list[list[int]]) -> int:
    """The determinant of a square integer matrix (closed forms up to 3 × 3, fraction-free
    Bareiss elimination beyond: every division exact, no rationals).

    >>> integer_det([[2, 0, 1], [1, 3, 2], [1, 1, 2]])
    6
    >>> integer_det([[0, 2, 3, 4], [1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]])   # a row swap
    -6
    """
    n = len(M)
    if n == 1:
        return M[0][0]
    if n == 2:
        return M[0][0] * M[1][1] - M[0][1] * M[1][0]
    if n == 3:
        (a, b, c), (d, e, f), (g, h, i) = M
        return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    A = [row[:] for row in M]
    sign, prev = 1, 1
    for k in range(n - 1):
        if A[k][k] == 0:
            piv = next((i for i in range(k + 1, n) if A[i][k] != 0), None)
            if piv is None:
                return 0
            A[k], A[piv] = A[piv], A[k]
            sign = -sign
        akk = A[k][k]
        for i in range(k + 1, n):
            aik = A[i][k]
            A[i] = [(x * akk - aik * y) // prev if j > k else x
                    for j, (x, y) in enumerate(zip(A[i], A[k]))]
        prev = akk
    return sign * A[n - 1][n - 1]
