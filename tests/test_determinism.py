"""Same seed, same examples: a derandomised hypothesis test draws the same examples whatever
else pytest runs before it.

Hypothesis mixes constants found in the repository's loaded modules into its draws, so the
examples used to depend on which test modules had been imported (a bug of the certificate-file
reader was found only when tests/test_certificates.py ran first).  ``conftest.py`` imports every
module of the repository before any test; this test runs a recording test in two pytest
selections and compares what it drew.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

_HERE = Path(__file__).resolve().parent


@given(st.lists(st.one_of(st.integers(), st.text(max_size=5), st.floats()), max_size=4))
def test_draws_are_recorded(values):
    """Draws strings, integers and floats (the types the constants pool holds) and, when asked
    by the environment, writes them down."""
    path = os.environ.get("EXACTREGIONS_DRAW_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(repr(values) + "\n")


def _draws(tmp_path: Path, name: str, *before: str) -> str:
    log = tmp_path / name
    env = {**os.environ, "EXACTREGIONS_DRAW_LOG": str(log), "HYPOTHESIS_PROFILE": "ci"}
    env.pop("PYTHONHASHSEED", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header",
         "--rootdir", str(_HERE.parent), *before,
         f"{_HERE / 'test_determinism.py'}::test_draws_are_recorded"],
        cwd=_HERE.parent, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return log.read_text(encoding="utf-8")


def test_a_derandomised_test_draws_the_same_examples_in_any_selection(tmp_path):
    alone = _draws(tmp_path, "alone")
    assert alone.count("\n") >= 20
    # a test module that imports other parts of the package runs first
    after = _draws(tmp_path, "after", f"{_HERE / 'test_bad_input.py'}::test_outputs_respect_the_umask")
    assert after == alone
