"""A 2-D region complex as GeoJSON: one Polygon feature per activation region.

Coordinates are floats (GeoJSON's own rule: tools draw them); the exact vertices, volume and
witness sit beside them as ``"p/q"`` strings. On a plane slice the coordinates are (s, t).
Vertices are put in counter-clockwise order by exact cross products around the region's witness
(an interior point), so the ring is a valid simple polygon.

>>> from exactregions.exact.random import random_network
>>> from exactregions.exact.domain import box
>>> from exactregions.exact.complex import region_complex
>>> g = complex_geojson(region_complex(random_network([2, 3, 1], seed=0), box([(-1, 1)] * 2)))
>>> g["type"], g["features"][0]["geometry"]["type"]
('FeatureCollection', 'Polygon')
"""

from __future__ import annotations

from fractions import Fraction
from functools import cmp_to_key
from typing import TYPE_CHECKING, Any

from exactregions.errors import InvalidDomainError
from exactregions.exact.floatfilter import display_float
from exactregions.exact.rational import format_rational

if TYPE_CHECKING:
    from exactregions.exact.complex import RegionComplex

__all__ = ["complex_geojson", "ccw_order"]


def ccw_order(vertices: tuple[tuple[Fraction, ...], ...], centre: tuple[Fraction, ...]
              ) -> list[tuple[Fraction, ...]]:
    """The vertices of a convex polygon counter-clockwise around an interior point (exact).

    >>> sq = [(Fraction(1), Fraction(1)), (Fraction(0), Fraction(0)), (Fraction(1), Fraction(0)),
    ...       (Fraction(0), Fraction(1))]
    >>> [tuple(map(int, v)) for v in ccw_order(sq, (Fraction(1, 2), Fraction(1, 2)))]
    [(1, 1), (0, 1), (0, 0), (1, 0)]
    """
    cx, cy = centre

    def half(p: tuple[Fraction, ...]) -> int:
        """0 for angles in [0, π) from the centre, 1 for [π, 2π)."""
        dx, dy = p[0] - cx, p[1] - cy
        return 0 if dy > 0 or (dy == 0 and dx > 0) else 1

    def cmp(p: tuple[Fraction, ...], q: tuple[Fraction, ...]) -> int:
        hp, hq = half(p), half(q)
        if hp != hq:
            return hp - hq
        cross = (p[0] - cx) * (q[1] - cy) - (p[1] - cy) * (q[0] - cx)
        return -1 if cross > 0 else (1 if cross < 0 else 0)

    return sorted(vertices, key=cmp_to_key(cmp))


def complex_geojson(rc: "RegionComplex") -> dict[str, Any]:
    """The activation regions of a 2-D complex as a GeoJSON FeatureCollection.

    Raises
    ------
    InvalidDomainError
        If the complex is not 2-D.
    """
    if rc.dim != 2:
        raise InvalidDomainError(f"GeoJSON needs a 2-D complex, this one has dimension {rc.dim}")
    feats = []
    for r in rc.activation_regions:
        ring = ccw_order(r.vertices, r.witness)
        coords = [[display_float(x), display_float(y)] for x, y in ring]
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [coords + [coords[0]]]},
            "properties": {
                "index": r.index, "linear_region": r.linear_region,
                "pattern": "|".join("".join(str(j) for j in layer) for layer in r.pattern),
                "volume": format_rational(r.volume), "volume_float": display_float(r.volume),
                "vertices_exact": [[format_rational(x) for x in v] for v in ring],
                "witness": [format_rational(x) for x in r.witness]}})
    coords_name = "(s, t) on the plane" if rc.domain.embedding is not None else "(x1, x2)"
    return {"type": "FeatureCollection", "features": feats,
            "properties": {"domain": rc.domain.description, "coordinates": coords_name,
                           "activation_regions": len(rc.activation_regions),
                           "linear_regions": len(rc.linear_regions)}}
