"""Tiles of K computed apart (on a Dask cluster) and glued back exactly.

Oracle: the single-process complex of the whole box (exact splitting).  The glued complex must
equal it face for face, whatever the tiles, the engine or the net (degenerate ones included:
a zero-bias hyperplane can lie on a tile face).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

import exactregions as er
import exactregions.exact.tiles as tiles_mod
from exactregions.errors import InvalidOptionError
from exactregions.exact._runtime import HARMLESS_THREADS, _Inline, fork_call, other_threads
from exactregions.exact.complex import check_independently
from exactregions.exact.network import Layer, Network
from exactregions.exact.tiles import box_tiles, glue_arrangements
from exactregions.floating.tiled import _tile_task, tiled_complex
from exactregions.testing import boxes, networks, planes, polytopes, segments

from oracles import assert_same_complex


def whole(net, K):
    return er.build_complex(er.enumerate_cells(net, K))


def test_four_tiles_on_a_two_worker_local_cluster():
    """The issue's test: 4 tiles, 2 workers, the same counts, complex and graph."""
    net = er.random_network([2, 8, 8, 1], seed=3, bias_std=0.3)
    K = er.box([(-1, 1), (-1, 1)])
    before = set(threading.enumerate())
    rc = tiled_complex(net, K, tiles=2, scheduler="local", workers=2, independent_check=True)
    ref = whole(net, K)
    assert rc.certificate["tiles"]["count"] == 4
    assert rc.certificate["tiles"]["volume_sum_over_tiles"] == K.volume()
    assert rc.certificate["independent"]["ok"]
    assert_same_complex(rc, ref)
    import networkx as nx
    g1, g2 = er.region_graph(rc), er.region_graph(ref)
    assert g1.graph["independently_checked"] and not g2.graph["independently_checked"]
    assert nx.utils.nodes_equal(g1.nodes(data=True), g2.nodes(data=True))
    assert nx.utils.edges_equal(g1.edges(data=True), g2.edges(data=True))
    # the cluster is closed and leaves only its idle offload thread: the glued whole's build
    # and its check may still fork (they ran in one process at a time before)
    left = [t.name for t in threading.enumerate()
            if t not in before and not t.name.startswith(HARMLESS_THREADS)]
    assert not left


def test_other_threads_block_a_fork_but_dasks_idle_offload_thread_does_not():
    """A fork with another thread running can leave the child a lock nobody releases: such
    a thread makes the builder and checker stay in-process; distributed's offload thread,
    which stays after a cluster closes, does not."""
    stop = threading.Event()
    for name, blocks in (("worker", True), ("Dask-Offload_0", False)):
        t = threading.Thread(target=stop.wait, name=name, daemon=True)
        t.start()
        try:
            assert other_threads() is blocks
            assert isinstance(fork_call(lambda: 1), _Inline) is blocks
        finally:
            stop.set()
            t.join()
            stop.clear()
    assert not other_threads()


def test_a_tile_is_certified_without_its_pieces():
    """A tile's worker certifies its regions (volume sum, witnesses, patterns, vertex sides)
    but builds no B_N,k pieces: the glued whole builds them, once.  The regions, linear
    regions and faces are those of the full build."""
    net = er.random_network([2, 6, 6, 1], seed=4, bias_std=0.3)
    T = box_tiles(er.box([(-1, 1), (-1, 1)]), 2)[1]
    arr, cert = _tile_task(net, T, "propose", "cpu")
    assert cert["volume_sum"] == cert["domain_volume"] == T.volume()
    lean = er.build_complex(arr, with_pieces=False)
    full = er.build_complex(arr)
    assert lean.pieces == () and len(full.pieces) > 0
    assert lean.activation_regions == full.activation_regions
    assert lean.linear_regions == full.linear_regions
    assert [(f.verts, f.dim, f.cells) for f in lean.faces] == \
        [(f.verts, f.dim, f.cells) for f in full.faces]
    assert lean.certificate == full.certificate


@given(st.data())
@settings(max_examples=15)
def test_glued_tiles_equal_the_whole(data):
    n = data.draw(st.integers(1, 3))
    net = data.draw(networks(input_dim=n, max_width=4 if n < 3 else 3,
                             max_neurons=8 if n < 3 else 5))
    K = data.draw(boxes(n))
    counts = data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    engine = data.draw(st.sampled_from(["propose", "split"]))
    rc = tiled_complex(net, K, tiles=counts, scheduler="none", engine=engine)
    assert_same_complex(rc, whole(net, K))


