"""The independent checker refuses tampered certificates, and the enumerator's own certificates
catch the bugs they are there for.

Every tamper below changes one thing a wrong enumerator could get wrong; the checker must name
a failed check (exit 3 from the CLI), never pass.  The enumerator-side tests plant the bug in
the enumeration (a skipped split, a lost face, a wrong volume) and expect its certificates to
raise.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import itertools
import json
import math
import random
import sys
from fractions import Fraction

import numpy as np
import pytest
from gmpy2 import mpq
from hypothesis import example, given, settings, strategies as st

import exactregions as er
from exactregions.cli import main
from exactregions.exact import certificates, checker, floatfilter
from exactregions.exact.certificates import certify_complex
from exactregions.exact.surd import SurdSum
from exactregions.exact.complex import build_complex
from exactregions.exact.enumerate import enumerate_cells
from exactregions.exact.polytope import Cell
from exactregions.exact.rational import format_rational


def _doc(widths, seed, n, **kw):
    net = er.random_network(widths, seed=seed, **kw)
    rc = er.region_complex(net, er.box([(-1, 1)] * n), independent_check=False)
    return rc, er.certificate_document(rc)


@pytest.fixture(scope="module")
def doc2():
    return _doc([2, 6, 6, 2], 3, 2)


@pytest.fixture(scope="module")
def doc3():
    return _doc([3, 5, 4, 1], 1, 3)


def _refused(doc, words):
    with pytest.raises(er.CertificateError) as info:
        er.certify(doc)
    assert words in str(info.value), str(info.value)
    return str(info.value)


def _cut_box(data, n: int, cuts: int) -> list[tuple[int, ...]]:
    """Integer rows (a, b) of a·u <= b: the box |u_k| <= 2 cut by up to ``cuts`` random rows,
    each with b >= 0 (the origin inside or on it), often through shared points, so degenerate
    vertices and redundant rows occur."""
    rows = []
    for k in range(n):
        for s in (1, -1):
            rows.append(tuple(s if i == k else 0 for i in range(n)) + (2,))
    for _ in range(data.draw(st.integers(0, cuts), label="cuts")):
        a = data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n).filter(any),
                      label="a")
        rows.append(tuple(a) + (data.draw(st.integers(0, 4), label="b"),))
    return rows


def _interior_facet_pair(doc):
    """Two regions of different linear regions that share a facet, and the row index in the
    first one that makes that facet (from the regions' own labels)."""
    regions = doc["regions"]
    by_label = {}
    for r in regions:
        for i, labs in enumerate(r["labels"]):
            if labs[0][0] == "neuron":
                by_label.setdefault(tuple(labs[0][1:4]), []).append((r["index"], i))
    for r in regions:
        for i, labs in enumerate(r["labels"]):
            if labs[0][0] != "neuron":
                continue
            for j, _ in by_label[tuple(labs[0][1:4])]:
                if j != r["index"] and regions[j]["linear_region"] != r["linear_region"]:
                    shared = set(r["vertices"]) & set(regions[j]["vertices"])
                    if len(shared) >= len(r["witness"]):
                        return r["index"], j, i
    raise AssertionError("no interior facet between linear regions")


def test_untampered_certificates_pass(doc2, doc3):
    for rc, doc in (doc2, doc3):
        rep = er.certify(doc)
        assert rep["ok"] and rep["regions"] == len(rc.activation_regions)
        assert rep["linear_regions"] == len(rc.linear_regions)
        assert rep["pieces"] == {str(k): c for k, c in rc.boundary_counts().items()}
        assert rep["volume_sum"] == rep["domain_volume"] == format_rational(rc.domain.volume())


@pytest.mark.parametrize("which", ["2d", "3d"])
def test_a_dropped_region_is_refused(which, doc2, doc3):
    rc, doc = doc2 if which == "2d" else doc3
    bad = copy.deepcopy(doc)
    del bad["regions"][len(bad["regions"]) // 2]
    bad.pop("linear_region_members")
    _refused(bad, "volume-sum")


def test_a_point_inside_an_edge_among_a_regions_vertices_is_refused(doc2):
    """The midpoint of an edge of region 0, recorded as one more of its vertices (as a glue
    that kept a tile face's cut point would): volumes, facets and pattern are unchanged, and
    only the vertex certificate sees it (the point lies on one row, not on two)."""
    _refused(_with_an_edge_midpoint(doc2[1]), "is no vertex of its H-polytope")


def _with_an_edge_midpoint(doc, region=0):
    bad = copy.deepcopy(doc)
    reg = bad["regions"][region]
    pts = [[Fraction(x) for x in bad["vertices"][j]] for j in reg["vertices"]]
    A = [[Fraction(x) for x in row] for row in reg["A"]]
    b = [Fraction(x) for x in reg["b"]]
    on = [{i for i, (a, bb) in enumerate(zip(A, b)) if sum(x * y for x, y in zip(a, p)) == bb}
          for p in pts]
    n = len(pts[0])
    i, j = next((i, j) for i in range(len(pts)) for j in range(i + 1, len(pts))
                if len(on[i] & on[j]) >= n - 1)            # two ends of one edge
    mid = [format_rational((x + y) / 2) for x, y in zip(pts[i], pts[j])]
    bad["vertices"].append(mid)
    reg["vertices"].append(len(bad["vertices"]) - 1)
    return bad


@pytest.mark.parametrize("which", ["2d", "3d"])
def test_a_missing_vertex_is_refused(which, doc2, doc3):
    """One vertex left out of a region's list: what is left is not closed under the
    polytope's edges."""
    bad = copy.deepcopy({"2d": doc2, "3d": doc3}[which][1])
    bad["regions"][3]["vertices"].pop(1)
    _refused(bad, "not closed under the polytope's edges")


def test_a_vertex_recorded_twice_is_refused(doc2):
    """A vertex left out and every other one listed twice (under new indices of the file's
    vertex list): counted by index, each edge would be closed by the copy of its own end."""
    bad = copy.deepcopy(doc2[1])
    reg = bad["regions"][3]
    reg["vertices"].pop()
    for j in list(reg["vertices"]):
        bad["vertices"].append(list(bad["vertices"][j]))
        reg["vertices"].append(len(bad["vertices"]) - 1)
    _refused(bad, "region 3: a vertex is recorded twice")


def test_a_point_outside_among_a_regions_vertices_is_refused(doc2):
    """A vertex of another region recorded as one of region 0's."""
    bad = copy.deepcopy(doc2[1])
    mine = set(bad["regions"][0]["vertices"])
    other = next(v for r in bad["regions"] for v in r["vertices"] if v not in mine)
    bad["regions"][0]["vertices"][0] = other
    _refused(bad, "outside its H-polytope")


def test_a_region_with_a_degenerate_vertex_is_checked_by_cddlib():
    """Zero biases put every first-layer plane through the origin: a cone region with more
    than three facets has its apex on more than three rows (degenerate), so the checker takes
    that region's vertices from cddlib and compares them with the recorded ones; a point inside
    an edge is refused there too."""
    net = er.random_network([3, 8, 1], seed=0, bias_std=0.0)
    rc = er.region_complex(net, er.box([(-1, 1)] * 3), independent_check=False)
    doc = er.certificate_document(rc)
    assert er.certify(doc)["ok"]

    def rows_on(reg, j):
        p = [Fraction(x) for x in doc["vertices"][j]]
        return sum(sum(Fraction(a) * x for a, x in zip(row, p)) == Fraction(bb)
                   for row, bb in zip(reg["A"], reg["b"]))

    ri = next(i for i, r in enumerate(doc["regions"])
              if any(rows_on(r, j) > 3 for j in r["vertices"]))
    _refused(_with_an_edge_midpoint(doc, ri), "recorded vertices are not the vertices")


def test_a_facet_moved_inward_by_2_to_the_minus_60_is_refused(doc2):
    rc, doc = doc2
    r1, _, row = _interior_facet_pair(doc)
    bad = copy.deepcopy(doc)
    reg = bad["regions"][r1]
    reg["b"][row] = format_rational(Fraction(reg["b"][row]) - Fraction(1, 2 ** 60))
    _refused(bad, "a recorded vertex is outside its H-polytope")
    del reg["vertices"]              # cddlib's vertices then: the volume no longer matches
    _refused(bad, "check 'volume' failed")
    del reg["volume"]
    _refused(bad, "volume-sum")      # and without it, the sum is short


def test_a_flipped_pattern_is_refused(doc2):
    rc, doc = doc2
    for k in range(len(doc["regions"][0]["pattern"][0])):
        bad = copy.deepcopy(doc)
        bad["regions"][5]["pattern"][0][k] ^= 1
        _refused(bad, "witness")


def test_a_changed_embedded_weight_is_refused(doc2):
    rc, doc = doc2
    bad = copy.deepcopy(doc)
    w = Fraction(bad["network"]["layers"][0]["weight"][1][0])
    bad["network"]["layers"][0]["weight"][1][0] = format_rational(w + Fraction(1, 2 ** 40))
    msg = _refused(bad, "failed")
    assert "witness" in msg or "vertex-sides" in msg


def test_two_merged_linear_regions_are_refused(doc2):
    rc, doc = doc2
    r1, r2, _ = _interior_facet_pair(doc)
    bad = copy.deepcopy(doc)
    a, b = bad["regions"][r1]["linear_region"], bad["regions"][r2]["linear_region"]
    for r in bad["regions"]:
        if r["linear_region"] == b:
            r["linear_region"] = a
    bad.pop("linear_region_members")
    _refused(bad, "check 'linear'")


def test_a_split_linear_region_is_refused():
    # a net with dead neurons: some linear regions hold several activation regions
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 2,
                                "layers": [{"weight": [[1, 0], [0, 1], [1, 1]], "bias": [0, 0, 0],
                                            "activation": "relu"},
                                           {"weight": [[1, 0, 0]], "bias": [0],
                                            "activation": "identity"}]})
    rc = er.region_complex(net, er.box([(-1, 1), (-1, 1)]))
    assert len(rc.linear_regions) < len(rc.activation_regions)
    doc = er.certificate_document(rc)
    big = next(lr for lr in rc.linear_regions if len(lr.members) > 1)
    bad = copy.deepcopy(doc)
    bad["regions"][big.members[0]]["linear_region"] = len(rc.linear_regions)
    bad.pop("linear_region_members")
    _refused(bad, "check 'linear'")


