"""Figures of a 2-D partition for a paper: regions coloured by linear region, activation-region
edges thin, linear-region boundaries dark, the slice's three points marked and labelled, axes,
title and legend; PNG, SVG or PDF by the file's suffix.

Used by ``exactregions slice --figure`` (the float partition) and ``exactregions enumerate
--figure`` (the exact complex; a 3-D box is drawn as a wireframe of B_N). Floats here only
draw: every count in the title comes from the computation.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from exactregions.errors import InvalidDomainError

__all__ = ["FIGURE_SUFFIXES", "draw_partition", "draw_wireframe", "polygons_of_complex",
           "polygons_of_slice"]

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def _check_suffix(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise InvalidDomainError(f"figure {str(path)!r}: use one of {', '.join(FIGURE_SUFFIXES)}")
    return suffix


def _colours(n: int) -> np.ndarray:
    """n distinct, light fill colours (tab20's hues at alternating lightness, cycled)."""
    import matplotlib
    base = np.array(matplotlib.colormaps["tab20"].colors)
    rng = np.random.default_rng(0)
    order = rng.permutation(n)                   # neighbours rarely share a colour
    out = base[order % len(base)]
    return 0.55 * out + 0.45                     # lighter, so edges read on top


def _edge_key(p: np.ndarray, q: np.ndarray, scale: float) -> tuple:
    a = tuple(np.round(p / scale, 9))
    b = tuple(np.round(q / scale, 9))
    return (a, b) if a <= b else (b, a)


def draw_partition(polygons: Sequence[np.ndarray], linear: Sequence[int], path: str | os.PathLike[str],
                   title: str = "", points: dict[str, tuple[float, float]] | None = None,
                   axis_labels: tuple[str, str] = ("s", "t"), dpi: int = 200) -> None:
    """Draw polygons (each (k, 2), vertices in order) coloured by linear region.

    Parameters
    ----------
    polygons : sequence of (k, 2) arrays
        The activation regions.
    linear : sequence of int
        The linear region of each polygon (same colour; boundaries between different ones are
        drawn dark, edges inside one thin).
    points : {label: (x, y)}, optional
        Points to mark and label (the slice's P1, P2, P3).

    Raises
    ------
    InvalidDomainError
        For a suffix other than .png, .svg, .pdf.

    Examples
    --------
    >>> import tempfile, os
    >>> sq = [np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float),
    ...       np.array([[1, 0], [2, 0], [2, 1], [1, 1]], float)]
    >>> f = os.path.join(tempfile.mkdtemp(), "fig.svg")
    >>> draw_partition(sq, [0, 1], f, title="two regions", points={"P1": (0, 0)})
    >>> os.path.getsize(f) > 0
    True
    """
    _check_suffix(path)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D

    linear = list(linear)
    ids = sorted(set(linear))
    colour_of = dict(zip(ids, _colours(len(ids))))
    allv = np.concatenate([np.asarray(p, float) for p in polygons])
    lo, hi = allv.min(axis=0), allv.max(axis=0)
    scale = float(max(hi - lo)) or 1.0
    # every polygon edge, and the linear regions on its sides
    sides: dict[tuple, list[int]] = {}
    segs: dict[tuple, tuple] = {}
    for P, lr in zip(polygons, linear):
        P = np.asarray(P, float)
        for a, b in zip(P, np.roll(P, -1, axis=0)):
            k = _edge_key(a, b, scale)
            sides.setdefault(k, []).append(lr)
            segs[k] = (a, b)
    thin = [segs[k] for k, lrs in sides.items() if len(lrs) == 2 and lrs[0] == lrs[1]]
    dark = [segs[k] for k, lrs in sides.items()
            if len(lrs) == 2 and lrs[0] != lrs[1]]
    outline = [segs[k] for k, lrs in sides.items() if len(lrs) != 2]
    fig, ax = plt.subplots(figsize=(6.4, 6.4), dpi=dpi)
    ax.add_collection(PolyCollection([np.asarray(p, float) for p in polygons],
                                     facecolors=[colour_of[l] for l in linear], edgecolors="none"))
    ax.add_collection(LineCollection(thin, colors="0.45", linewidths=0.25))
    ax.add_collection(LineCollection(outline, colors="0.2", linewidths=0.6))
    ax.add_collection(LineCollection(dark, colors="k", linewidths=0.9))
    handles = [Line2D([], [], color="0.45", lw=0.6, label="activation-region edge"),
               Line2D([], [], color="k", lw=1.2, label="linear-region boundary (B_N)")]
    for label, (x, y) in (points or {}).items():
        if lo[0] - 1e-12 <= x <= hi[0] + 1e-12 and lo[1] - 1e-12 <= y <= hi[1] + 1e-12:
            ax.plot([x], [y], "o", ms=6, mfc="white", mec="k", mew=1.2, zorder=5)
            ax.annotate(label, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=10,
                        fontweight="bold", zorder=6,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    if points:
        handles.append(Line2D([], [], marker="o", ls="", mfc="white", mec="k",
                              label="the slice's points"))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    counts = Counter(linear)
    ax.set_title(title or f"{len(polygons)} activation regions, {len(counts)} linear regions",
                 fontsize=10)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3,
              fontsize=8, frameon=False)
    fig.savefig(path, bbox_inches="tight", dpi=dpi)
    plt.close(fig)


def draw_wireframe(segments: Sequence[tuple[np.ndarray, np.ndarray]],
                   boundary: Sequence[bool], path: str | os.PathLike[str], title: str = "",
                   dpi: int = 200) -> None:
    """A 3-D complex as a wireframe: its edges, those on B_N dark and the others faint."""
    _check_suffix(path)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    fig = plt.figure(figsize=(6.4, 6.4), dpi=dpi)
    ax = fig.add_subplot(projection="3d")
    segs = np.array([[a, b] for a, b in segments], float)
    on = np.asarray(boundary, bool)
    ax.add_collection3d(Line3DCollection(segs[~on], colors="0.75", linewidths=0.2))
    ax.add_collection3d(Line3DCollection(segs[on], colors="k", linewidths=0.5))
    pts = segs.reshape(-1, 3)
    ax.set_xlim(pts[:, 0].min(), pts[:, 0].max())
    ax.set_ylim(pts[:, 1].min(), pts[:, 1].max())
    ax.set_zlim(pts[:, 2].min(), pts[:, 2].max())
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_zlabel("x3")
    ax.set_title(title, fontsize=10)
    fig.savefig(path, bbox_inches="tight", dpi=dpi)
    plt.close(fig)


def polygons_of_slice(res) -> list[np.ndarray]:
    """The float polygons of a :class:`~exactregions.floating.slice.SliceResult`."""
    V = res.verts.cpu().numpy()
    poly = res.poly.cpu().numpy()
    cuts = np.flatnonzero(np.r_[True, poly[1:] != poly[:-1], True])
    return [V[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


def polygons_of_complex(rc) -> list[np.ndarray]:
    """Float copies of a 2-D exact complex's regions, vertices in counter-clockwise order (by
    angle around their mean: for drawing only)."""
    out = []
    for r in rc.activation_regions:
        P = np.array([[float(x) for x in v] for v in r.vertices])
        c = P.mean(axis=0)
        out.append(P[np.argsort(np.arctan2(P[:, 1] - c[1], P[:, 0] - c[0]))])
    return out
