"""pytest plugin (entry point ``exactregions``): the ``exactregions_kit`` fixture and the
``--exactregions-profile quick|thorough`` option (examples per check)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from exactregions.testing.check import PROFILES, CheckReport, check_line_counter, check_slice_counter

__all__ = ["Kit", "pytest_addoption", "exactregions_kit"]


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("exactregions")
    group.addoption("--exactregions-profile", choices=sorted(PROFILES), default="quick",
                    help="examples per exactregions counter check (quick=30, thorough=300)")


@dataclass(frozen=True)
class Kit:
    """What the fixture gives a test: checks that raise with a precise report on failure."""

    examples: int
    seed: int = 0

    def check_line_counter(self, counter: Callable[..., Any], model: str = "numpy",
                           **kw: Any) -> CheckReport:
        rep = check_line_counter(counter, model=model, examples=self.examples, seed=self.seed, **kw)
        rep.raise_if_failed()
        return rep

    def check_slice_counter(self, counter: Callable[..., Any], model: str = "numpy",
                            **kw: Any) -> CheckReport:
        rep = check_slice_counter(counter, model=model, examples=self.examples, seed=self.seed, **kw)
        rep.raise_if_failed()
        return rep


@pytest.fixture
def exactregions_kit(request: Any) -> Kit:
    """The testing kit, sized by ``--exactregions-profile``."""
    return Kit(PROFILES[request.config.getoption("--exactregions-profile")])
