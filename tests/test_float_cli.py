"""The float commands: lines, slice, distance (outputs, --exact, bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exactregions.cli import main

DATA = Path(__file__).resolve().parent.parent / "data"


def test_lines_cli_with_exact_recheck(tmp_path, capsys):
    out = tmp_path / "l.json"
    assert main(["lines", str(DATA / "demo_2d.json"), "--random", "7", "--seed", "3",
                 "--t-range", "-1:2", "--exact", "--json", str(out)]) == 0
    s = json.loads(out.read_text())
    assert s["totals"]["lines"] == 7 and s["totals"]["exact_agree"] == 7
    assert all(l["linear_pieces"] == l["exact_linear_pieces"] for l in s["lines"])
    assert "exact core agrees on 7 of 7" in capsys.readouterr().out


def test_lines_through_matches_enumerate_on_the_same_segment(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["lines", str(DATA / "sawtooth_4.json"), "--through", "0", "1", "--json", str(a)]) == 0
    assert main(["enumerate", str(DATA / "sawtooth_4.json"), "--through", "0", "1", "--json", str(b)]) == 0
    assert json.loads(a.read_text())["lines"][0]["linear_pieces"] == json.loads(b.read_text())["linear_regions"] == 16


def test_lines_from_points_file(tmp_path):
    pts = tmp_path / "p.npy"
    np.save(pts, np.random.default_rng(0).uniform(-1, 1, size=(5, 2)))
    out = tmp_path / "l.json"
    assert main(["lines", str(DATA / "demo_2d.json"), "--through-origin", "--points", str(pts),
                 "--json", str(out)]) == 0
    assert len(json.loads(out.read_text())["lines"]) == 5


def test_slice_cli_writes_png_and_agrees_with_exact(tmp_path):
    png, js = tmp_path / "s.png", tmp_path / "s.json"
    assert main(["slice", str(DATA / "demo_2d.json"), "--through", "0,0", "1,0", "0,1", "--box",
                 "-1:1", "--exact", "--png", str(png), "--json", str(js)]) == 0
    s = json.loads(js.read_text())
    assert s["exact"]["agree"] and s["activation_regions"] == s["exact"]["activation_regions"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_distance_cli(tmp_path):
    out = tmp_path / "d.json"
    assert main(["distance", str(DATA / "demo_3d.json"), "--random", "50", "--json", str(out)]) == 0
    s = json.loads(out.read_text())
    assert len(s["points"]) == 50 and s["mean_good_distance"] > 0


@pytest.mark.parametrize("argv, words", [
    (["lines", "NET", "--through", "0,0"], "exactly 2 points"),
    (["lines", "NET", "--random", "3", "--device", "cuda:7"], "CUDA"),
    (["lines", "NET", "--random", "3", "--t-range", "2:1"], "inverted"),
    (["slice", "NET", "--through", "0,0", "1,1", "2,2", "--exact"], "collinear"),
    (["slice", "NET", "--through", "0,0", "1,0"], "P1 P2 P3"),
    (["distance", "NET"], "--points"),
    (["distance", "NET", "--points", "missing.npy"], "cannot read"),
])
def test_float_commands_bad_input_exit_2(argv, words, tmp_path, capsys):
    argv = [str(DATA / "demo_2d.json") if a == "NET" else a for a in argv]
    out = tmp_path / "o.json"
    assert main(argv + ["--json", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not out.exists()


def test_nan_points_are_rejected(tmp_path, capsys):
    pts = tmp_path / "p.npy"
    np.save(pts, np.array([[0.0, np.nan]]))
    assert main(["distance", str(DATA / "demo_2d.json"), "--points", str(pts)]) == 2
    assert "NaN" in capsys.readouterr().err