@given(st.data())
@settings(max_examples=15)
def test_glued_tiles_equal_the_whole_on_slices_and_polytopes(data):
    """A segment or plane through a net of 3-4 inputs (cut in slice coordinates), or an
    H-polytope (a box with extra rows: some redundant, some making corners where more than n
    facets meet): every tile is K ∩ a grid box, and the glued complex is the whole's."""
    kind = data.draw(st.sampled_from(["segment", "plane", "polytope"]))
    if kind == "polytope":
        n = data.draw(st.integers(2, 3))
        net = data.draw(networks(input_dim=n, max_width=3, max_neurons=6 if n == 2 else 4))
        K = data.draw(polytopes(n))
    else:
        net = data.draw(networks(input_dim=data.draw(st.integers(3, 4)), max_width=4,
                                 max_neurons=7))
        K = data.draw(segments(net.input_dim) if kind == "segment" else
                      planes(net.input_dim, bounds=((-1, 1), (-1, 1))))
    counts = data.draw(st.lists(st.integers(1, 3), min_size=K.dim, max_size=K.dim))
    engine = data.draw(st.sampled_from(["propose", "split"]))
    rc = tiled_complex(net, K, tiles=counts, scheduler="none", engine=engine)
    tiles = box_tiles(K, counts)
    assert rc.certificate["tiles"]["count"] == len(tiles)
    assert all(T.embedding == K.embedding for T in tiles)
    assert_same_complex(rc, whole(net, K))


def test_the_tiles_of_a_triangle():
    """The triangle x, y >= 0, x + y <= 1 cut at x, y = 1/2 (``box_halves`` at the midpoints):
    the box above the diagonal meets it in one point only (no tile), the others are two
    triangles and the square [0, 1/2]² (the diagonal touches it at a corner only).  Every tile
    keeps all three rows of K (so its vertices are tight on them as in K) and the cuts that
    bound it (the side y <= 1/2 of the right triangle touches it at a corner only: dropped);
    their areas add up to 1/2."""
    K = er.hpolytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    tiles = tiles_mod.box_halves(K, [Fraction(1, 2)] * 2)
    assert sorted(len(T.vertices) for T in tiles) == [3, 3, 4]
    assert sum(T.volume() for T in tiles) == K.volume() == Fraction(1, 2)
    assert sorted(len(T.A) for T in tiles) == [4, 4, 5]
    assert all(T.A[:3] == K.A and T.b[:3] == K.b for T in tiles)
    assert sorted(len(tiles_mod.cut_faces(T, K)) for T in tiles) == [1, 1, 2]


def test_the_grid_keeps_off_degenerate_points():
    """The grid's cuts lie off the equal parts: with its biases 0 every hyperplane of the first
    layer passes through the origin of [-1, 1]^n, which is then inside one tile (repaired or
    split), not a corner of all of them; the corners of the simplex stay off the cuts and all
    its tiles are proposed (a midpoint grid makes one of them non-simple, which the skeleton
    now proposes too: ``test_a_non_simple_K_is_proposed_whole``).  Each tiled complex
    is the whole's."""
    for widths in ([2, 6, 6, 1], [3, 5, 4, 1]):
        net = er.random_network(widths, seed=3, bias_std=0.3)
        first = net.layers[0]
        net = Network(net.input_dim, (Layer(first.weight, (Fraction(0),) * len(first.bias),
                                            first.activation),) + net.layers[1:])
        K = er.box([(-1, 1)] * widths[0])
        tiles = box_tiles(K, 2)
        assert sum(all(b > 0 for b in T.b) for T in tiles) == 1    # 0 strictly inside
        rc = tiled_complex(net, K, tiles=2, scheduler="none")
        engines = rc.certificate["tiles"]["engines"]
        assert sum(e.startswith("propose") and "split" not in e for e in engines) \
            == len(tiles) - 1
        assert_same_complex(rc, whole(net, K))
    simplex = er.hpolytope([[-1, 0, 0], [0, -1, 0], [0, 0, -1], [1, 1, 1]], [0, 0, 0, 1])
    net = er.random_network([3, 5, 4, 1], seed=0, bias_std=0.3)
    rc = tiled_complex(net, simplex, tiles=2, scheduler="none")
    assert rc.certificate["engine"] == "tiled (4 of 4 tiles proposed)"
    assert_same_complex(rc, whole(net, simplex))


def test_a_repeated_row_of_K_is_glued_as_every_copy():
    """K given with the row y <= 1 twice: in the whole's complex the top facet carries both
    rows' labels, so a tile's copy of that row must glue back as both."""
    net = er.random_network([2, 5, 1], seed=2, bias_std=0.3)
    K = er.hpolytope([[1, 0], [-1, 0], [0, 1], [0, -1], [0, 1]], [1, 1, 1, 1, 1])
    for engine in ("propose", "split"):
        assert_same_complex(tiled_complex(net, K, tiles=2, scheduler="none", engine=engine),
                            whole(net, K))


