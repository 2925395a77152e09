"""What a check returns: its claim, verdict, figures and evidence (one JSON entry each)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Verdict", "CheckResult"]


class Verdict(str, enum.Enum):
    """A check's verdict. Only a criterion that was computed and met gives ``PASS``."""

    PASS = "pass"
    FAIL = "fail"

    @staticmethod
    def of(ok: bool) -> "Verdict":
        """``PASS`` iff ``ok``.

        >>> Verdict.of(True).value, Verdict.of(False).value
        ('pass', 'fail')
        """
        return Verdict.PASS if ok else Verdict.FAIL


@dataclass(frozen=True)
class CheckResult:
    """One checked statement.

    Attributes
    ----------
    name : str
        The registry key (``proposition_9``, ``theorem_3``, …).
    statement : str
        The claim in words, as the paper states it.
    verdict : Verdict
    criteria : dict
        Each pass/fail criterion by name: ``{"ok": bool, "rule": str, ...}``; the verdict is
        the conjunction of their ``ok``.
    figures : dict
        The numbers a reader cites (means, confidence intervals, fitted slopes, counts).
    evidence : Any
        What backs the figures: per-net values, violating pieces, settings.
    settings : dict
        Sizes and seeds the check ran with.
    seconds : float
        Wall time.
    plots : tuple of str
        Paths of the PNGs written (relative to the plot folder's parent when reported).

    Examples
    --------
    >>> r = CheckResult("x", "claim", Verdict.PASS, {"a": {"ok": True, "rule": "a"}}, {}, [], {}, 0.0)
    >>> r.to_json()["verdict"]
    'pass'
    """

    name: str
    statement: str
    verdict: Verdict
    criteria: dict[str, dict[str, Any]]
    figures: dict[str, Any]
    evidence: Any
    settings: dict[str, Any]
    seconds: float
    plots: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The report entry ``{"name", "statement", "verdict", "figures", "evidence", …}``."""
        return {"name": self.name, "statement": self.statement, "verdict": self.verdict.value,
                "criteria": self.criteria, "figures": self.figures, "evidence": self.evidence,
                "settings": self.settings, "seconds": round(self.seconds, 3),
                "plots": list(self.plots)}


def verdict_of(criteria: dict[str, dict[str, Any]]) -> Verdict:
    """The conjunction of the criteria (an empty set of criteria fails: nothing was checked).

    >>> verdict_of({"a": {"ok": True}, "b": {"ok": False}}).value
    'fail'
    """
    return Verdict.of(bool(criteria) and all(bool(c["ok"]) for c in criteria.values()))