@pytest.mark.parametrize("which, codim", [("2d", 1), ("2d", 2), ("3d", 1), ("3d", 2), ("3d", 3)])
def test_a_dropped_boundary_piece_is_refused(which, codim, doc2, doc3):
    rc, doc = doc2 if which == "2d" else doc3
    bad = copy.deepcopy(doc)
    i = next(i for i, p in enumerate(bad["pieces"]) if p["codim"] == codim)
    del bad["pieces"][i]
    bad["boundary_pieces"][str(codim)] -= 1
    _refused(bad, "check 'pieces'")


def test_wrong_piece_neurons_are_refused(doc2):
    rc, doc = doc2
    bad = copy.deepcopy(doc)
    p = next(p for p in bad["pieces"] if p["codim"] == 1)
    p["neurons"] = p["neurons"][1:] + [[0, 5]] if p["neurons"] != [[0, 5]] else [[0, 4]]
    _refused(bad, "check 'pieces'")


def test_a_witness_outside_its_region_is_refused(doc2):
    rc, doc = doc2
    bad = copy.deepcopy(doc)
    bad["regions"][2]["witness"] = bad["regions"][3]["witness"]
    _refused(bad, "witness")


@pytest.mark.parametrize("which", ["2d", "3d"])
def test_a_piece_witness_off_its_relative_interior_is_refused(which, doc2, doc3):
    """At a vertex of its face (on its relative boundary), or moved off its plane by 2^-60."""
    rc, doc = doc2 if which == "2d" else doc3
    p = next(i for i, pc in enumerate(doc["pieces"]) if pc["codim"] == 1)
    at_vertex = copy.deepcopy(doc)
    v = at_vertex["pieces"][p]["faces"][0][0]
    at_vertex["pieces"][p]["witness"] = list(at_vertex["vertices"][v])
    _refused(at_vertex, "witness is in the relative interior of none")
    off = copy.deepcopy(doc)
    w = [Fraction(x) for x in off["pieces"][p]["witness"]]
    off["pieces"][p]["witness"] = [format_rational(w[0] + Fraction(1, 2 ** 60))] + \
        [format_rational(x) for x in w[1:]]
    _refused(off, "witness is in the relative interior of none")


def test_a_duplicated_region_is_refused(doc2):
    rc, doc = doc2
    bad = copy.deepcopy(doc)
    bad["regions"].append(copy.deepcopy(bad["regions"][0]))
    bad.pop("linear_region_members")
    _refused(bad, "share an activation pattern")


def test_wrong_counts_are_refused(doc2):
    rc, doc = doc2
    bad = copy.deepcopy(doc)
    bad["linear_regions"] += 1
    _refused(bad, "counts")


