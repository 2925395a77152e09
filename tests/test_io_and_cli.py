"""The file format, the rational door, bad input, and the CLI."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given

import exactregions as er
from exactregions.cli import main
from exactregions.testing.strategies import networks

DATA = Path(__file__).resolve().parent.parent / "data"


def test_the_door_takes_floats_by_their_binary_value():
    assert er.exact_rational(0.1) == Fraction(3602879701896397, 36028797018963968)
    assert er.exact_rational("0.1") == Fraction(1, 10)
    assert er.exact_rational("-3/7") == Fraction(-3, 7)
    with pytest.raises(er.InvalidNetworkError):
        er.exact_rational(float("nan"))
    with pytest.raises(er.NotExactError):
        er.exact_rational([1.0])
    with pytest.raises(TypeError):  # NotExactError is a TypeError too
        er.exact_rational(None)


@given(networks())
def test_network_file_round_trip_is_lossless(net):
    assert er.network_from_dict(json.loads(json.dumps(er.network_to_dict(net)))).layers == net.layers


def test_json_numbers_mean_their_float_value():
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[0.1]], "bias": ["0.1"], "activation": "relu"}]})
    assert net.layers[0].weight[0][0] == Fraction(0.1) != net.layers[0].bias[0] == Fraction(1, 10)


BAD_NETS = {
    "sigmoid": ({"format": "exactregions-network", "version": 1, "input_dim": 1,
                 "layers": [{"weight": [[1]], "bias": [0], "activation": "sigmoid"}]}, "not piecewise linear"),
    "shape": ({"format": "exactregions-network", "version": 1, "input_dim": 2,
               "layers": [{"weight": [[1, 2, 3]], "bias": [0], "activation": "relu"}]}, "shape"),
    "bias": ({"format": "exactregions-network", "version": 1, "input_dim": 1,
              "layers": [{"weight": [[1], [2]], "bias": [0], "activation": "relu"}]}, "bias"),
    "format": ({"format": "onnx", "layers": []}, "format"),
    "slopes": ({"format": "exactregions-network", "version": 1, "input_dim": 1,
                "layers": [{"weight": [[1]], "bias": [0], "activation":
                            {"name": "pwl", "breakpoints": [0], "slopes": [1, 1]}}]}, "slopes"),
}


@pytest.mark.parametrize("case", sorted(BAD_NETS))
def test_bad_networks_exit_2_with_one_line_and_no_output(case, tmp_path, capsys):
    data, words = BAD_NETS[case]
    f = tmp_path / "net.json"
    f.write_text(json.dumps(data))
    out = tmp_path / "out.json"
    assert main(["enumerate", str(f), "--box", "-1:1", "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not out.exists() and list(tmp_path.iterdir()) == [f]


def test_nan_and_malformed_json_exit_2(tmp_path, capsys):
    f = tmp_path / "net.json"
    f.write_text('{"format": "exactregions-network", "version": 1, "input_dim": 1, '
                 '"layers": [{"weight": [[NaN]], "bias": [0], "activation": "relu"}]}')
    assert main(["enumerate", str(f), "--box", "-1:1"]) == 2
    assert "non-finite" in capsys.readouterr().err
    f.write_text('{"format": ')
    assert main(["enumerate", str(f), "--box", "-1:1"]) == 2
    assert "malformed JSON" in capsys.readouterr().err


@pytest.mark.parametrize("box, words", [("1:-1", "inverted"), ("0:0", "empty"), ("a:b", "malformed"),
                                        ("-1:1,-1:1,0:1", "dimension")])
def test_bad_domains_exit_2(box, words, tmp_path, capsys):
    out = tmp_path / "o.json"
    assert main(["enumerate", str(DATA / "demo_2d.json"), "--box", box, "--json", str(out)]) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_api_raises_subclasses():
    with pytest.raises(er.InvalidDomainError):
        er.box([(1, 0)])
    with pytest.raises(er.InvalidDomainError):
        er.hpolytope([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, -1, 1, 1])  # empty
    with pytest.raises(er.InvalidDomainError):
        er.hpolytope([[1, 0], [0, 1]], [1, 1])  # unbounded
    with pytest.raises(er.UnsupportedActivationError):
        er.activation_from_spec("tanh")


def test_hpolytope_domain_gives_the_same_regions_as_the_box():
    net = er.load_network(DATA / "demo_2d.json")
    a = er.region_complex(net, er.box([(-1, 1), (-1, 1)]))
    b = er.region_complex(net, er.hpolytope([[1, 0], [-1, 0], [0, 1], [0, -1]], [1, 1, 1, 1]))
    assert sorted(r.volume for r in a.activation_regions) == sorted(r.volume for r in b.activation_regions)


def test_enumerate_cli_writes_the_summary_and_graphs(tmp_path, capsys):
    out = tmp_path / "o.json"
    for ext in (".graphml", ".json", ".gexf"):
        g = tmp_path / f"g{ext}"
        assert main(["enumerate", str(DATA / "sawtooth_4.json"), "--box", "0:1",
                     "--json", str(out), "--graph", str(g)]) == 0
        G = er.read_graph(g)
        assert sum(1 for _, k in G.nodes(data="kind") if k == "linear_region") == 16
    s = json.loads(out.read_text())
    assert s["activation_regions"] == 16 and s["linear_regions"] == 16
    assert s["boundary_pieces"] == {"1": 15}
    assert s["certificate"] == {**s["certificate"], "ok": True, "volume_sum": "1", "domain_volume": "1"}
    assert "linear regions: 16" in capsys.readouterr().out


def test_degenerate_net_matches_brute_force(tmp_path):
    """data/degenerate_2d.json: layer-1 lines x+y=0 (twice: coincident), x-y=0 and x=1/2, a zero
    row that never cuts, a dead neuron.  Its activation regions are checked against the
    independent brute force over all 2^8 patterns (exact LPs)."""
    from oracles import brute_force_regions
    net = er.load_network(DATA / "degenerate_2d.json")
    K = er.box([(-1, 1), (-1, 1)])
    rc = er.region_complex(net, K)
    assert rc.certificate["ok"]
    assert {r.pattern for r in rc.activation_regions} == set(brute_force_regions(net, K))
    # coincident hyperplanes give one facet with two labels
    assert any(len(labs) >= 2 for r in rc.activation_regions for labs in r.labels)
    assert len(rc.linear_regions) < len(rc.activation_regions)


def test_net_random_is_seeded(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["net", "random", "--widths", "2,5,1", "--seed", "7", "-o", str(a)]) == 0
    assert main(["net", "random", "--widths", "2,5,1", "--seed", "7", "-o", str(b)]) == 0
    assert a.read_text() == b.read_text()
    assert main(["net", "random", "--widths", "2,x", "-o", str(a)]) == 2


def test_graph_export_round_trips_rationals_of_thousands_of_digits(tmp_path):
    """3-8-8-1 seed 1 on [-1,1]³: a linear region's volume has a denominator of ~4,900 digits
    (beyond CPython's default int-to-string limit); GraphML, node-link JSON and GEXF keep it."""
    net = er.random_network([3, 8, 8, 1], seed=1)
    rc = er.region_complex(net, er.box([(-1, 1)] * 3), independent_check=False)
    big = max(rc.linear_regions, key=lambda lr: lr.volume.denominator.bit_length())
    assert big.volume.denominator.bit_length() > 14_300   # more than 4,300 decimal digits
    for ext in (".graphml", ".json", ".gexf"):
        g = tmp_path / f"g{ext}"
        er.write_graph(er.region_graph(rc), g)
        G = er.read_graph(g)
        vols = {node: er.exact_rational(d["volume"]) for node, d in G.nodes(data=True)
                if d.get("kind") == "linear_region"}
        assert vols[f"L{big.index}"] == big.volume
        assert sum(vols.values()) == 8


def test_short_reprs_and_version(capsys):
    net = er.random_network([2, 6, 6, 1], seed=0)
    rc = er.region_complex(net, er.box([(-1, 1), (-1, 1)]))
    for obj in (net, net.layers[0], rc.domain, rc, rc.activation_regions[0], rc.linear_regions[0],
                rc.pieces[0]):
        assert len(repr(obj)) < 300, repr(obj)
    assert repr(net).startswith("Network(2-6-6-1") and "certificate ok" in repr(rc)
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and er.__version__ in capsys.readouterr().out


def test_help_is_fast_because_nothing_heavy_is_imported():
    import subprocess
    import sys
    code = ("import sys; from exactregions.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'sympy', 'matplotlib', 'cdd', 'networkx') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_console_script_flushes_everything_before_it_skips_the_teardown(tmp_path):
    """``python -m exactregions`` (the console script's :func:`run`) ends with ``os._exit``:
    its output through a pipe, its files and its exit codes are all there, for a run that
    passes and for bad input."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}   # pipes buffered
    out = tmp_path / "s.json"
    ok = subprocess.run([sys.executable, "-m", "exactregions", "enumerate", "data/pwl_2d.json",
                         "--box", "-1:1", "--json", str(out), "--no-progress"],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.rstrip().endswith(f"wrote {out}") and "activation regions:" in ok.stdout
    assert json.loads(out.read_text())["certificate"]["ok"]
    bad = subprocess.run([sys.executable, "-m", "exactregions", "enumerate", "data/pwl_2d.json",
                          "--box", "1:-1"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert bad.stderr.startswith("exactregions: error:")


def test_graph_edges_name_the_switching_neurons_and_nodes_have_positions(tmp_path):
    net = er.random_network([2, 5, 5, 1], seed=3)
    rc = er.region_complex(net, er.box([(-1, 1), (-1, 1)]))
    G = er.region_graph(rc)
    for u, v, d in G.edges(data=True):
        if d["relation"] == "adjacent" and u.startswith("A"):
            pa = rc.activation_regions[int(u[1:])].pattern
            pb = rc.activation_regions[int(v[1:])].pattern
            diff = {(l, i) for l, (x, y) in enumerate(zip(pa, pb)) for i, (s, t) in
                    enumerate(zip(x, y)) if s != t}
            assert diff and d["neurons"] == ";".join(f"{l}:{i}" for l, i in sorted(diff))
    a0 = rc.activation_regions[0]
    assert G.nodes["A0"]["x"] == float(a0.witness[0]) and G.nodes["A0"]["y"] == float(a0.witness[1])
    g = tmp_path / "g.gexf"
    er.write_graph(G, g)
    H = er.read_graph(g)
    assert H.graph["input_dim"] == 2 and H.graph["widths"] == "2-5-5-1" and H.graph["certified"]


def test_lines_json_gives_the_breakpoints(tmp_path):
    out = tmp_path / "l.json"
    assert main(["lines", str(DATA / "sawtooth_4.json"), "--through", "0", "1", "--json",
                 str(out)]) == 0
    line = json.loads(out.read_text())["lines"][0]
    bp = line["breakpoints"]
    assert len(bp["t"]) == len(bp["layer"]) == len(bp["neuron"]) == len(bp["good"])
    assert line["linear_pieces"] == sum(bp["good"]) + 1 == 16
    assert bp["t"] == sorted(bp["t"]) and all(0 < t < 1 for t in bp["t"])


def test_progress_bars_on_request_only(tmp_path, capsys):
    argv = ["lines", str(DATA / "demo_2d.json"), "--random", "50"]
    assert main(argv + ["--progress"]) == 0
    assert "line" in capsys.readouterr().err
    assert main(argv) == 0   # stderr is no terminal here: no bar
    assert capsys.readouterr().err == ""
    assert main(argv + ["--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_an_enumeration_that_cannot_finish_is_refused_or_warned(tmp_path, capsys):
    big = tmp_path / "big.json"
    assert main(["net", "random", "--widths", "784,4,1", "-o", str(big)]) == 0
    capsys.readouterr()
    assert main(["enumerate", str(big), "--box", "0:1"]) == 2
    err = capsys.readouterr().err
    assert "784-dimensional box" in err and "--through" in err
    with pytest.raises(er.InvalidDomainError, match="2\\^784"):
        er.box([(0, 1)] * 784)
    from exactregions.cli import _feasibility
    _feasibility(er.random_network([8, 40, 1]), er.box([(-1, 1)] * 8))
    assert "may not finish" in capsys.readouterr().err


def test_the_lazy_top_level_names_match_the_exact_package():
    import exactregions.exact as exact
    assert set(er._EXACT) == set(exact.__all__)
    assert er.load_network.__module__ == "exactregions.models"
    assert all(getattr(er, name) is not None for name in er.__all__)


@pytest.mark.parametrize("name, content", [
    ("junk.graphml", "<graphml><oops"), ("empty.gexf", ""), ("nodes.json", '{"nodes": 3}'),
    ("list.json", "[1, 2]"), ("text.json", "not json"), ("missing.graphml", None),
])
def test_a_file_that_is_not_a_graph_is_a_format_error(tmp_path, name, content):
    """Malformed XML, JSON of another layout, a missing file: FormatError naming the file (XML's
    ParseError and node_link_graph's TypeError escaped before)."""
    f = tmp_path / name
    if content is not None:
        f.write_text(content)
    with pytest.raises(er.FormatError, match=name):
        er.read_graph(f)


def test_the_progress_bar_starts_no_thread():
    """The CLI's tqdm bar is refreshed by hand and runs no monitor thread: a thread alive in
    the process would keep the build and the independent check from forking their second
    process (the bar is open while they run)."""
    import argparse
    import threading

    from exactregions.cli import _bar

    before = set(threading.enumerate())
    with _bar(argparse.Namespace(progress=True), "regions", "layer") as update:
        update(1, 2)
        assert [t.name for t in threading.enumerate() if t not in before] == []


@pytest.mark.parametrize("through", [None, ("0,0,0,0", "1,0,1,0", "0,1,0,-1")])
def test_cli_polytope_domains_against_brute_force(through, tmp_path, capsys):
    """``enumerate --polytope``: the octahedron |x|+|y|+|z| <= 1 (its apexes lie on four
    facets), or the triangle P1 P2 P3 of a plane slice (s, t >= 0, s + t <= 1).  Oracles: the
    patterns of brute force over every pattern (an exact LP each, on the slice's restricted
    net), and K's volume in closed form (4/3, 1/2); the written certificate re-checks."""
    from itertools import product

    from oracles import brute_force_regions

    if through is None:
        A, b, vol = [list(s) for s in product([-1, 1], repeat=3)], [1] * 8, Fraction(4, 3)
        net = er.random_network([3, 4, 3, 1], seed=5, bias_std=0.3)
    else:
        A, b, vol = [[-1, 0], [0, -1], [1, 1]], [0, 0, 1], Fraction(1, 2)
        net = er.random_network([4, 4, 3, 1], seed=6, bias_std=0.3)
    (tmp_path / "K.json").write_text(json.dumps({"A": A, "b": b}))
    er.save_network(net, tmp_path / "net.json")
    out = tmp_path / "out.json"
    argv = ["enumerate", str(tmp_path / "net.json"), "--polytope", str(tmp_path / "K.json"),
            "--json", str(out), "--regions"]
    for p in through or ():
        argv += ["--through", p]
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    assert Fraction(doc["certificate"]["volume_sum"]) == vol
    assert doc["K"] == {"A": [[str(x) for x in r] for r in A], "b": [str(x) for x in b]}
    K = er.hpolytope(A, b)
    if through is not None:
        K = er.on_slice(K, er.plane(*[[Fraction(x) for x in p.split(",")] for p in through]))
    brute = brute_force_regions(er.restrict_network(net, K), K)
    patterns = {tuple(tuple(layer) for layer in r["pattern"]) for r in doc["regions"]}
    assert patterns == set(brute) and len(patterns) == len(doc["regions"])
    capsys.readouterr()
    assert main(["certify", str(out)]) == 0
