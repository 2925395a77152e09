"""Exact oracles and assertion helpers for researchers' own region counters.

A *line counter* is any function ``counter(model, p1, p2)`` that returns the number of linear
pieces of the net on the segment x = p1 + t (p2 - p1), t ∈ [0, 1] — or the array of its interior
breakpoints t (then missed and spurious breakpoints are named).  A *slice counter* is
``counter(model, p1, p2, p3, box)`` returning the number of linear regions of the plane
p1 + s (p2 - p1) + t (p3 - p1) over ``box`` — or one point (s, t) inside each region it found
(then the regions it missed are named, with an exact witness and volume).  ``model`` is what
the counter asked for: ``"numpy"`` (a list of layer dicts with float64 ``weight``/``bias`` arrays
and the activation's JSON form), ``"torch"`` (a float64 ``nn.Sequential``) or ``"exact"``
(the :class:`~exactregions.exact.network.Network` itself).  Dyadic nets are exact in float64, so
a float counter can be judged exactly on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

from exactregions.exact.complex import RegionComplex, region_complex
from exactregions.exact.domain import Domain, plane, segment
from exactregions.exact.netfile import layer_activation_spec
from exactregions.exact.network import Network
from exactregions.exact.rational import exact_rational

__all__ = ["CounterMismatch", "ExactCounts", "exact_counts", "model_for", "assert_line_counts",
           "assert_partition", "exact_breakpoints"]


class CounterMismatch(AssertionError):
    """A counter disagrees with the exact answer; the message says exactly where."""


@dataclass(frozen=True)
class ExactCounts:
    """The exact answer for one net on one domain."""

    activation_regions: int
    linear_regions: int
    boundary_pieces: dict[int, int]
    complex: RegionComplex


def exact_counts(net: Network, domain: Domain) -> ExactCounts:
    """Exact counts (certified) for ``net`` on ``domain``.

    Examples
    --------
    >>> from exactregions.exact.constructions import sawtooth_network
    >>> from exactregions.exact.domain import box
    >>> exact_counts(sawtooth_network(3), box([(0, 1)])).linear_regions
    8
    """
    rc = region_complex(net, domain)
    return ExactCounts(len(rc.activation_regions), len(rc.linear_regions), rc.boundary_counts(), rc)


def model_for(net: Network, kind: str) -> Any:
    """The net in the form a counter asked for: ``numpy``, ``torch`` or ``exact``."""
    if kind == "exact":
        return net
    if kind == "numpy":
        import numpy as np
        return [{"weight": np.array([[float(w) for w in r] for r in layer.weight]),
                 "bias": np.array([float(v) for v in layer.bias]),
                 "activation": layer_activation_spec(layer)} for layer in net.layers]
    if kind == "torch":
        from exactregions.floating.torch_io import network_to_torch
        return network_to_torch(net)
    raise ValueError(f"model kind must be numpy, torch or exact, not {kind!r}")


def exact_breakpoints(rc: RegionComplex) -> list[tuple[Fraction, tuple]]:
    """Interior points of B_N on a 1-D domain: (t, switching neurons), sorted."""
    out = []
    for p in rc.pieces:
        out.append((p.witness[0], p.neurons or p.all_neurons))
    return sorted(out)


def _piece_maps(rc: RegionComplex, most: int = 8) -> str:
    """Each exact linear piece of a 1-D complex with its affine map (out = a·t + c per output),
    in order along the segment (the first ``most`` of them)."""
    regions = rc.activation_regions
    parts = []
    for lr in rc.linear_regions:
        ts = [v[0] for m in lr.members for v in regions[m].vertices]
        maps = ", ".join(_affine(row, ("t",)) for row in regions[lr.members[0]].output_map)
        parts.append((min(ts), max(ts), maps))
    parts.sort()
    more = len(parts) - most
    return ("; ".join(f"[{a}, {b}]: {maps}" for a, b, maps in parts[:most])
            + (f"; … {more} more" if more > 0 else ""))


def _affine(row: Sequence[Fraction], names: Sequence[str]) -> str:
    """``a·s + b·t − c`` from the row (a, b, c)."""
    text = " + ".join(f"{a}·{x}" for a, x in zip(row, names)).replace("+ -", "− ")
    c = row[len(names)]
    return f"{text} {'−' if c < 0 else '+'} {abs(c)}"


def _map_of(rc: RegionComplex, lr: Any) -> str:
    """A linear region's affine map on the plane: out = a·s + b·t + c per output."""
    row_maps = rc.activation_regions[lr.members[0]].output_map
    return ", ".join(_affine(r, ("s", "t")) for r in row_maps)


def _float_list(p: Sequence[Any]) -> list[float]:
    return [float(v) for v in p]