def test_cli_certify_exit_codes(doc2, tmp_path, capsys):
    rc, doc = doc2
    good = tmp_path / "ok.json"
    good.write_text(json.dumps(doc))
    assert main(["certify", str(good)]) == 0
    assert ": ok" in capsys.readouterr().out
    bad = copy.deepcopy(doc)
    bad["regions"][0]["pattern"][0][0] ^= 1
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    assert main(["certify", str(f)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "region 0" in err[0]
    for junk in (b"\x00\xff garbage", b'{"format": "exactregions-certificate"', b"[]",
                 json.dumps({**doc, "regions": "nope"}).encode()):
        f.write_bytes(junk)
        assert main(["certify", str(f)]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_enumerate_writes_a_certificate_the_checker_accepts(tmp_path, capsys):
    net = tmp_path / "n.json"
    assert main(["net", "random", "--widths", "2,5,5,1", "--seed", "2", "-o", str(net)]) == 0
    out = tmp_path / "c.json"
    assert main(["enumerate", str(net), "--box", "-1:1", "--regions", "--json", str(out)]) == 0
    assert "independent check: ok" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["format"] == "exactregions-certificate" and doc["certificate"]["independent"]["ok"]
    assert main(["certify", str(out)]) == 0


@pytest.mark.parametrize("engine", ["propose", "split"])
def test_the_independent_check_can_be_deferred(engine, tmp_path, capsys, monkeypatch):
    """--no-independent-check: the checker does not run (the enumerator's own certificates
    do), the output says how to run it later, the document claims no independent report, and
    `exactregions certify` on it then passes."""
    import exactregions.exact.checker as checker
    net = tmp_path / "n.json"
    assert main(["net", "random", "--widths", "2,5,5,1", "--seed", "2", "-o", str(net)]) == 0
    out = tmp_path / "c.json"
    calls = []
    real = checker.certify
    monkeypatch.setattr(checker, "certify",
                        lambda src, progress=None: calls.append(1) or real(src, progress))
    assert main(["enumerate", str(net), "--box", "-1:1", "--regions", "--json", str(out),
                 "--engine", engine, "--no-independent-check"]) == 0
    text = capsys.readouterr().out
    assert not calls and "independent check: skipped" in text and f"certify {out}" in text
    doc = json.loads(out.read_text())
    assert doc["certificate"]["ok"] and "independent" not in doc["certificate"]
    assert main(["certify", str(out)]) == 0 and calls


def test_the_checker_runs_on_slices():
    net = er.random_network([3, 5, 5, 1], seed=4)
    dom = er.plane([0, 0, 0], [1, 0, "1/3"], [0, 1, 0], bounds=[(-1, 1), (-1, 1)])
    rc = er.region_complex(net, dom)
    assert rc.certificate["independent"]["regions"] == len(rc.activation_regions)
    seg = er.region_complex(net, er.segment([0, 0, 0], [1, "1/10", -1]))
    assert seg.certificate["independent"]["linear_regions"] == len(seg.linear_regions)


@given(st.data())
@settings(max_examples=200)
def test_the_checkers_fingerprints_differ_exactly_where_the_full_maps_do(data):
    """The checker tells two regions of a slice apart by their full maps' fingerprints modulo a
    prime (a difference proves the maps differ) and compares the maps exactly only where the
    fingerprints agree.  Oracle: its exact full maps (fmpq matrices).  On these small dyadic
    nets a fingerprint collision of different maps would be a 1-in-2^62 event, so the two must
    agree; a fingerprint that differs where the maps are equal would wrongly fail a glued
    facet."""
    from exactregions.testing import networks
    net = data.draw(networks(input_dim=data.draw(st.integers(1, 3)), max_width=3))
    N = checker._Net(net, None)

    def pattern():
        return tuple(tuple(data.draw(st.integers(0, len(a.slopes) - 1)) for a in lay.activations)
                     for lay in net.layers)

    # asked in turn from one net, as the checker does (it keeps the last pattern's vectors
    # after each layer and starts again from the first layer that differs)
    patterns = [pattern()]
    for _ in range(data.draw(st.integers(1, 4))):
        base = data.draw(st.sampled_from(patterns))
        fresh = pattern()
        cut = data.draw(st.integers(0, len(base)))
        patterns.append(base[:cut] + fresh[cut:])
    prints = [N.fingerprint(p) for p in patterns]
    for i, j in itertools.combinations(range(len(patterns)), 2):
        assert (prints[i] == prints[j]) == (N.full_map(patterns[i]) == N.full_map(patterns[j]))


# ----- the enumerator's own certificates catch planted enumeration bugs ---------------------

def _arrangement_with_a_skipped_split(monkeypatch):
    """The enumerator never splits by neuron (1, 0): a whole bent hyperplane is missing, and
    the cells stay face-to-face, so only the vertex sides can see it."""
    net = er.random_network([2, 5, 5, 1], seed=0)
    real = Cell.split

    def lazy_split(self, a, b, table, label_neg, label_pos):
        if label_neg[1:3] == (1, 0):
            return [self]
        return real(self, a, b, table, label_neg, label_pos)

    monkeypatch.setattr(Cell, "split", lazy_split)
    arr = enumerate_cells(net, er.box([(-1, 1), (-1, 1)]))
    monkeypatch.setattr(Cell, "split", real)
    return arr


def test_a_skipped_split_fails_the_vertex_side_certificate(monkeypatch):
    arr = _arrangement_with_a_skipped_split(monkeypatch)
    with pytest.raises(er.CertificateError, match="wrong side"):
        build_complex(arr)


@pytest.mark.parametrize("side", [0, 1])
def test_a_vertex_a_hair_past_its_breakpoint_fails_the_vertex_side_certificate(side):
    """A cell's vertex moved 2^-70 past the breakpoint of relu(x - 1/2), to the side of the
    other piece, and no longer said to lie on the neuron's hyperplane (a vertex on it is at
    the piece's boundary by incidence): its float copy is the breakpoint itself, within the
    rounding bound, so only exact arithmetic can see it; the float filter must not call it
    clear."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[1]], "bias": ["-1/2"],
                                            "activation": "relu"}]})
    arr = enumerate_cells(net, er.box([(-1, 1)]))
    certificates._check_vertex_sides(arr)          # the true arrangement passes
    cell = next(c for c in arr.cells if c.pattern == ((side,),))
    k = cell.verts.index((mpq(1, 2),))
    cell.verts[k] = (mpq(1, 2) + (mpq(1, 2 ** 70) if side == 0 else -mpq(1, 2 ** 70)),)
    cell.tight[k] = frozenset(c for c in cell.tight[k] if arr.table[c].label[0] == "domain")
    with pytest.raises(er.CertificateError, match="wrong side"):
        certificates._check_vertex_sides(arr)


@pytest.mark.parametrize("seed, activation", [(0, "relu"), (1, "relu"), (2, "hardtanh"),
                                              (3, "hardtanh")])
def test_every_vertex_side_the_enclosures_settle_holds_exactly(seed, activation, monkeypatch):
    """The vertex-side certificate's float part gathers, chunk by chunk, each (cell, vertex)
    row's own map; every entry it calls clear must be inside its piece exactly.  Oracle: the
    net's exact pre-activations at the vertex (no maps), on arrangements whose cells were given
    one another's patterns (so that many entries are outside), and on the true one, where the
    floats must settle almost everything; hardtanh's two breakpoints make a vertex on one of
    them exactly inside only the two pieces next to it."""
    monkeypatch.setattr(certificates, "WITNESS_CHUNK", 64)   # chunks of 12 rows: many
    net = er.random_network([2, 5, 5, 1], seed=seed, activation=activation, bias_std=0.3)
    arr = enumerate_cells(net, er.box([(-2, 2), (-2, 2)]))
    z_at = {}

    def inside(ci, k, l, i, j):
        v = arr.cells[ci].verts[k]
        if v not in z_at:
            z_at[v] = arr.reduced.preactivations([Fraction(int(x.numerator), int(x.denominator))
                                                  for x in v])
        z, bps = z_at[v][l][i], arr.reduced.layers[l].breakpoints
        return (j == 0 or z >= bps[j - 1]) and (j == len(bps) or z <= bps[j])

    def settled_hold(arr):
        total = settled = 0
        for l, cell_of, start, clear in certificates._settled_vertex_sides(arr):
            total += clear.size
            settled += int(clear.sum())
            for r, i in np.argwhere(clear).tolist():
                ci = int(cell_of[r])
                assert inside(ci, r - int(start[ci]), l, i, arr.cells[ci].pattern[l][i]), \
                    (l, ci, i)
        return settled / total

    assert settled_hold(arr) > 0.9
    rng = random.Random(seed)
    patterns = [c.pattern for c in arr.cells]
    rng.shuffle(patterns)
    for c, p in zip(arr.cells, patterns):
        c.pattern = p
    assert settled_hold(arr) < 0.9       # the tampered patterns leave entries outside
    with pytest.raises(er.CertificateError, match="wrong side"):
        certificates._check_vertex_sides(arr)


@pytest.mark.parametrize("check", ["vertex sides", "witnesses"])
def test_the_certificates_do_not_lean_on_the_decisions_rounding_bound(check, monkeypatch):
    """A checker must not share the bug it checks: with floatfilter's rounding bound broken
    (0, in every module that uses it — the decision's filter), the certificates still catch a
    vertex 2^-70 past relu(3x - 3/10)'s breakpoint and a witness on its region's facet.  In
    floats both look clear by +5.6e-17 (3 · fl(1/10) − 3/10 rounds up); only the certificates'
    own enclosures (exactregions.exact.enclosure) send them to exact arithmetic."""
    original = floatfilter.error_bound
    for name, module in list(sys.modules.items()):
        if name.startswith("exactregions") and getattr(module, "error_bound", None) is original:
            monkeypatch.setattr(module, "error_bound", lambda mags, n, shift=0.0: 0.0 * mags)
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[3]], "bias": ["-3/10"],
                                            "activation": "relu"}]})
    arr = enumerate_cells(net, er.box([(-1, 1)]))
    on = next(i for i, c in enumerate(arr.cells) if c.pattern == ((1,),))
    cell = arr.cells[on]
    if check == "vertex sides":
        certificates._check_vertex_sides(arr)          # the true arrangement passes
        k = cell.verts.index((mpq(1, 10),))
        cell.verts[k] = (mpq(1, 10) - mpq(1, 2 ** 70),)
        cell.tight[k] = frozenset(c for c in cell.tight[k] if arr.table[c].label[0] == "domain")
        with pytest.raises(er.CertificateError, match="wrong side"):
            certificates._check_vertex_sides(arr)
    else:
        W = [tuple(mpq(x) for x in c.centroid()) for c in arr.cells]
        certificates._check_witnesses(arr, W)          # the centroids pass
        W[on] = (mpq(1, 10),)
        with pytest.raises(er.CertificateError, match="not strictly inside"):
            certificates._check_witnesses(arr, W)


def test_a_map_beyond_the_float_range_is_checked_exactly():
    """z = 2^600 (x - 1/2) under hardtanh: the map has no safe float copy, the vertices do.  A
    cell whose pattern is tampered from z >= 1 to the middle piece -1 <= z <= 1 has a vertex
    at x = 1 with z = 2^599: the vertex-side certificate must compute it exactly (a zero in
    place of the missing float would look clearly inside the middle piece)."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[str(2 ** 600)]],
                                            "bias": [str(-2 ** 599)],
                                            "activation": "hardtanh"}]})
    arr = enumerate_cells(net, er.box([(-1, 1)]))
    certificates._check_vertex_sides(arr)          # the true arrangement passes
    top = next(c for c in arr.cells if c.pattern == ((2,),))
    top.pattern = ((1,),)
    with pytest.raises(er.CertificateError, match="wrong side"):
        certificates._check_vertex_sides(arr)


