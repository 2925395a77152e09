"""The checks, in the order a report lists them: name → (statement, run)."""

from __future__ import annotations

from typing import Callable

from proofs_check import (corollary_4, corollary_5, corollary_8, figure_7, lemma_12, proposition_9,
                          proposition_10, proposition_11, sawtooth, theorem_1, theorem_2,
                          theorem_3)
from proofs_check.context import RunContext
from proofs_check.result import CheckResult

__all__ = ["CHECKS", "statement_of"]

_MODULES = (proposition_9, proposition_10, theorem_3, proposition_11, corollary_4, theorem_1,
            theorem_2, corollary_5, corollary_8, sawtooth, lemma_12, figure_7)

CHECKS: dict[str, Callable[[RunContext], CheckResult]] = {m.NAME: m.run for m in _MODULES}

_STATEMENTS = {m.NAME: m.STATEMENT for m in _MODULES}


def statement_of(name: str) -> str:
    """The claim a check tests.

    >>> statement_of("sawtooth").startswith("Telgarsky")
    True
    """
    return _STATEMENTS[name]
