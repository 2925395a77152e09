"""Figures and GeoJSON out: files in the format asked for, exact numbers beside the floats."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

import exactregions as er
from exactregions.cli import main

DATA = Path(__file__).resolve().parent.parent / "data"
MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_slice_and_enumerate_draw_figures_by_suffix(suffix, tmp_path):
    f = tmp_path / f"slice{suffix}"
    assert main(["slice", str(DATA / "demo_2d.json"), "--through", "0,0", "1,0", "0,1",
                 "--figure", str(f), "--labels", "a,b,c", "--dpi", "60"]) == 0
    assert f.read_bytes().startswith(MAGIC[suffix])
    g = tmp_path / f"exact{suffix}"
    assert main(["enumerate", str(DATA / "pwl_2d.json"), "--box", "-1:1", "--figure", str(g),
                 "--dpi", "60"]) == 0
    assert g.read_bytes().startswith(MAGIC[suffix])
    if suffix == ".svg":
        assert b"a" in f.read_bytes() and b"linear-region boundary" in f.read_bytes()


def test_a_3d_box_is_drawn_as_a_wireframe_and_bad_requests_refused(tmp_path, capsys):
    net = tmp_path / "n3.json"
    assert main(["net", "random", "--widths", "3,4,1", "--seed", "0", "-o", str(net)]) == 0
    assert main(["enumerate", str(net), "--box", "-1:1", "--figure", str(tmp_path / "w.png"),
                 "--dpi", "60"]) == 0
    capsys.readouterr()
    for argv in (["enumerate", str(DATA / "sawtooth_4.json"), "--box", "0:1", "--figure",
                  str(tmp_path / "x.png")],
                 ["enumerate", str(net), "--box", "-1:1", "--geojson", str(tmp_path / "x.geojson")],
                 ["slice", str(DATA / "demo_2d.json"), "--through", "0,0", "1,0", "0,1",
                  "--figure", str(tmp_path / "x.jpg")],
                 ["slice", str(DATA / "demo_2d.json"), "--through", "0,0", "1,0", "0,1",
                  "--figure", str(tmp_path / "x.png"), "--labels", "a,b"]):
        assert main(argv) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n3.json", "w.png"]


def _shoelace(ring):
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]))) / 2


def test_geojson_polygons_carry_their_exact_vertices(tmp_path):
    out = tmp_path / "r.geojson"
    assert main(["enumerate", str(DATA / "degenerate_2d.json"), "--box", "-1:1", "--geojson",
                 str(out)]) == 0
    g = json.loads(out.read_text())
    rc = er.region_complex(er.load_network(DATA / "degenerate_2d.json"), er.box([(-1, 1)] * 2))
    assert len(g["features"]) == len(rc.activation_regions)
    total = Fraction(0)
    for feat in g["features"]:
        ring = [tuple(er.exact_rational(x) for x in v) for v in feat["properties"]["vertices_exact"]]
        area = _shoelace(ring)   # the exact ring is a simple counter-clockwise polygon
        assert area == er.exact_rational(feat["properties"]["volume"]) > 0
        coords = feat["geometry"]["coordinates"][0]
        assert coords[0] == coords[-1] and len(coords) == len(ring) + 1
        total += area
    assert total == 4
