"""proofs_check: the statements of Hanin & Rolnick (2019), each turned into a check that can fail.

One module per statement; :mod:`proofs_check.registry` lists them; ``python -m proofs_check``
(or ``exactregions verify``) runs them and writes the JSON and Markdown reports.
"""

from proofs_check.result import CheckResult, Verdict

__all__ = ["CheckResult", "Verdict"]