def test_a_witness_beyond_the_float_range_is_checked_exactly():
    """A witness 2^600 has no safe float copy: the witness certificate must test it exactly
    (with 0 in its place, the region [-1, 1/2], which holds 0, would look clearly fine)."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[1]], "bias": ["-1/2"],
                                            "activation": "relu"}]})
    arr = enumerate_cells(net, er.box([(-1, 1)]))
    W = [tuple(mpq(x) for x in c.centroid()) for c in arr.cells]
    certificates._check_witnesses(arr, W)          # the centroids pass
    left = next(i for i, c in enumerate(arr.cells) if c.pattern == ((0,),))
    W[left] = (mpq(2) ** 600,)
    with pytest.raises(er.CertificateError, match="not strictly inside"):
        certificates._check_witnesses(arr, W)


def test_every_witness_put_in_another_region_fails_the_witness_certificate():
    """Each region's witness replaced by another region's (strictly inside that one, so outside
    this one: interiors are disjoint) must fail the witness certificate, whichever region and
    whichever constraint it breaks: the float filter must never call a broken row clear."""
    net = er.random_network([2, 4, 4, 1], seed=1)
    arr = enumerate_cells(net, er.box([(-1, 1), (-1, 1)]))
    rc = build_complex(arr)
    W = [tuple(mpq(x) for x in r.witness) for r in rc.activation_regions]
    certificates._check_witnesses(arr, W)
    for i in range(len(W)):
        for j in (i - 1, (i + 1) % len(W)):
            with pytest.raises(er.CertificateError, match="not strictly inside"):
                certificates._check_witnesses(arr, W[:i] + [W[j]] + W[i + 1:])


def test_a_skipped_split_is_refused_by_the_independent_checker(monkeypatch):
    arr = _arrangement_with_a_skipped_split(monkeypatch)
    monkeypatch.setattr(certificates, "_check_vertex_sides", lambda arr: None)  # the plant
    rc = build_complex(arr)
    _refused(er.certificate_document(rc), "vertex-sides")


def _region_0_changed(change):
    """The complex of a small 2-D net with fields of its region 0 changed (``change``: the
    regions to a dict of new field values), and its arrangement: the plants for the
    enumerator's own certificates."""
    net = er.random_network([2, 4, 4, 1], seed=1)
    arr = enumerate_cells(net, er.box([(-1, 1), (-1, 1)]))
    rc = build_complex(arr)
    regions = rc.activation_regions
    r0 = dataclasses.replace(regions[0], **change(regions))
    return er.RegionComplex(rc.net, rc.domain, (r0,) + regions[1:], rc.linear_regions,
                            rc.pieces, rc.faces, rc.vertices, {}), arr


def test_a_lost_face_fails_the_euler_certificate():
    net = er.random_network([2, 4, 4, 1], seed=1)
    arr = enumerate_cells(net, er.box([(-1, 1), (-1, 1)]))
    rc = build_complex(arr)
    edge = next(i for i, f in enumerate(rc.faces) if f.dim == 1)
    broken = er.RegionComplex(rc.net, rc.domain, rc.activation_regions, rc.linear_regions,
                              rc.pieces, rc.faces[:edge] + rc.faces[edge + 1:], rc.vertices, {})
    with pytest.raises(er.CertificateError, match="Euler"):
        certify_complex(broken, arr)


@pytest.mark.parametrize("moved", [1, 2])   # region 0 left with volume 0, or with -v
def test_a_region_without_positive_volume_fails_the_volume_certificate(moved):
    """Volume moved from region 0 to region 1: the sum still equals vol(K) exactly, so only the
    positivity test can see it."""
    net = er.random_network([2, 4, 4, 1], seed=1)
    arr = enumerate_cells(net, er.box([(-1, 1), (-1, 1)]))
    rc = build_complex(arr)
    r0, r1, *rest = rc.activation_regions
    v = r0.volume * moved
    broken = er.RegionComplex(rc.net, rc.domain,
                              (dataclasses.replace(r0, volume=r0.volume - v),
                               dataclasses.replace(r1, volume=r1.volume + v), *rest),
                              rc.linear_regions, rc.pieces, rc.faces, rc.vertices, {})
    with pytest.raises(er.CertificateError, match="non-positive volume"):
        certify_complex(broken, arr)


def test_a_pattern_its_witness_does_not_give_fails_the_witness_certificate():
    """Region 0 relabelled with a pattern no region has (one neuron's piece flipped): its
    witness is still strictly inside its cell, so only the forward pass can see it."""
    net = er.random_network([2, 4, 4, 1], seed=1)
    arr = enumerate_cells(net, er.box([(-1, 1), (-1, 1)]))
    taken = {c.pattern for c in arr.cells}
    P = arr.cells[0].pattern
    flips = [tuple(tuple(1 - j if (l, i) == (m, k) else j for i, j in enumerate(p))
                   for l, p in enumerate(P))
             for m in range(len(P) - 1) for k in range(len(P[m]))]
    new = next(q for q in flips if q not in taken)
    broken, arr = _region_0_changed(lambda rs: {"pattern": new})
    with pytest.raises(er.CertificateError, match="forward pass at its witness"):
        certify_complex(broken, arr)


