"""The region complex as a networkx graph, and its export to GraphML, node-link JSON and GEXF.

Nodes (attribute ``kind``):

* ``"A<i>"`` activation regions (``codim`` 0), ``"L<i>"`` linear regions (``codim`` 0),
* ``"P<i>"`` pieces of B_N,k (``codim`` k, ``neurons`` the switching set).

Edges (attribute ``relation``):

* ``"face"``: the Hasse diagram — a codim-k piece to each codim-(k-1) piece whose closure holds
  it, and a codim-1 piece to the linear regions on its sides;
* ``"member"``: an activation region to its linear region;
* ``"adjacent"``: the adjacency view — regions of one kind sharing a facet (activation) or a
  B_N,1 piece (linear); ``neurons`` names the neurons that switch across it (``"l:i;l:i"``).

Every attribute is a string, int, float or bool, so every format round-trips.  Exact values are
strings (``volume``, ``witness``; read them with :func:`~exactregions.exact_rational`, which takes
integers of any length); ``volume_float`` and ``x``/``y``/``z`` (the witness) are floats for
plotting and layout.  Graph attributes (``input_dim``, ``domain``, ``net``, ``widths``,
``certified``, ``independently_checked``) survive every format (GEXF: as JSON in its
``<meta><description>``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from xml.etree import ElementTree
from xml.sax.saxutils import escape

import networkx as nx

from exactregions.errors import FormatError, InvalidOptionError
from exactregions.exact.floatfilter import display_float
from exactregions.exact.rational import format_rational

if TYPE_CHECKING:
    from exactregions.exact.complex import RegionComplex

__all__ = ["KIND", "CODIM", "RELATION", "region_graph", "write_graph", "read_graph",
           "hasse_view", "adjacency_view", "GRAPH_FORMATS"]

KIND = "kind"
CODIM = "codim"
RELATION = "relation"
GRAPH_FORMATS = (".graphml", ".json", ".gexf")
GRAPH_ATTRIBUTES_TAG = "exactregions-graph-attributes"


def _pt(p) -> str:
    return ",".join(format_rational(x) for x in p)


def _pattern(p) -> str:
    return "|".join("".join(str(j) for j in layer) for layer in p)


def _neurons(ns) -> str:
    return ";".join(f"{l}:{i}" for l, i in ns)


def region_graph(rc: "RegionComplex") -> nx.Graph:
    """Build the graph of the complex.

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> from exactregions.exact.domain import box
    >>> from exactregions.exact.complex import region_complex
    >>> G = region_graph(region_complex(random_network([2, 3, 1], seed=0), box([(-1, 1)] * 2)))
    >>> sorted({d["kind"] for _, d in G.nodes(data=True)})
    ['activation_region', 'boundary_piece', 'linear_region']

    Notes
    -----
    Linear in the number of faces of the complex.
    """
    if not all(hasattr(rc, a) for a in ("activation_regions", "linear_regions", "pieces", "faces")):
        raise InvalidOptionError(f"region_graph takes a RegionComplex, not a {type(rc).__name__}")
    G = nx.Graph(input_dim=rc.dim, domain=rc.domain.description, net=rc.net.source or "",
                 widths="-".join(map(str, rc.net.widths)),
                 certified=bool(rc.certificate.get("ok")),
                 independently_checked=bool(rc.certificate.get("independent", {}).get("ok")))
    for r in rc.activation_regions:
        G.add_node(f"A{r.index}", kind="activation_region", codim=0, pattern=_pattern(r.pattern),
                   witness=_pt(r.witness), volume=format_rational(r.volume),
                   volume_float=display_float(r.volume), linear_region=r.linear_region,
                   neurons="", **_xyz(r.witness))
    for lr in rc.linear_regions:
        G.add_node(f"L{lr.index}", kind="linear_region", codim=0, witness=_pt(lr.witness),
                   volume=format_rational(lr.volume), volume_float=display_float(lr.volume),
                   members=len(lr.members), pattern="", neurons="", **_xyz(lr.witness))
        for m in lr.members:
            G.add_edge(f"A{m}", f"L{lr.index}", relation="member")
    face_piece: dict[int, int] = {}
    for p in rc.pieces:
        G.add_node(f"P{p.index}", kind="boundary_piece", codim=p.codim, neurons=_neurons(p.neurons),
                   all_neurons=_neurons(p.all_neurons), n_neurons=len(p.neurons),
                   volume=str(p.volume), volume_float=display_float(p.volume), witness=_pt(p.witness),
                   pattern="", **_xyz(p.witness))
        for f in p.faces:
            face_piece[f] = p.index
    faces = rc.faces
    n = rc.dim
    for f, pi in face_piece.items():
        for g in faces[f].parents:
            gi = face_piece.get(g)
            if gi is not None and gi != pi and faces[g].k == faces[f].k - 1:
                G.add_edge(f"P{pi}", f"P{gi}", relation="face")
        if faces[f].k == 1 and faces[f].dim == n - 1:
            for c in faces[f].cells:
                G.add_edge(f"P{pi}", f"L{rc.activation_regions[c].linear_region}", relation="face")
    between: dict[tuple[int, int], set] = {}
    for face in faces:
        if face.dim == n - 1 and len(face.cells) == 2:
            a, b = face.cells
            ra, rb = rc.activation_regions[a], rc.activation_regions[b]
            switch = [(l, i) for l, (pa, pb) in enumerate(zip(ra.pattern, rb.pattern))
                      for i, (x, y) in enumerate(zip(pa, pb)) if x != y]
            G.add_edge(f"A{a}", f"A{b}", relation="adjacent", neurons=_neurons(switch))
            la, lb = ra.linear_region, rb.linear_region
            if la != lb:
                between.setdefault((min(la, lb), max(la, lb)), set()).update(switch)
    for (la, lb), switch in between.items():
        G.add_edge(f"L{la}", f"L{lb}", relation="adjacent", neurons=_neurons(sorted(switch)))
    return G


def _xyz(p) -> dict[str, float]:
    """Float coordinates for drawing (x, y, and z in 3-D): the witness's."""
    return {name: display_float(v) for name, v in zip(("x", "y", "z"), p)}


