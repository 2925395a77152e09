"""The exception hierarchy of exactregions.

Every error a user can cause is an :class:`ExactRegionsError`.  The subclasses also derive from
the matching builtin, so ``except ValueError`` keeps working for callers that do not know us.
The CLI turns any of them into one line on stderr and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "ExactRegionsError",
    "InvalidNetworkError",
    "UnsupportedActivationError",
    "InvalidDomainError",
    "FormatError",
    "NotExactError",
    "CertificateError",
    "InvalidOptionError",
]


class ExactRegionsError(Exception):
    """Base class of every error raised on purpose by exactregions."""


class InvalidNetworkError(ExactRegionsError, ValueError):
    """A network's shapes or numbers are wrong (shape mismatch, NaN, inf, empty layer)."""


class UnsupportedActivationError(ExactRegionsError, ValueError):
    """The activation is not continuous piecewise linear (sigmoid, tanh, ...) or is malformed."""


class InvalidDomainError(ExactRegionsError, ValueError):
    """The input domain is empty, inverted, unbounded, or of the wrong dimension."""


class FormatError(ExactRegionsError, ValueError):
    """A file is not valid JSON, or not in the format it claims."""


class NotExactError(ExactRegionsError, TypeError):
    """A float or tensor reached the exact API without going through :func:`exact_rational`."""


class CertificateError(ExactRegionsError, RuntimeError):
    """An exact result failed one of its own certificates; nothing is returned."""


class InvalidOptionError(ExactRegionsError, ValueError):
    """An option has a value the function does not know (an engine name, a scheduler)."""
