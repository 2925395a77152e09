"""Continuous piecewise-linear activations φ, exactly.

φ has breakpoints ξ_1 < … < ξ_T and slopes q_0 … q_T with q_j ≠ q_{j+1}; on piece j
(ξ_j ≤ t < ξ_{j+1}, with ξ_0 = -∞ and ξ_{T+1} = +∞) it is φ(t) = q_j t + p_j.  ReLU has T = 1.
A piece with slope 0 makes a neuron *closed* there (Hanin & Rolnick, Appendix A: "open" means
φ' ≠ 0), which is what goodness in Proposition 9 is about.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping

from exactregions.errors import UnsupportedActivationError
from exactregions.exact.rational import exact_rational, format_rational

__all__ = ["Activation", "activation_from_spec", "NAMED_ACTIVATIONS"]

NAMED_ACTIVATIONS = ("identity", "relu", "leaky_relu", "abs", "hardtanh", "relu6", "pwl")
_NOT_PWL = ("sigmoid", "tanh", "gelu", "silu", "swish", "softplus", "elu", "selu", "softmax",
            "mish", "logsigmoid", "hardswish", "hardsigmoid")


@dataclass(frozen=True, slots=True)
class Activation:
    """A continuous piecewise-linear activation with exact data.

    Parameters
    ----------
    name : str
        ``identity``, ``relu``, ``leaky_relu``, ``abs``, ``hardtanh``, ``relu6`` or ``pwl``.
    breakpoints : tuple of Fraction
        ξ_1 < … < ξ_T.
    slopes : tuple of Fraction
        q_0 … q_T, consecutive ones distinct.
    value_at_first : Fraction
        φ(ξ_1) (0 when T = 0).
    params : tuple
        Extra named parameters kept for lossless writing (``negative_slope``).

    Examples
    --------
    >>> relu = Activation.relu()
    >>> relu(Fraction(-2)), relu(Fraction(3)), relu.piece(Fraction(0))
    (Fraction(0, 1), Fraction(3, 1), 1)
    """

    name: str
    breakpoints: tuple[Fraction, ...]
    slopes: tuple[Fraction, ...]
    value_at_first: Fraction = Fraction(0)
    params: tuple[tuple[str, Fraction], ...] = ()
    offsets: tuple[Fraction, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        bps, qs = self.breakpoints, self.slopes
        if len(qs) != len(bps) + 1:
            raise UnsupportedActivationError(
                f"activation {self.name!r}: {len(bps)} breakpoints need {len(bps) + 1} slopes, "
                f"got {len(qs)}")
        if any(b >= c for b, c in zip(bps, bps[1:])):
            raise UnsupportedActivationError(
                f"activation {self.name!r}: breakpoints must increase strictly")
        if any(a == b for a, b in zip(qs, qs[1:])):
            raise UnsupportedActivationError(
                f"activation {self.name!r}: consecutive slopes must differ (q_j != q_j+1)")
        offsets = []
        if bps:
            # piece j: φ(t) = q_j t + p_j, continuous at every breakpoint
            value = self.value_at_first
            p0 = value - qs[0] * bps[0]
            offsets.append(p0)
            for j, xi in enumerate(bps):
                v = qs[j] * xi + offsets[j]
                offsets.append(v - qs[j + 1] * xi)
        else:
            offsets.append(Fraction(0))
        object.__setattr__(self, "offsets", tuple(offsets))

    # ----- named constructors -------------------------------------------------------------
    @staticmethod
    def identity() -> "Activation":
        """φ(t) = t (no breakpoints)."""
        return Activation("identity", (), (Fraction(1),), Fraction(0))

    @staticmethod
    def relu() -> "Activation":
        """φ(t) = max(0, t)."""
        return Activation("relu", (Fraction(0),), (Fraction(0), Fraction(1)), Fraction(0))

    @staticmethod
    def leaky_relu(negative_slope: Any = Fraction(1, 100)) -> "Activation":
        """φ(t) = t for t ≥ 0, ``negative_slope``·t below."""
        a = exact_rational(negative_slope)
        return Activation("leaky_relu", (Fraction(0),), (a, Fraction(1)), Fraction(0),
                          (("negative_slope", a),))

    @staticmethod
    def abs() -> "Activation":
        """φ(t) = |t|."""
        return Activation("abs", (Fraction(0),), (Fraction(-1), Fraction(1)), Fraction(0))

    @staticmethod
    def hardtanh() -> "Activation":
        """φ(t) = clamp(t, -1, 1): T = 2, zero-slope outer pieces."""
        return Activation("hardtanh", (Fraction(-1), Fraction(1)),
                          (Fraction(0), Fraction(1), Fraction(0)), Fraction(-1))

    @staticmethod
    def relu6() -> "Activation":
        """φ(t) = clamp(t, 0, 6)."""
        return Activation("relu6", (Fraction(0), Fraction(6)),
                          (Fraction(0), Fraction(1), Fraction(0)), Fraction(0))

    @staticmethod
    def pwl(breakpoints: Any, slopes: Any, value_at_first: Any = 0) -> "Activation":
        """Any continuous PWL φ from its breakpoints, slopes and value at the first breakpoint."""
        return Activation("pwl", tuple(exact_rational(b) for b in breakpoints),
                          tuple(exact_rational(q) for q in slopes), exact_rational(value_at_first))

    # ----- evaluation ---------------------------------------------------------------------
    @property
    def num_breakpoints(self) -> int:
        """T, the number of breakpoints."""
        return len(self.breakpoints)

    def piece(self, t: Fraction) -> int:
        """Index j of the piece with ξ_j ≤ t < ξ_{j+1} (a tie goes to the right piece)."""
        return bisect.bisect_right(self.breakpoints, t)

    def __call__(self, t: Fraction) -> Fraction:
        j = self.piece(t)
        return self.slopes[j] * t + self.offsets[j]

    def is_open(self, piece: int) -> bool:
        """Whether φ' ≠ 0 on ``piece`` (the paper's "open")."""
        return self.slopes[piece] != 0

    def to_spec(self) -> str | dict[str, Any]:
        """The JSON form: a name, or an object with the parameters as exact strings."""
        if self.name in ("identity", "relu", "abs", "hardtanh", "relu6"):
            return self.name
        if self.name == "leaky_relu":
            return {"name": "leaky_relu", "negative_slope": format_rational(self.slopes[0])}
        return {"name": "pwl", "breakpoints": [format_rational(b) for b in self.breakpoints],
                "slopes": [format_rational(q) for q in self.slopes],
                "value_at_first": format_rational(self.value_at_first)}


def activation_from_spec(spec: Any) -> Activation:
    """Build an activation from its JSON form (a name or an object with ``name``).

    Examples
    --------
    >>> activation_from_spec({"name": "leaky_relu", "negative_slope": "1/100"}).slopes
    (Fraction(1, 100), Fraction(1, 1))

    Raises
    ------
    UnsupportedActivationError
        For a non-PWL activation (sigmoid, tanh, ...) or an unknown or malformed one.
    """
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise UnsupportedActivationError(f"activation must be a name or an object with 'name', "
                                         f"got {spec!r}")
    name = spec["name"].lower()
    if name in _NOT_PWL:
        raise UnsupportedActivationError(
            f"activation {name!r} is not piecewise linear; exactregions handles "
            f"{', '.join(NAMED_ACTIVATIONS)}")
    if name in ("identity", "linear", "none"):
        return Activation.identity()
    if name == "relu":
        return Activation.relu()
    if name == "leaky_relu":
        return Activation.leaky_relu(spec.get("negative_slope", Fraction(1, 100)))
    if name == "abs":
        return Activation.abs()
    if name == "hardtanh":
        return Activation.hardtanh()
    if name == "relu6":
        return Activation.relu6()
    if name == "pwl":
        try:
            return Activation.pwl(spec["breakpoints"], spec["slopes"], spec.get("value_at_first", 0))
        except KeyError as exc:
            raise UnsupportedActivationError(f"pwl activation needs {exc.args[0]!r}") from None
    raise UnsupportedActivationError(
        f"unknown activation {name!r}; known: {', '.join(NAMED_ACTIVATIONS)}")