def _need_graph(G, name: str) -> None:
    if not isinstance(G, nx.Graph):
        raise InvalidOptionError(f"{name} takes the networkx graph of region_graph, not a "
                                 f"{type(G).__name__}")


def hasse_view(G: nx.Graph) -> nx.Graph:
    """The face-incidence edges only (pieces and linear regions)."""
    _need_graph(G, "hasse_view")
    return G.edge_subgraph((u, v) for u, v, r in G.edges(data=RELATION) if r == "face")


def adjacency_view(G: nx.Graph, kind: str = "linear_region") -> nx.Graph:
    """Regions of one ``kind`` with the ``adjacent`` edges between them."""
    _need_graph(G, "adjacency_view")
    nodes = [v for v, k in G.nodes(data=KIND) if k == kind]
    H = G.subgraph(nodes)
    return H.edge_subgraph((u, v) for u, v, r in H.edges(data=RELATION) if r == "adjacent")


def write_graph(G: nx.Graph, path: str | os.PathLike[str]) -> None:
    """Write ``G`` as GraphML (``.graphml``), node-link JSON (``.json``) or GEXF (``.gexf``).

    Written to a temporary file and renamed: never half a file.

    Raises
    ------
    FormatError
        For another extension.
    """
    from exactregions.exact.netfile import atomic_write_text

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".graphml":
        text = "\n".join(nx.generate_graphml(G)) + "\n"
    elif suffix == ".gexf":
        text = "\n".join(nx.generate_gexf(G)) + "\n"
        # GEXF has no graph attributes: they travel as JSON in <meta><description>
        desc = escape(json.dumps({GRAPH_ATTRIBUTES_TAG: G.graph}))
        text = text.replace("</meta>", f"  <description>{desc}</description>\n  </meta>", 1)
    elif suffix == ".json":
        text = json.dumps(nx.node_link_data(G, edges="edges"), indent=None) + "\n"
    else:
        raise FormatError(f"graph file {str(p)!r}: use one of {', '.join(GRAPH_FORMATS)}")
    atomic_write_text(p, text)


def read_graph(path: str | os.PathLike[str]) -> nx.Graph:
    """Read a graph written by :func:`write_graph`.

    Raises
    ------
    FormatError
        For another extension, an unreadable file, or one that is not a graph in its format.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".graphml":
            return nx.read_graphml(p)
        if suffix == ".gexf":
            H = nx.read_gexf(p)
            desc = ElementTree.parse(p).getroot().find(
                "{http://www.gexf.net/1.2draft}meta/{http://www.gexf.net/1.2draft}description")
            if desc is not None and desc.text:
                try:
                    H.graph.update(json.loads(desc.text).get(GRAPH_ATTRIBUTES_TAG, {}))
                except ValueError:
                    pass
            return H
        if suffix == ".json":
            return nx.node_link_graph(json.loads(p.read_text()), edges="edges")
    except (OSError, ValueError, SyntaxError, TypeError, KeyError, AttributeError,
            nx.NetworkXError) as exc:   # SyntaxError: XML's ParseError; the rest: wrong layouts
        raise FormatError(f"cannot read graph {str(p)!r}: {type(exc).__name__}: {exc}") from None
    raise FormatError(f"graph file {str(p)!r}: use one of {', '.join(GRAPH_FORMATS)}")
