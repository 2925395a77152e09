"""Bad input, the rest of it: one line naming the problem, exit 2, no traceback, no output file
left behind — and the exact recounts of ``lines``/``slice --exact`` on the points as given."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

import exactregions as er
from exactregions.cli import main

DATA = Path(__file__).resolve().parent.parent / "data"
NET = str(DATA / "demo_2d.json")


def _one_line_exit_2(argv, capsys, words=None):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0], (argv, err)
    if words:
        assert words in err[0], err[0]
    return err[0]


@pytest.fixture
def garbage(tmp_path):
    f = tmp_path / "garbage.json"
    f.write_bytes(os.urandom(64) + b"\x00\xff\xfe")
    return str(f)


@pytest.mark.parametrize("argv", [
    ["enumerate", "{net}", "--box", "-1:1"],
    ["lines", "{net}", "--random", "3"],
    ["slice", "{net}", "--through", "0,0", "1,0", "0,1"],
    ["distance", "{net}", "--random", "3"],
    ["net", "export", "{net}", "-o", "{tmp}/x.pt"],
    ["certify", "{net}"],
])
def test_binary_garbage_as_a_net_file(argv, garbage, tmp_path, capsys):
    argv = [a.format(net=garbage, tmp=tmp_path) for a in argv]
    _one_line_exit_2(argv, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.json"]


@pytest.mark.parametrize("argv, words", [
    (["lines", NET, "--random", "-3"], "--random"),
    (["distance", NET, "--random", "0"], "--random"),
    (["lines", NET, "--random", "3", "--tol", "-1"], "--tol"),
    (["slice", NET, "--through", "0,0", "1,0", "0,1", "--tol", "-1"], "--tol"),
    (["distance", NET, "--random", "3", "--tol", "-1"], "--tol"),
    (["lines", NET, "--through", "1,1", "1,1"], "coincide"),
    (["lines", NET, "--through", "0,0", "1,1", "--t-range", "a:b"], "--t-range"),
    (["enumerate", NET, "--box", "-1:1", "--regions"], "--json"),
    (["enumerate", NET, "--box", "-1:1,-1:1", "--workers", "2"], "--tiles"),
    (["enumerate", NET, "--box", "-1:1,-1:1", "--scheduler", "none"], "--tiles"),
    (["enumerate", NET, "--box", "-1:1,-1:1", "--tiles", "2", "--scheduler", "none",
      "--workers", "2"], "--workers"),
    (["enumerate", NET, "--box", "-1:1,-1:1", "--engine", "split", "--device", "cuda"],
     "--device"),
    (["net", "import", NET, "--widths", "2,16,16,16,1", "-o", "{tmp}/n.json"], "widths"),
    (["net", "export", NET, "-o", "{tmp}/n.txt"], ".pt"),
    (["experiment", "--quick", "--workers", "2", "--out", "{tmp}/run"], "--scheduler local"),
    (["slice", NET, "--through", "0,0", "1,1", "2,2"], "collinear"),
    (["slice", NET, "--through", "0,0", "0,0", "0,1"], "collinear"),
    (["net", "random", "--widths", "784,1000000,1000000,1", "-o", "{tmp}/big.json"], "memory"),
    (["net", "random", "--widths", "2,4,1", "--activation", "sigmoid", "-o", "{tmp}/s.json"],
     "not piecewise linear"),
])
def test_bad_values_exit_2(argv, words, tmp_path, capsys):
    _one_line_exit_2([a.format(tmp=tmp_path) for a in argv], capsys, words)
    assert list(tmp_path.iterdir()) == []


SQUARE = [[1, 0], [-1, 0], [0, 1], [0, -1]]


@pytest.mark.parametrize("content, words", [
    ('{"A": [[1, 0]', "cannot read"),
    ('[[1, 0], [0, 1]]', "expected an object"),
    (json.dumps({"A": SQUARE}), "expected an object"),
    ('{"A": [[1, 0], [-1, 0], [0, 1], [0, -1]], "b": [1, 1, 1, NaN]}', "non-finite"),
    (json.dumps({"A": SQUARE, "b": [1, 1, 1, "x"]}), "'x'"),
    (json.dumps({"A": SQUARE, "b": [1, 1, 1]}), "b of length m"),
    (json.dumps({"A": [[1, 0, 0]], "b": [1]}), "needs 2 entries"),
    (json.dumps({"A": SQUARE, "b": [1, -2, 1, 1]}), "empty"),
    (json.dumps({"A": SQUARE, "b": [1, -1, 1, 1]}), "not full-dimensional"),
    (json.dumps({"A": [[1, 0], [0, 1]], "b": [1, 1]}), "unbounded"),
])
def test_bad_polytope_files(content, words, tmp_path, capsys):
    """``enumerate --polytope``: malformed JSON, a NaN, a non-number, rows of the wrong length,
    an empty, flat or unbounded K — one line naming the file and the problem, exit 2, no
    output written."""
    f = tmp_path / "K.json"
    f.write_text(content)
    line = _one_line_exit_2(["enumerate", NET, "--polytope", str(f), "--json",
                             str(tmp_path / "out.json")], capsys, words)
    assert "K.json" in line
    assert [p.name for p in tmp_path.iterdir()] == ["K.json"]


def test_polytope_option_conflicts(tmp_path, capsys):
    f = tmp_path / "K.json"
    f.write_text(json.dumps({"A": [[-1, 0], [0, -1], [1, 1]], "b": [0, 0, 1]}))
    _one_line_exit_2(["enumerate", NET, "--polytope", str(f), "--box", "0:1"], capsys,
                     "not both")
    _one_line_exit_2(["enumerate", NET, "--polytope", str(f), "--through", "0,0",
                      "--through", "1,1"], capsys, "needs 1 entry")
    _one_line_exit_2(["enumerate", NET, "--polytope", str(tmp_path / "none.json")], capsys,
                     "cannot read")
    with pytest.raises(er.InvalidDomainError, match="cannot be put on"):
        er.on_slice(er.read_polytope(f), er.box([(0, 1), (0, 1)]))


@pytest.mark.parametrize("argv, words", [
    (["lines", NET, "--random", "3", "--seed", "-1"], "--seed"),
    (["distance", NET, "--random", "3", "--seed", "x"], "--seed"),
    (["net", "random", "--widths", "2,3,1", "--seed", "-1", "-o", "{tmp}/n.json"], "--seed"),
    (["check-counter", "exactregions.testing.examples:grid_line_counter", "--seed", "-2"],
     "--seed"),
    (["lines", NET, "--random", "abc"], "--random"),
    (["nosuch"], "invalid choice"),
    (["verify", "--seed", "abc"], "--seed"),
])
def test_what_argparse_refuses_is_one_line_and_exit_2(argv, words, tmp_path, capsys):
    """Refused by the parser itself (a wrong type, a negative seed, an unknown command): one
    line, not the usage block and a traceback-free error below it."""
    with pytest.raises(SystemExit) as info:
        main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1 and words in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_an_experiment_folder_that_cannot_be_made_is_refused_before_any_work(tmp_path, capsys):
    """A file where the folder would go, or a place where no folder can be made: one line,
    exit 2, nothing made (it was a traceback after the data set had loaded)."""
    (tmp_path / "a_file").write_text("")
    for out in (tmp_path / "a_file", tmp_path / "a_file" / "sub", Path("/proc/no_folder_here")):
        _one_line_exit_2(["experiment", "--quick", "--no-progress", "--out", str(out)], capsys,
                         "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_options_and_arguments_of_the_wrong_kind_are_refused_not_ignored(tmp_path):
    """What would be silently ignored (widths for a JSON net, or widths that contradict a whole
    saved module) or fail deep inside (a number where a complex or a graph goes) is refused
    with an ExactRegionsError naming it."""
    with pytest.raises(er.InvalidOptionError, match="widths"):
        er.load_network(NET, widths=[2, 16, 16, 16, 1])
    with pytest.raises(er.InvalidOptionError, match="input shape"):
        er.load_network(er.load_network(NET), input_shape=(1, 2, 1))
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    pt = tmp_path / "m.pt"
    torch.save(model, pt)
    assert er.load_network(pt, widths=[2, 3, 1]).widths == (2, 3, 1)
    with pytest.raises(er.InvalidNetworkError, match="2-3-1"):
        er.load_network(pt, widths=[2, 4, 1])
    with pytest.raises(er.InvalidOptionError, match="widths"):
        er.load_network(model, widths=[2, 3, 1])   # an object: its own architecture
    with pytest.raises(er.InvalidOptionError, match="input shape"):
        er.load_network(model.state_dict(), widths=[2, 3, 1], input_shape=(1, 2, 1))
    sd = tmp_path / "sd.pt"
    torch.save(model.state_dict(), sd)
    with pytest.raises(er.InvalidOptionError, match="input shape"):
        er.load_network(sd, widths=[2, 3, 1], input_shape=(1, 2, 1))
    from exactregions.exact.graph import adjacency_view, hasse_view, region_graph
    for f in (region_graph, hasse_view, adjacency_view):
        with pytest.raises(er.InvalidOptionError, match=f.__name__):
            f(42)


def test_the_api_refuses_a_negative_seed():
    with pytest.raises(er.ExactRegionsError, match="seed"):
        er.random_network([2, 3, 1], seed=-1)


@pytest.mark.parametrize("content, words", [(np.zeros((0, 2)), "empty"),
                                            (np.array([["a", "b"]]), "numbers")])
@pytest.mark.parametrize("cmd", ["lines", "distance"])
def test_bad_point_files(cmd, content, words, tmp_path, capsys):
    f = tmp_path / "p.npy"
    np.save(f, content)
    _one_line_exit_2([cmd, NET, "--points", str(f)], capsys, words)


@pytest.mark.parametrize("argv", [
    ["enumerate", NET, "--box", "-1:1", "--json", "{tmp}/o.json", "--graph", "/proc/x.graphml"],
    ["enumerate", NET, "--box", "-1:1", "--json", "{tmp}/o.json", "--graph", "/nonexistent/g.gexf"],
    ["slice", NET, "--through", "0,0", "1,0", "0,1", "--json", "{tmp}/o.json", "--png", "/proc/x.png"],
    ["net", "random", "--widths", "2,3,1", "-o", "/proc/n.json"],
    ["lines", NET, "--random", "2", "--json", "{tmp}"],
])
def test_unwritable_outputs_leave_nothing_behind(argv, tmp_path, capsys):
    _one_line_exit_2([a.format(tmp=tmp_path) for a in argv], capsys)
    assert list(tmp_path.iterdir()) == []


def test_outputs_respect_the_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        out, g = tmp_path / "o.json", tmp_path / "g.graphml"
        assert main(["enumerate", str(DATA / "sawtooth_4.json"), "--box", "0:1", "--json", str(out),
                     "--graph", str(g)]) == 0
        n = tmp_path / "n.json"
        assert main(["net", "random", "--widths", "2,3,1", "-o", str(n)]) == 0
    finally:
        os.umask(old)
    for p in (out, g, n):
        assert p.stat().st_mode & 0o777 == 0o644, p


def test_the_python_api_refuses_floats_tensors_and_modules(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    K = er.box([(-1, 1), (-1, 1)])
    from exactregions.exact import region_complex as exact_region_complex
    with pytest.raises(er.NotExactError, match="network_from_torch"):
        exact_region_complex(model, K)          # the exact API converts nothing
    with pytest.raises(er.NotExactError):
        er.region_complex(torch.zeros(2, 2), K)  # a tensor is data, not a net
    with pytest.raises(er.NotExactError):
        er.box([(torch.tensor(0.0), 1)])
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(er.InvalidDomainError):
            er.box([(bad, 1)])
    pt = tmp_path / "m.pt"
    torch.save(model, pt)
    from exactregions.exact import load_network as load_json_network
    with pytest.raises(er.FormatError, match="torch"):
        load_json_network(pt)                    # the exact reader takes JSON only
    raw = tmp_path / "raw.json"
    raw.write_bytes(b"\x80\x81\x82")
    with pytest.raises(er.FormatError):
        er.load_network(raw)
    with pytest.raises(er.UnsupportedActivationError):
        er.random_network([2, 3, 1], activation="sigmoid")
    with pytest.raises(er.UnsupportedActivationError):
        er.random_network([2, 3, 1], activation=3)
    assert er.random_network([2, 3, 1], activation="abs").layers[0].activation.name == "abs"


# ----- lines --exact / slice --exact on the exact points given ------------------------------

TENTH = {"format": "exactregions-network", "version": 1, "input_dim": 2,
         "layers": [{"weight": [["1", "0"]], "bias": ["-1/10"], "activation": "relu"},
                    {"weight": [["1"]], "bias": ["0"], "activation": "identity"}]}


def test_lines_exact_recounts_on_the_exact_segment(tmp_path, capsys):
    """relu(x − 1/10) on t ∈ [0, 1/10]: the kink is the segment's end point, so there is one
    piece.  Recounting on float(1/10) > 1/10 would find a second piece 5.5e-18 wide."""
    f = tmp_path / "tenth.json"
    f.write_text(json.dumps(TENTH))
    out = tmp_path / "l.json"
    assert main(["lines", str(f), "--through", "0,0", "1,0", "--t-range", "0:1/10", "--exact",
                 "--json", str(out)]) == 0
    line = json.loads(out.read_text())["lines"][0]
    assert line["exact"] == {"activation_pieces": 1, "linear_pieces": 1, "agree": True}
    seg = er.region_complex(er.network_from_dict(TENTH), er.segment([0, 0], [Fraction(1, 10), 0]))
    assert len(seg.activation_regions) == 1


def test_a_silent_float_miscount_is_reported_and_exits_non_zero(tmp_path, capsys, monkeypatch):
    import exactregions.floating.lines as lines_mod
    real = lines_mod.line_regions

    def off_by_one(*a, **k):
        r = real(*a, **k)
        r.activation_pieces.add_(1)
        r.linear_pieces.add_(1)
        return r

    monkeypatch.setattr(lines_mod, "line_regions", off_by_one)
    f = tmp_path / "tenth.json"
    f.write_text(json.dumps(TENTH))
    out = tmp_path / "l.json"
    code = main(["lines", str(f), "--through", "0,0", "1,0", "--exact", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 1 and "DISAGREE with no near-tie reported" in printed
    doc = json.loads(out.read_text())
    assert doc["lines"][0]["exact"] == {"activation_pieces": 2, "linear_pieces": 2, "agree": False}
    assert doc["totals"]["exact_disagree_without_near_tie"] == 1


def test_slice_exact_carries_the_exact_answer(tmp_path, capsys, monkeypatch):
    import exactregions.floating.slice as slice_mod
    f = tmp_path / "tenth.json"
    f.write_text(json.dumps(TENTH))
    out, png = tmp_path / "s.json", tmp_path / "s.png"
    argv = ["slice", str(f), "--through", "0,0", "1,0", "0,1", "--box", "0:1/5,0:1", "--exact",
            "--json", str(out), "--png", str(png)]
    assert main(argv) == 0
    assert json.loads(out.read_text())["exact"] == {"activation_regions": 2, "linear_regions": 2,
                                                    "agree": True}
    titles = []
    import exactregions.figure as figure_mod
    monkeypatch.setattr(figure_mod, "draw_partition", lambda polys, linear, path, title, **kw: (
        titles.append(title), Path(path).write_bytes(b"png")))
    real = slice_mod.slice_regions

    def wrong(*a, **k):
        r = real(*a, **k)
        object.__setattr__(r, "linear_regions", r.linear_regions + 1)
        return r

    monkeypatch.setattr(slice_mod, "slice_regions", wrong)
    assert main(argv) == 1
    assert "exact: 2 activation, 2 linear regions — DISAGREE" in titles[-1]
    assert json.loads(out.read_text())["exact"]["agree"] is False