def test_a_wrong_volume_fails_the_volume_certificate():
    broken, arr = _region_0_changed(lambda rs: {"volume": rs[0].volume + Fraction(1, 2 ** 70)})
    with pytest.raises(er.CertificateError, match="volumes do not add up"):
        certify_complex(broken, arr)


def test_a_failure_with_huge_rationals_is_one_short_line(doc2):
    """Exact volumes of deep nets have thousands of digits (past CPython's 4300-digit str
    limit): a failed certificate still raises CertificateError, with a one-line message that
    shows such numbers by their float value and size, never a ValueError."""
    broken, arr = _region_0_changed(lambda rs: {"volume": rs[0].volume + Fraction(1, 3 ** 9000)})
    with pytest.raises(er.CertificateError, match="volumes do not add up") as info:
        certify_complex(broken, arr)
    assert len(str(info.value)) < 200 and "digits" in str(info.value), str(info.value)
    _, doc = doc2
    bad = copy.deepcopy(doc)
    bad["regions"][0]["volume"] = format_rational(Fraction(bad["regions"][0]["volume"])
                                                  + Fraction(1, 3 ** 9000))
    message = _refused(bad, "recorded volume")
    assert len(message) < 200 and "\n" not in message, message


@pytest.mark.parametrize("field", ["region witness", "region row", "piece witness"])
@pytest.mark.parametrize("bad", ["1/0", "3/x", "", None, [1]])
def test_a_malformed_number_is_a_format_error(field, bad, doc2):
    """A zero denominator, junk or a non-number in a certificate is an ExactRegionsError naming
    it, never a ZeroDivisionError or ValueError."""
    _, doc = doc2
    bad_doc = copy.deepcopy(doc)
    if field == "region witness":
        bad_doc["regions"][0]["witness"][0] = bad
    elif field == "region row":
        bad_doc["regions"][0]["A"][0][0] = bad
    else:
        bad_doc["pieces"][0]["witness"][0] = bad
    with pytest.raises(er.ExactRegionsError):
        er.certify(bad_doc)


@pytest.mark.parametrize("change, message", [
    (lambda p: p[0].__setitem__(0, 2), "not a piece of its activation"),     # ReLU: pieces 0, 1
    (lambda p: p[-1].__setitem__(0, -1), "not a piece of its activation"),
    (lambda p: p[0].append(0), "does not fit the network's widths"),
    (lambda p: p.pop(), "does not fit the network's widths")])
def test_a_pattern_that_fits_no_network_is_a_format_error(change, message, doc2):
    """A pattern entry past the activation's pieces (either end) or a pattern of other widths
    is refused by name before any arithmetic."""
    _, doc = doc2
    bad = copy.deepcopy(doc)
    change(bad["regions"][0]["pattern"])
    with pytest.raises(er.FormatError, match=message):
        er.certify(bad)


def test_plain_and_other_numbers_are_read_alike(doc2):
    """Unreduced, signed-denominator, integer and decimal spellings of the same numbers are
    the same numbers to the checker."""
    _, doc = doc2
    alt = copy.deepcopy(doc)
    w = alt["regions"][0]["witness"]
    q = Fraction(w[0])
    w[0] = f"{-2 * q.numerator}/{-2 * q.denominator}"
    row = alt["regions"][0]["A"][0]
    row[:] = [int(x) if Fraction(x).denominator == 1 else x for x in row]
    assert er.certify(alt)["ok"]


def test_four_inputs_work_end_to_end(tmp_path):
    """n = 4: enumeration, the complex (B_N,k for k = 1..4, volumes of 3-dimensional facets),
    both certificates, the graph."""
    net = er.random_network([4, 4, 3, 1], seed=0)
    rc = er.region_complex(net, er.box([(-1, 1)] * 4))
    assert rc.certificate["ok"] and rc.certificate["independent"]["ok"]
    assert set(rc.boundary_counts()) == {1, 2, 3, 4}
    assert sum((r.volume for r in rc.activation_regions), Fraction(0)) == 16
    g = tmp_path / "g.graphml"
    er.write_graph(er.region_graph(rc), g)
    assert er.read_graph(g).graph["input_dim"] == 4


def test_a_vertex_inside_a_flat_sheet_of_b_n_is_in_b_n_1():
    """Found by the independent checker: out = relu(x1) on [-1,1]³, with x2 = 0 and x3 = 0 cutting
    (glued) through B_N = {x1 = 0}. The origin lies inside that flat sheet, in four of its
    facets: it belongs to B_N,1, and there is no B_N,2 or B_N,3 at all (the enumerator once
    called the origin a B_N,3 point)."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 3,
                                "layers": [{"weight": [[0, 0, 1], [0, 1, 0], [1, 0, 0]],
                                            "bias": [0, 0, 0], "activation": "relu"},
                                           {"weight": [[0, 0, 1]], "bias": [0],
                                            "activation": "identity"}]})
    rc = er.region_complex(net, er.box([(-1, 1)] * 3))
    assert len(rc.activation_regions) == 8 and len(rc.linear_regions) == 2
    assert rc.boundary_counts() == {1: 1, 2: 0, 3: 0}
    assert rc.certificate["independent"]["pieces"] == {"1": 1, "2": 0, "3": 0}


def test_a_neuron_identically_at_its_breakpoint_is_one_of_every_pieces_neurons():
    """docs/concepts.md: a piece's neurons are those at a breakpoint on the whole piece and good
    there. z = 0·x + 0 sits at ReLU's ξ = 0 everywhere (open: ties go up) and reaches the
    output: it is one of the neurons of the kink of relu(x), though it cuts nothing (so it is
    also a Proposition 10 'violation', reported as such)."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[1], [0]], "bias": [0, 0],
                                            "activation": "relu"},
                                           {"weight": [[1, 1]], "bias": [0],
                                            "activation": "identity"}]})
    rc = er.region_complex(net, er.box([(-1, 1)]))
    assert len(rc.activation_regions) == 2 and [p.neurons for p in rc.pieces] == [((0, 0), (0, 1))]
    assert er.complex_summary(rc)["proposition_10_violations"] == 1


def test_a_neuron_identically_at_a_breakpoint_off_zero_is_one_of_the_pieces_neurons():
    """The same with φ's breakpoint at 1/3 (slopes 1, 2): z = 0·x + 1/3 sits at it everywhere
    (the exact maps keep it as integers over a denominator: 1/3 must be read as 1/3)."""
    act = {"name": "pwl", "breakpoints": ["1/3"], "slopes": [1, 2], "value_at_first": 0}
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[1], [0]], "bias": [0, "1/3"],
                                            "activation": act},
                                           {"weight": [[1, 1]], "bias": [0],
                                            "activation": "identity"}]})
    for engine in ("split", "propose"):
        rc = er.region_complex(net, er.box([(-1, 1)]), engine=engine)
        assert len(rc.activation_regions) == 2
        assert [p.neurons for p in rc.pieces] == [((0, 0), (0, 1))]
        assert rc.certificate["independent"]["ok"]


