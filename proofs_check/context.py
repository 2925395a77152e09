"""What every check receives: the run's seed, size, Dask runner and plot folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proofs_check.parallel import Runner, task_seed

__all__ = ["RunContext"]


@dataclass(frozen=True)
class RunContext:
    """Settings shared by all checks of one run.

    Examples
    --------
    >>> ctx = RunContext(seed=3, quick=True, runner=Runner(None, progress=False))
    >>> ctx.seed_for("sawtooth", 0) == ctx.seed_for("sawtooth", 0)
    True
    """

    seed: int
    quick: bool
    runner: Runner
    plots: Path | None = None
    device: str = "cpu"
    plant: float = 0.0
    """A planted relative error E: every equality-type check multiplies its predicted side by
    (1 + E) (``--plant E``); a check with teeth fails for E beyond its reported power."""

    def seed_for(self, name: str, index: int) -> int:
        """The deterministic seed of task ``index`` of check ``name``."""
        return task_seed(self.seed, name, index)

    def plot_path(self, filename: str) -> Path | None:
        """Where to save a plot, or ``None`` when plots were not asked for."""
        if self.plots is None:
            return None
        self.plots.mkdir(parents=True, exist_ok=True)
        return self.plots / filename