def assert_line_counts(counter: Callable[..., Any], net: Network, p1: Sequence[Any],
                       p2: Sequence[Any], model: str = "numpy", tol: float = 1e-9) -> None:
    """Check a line counter against the exact 1-D answer on the segment p1 → p2.

    Raises
    ------
    CounterMismatch
        Naming the missed breakpoints (exact t, switching neurons) or the spurious ones.

    Examples
    --------
    >>> from exactregions.exact.constructions import sawtooth_network
    >>> assert_line_counts(lambda m, a, b: 16, sawtooth_network(4), [0], [1])
    """
    rc = region_complex(net, segment(p1, p2))
    want = len(rc.linear_regions)
    got = counter(model_for(net, model), _float_list(p1), _float_list(p2))
    exact = exact_breakpoints(rc)
    where = f"net widths {'-'.join(map(str, net.widths))}, segment {_float_list(p1)} -> {_float_list(p2)}"
    if isinstance(got, (int,)) or (hasattr(got, "ndim") and getattr(got, "ndim", 1) == 0):
        if int(got) != want:
            detail = "; ".join(f"t = {t} ({float(t):.6g}), neurons {list(ns)}" for t, ns in exact)
            ends = [Fraction(0)] + [t for t, _ in exact] + [Fraction(1)]
            pieces = sorted(zip(ends, ends[1:]), key=lambda ab: ab[1] - ab[0])
            narrow = "; ".join(f"t in [{a}, {b}] (length {float(b - a):.3g})" for a, b in pieces[:2])
            if int(got) < want:
                kind = (f"an under-count by {want - int(got)}; the narrowest exact pieces, the "
                        f"likeliest to be missed: {narrow}")
            else:
                kind = (f"an over-count by {int(got) - want}: it splits a linear piece where the "
                        "net's affine map does not change (a kink counted twice, or a neuron "
                        "switching that no output sees)")
            raise CounterMismatch(f"{where}: counter says {int(got)} linear pieces, exact answer "
                                  f"is {want} ({kind}); the exact breakpoints are: "
                                  f"{detail or 'none'}; the exact linear pieces and their affine "
                                  f"maps in t: {_piece_maps(rc)}")
        return
    ts = sorted(float(t) for t in got)
    missed = [(t, ns) for t, ns in exact if not any(abs(float(t) - u) <= tol for u in ts)]
    spurious = [u for u in ts if not any(abs(float(t) - u) <= tol for t, _ in exact)]
    if missed or spurious:
        parts = []
        if missed:
            parts.append("missed breakpoints " + "; ".join(
                f"t = {t} ({float(t):.9g}) where neurons {list(ns)} switch" for t, ns in missed))
        if spurious:
            parts.append("spurious breakpoints at t = " + ", ".join(f"{u:.9g}" for u in spurious))
        raise CounterMismatch(f"{where}: " + "; ".join(parts))


def assert_partition(counter: Callable[..., Any], net: Network, p1: Sequence[Any],
                     p2: Sequence[Any], p3: Sequence[Any],
                     bounds: Sequence[tuple[Any, Any]] = ((0, 1), (0, 1)), model: str = "numpy") -> None:
    """Check a slice counter against the exact linear regions of the plane over ``bounds``.

    Raises
    ------
    CounterMismatch
        With the regions the counter missed (exact witness point and area, smallest first) or
        the count difference.
    """
    rc = region_complex(net, plane(p1, p2, p3, bounds=bounds))
    want = len(rc.linear_regions)
    fb = [(float(a), float(b)) for a, b in bounds]
    got = counter(model_for(net, model), _float_list(p1), _float_list(p2), _float_list(p3), fb)
    where = f"net widths {'-'.join(map(str, net.widths))}, plane box {fb}"
    by_size = sorted(rc.linear_regions, key=lambda lr: lr.volume)
    if isinstance(got, int) or (hasattr(got, "ndim") and getattr(got, "ndim", 1) == 0):
        if int(got) != want:
            if int(got) < want:
                few = "; ".join(f"witness (s, t) = ({float(lr.witness[0]):.9g}, "
                                f"{float(lr.witness[1]):.9g}), area {lr.volume} "
                                f"({float(lr.volume):.3g}), map {_map_of(rc, lr)}"
                                for lr in by_size[:3])
                kind = (f"an under-count by {want - int(got)}; the smallest exact regions (likely "
                        f"missed): {few}")
            else:
                kind = (f"an over-count by {int(got) - want}: it splits linear regions where the "
                        "net's affine map does not change; the exact regions' maps: "
                        + "; ".join(f"region {lr.index} {_map_of(rc, lr)}"
                                    for lr in rc.linear_regions[:4]))
            raise CounterMismatch(f"{where}: counter says {int(got)} linear regions, exact answer is "
                                  f"{want} ({kind})")
        return
    # representative points: find the exact linear region of each
    hit = set()
    for pt in got:
        s, t = (exact_rational(float(v)) for v in pt)
        # a point on a boundary is credited to every region whose closure holds it
        for r in rc.activation_regions:
            if all(a[0] * s + a[1] * t <= b for a, b in zip(r.A, r.b)):
                hit.add(r.linear_region)
    missed = [lr for lr in by_size if lr.index not in hit]
    if missed or len(got) != want:
        few = "; ".join(f"witness (s, t) = ({float(lr.witness[0]):.9g}, {float(lr.witness[1]):.9g}), "
                        f"exact area {lr.volume} ({float(lr.volume):.3g})" for lr in missed[:3])
        raise CounterMismatch(f"{where}: counter found {len(got)} regions, exact answer is {want}"
                              + (f"; missed {len(missed)}: {few}" if missed else
                                 "; it reports some region more than once"))