def test_a_neuron_whose_only_path_is_off_is_not_one_of_the_pieces_neurons():
    """Proposition 9's "good": z1 = z2 = x both switch at 0 (and so does y1 = relu(z1), whose
    pre-activation is 0 on the whole left half), but z2's only path to the output runs through
    relu(z2 - 5), off on all of [-1, 1] (slope 0 there, not a zero weight): z2 is at its
    breakpoint on the kink but is not one of its neurons; the independent checker agrees."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[1], [1]], "bias": [0, 0],
                                            "activation": "relu"},
                                           {"weight": [[1, 0], [0, 1]], "bias": [0, -5],
                                            "activation": "relu"},
                                           {"weight": [[1, 1]], "bias": [0],
                                            "activation": "identity"}]})
    rc = er.region_complex(net, er.box([(-1, 1)]))
    assert [(p.neurons, p.all_neurons) for p in rc.pieces] == [
        (((0, 0), (1, 0)), ((0, 0), (0, 1), (1, 0)))]
    assert rc.certificate["independent"]["ok"]


@pytest.fixture(scope="module")
def doc4():
    return _doc([4, 4, 3, 1], 0, 4)


@pytest.mark.parametrize("which, codim", [("2d", 1), ("2d", 2), ("3d", 1), ("3d", 2),
                                          ("4d", 1), ("4d", 2), ("4d", 3)])
def test_a_wrong_piece_volume_is_refused(which, codim, doc2, doc3, doc4):
    """The checker recomputes every piece's volume (squared, rational) by its own triangulation
    of the piece's faces: 2^-70 off is refused, and so is a missing value."""
    rc, doc = {"2d": doc2, "3d": doc3, "4d": doc4}[which]
    p = next(i for i, pc in enumerate(doc["pieces"]) if pc["codim"] == codim)
    bad = copy.deepcopy(doc)
    sq = Fraction(bad["pieces"][p]["volume_squared"])
    bad["pieces"][p]["volume_squared"] = format_rational(sq * (1 + Fraction(1, 2 ** 70)))
    _refused(bad, "volume squared")
    missing = copy.deepcopy(doc)
    del missing["pieces"][p]["volume_squared"]
    with pytest.raises(er.FormatError, match="volume_squared"):
        er.certify(missing)


@pytest.mark.parametrize("cut", [False, True], ids=["", "cut by a neuron off B_N"])
@pytest.mark.parametrize("dim", [2, 3, 4])
def test_piece_volumes_match_closed_forms(dim, cut):
    """relu(x1 + x2) + relu(x1 − x2) on [-1,1]^n: B_N is two orthogonal planes through the
    (n−2)-face {x1 = x2 = 0}; B_N,1 is their four half-planes, each of (n−1)-volume
    √2·2^(n−2) (a half-diagonal of length √2 times the [-1,1]^(n−2) box), B_N,2 that face
    (volume 2^(n−2), a point counting 1).  Both the enumerator and the checker must say so.

    ``cut``: a third neuron, its hyperplane x_n = 0 (x1 = 0 in 2-D) through that face, with
    output weight 0, is not good (Proposition 9): it splits regions, faces and the line of
    B_N,2 (in 3-D a vertex in its middle, where only two collinear edges of B_N,2 meet), but
    B_N and its pieces are the same."""
    w = [[1, 1] + [0] * (dim - 2), [1, -1] + [0] * (dim - 2)]
    b, out = [0, 0], [1, 1]
    if cut:
        w.append([1, 0] if dim == 2 else [0] * (dim - 1) + [1])
        b, out = b + [0], out + [0]
    net = er.network_from_dict({"format": "exactregions-network", "version": 1,
                                "input_dim": dim,
                                "layers": [{"weight": w, "bias": b, "activation": "relu"},
                                           {"weight": [out], "bias": [0],
                                            "activation": "identity"}]})
    rc = er.region_complex(net, er.box([(-1, 1)] * dim))
    doc = er.certificate_document(rc)
    got = sorted((pc["codim"], Fraction(pc["volume_squared"])) for pc in doc["pieces"])
    side = Fraction(2) ** (dim - 2)
    assert got == [(1, 2 * side * side)] * 4 + [(2, side * side)]
    assert rc.certificate["independent"]["ok"]


def test_a_piece_face_that_is_no_face_is_refused(doc3):
    """A diagonal of a polygon of B_N,1 passed off as an edge of B_N,2: in B_N, of the right
    dimension, but no face of the regions around it."""
    rc, doc = doc3
    edges = {f.verts for f in rc.faces if f.dim == 1}
    diag = next([a, b] for f in rc.faces if f.dim == 2 and f.in_bn
                for a, b in itertools.combinations(sorted(f.verts), 2)
                if (a, b) not in edges)   # verts: sorted tuples
    bad = copy.deepcopy(doc)
    p = next(i for i, pc in enumerate(bad["pieces"]) if pc["codim"] == 2)
    bad["pieces"][p]["faces"] = [diag]
    _refused(bad, "is not a face of a region around it")


@pytest.mark.parametrize("which, new", [("doc3", 2), ("doc3", 1), ("doc2", 2), ("doc2", 1)])
def test_a_piece_of_the_wrong_codimension_is_refused(which, new, request):
    """A piece relabelled to another codimension: its faces (a polygon of B_N,1 called a piece
    of B_N,2, an edge of B_N,2 called one of B_N,1; in 2-D an edge and a point) have the wrong
    dimension, whether or not they are facets of regions."""
    _, doc = request.getfixturevalue(which)
    bad = copy.deepcopy(doc)
    old = 3 - new
    p = next(i for i, pc in enumerate(bad["pieces"]) if pc["codim"] == old)
    bad["pieces"][p]["codim"] = new
    _refused(bad, f"(codim {new}) has a face of the wrong dimension")


def test_a_witness_outside_fails_the_witness_certificate():
    """The enumerator's own witness certificate reads each region's recorded witness: one moved
    to another region's witness is refused (strictly inside fails before the forward pass)."""
    broken, arr = _region_0_changed(lambda rs: {"witness": rs[1].witness})
    with pytest.raises(er.CertificateError, match="witness of region 0 is not strictly inside"):
        certify_complex(broken, arr)


_TERM = st.tuples(st.integers(-10 ** 30, 10 ** 30), st.integers(1, 10 ** 30))


@settings(max_examples=60)
@given(st.one_of(st.lists(_TERM, max_size=63), st.lists(_TERM, min_size=64, max_size=150)))
@example([(1, k) for k in range(1, 66)])             # 65 = 2·32 + 1: an odd level
def test_the_checkers_pairwise_sum_is_the_sum(terms):
    """The checker's balanced sum of fractions (unreduced pairs up to 64 terms, reduced flint
    rationals from there on) is the plain Fraction sum, on both sides of the switch."""
    from flint import fmpz
    num, den = checker._pairwise_sum([(fmpz(a), fmpz(b)) for a, b in terms])
    assert Fraction(int(num), int(den)) == sum((Fraction(a, b) for a, b in terms), Fraction(0))