def test_a_hyperplane_on_a_tile_face():
    """relu(x) + relu(y - x) with the tiles cut at x = 0: the first neuron's hyperplane is the
    tile face itself (the pieces of a region meet along it, or do not)."""
    net = Network(2, (Layer(((Fraction(1), Fraction(0)), (Fraction(-1), Fraction(1))),
                            (Fraction(0), Fraction(0)), er.Activation.relu()),
                      Layer(((Fraction(1), Fraction(1)),), (Fraction(0),),
                            er.Activation.identity())))
    K = er.box([(-1, 1), (-1, 1)])
    for engine in ("propose", "split"):
        assert_same_complex(tiled_complex(net, K, tiles=2, scheduler="none", engine=engine),
                            whole(net, K))


def test_gluing_must_drop_the_tile_face_vertices(monkeypatch):
    """Planted bug: keep the points where a tile face cut a region as vertices.  The glued
    arrangement then fails a certificate (here the Euler characteristic: each kept point is a
    0-face with no edge of its own); it never passes as a wrong complex."""
    net = er.random_network([2, 6, 5, 1], seed=1, bias_std=0.3)
    K = er.box([(-1, 1), (-1, 1)])
    parts = [er.enumerate_cells(net, T) for T in box_tiles(K, 2)]
    monkeypatch.setattr(tiles_mod, "_is_vertex", lambda tight, table, n: True)
    with pytest.raises(er.CertificateError):
        check_independently(er.build_complex(glue_arrangements(net, K, parts)))


def test_a_missing_tile_fails_the_volume_sum():
    net = er.random_network([2, 6, 1], seed=1, bias_std=0.3)
    K = er.box([(-1, 1), (-1, 1)])
    parts = [er.enumerate_cells(net, T) for T in box_tiles(K, 2)][:3]
    with pytest.raises(er.CertificateError):
        er.build_complex(glue_arrangements(net, K, parts))


def test_tile_options_are_checked():
    net = er.random_network([2, 4, 1], seed=0)
    with pytest.raises(InvalidOptionError):
        box_tiles(er.box([(0, 1)]), 0)
    with pytest.raises(InvalidOptionError, match="one per axis"):
        box_tiles(er.box([(0, 1), (0, 1)]), [2, 2, 2])
    with pytest.raises(InvalidOptionError, match="scheduler"):
        tiled_complex(net, er.box([(0, 1), (0, 1)]), tiles=2, scheduler="nowhere")


def test_cli_tiles_bad_input(tmp_path):
    net = tmp_path / "n.json"
    er.save_network(er.random_network([2, 4, 1], seed=0), net)
    out = tmp_path / "o.json"
    r = subprocess.run([sys.executable, "-m", "exactregions", "enumerate", str(net), "--box",
                        "-1:1", "--tiles", "2,x", "--json", str(out)], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "--tiles" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    # no worker: refused, not read as "the default" (0 is falsy)
    r = subprocess.run([sys.executable, "-m", "exactregions", "enumerate", str(net), "--box",
                        "-1:1", "--tiles", "2", "--workers", "0", "--json", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "workers" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_tiles_on_a_plane_slice(tmp_path):
    """``enumerate --through P1 P2 P3 --tiles 3,2``: the slice is cut in its (s, t)
    coordinates; the JSON (but for the engine, the time and the tiles' own account) and the
    graph file are those of the run without tiles."""
    import json
    net = tmp_path / "n.json"
    er.save_network(er.random_network([4, 6, 6, 1], seed=1, bias_std=0.3), net)
    base = [sys.executable, "-m", "exactregions", "enumerate", str(net), "--through", "0,0,0,0",
            "1,0,1,0", "0,1,0,1", "--box", "-1:1,-1:1", "--no-progress"]
    out = {}
    for name, extra in (("tiled", ["--tiles", "3,2", "--scheduler", "none"]), ("whole", [])):
        r = subprocess.run(base + extra + ["--json", str(tmp_path / f"{name}.json"), "--graph",
                                           str(tmp_path / f"{name}.graphml")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert out["tiled"].pop("engine").startswith("tiled (")
    assert out["whole"].pop("engine").startswith(("propose", "split"))
    assert out["tiled"]["certificate"].pop("tiles")["count"] == 6
    for doc in out.values():
        doc.pop("seconds")
    assert out["tiled"] == out["whole"]
    assert (tmp_path / "tiled.graphml").read_bytes() == (tmp_path / "whole.graphml").read_bytes()
