"""Proposition 9: B_N = ∪_z closure(S̃_z) — the boundary where ∇N jumps is exactly where a *good*
neuron switches — and B_N ⊊ ∪_z S_z when some switching neurons are dead.

For each net the exact region complex gives the interior facets.  Independently of the
complex's gluing, each facet F between cells P, Q is classified twice, exactly:

* left side: F ⊆ B_N iff the exact Jacobians of all outputs on P and Q differ (computed here
  from the patterns at the cells' witnesses);
* right side: F ⊆ ∪ S̃_z iff some neuron sits at a breakpoint at F's vertex centroid (a relative
  interior point) and is good there (a path of open neurons to the output).

The proposition holds on a net iff no facet is classified differently, and the closures agree:
every lower-dimensional interior face of the complex is in B_N (as the complex reports) iff it is
a face of a right-side facet.  The surplus ∪ S_z \\ B_N (glued facets) is counted; it must be
empty when φ has no zero slope (every neuron good) and non-empty on the nets built with dead
neurons.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, Sequence

import networkx as nx

from exactregions.exact.complex import Face, region_complex
from exactregions.exact.domain import box
from exactregions.exact.network import Network
from proofs_check.context import RunContext
from proofs_check.nets import analyse_spec, dead_neuron_net
from proofs_check.neurons import good_neurons, output_jacobian, preactivations, tight_neurons
from proofs_check.result import CheckResult, verdict_of

__all__ = ["NAME", "STATEMENT", "run", "analyse"]

NAME = "proposition_9"
STATEMENT = ("B_N = ∪_z closure(S̃_z): ∇N is discontinuous exactly where a good neuron switches "
             "(Proposition 9); the inclusion B_N ⊆ ∪_z S_z over all neurons is strict when dead "
             "neurons switch inside K.")


def in_closure(g: Face, faces: Sequence[Face], by_vertex: dict[int, list[int]]) -> bool:
    """Whether face g lies in one of the facets that ``by_vertex`` lists (by each of their
    vertices): all of g's vertices in one facet's (a finished complex's face vertices are
    sorted tuples: the test is on sets, not on the tuples' order)."""
    gv = set(g.verts)
    return any(gv.issubset(faces[F].verts) for F in by_vertex.get(g.verts[0], []))


def analyse(net, n: int) -> dict[str, Any]:
    """Classify every interior facet of ``net`` on [-1, 1]^n both ways (see the module doc)."""
    rc = region_complex(net, box([(-1, 1)] * n))
    faces, V = rc.faces, rc.vertices
    jac: dict[int, tuple] = {}

    def J(ci: int) -> tuple:
        if ci not in jac:
            _, pattern = net.forward_with_pattern(rc.activation_regions[ci].witness)
            jac[ci] = output_jacobian(net, pattern)
        return jac[ci]

    mismatches: list[dict[str, Any]] = []
    rhs_facets: list[int] = []
    surplus: list[int] = []
    untight = 0
    bn_facets = 0
    for fi, f in enumerate(faces):
        if f.dim != n - 1 or f.on_boundary:
            continue
        c1, c2 = f.cells
        lhs = J(c1) != J(c2)
        bn_facets += lhs
        pts = [V[v] for v in f.verts]
        x = [sum((p[i] for p in pts), Fraction(0)) / len(pts) for i in range(n)]
        pre = preactivations(net, x)
        tight = tight_neurons(net, pre)
        if not tight:
            untight += 1
        switching_good = tight & good_neurons(net, pre)
        rhs = bool(switching_good)
        if rhs:
            rhs_facets.append(fi)
        if not lhs:
            surplus.append(fi)
        if lhs != rhs:
            mismatches.append({"facet_centroid": [str(c) for c in x], "gradient_jumps": lhs,
                               "good_switching": sorted(map(list, switching_good)),
                               "switching": sorted(map(list, tight))})
    # closures: a lower face is in closure(∪ S̃_z) iff it lies in a right-side facet
    by_vertex: dict[int, list[int]] = {}
    for F in rhs_facets:
        for v in faces[F].verts:
            by_vertex.setdefault(v, []).append(F)
    closure_mismatch = 0
    for g in faces:
        if g.dim >= n - 1 or g.on_boundary:
            continue
        if in_closure(g, faces, by_vertex) != g.in_bn:
            closure_mismatch += 1
    # surplus pieces: connected components of the glued facets (sharing a point)
    G = nx.Graph()
    G.add_nodes_from(surplus)
    owner: dict[int, int] = {}
    for F in surplus:
        for v in faces[F].verts:
            if v in owner:
                G.add_edge(owner[v], F)
            owner.setdefault(v, F)
    return {"net": net.source, "regions": len(rc.activation_regions),
            "linear_regions": len(rc.linear_regions),
            "interior_facets": sum(1 for f in faces if f.dim == n - 1 and not f.on_boundary),
            "bn_facets": bn_facets,
            "mismatches": len(mismatches), "mismatch_examples": mismatches[:5],
            "closure_mismatches": closure_mismatch, "facets_without_switching_neuron": untight,
            "surplus_facets": len(surplus), "surplus_pieces": nx.number_connected_components(G)}


def _special(kind: str, widths: tuple[int, ...], seed: int) -> Network | None:
    return dead_neuron_net(seed) if kind == "dead" else None


def _task(spec: tuple) -> dict[str, Any]:
    return analyse_spec(spec, analyse, _special)


def run(ctx: RunContext) -> CheckResult:
    """Run the check on seeded random nets and the constructed dead-neuron nets."""
    t0 = time.perf_counter()
    reps = 2 if ctx.quick else 8
    w2 = (2, 5, 5, 1) if ctx.quick else (2, 8, 8, 8, 1)
    w3 = (3, 4, 4, 1) if ctx.quick else (3, 6, 6, 1)
    plan = []
    for act in ("relu", "hardtanh", "pwl0", "leaky_relu"):
        plan += [("random", w2, act, None, 0.5)] * reps
    plan += [("random", w3, "relu", None, 0.5)] * (1 if ctx.quick else 3)
    plan += [("dead", (2, 6, 4, 1), "relu", None, 0.1)] * (1 if ctx.quick else 3)
    specs = [(k, w, a, ctx.seed_for(NAME, i), b) for i, (k, w, a, _, b) in enumerate(plan)]
    rows = ctx.runner.map(_task, specs, NAME)
    zero_slope = [r for r in rows if r["activation"] != "leaky_relu"]
    leaky = [r for r in rows if r["activation"] == "leaky_relu"]
    dead = [r for r in rows if r["kind"] == "dead"]
    criteria = {
        "facets_agree": {"ok": all(r["mismatches"] == 0 for r in rows),
                         "rule": "every interior facet: ∇N jumps ⇔ a good neuron switches",
                         "mismatches": sum(r["mismatches"] for r in rows)},
        "closures_agree": {"ok": all(r["closure_mismatches"] == 0 for r in rows),
                           "rule": "every lower interior face: in B_N ⇔ in closure(∪ S̃_z)"},
        "every_facet_switches": {"ok": all(r["facets_without_switching_neuron"] == 0 for r in rows),
                                 "rule": "every interior facet lies in some S_z"},
        "strict_with_dead_neurons": {
            "ok": bool(dead) and all(r["surplus_facets"] > 0 for r in dead),
            "rule": "∪ S_z \\ B_N is non-empty on every net built with dead neurons",
            "surplus_facets": [r["surplus_facets"] for r in dead]},
        "equal_without_zero_slopes": {
            "ok": all(r["surplus_facets"] == 0 for r in leaky),
            "rule": "leaky ReLU (no zero slope): B_N = ∪ S_z, no surplus"},
    }
    figures = {
        "nets": len(rows),
        "interior_facets": sum(r["interior_facets"] for r in rows),
        "bn_facets": sum(r["bn_facets"] for r in rows),
        "surplus_facets_zero_slope_nets": sum(r["surplus_facets"] for r in zero_slope),
        "surplus_pieces_zero_slope_nets": sum(r["surplus_pieces"] for r in zero_slope),
        "nets_with_surplus": sum(1 for r in zero_slope if r["surplus_facets"] > 0),
        "mismatches": sum(r["mismatches"] for r in rows),
    }
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures, rows,
                       {"domain": "[-1,1]^n", "reps_per_activation": reps, "widths_2d": list(w2),
                        "widths_3d": list(w3), "bias_std": 0.5, "seed": ctx.seed},
                       time.perf_counter() - t0)