@settings(max_examples=100)
@given(st.data())
def test_the_checkers_affine_dimension_is_sympys_rank(data):
    """``checker._affine_dim`` (fraction-free, on homogeneous integer columns) against sympy's
    rank of the rational difference vectors, on points drawn as rational affine combinations
    of a few base points (so every dimension below the ambient one occurs), in any order."""
    import sympy
    n = data.draw(st.integers(1, 5), label="n")
    # mostly small integers (zeros everywhere: pivots must be searched for), some fractions
    q = st.one_of(st.integers(-2, 2).map(Fraction),
                  st.fractions(min_value=-4, max_value=4, max_denominator=7))
    base = data.draw(st.lists(st.tuples(*[q] * n), min_size=1, max_size=n + 2), label="base")
    weights = data.draw(st.lists(st.lists(q, min_size=len(base) - 1, max_size=len(base) - 1),
                                 min_size=0, max_size=3), label="weights")
    pts = list(base) + [tuple(base[0][i] + sum(w * (b[i] - base[0][i])
                                               for w, b in zip(ws, base[1:])) for i in range(n))
                        for ws in weights]
    pts = [pts[i] for i in data.draw(st.permutations(range(len(pts))))]
    want = sympy.Matrix([[sympy.Rational(x.numerator, x.denominator) - sympy.Rational(
        y.numerator, y.denominator) for x, y in zip(p, pts[0])] for p in pts]).rank()
    cols = []
    for p in pts:
        d = math.lcm(*(x.denominator for x in p))
        cols.append(tuple(int(x * d) for x in p) + (d,))
    assert checker._affine_dim(cols) == want
    # the same points with each column scaled by its own positive factor
    scaled = [tuple(c * k for c in col) for col, k in
              zip(cols, data.draw(st.lists(st.integers(1, 9), min_size=len(cols),
                                           max_size=len(cols))))]
    assert checker._affine_dim(scaled) == want
    # modulo a prime the rank is a lower bound (equal here: no minor is a multiple of p)
    assert checker._rank_mod_p(cols) == want + 1


def test_the_checkers_facets_are_the_facets_whatever_rows_touch_them():
    """The incidence sets of n or more vertices that are facets, with the rows known (a rank of
    n modulo a prime then proves a facet) and without: a row touching the 4-cube in a square
    (four vertices, a 2-face) is no facet; nor is the zero row 0·x <= 0 on a simplex whose
    points have rank n modulo p and n + 1 over the rationals (a vertex at p·e_1)."""
    from flint import fmpq

    def facets(A, b):
        verts, inc = checker._cdd_vertices(A, b)
        q = [tuple(fmpq(x.numerator, x.denominator) for x in v) for v in verts]
        rows = [tuple(a) + (bi,) for a, bi in zip(A, b)]
        got = [sorted(checker._facets(q, inc, len(A[0]), None, r).values()) for r in (rows, None)]
        assert got[0] == got[1]
        return got[0]

    eye = [[int(i == j) for j in range(4)] for i in range(4)]
    cube = eye + [[-x for x in r] for r in eye]
    assert facets(cube + [[1, 1, 0, 0]], [1] * 8 + [2]) == list(range(8))
    p = checker._PRIME
    simplex = [[-x for x in r] for r in eye] + [[1, p, p, p]]
    assert facets(simplex + [[0, 0, 0, 0]], [0] * 4 + [p, 0]) == list(range(5))


@settings(max_examples=80)
@given(st.data())
def test_the_checkers_relative_interior_test_knows_where_a_point_lies(data):
    """``checker._in_relative_interior`` against geometry, on a box cut by random integer rows
    (degenerate vertices and redundant rows occur): a positive combination of all vertices of
    a face is inside it; a vertex of a face with several is not; nor is a point pulled off the
    face towards a vertex of the polytope outside it, nor one outside the box."""
    n = data.draw(st.integers(1, 3), label="n")
    rows = _cut_box(data, n, 3)
    verts, inc = checker._cdd_vertices([r[:n] for r in rows], [r[n] for r in rows])
    S = data.draw(st.sets(st.integers(0, len(rows) - 1), max_size=n), label="tight rows")
    F = [j for j in range(len(verts)) if all(j in inc[i] for i in S)]
    if not F:
        return

    def column(p):
        return checker._homogeneous(tuple(c for x in p for c in (x.numerator, x.denominator)))

    def mix(points, weights):
        t = sum(weights)
        return tuple(sum(w * p[i] for w, p in zip(weights, points)) / t for i in range(n))

    face = [column(verts[j]) for j in F]
    weights = data.draw(st.lists(st.integers(1, 9), min_size=len(F), max_size=len(F)),
                        label="weights")
    inside = mix([verts[j] for j in F], [Fraction(w) for w in weights])
    assert checker._in_relative_interior(rows, face, column(inside))
    assert not checker._in_relative_interior(rows, face, column((Fraction(3),) + inside[1:]))
    if len(F) > 1:
        j = data.draw(st.sampled_from(F), label="a vertex of the face")
        assert not checker._in_relative_interior(rows, face, column(verts[j]))
    off = [j for j in range(len(verts)) if j not in F]
    if off:
        j = data.draw(st.sampled_from(off), label="a vertex off the face")
        pulled = mix([inside, verts[j]], [Fraction(99), Fraction(1)])
        assert not checker._in_relative_interior(rows, face, column(pulled))


def test_a_redundant_row_on_a_lower_face_is_not_a_facet():
    """In 4-D a redundant row can be tight on n or more vertices without holding a facet: on
    the cube [0, 1]^4, x1 + x2 <= 2 is tight on the square x1 = x2 = 1 (4 vertices).  The
    checker's facets are the 8 of the cube, not that square."""
    from flint import fmpq
    verts = list(itertools.product((0, 1), repeat=4))
    q = [tuple(fmpq(x) for x in v) for v in verts]
    rows = [(i, s) for i in range(4) for s in (0, 1)]           # x_i = s: the 8 facets
    inc = [{j for j, v in enumerate(verts) if v[i] == s} for i, s in rows]
    inc.append({j for j, v in enumerate(verts) if v[0] + v[1] == 2})   # the redundant row
    facets = checker._facets(q, inc, 4)
    assert sorted(facets.values()) == list(range(8))


def test_a_missing_facet_fails_the_cddlib_certificate():
    """The enumerator's certificate (f): cddlib's irredundant rows of the cell, counted by
    distinct hyperplane, must be as many as the region's recorded facets.  A region that lost
    one facet row is refused."""
    broken, arr = _region_0_changed(lambda rs: {"A": rs[0].A[1:], "b": rs[0].b[1:],
                                                "labels": rs[0].labels[1:]})
    with pytest.raises(er.CertificateError, match="region 0: cddlib keeps"):
        certify_complex(broken, arr)


def test_implicit_equalities_fail_the_cddlib_certificate(monkeypatch):
    """Certificate (f) refuses a cell in which cddlib finds rows tight on all of it (a
    region that is not full-dimensional), naming it.  cddlib's answer is stubbed here: that
    it finds such rows is held to brute force in the property test below."""
    broken, arr = _region_0_changed(lambda rs: {})
    monkeypatch.setattr(certificates._cdd, "canonical_rows", lambda A, b: ([], {0, 1}))
    with pytest.raises(er.CertificateError, match="region 0: cddlib finds 2 of its rows tight"):
        certify_complex(broken, arr)


