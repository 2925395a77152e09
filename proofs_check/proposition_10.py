"""Proposition 10: on every piece of B_N,k exactly k neurons switch, and their gradients have
rank k there (generic nets); on non-generic nets the pieces that break it are reported.

For each piece of the exact complex, the check recomputes, from the network alone at the
piece's rational witness, the neurons at a breakpoint that are good there, and the exact rank of
their gradients on every cell whose closure holds the piece.
"""

from __future__ import annotations

import random
import time
from fractions import Fraction
from typing import Any

from exactregions.exact.activation import Activation
from exactregions.exact.complex import region_complex
from exactregions.exact.domain import box
from exactregions.exact.network import Layer, Network
from proofs_check.context import RunContext
from proofs_check.nets import analyse_spec
from proofs_check.neurons import cell_gradients, good_neurons, preactivations, rank, tight_neurons
from proofs_check.result import CheckResult, verdict_of

__all__ = ["NAME", "STATEMENT", "run", "analyse", "integer_net", "concurrent_lines_net"]

NAME = "proposition_10"
STATEMENT = ("Every piece of B_N,k has exactly k switching (good) neurons, whose gradients have "
             "rank k there (Proposition 10, with probability 1); non-generic nets may break it.")


def integer_net(widths: tuple[int, ...], seed: int) -> Network:
    """Integer weights in {-2, …, 2} and zero biases: every hyperplane of the first layer goes
    through the origin (a non-generic net)."""
    rng = random.Random(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        W = tuple(tuple(Fraction(rng.randint(-2, 2)) for _ in range(a)) for _ in range(b))
        act = Activation.relu() if i < len(widths) - 2 else Activation.identity()
        layers.append(Layer(W, (Fraction(0),) * b, act))
    return Network(widths[0], tuple(layers), source=f"integer weights, zero biases seed={seed}")


def concurrent_lines_net() -> Network:
    """Three ReLU lines through the origin, all good: the origin is a B_N,2 point with three
    switching neurons, which Proposition 10's conclusion excludes (the check must flag it)."""
    F = Fraction
    W = ((F(1), F(0)), (F(0), F(1)), (F(1), F(1)))
    return Network(2, (Layer(W, (F(0),) * 3, Activation.relu()),
                       Layer(((F(1), F(2), F(3)),), (F(0),), Activation.identity())),
                   source="three concurrent lines")


def analyse(net: Network, n: int) -> dict[str, Any]:
    """Check every piece of ``net`` on [-1, 1]^n (see the module doc)."""
    rc = region_complex(net, box([(-1, 1)] * n))
    grads: dict[int, list] = {}

    def grad(ci: int) -> list:
        if ci not in grads:
            _, pattern = net.forward_with_pattern(rc.activation_regions[ci].witness)
            grads[ci] = cell_gradients(net, pattern)
        return grads[ci]

    violations, disagreements = [], 0
    by_k: dict[int, int] = {}
    for p in rc.pieces:
        by_k[p.codim] = by_k.get(p.codim, 0) + 1
        cells = sorted({ci for f in p.faces for ci in rc.faces[f].cells})
        pre = preactivations(net, p.witness)
        at_xi = tight_neurons(net, pre) & good_neurons(net, pre)
        # the piece's neurons (docs/concepts.md): good and at one breakpoint on the whole piece,
        # a neuron identically at ξ around it included
        if at_xi != set(p.neurons):
            disagreements += 1
        # switching: at a breakpoint at the witness and not constant around it (a neuron
        # identically at ξ on every adjacent cell cuts nothing) — Proposition 10's neurons
        switching = sorted(z for z in at_xi if any(any(grad(ci)[z[0]][z[1]]) for ci in cells))
        ranks = sorted({rank([grad(ci)[l][i] for (l, i) in switching]) for ci in cells})
        if len(switching) != p.codim or ranks != [p.codim]:
            violations.append({"k": p.codim, "witness": [str(c) for c in p.witness],
                               "neurons": [list(z) for z in switching], "ranks": ranks})
    return {"net": net.source, "pieces_by_k": {str(k): v for k, v in sorted(by_k.items())},
            "pieces": len(rc.pieces), "violations": len(violations),
            "violation_examples": violations[:5], "tool_disagreements": disagreements}


def _special(kind: str, widths: tuple[int, ...], seed: int) -> Network | None:
    if kind == "integer":
        return integer_net(widths, seed)
    return concurrent_lines_net() if kind == "concurrent" else None


def _task(spec: tuple) -> dict[str, Any]:
    return analyse_spec(spec, analyse, _special)


def run(ctx: RunContext) -> CheckResult:
    """Generic nets must have no violation; non-generic ones are reported."""
    t0 = time.perf_counter()
    reps = 2 if ctx.quick else 8
    plan = []
    for act in ("relu", "hardtanh", "pwl0"):
        plan += [("generic", (2, 6, 6, 1) if ctx.quick else (2, 8, 8, 8, 1), act)] * reps
    plan += [("generic", (3, 4, 4, 1) if ctx.quick else (3, 6, 6, 1), "relu")] * (1 if ctx.quick else 3)
    plan += [("integer", (2, 4, 4, 1), "relu")] * (2 if ctx.quick else 6)
    plan += [("concurrent", (2, 3, 1), "relu")]
    specs = [(k, w, a, ctx.seed_for(NAME, i), 0.5) for i, (k, w, a) in enumerate(plan)]
    rows = ctx.runner.map(_task, specs, NAME)
    generic = [r for r in rows if r["kind"] == "generic"]
    nongeneric = [r for r in rows if r["kind"] != "generic"]
    concurrent = [r for r in rows if r["kind"] == "concurrent"]
    criteria = {
        "generic_nets_hold": {"ok": all(r["violations"] == 0 for r in generic),
                              "rule": "generic nets: every B_N,k piece has k good switching "
                                      "neurons of gradient rank k",
                              "violations": sum(r["violations"] for r in generic)},
        "complex_agrees": {"ok": all(r["tool_disagreements"] == 0 for r in rows),
                           "rule": "the complex's piece neurons equal the ones recomputed from "
                                   "the net at the witness"},
        "degenerate_flagged": {"ok": bool(concurrent) and all(r["violations"] > 0 for r in concurrent),
                               "rule": "three concurrent lines: the violation is reported"},
    }
    figures = {
        "generic_nets": len(generic),
        "generic_pieces": sum(r["pieces"] for r in generic),
        "generic_violations": sum(r["violations"] for r in generic),
        "nongeneric_nets": len(nongeneric),
        "nongeneric_pieces": sum(r["pieces"] for r in nongeneric),
        "nongeneric_violations": sum(r["violations"] for r in nongeneric),
    }
    return CheckResult(NAME, STATEMENT, verdict_of(criteria), criteria, figures, rows,
                       {"domain": "[-1,1]^n", "bias_std": 0.5, "seed": ctx.seed, "reps": reps},
                       time.perf_counter() - t0)
