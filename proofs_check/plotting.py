"""Matplotlib helpers shared by the checks (Agg backend, one PNG per call)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

__all__ = ["bars_with_ci", "save"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> str:
    """Write ``fig`` to ``path`` and close it; returns the path as a string."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _plt().close(fig)
    return str(path)


def bars_with_ci(path: Path, labels: Sequence[str], series: dict[str, Sequence[tuple[float, float]]],
                 title: str, ylabel: str) -> str:
    """Grouped bars ``series[name][i] = (mean, half-width of the 99% interval)``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(labels) + 2), 3.6))
    width = 0.8 / max(1, len(series))
    for j, (name, vals) in enumerate(series.items()):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(xs, [m for m, _ in vals], width, yerr=[h for _, h in vals], capsize=3, label=name)
    ax.set_xticks(range(len(labels)), labels, rotation=20)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return save(fig, path)


def figure(figsize=(5.5, 3.8)):
    """A new (figure, axes) pair."""
    return _plt().subplots(figsize=figsize)