@settings(max_examples=80)
@given(st.data())
def test_cddlibs_kept_rows_are_the_facets_once_each(data):
    """What certificate (f) takes from cddlib (``_cdd.canonical_rows``): for a box cut by
    random integer rows, repeated and scaled copies among them, the rows kept are one row per
    facet, and the implicit equalities are the rows tight on the whole polytope.  The oracle is
    brute force in sympy: every vertex from every n rows, a row a facet when the vertices on
    it span n - 1 dimensions."""
    import sympy
    from exactregions.exact import _cdd
    n = data.draw(st.integers(1, 3), label="n")
    rows = _cut_box(data, n, 4)
    for _ in range(data.draw(st.integers(0, 3), label="copies")):
        r = rows[data.draw(st.integers(0, len(rows) - 1), label="copied")]
        k = data.draw(st.integers(1, 3), label="scale")
        rows.append(tuple(k * x for x in r))
    order = data.draw(st.permutations(range(len(rows))), label="order")
    rows = [rows[i] for i in order]
    A = [[Fraction(x) for x in r[:n]] for r in rows]
    b = [Fraction(r[n]) for r in rows]
    verts = set()
    for S in itertools.combinations(range(len(rows)), n):
        M = sympy.Matrix([rows[i][:n] for i in S])
        if M.det() != 0:
            v = tuple(M.LUsolve(sympy.Matrix([rows[i][n] for i in S])))
            if all(sum(a * x for a, x in zip(r[:n], v)) <= r[n] for r in rows):
                verts.add(v)
    verts = sorted(verts)

    def tight(r):
        return [v for v in verts if sum(a * x for a, x in zip(r[:n], v)) == r[n]]

    def span(vs):
        return sympy.Matrix([[x - y for x, y in zip(v, vs[0])] for v in vs[1:]] or
                            [[0] * n]).rank()

    def key(r):
        g = math.gcd(*r)
        return tuple(x // g for x in r)

    kept, lin = _cdd.canonical_rows(A, b)
    if span(verts) < n:
        assert lin == {i for i, r in enumerate(rows) if len(tight(r)) == len(verts)}
        assert kept == []
        return
    assert lin == set()
    facets = {key(r) for r in rows if tight(r) and span(tight(r)) == n - 1}
    assert sorted(key(rows[i]) for i in kept) == sorted(facets)


@settings(max_examples=60)
@given(st.data())
def test_the_vertex_certificate_agrees_with_cddlib(data):
    """Random polytopes (a box cut by random integer rows, often through shared points, so
    degenerate vertices and redundant rows occur): for cddlib's vertex set the certificate
    returns cddlib's incidence, or None exactly when a vertex lies on more than n rows; with a
    vertex left out, or a point inside an edge added, it raises."""
    n = data.draw(st.integers(1, 4), label="n")
    rows = _cut_box(data, n, 4)
    verts, inc = checker._cdd_vertices([r[:n] for r in rows], [r[n] for r in rows])
    cols = []
    for v in verts:
        d = math.lcm(*(x.denominator for x in v))
        cols.append(tuple(x.numerator * (d // x.denominator) for x in v) + (d,))
    degenerate = any(sum(sum(Fraction(a) * x for a, x in zip(r[:n], v)) == r[n] for r in rows) > n
                     for v in verts)
    got = checker._proved_vertices(rows, cols, n, 0)
    if degenerate:
        assert got is None
        return
    assert got == [set(s) for s in inc]
    drop = data.draw(st.integers(0, len(cols) - 1), label="dropped vertex")
    with pytest.raises(er.CertificateError, match="not closed under the polytope's edges"):
        checker._proved_vertices(rows, cols[:drop] + cols[drop + 1:], n, 0)
    i, j = next((i, j) for i in range(len(verts)) for j in range(i + 1, len(verts))
                if len(set(c for c, s in enumerate(inc) if i in s)
                       & set(c for c, s in enumerate(inc) if j in s)) >= n - 1)
    mid = tuple(a * cols[j][n] + b * cols[i][n] for a, b in zip(cols[i][:n], cols[j][:n]))
    with pytest.raises(er.CertificateError, match="no vertex of its H-polytope"):
        checker._proved_vertices(rows, cols + [mid + (2 * cols[i][n] * cols[j][n],)], n, 0)


def test_a_lazy_document_is_the_same_document(doc3):
    """``certificate_document(rc, lazy=True)`` (what the in-process independent check reads)
    holds the same entries as the written document, and the checker's report is the same."""
    rc, doc = doc3
    lazy = er.certificate_document(rc, lazy=True)
    assert lazy.keys() == doc.keys()
    assert er.certify(lazy) == er.certify(doc)
    # the checker does not read the summary's boundary volumes: they are never summed for it
    assert lazy["boundary_volumes"]._value is None
    for key in doc:
        assert (list(lazy[key]) if key in ("regions", "pieces") else lazy[key]) == doc[key], key
    # written entry by entry (what `enumerate --regions --json` does), it reads back as the
    # whole document written at once
    out = io.StringIO()
    er.write_document(lazy, out)
    assert json.loads(out.getvalue()) == json.loads(json.dumps(doc))


def _as_text(x):
    """The exact document's values written as the text document writes them: Fractions with
    CPython's own ``str`` (``p/q``, or ``p`` for integers), surds with theirs."""
    if isinstance(x, dict):
        return {k: _as_text(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_as_text(v) for v in x]
    if isinstance(x, (Fraction, SurdSum)):
        return str(x)
    return x


def test_the_in_process_documents_exact_numbers_are_the_written_ones(doc3):
    """``certificate_document(rc, lazy=True, numbers="exact")`` (what the in-process independent
    check reads: the complex's own Fractions, no decimal round trip) writes, number by number,
    as the text document; the checker's report is the same; and it refuses a changed number."""
    rc, doc = doc3
    exact = er.certificate_document(rc, lazy=True, numbers="exact")
    assert exact.keys() == doc.keys()
    for key in ("K", "vertices", "regions", "pieces"):
        got = _as_text(list(exact[key]) if key in ("regions", "pieces") else exact[key])
        assert got == doc[key], key
    assert isinstance(exact["regions"][0]["volume"], Fraction)
    assert er.certify(exact) == er.certify(doc)
    regions = list(exact["regions"])
    regions[1] = {**regions[1], "volume": regions[1]["volume"] + Fraction(1, 10**40)}
    with pytest.raises(er.CertificateError, match="volume"):
        er.certify({**exact, "regions": regions})
    with pytest.raises(ValueError, match="numbers"):
        er.certificate_document(rc, numbers="float")


def test_the_checker_reports_progress_of_both_halves():
    """``_map_halves`` reports items done in both processes: while the parent waits for a slow
    child, the child's own count shows (some report strictly between the parent's half and
    the end), and the values only grow, ending at the total.  Then ``certify`` reports the
    regions and then the pieces of a real certificate, each up to its count."""
    import os
    import time
    m = checker.FORK_MIN_REGIONS
    h = m // 2
    seen: list[int] = []

    def item(i: int) -> tuple[int, int]:
        if i >= h:
            time.sleep(0.01)   # the second half (the child's, where it forks) takes ~2 s
        return i * i, os.getpid()

    out = checker._map_halves(item, m, lambda done, total: seen.append(done))
    assert [v for v, _ in out] == [i * i for i in range(m)]
    assert seen == sorted(seen) and seen[-1] == m
    assert any(h < d < m for d in seen), seen
    rc = er.region_complex(er.load_network("data/demo_2d.json"), er.box([(-1, 1), (-1, 1)]),
                           independent_check=False)
    calls: list[tuple[str, int, int]] = []
    report = er.certify(er.certificate_document(rc, lazy=True),
                        lambda what, done, total: calls.append((what, done, total)))
    assert report == er.certify(er.certificate_document(rc, lazy=True))
    phases = [w for i, (w, _, _) in enumerate(calls) if i == 0 or calls[i - 1][0] != w]
    assert phases == ["regions", "pieces"]
    for what, count in (("regions", len(rc.activation_regions)), ("pieces", len(rc.pieces))):
        done = [d for w, d, t in calls if w == what and t == count]
        assert done and done == sorted(done) and done[-1] == count, what
