"""Independent oracles for tests: brute force over every activation pattern.

No splitting, no incidence: for each pattern, the net is affine by direct composition, the
region is {x in K : every neuron on its piece}, and an exact LP (cddlib GMP) says whether it is
full-dimensional.  Exponential, so for tiny nets only.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import cdd
import cdd.gmp

from exactregions import Network
from exactregions.exact.domain import Domain


def _affine_maps(net: Network, pattern):
    """Pre-activation maps of every layer under a fixed pattern: lists of (a, c)."""
    n = net.input_dim
    H = [([Fraction(int(i == j)) for j in range(n)], Fraction(0)) for i in range(n)]
    out = []
    for layer, pieces in zip(net.layers, pattern):
        Z = []
        for row, b in zip(layer.weight, layer.bias):
            a = [sum((w * h[0][k] for w, h in zip(row, H)), Fraction(0)) for k in range(n)]
            c = sum((w * h[1] for w, h in zip(row, H)), b)
            Z.append((a, c))
        out.append(Z)
        H = [([act.slopes[j] * x for x in a], act.slopes[j] * c + act.offsets[j])
             for act, (a, c), j in zip(layer.activations, Z, pieces)]
    return out, H


def _interior(rows_A, rows_b):
    n = len(rows_A[0])
    rows = [[b] + [-x for x in a] + [Fraction(-1)] for a, b in zip(rows_A, rows_b)]
    rows.append([Fraction(1)] + [Fraction(0)] * n + [Fraction(-1)])
    obj = [Fraction(0)] * (n + 1) + [Fraction(1)]
    lp = cdd.gmp.linprog_from_array(rows + [obj], obj_type=cdd.LPObjType.MAX)
    cdd.gmp.linprog_solve(lp)
    return lp.status == cdd.LPStatusType.OPTIMAL and lp.obj_value > 0


def brute_force_regions(net: Network, domain: Domain):
    """{pattern: (A, b, output map)} for every full-dimensional activation region in K."""
    choices = [range(len(layer.breakpoints) + 1) for layer in net.layers
               for _ in range(layer.out_dim)]
    sizes = [layer.out_dim for layer in net.layers]
    found = {}
    for flat in itertools.product(*choices):
        pattern, k = [], 0
        for s in sizes:
            pattern.append(tuple(flat[k:k + s]))
            k += s
        maps, out = _affine_maps(net, pattern)
        A = [list(a) for a in domain.A]
        b = list(domain.b)
        ok = True
        for layer, Z, pieces in zip(net.layers, maps, pattern):
            bps = layer.breakpoints
            for (a, c), j in zip(Z, pieces):
                if not any(a):
                    if sum(1 for x in bps if x <= c) != j:
                        ok = False
                    continue
                if j > 0:  # z >= ξ_{j-1}:  -a x <= c - ξ
                    A.append([-x for x in a])
                    b.append(c - bps[j - 1])
                if j < len(bps):  # z <= ξ_j
                    A.append(list(a))
                    b.append(bps[j] - c)
            if not ok:
                break
        if ok and _interior(A, b):
            found[tuple(pattern)] = (A, b, out)
    return found


def brute_force_1d(net: Network, lo: Fraction, hi: Fraction):
    """(activation regions, linear regions) of a 1-input net on [lo, hi], by brute force."""
    from exactregions.exact.domain import box
    regs = brute_force_regions(net, box([(lo, hi)]))
    intervals = []
    for pattern, (A, b, out) in regs.items():
        left, right = lo, hi
        for a, bb in zip(A, b):
            if a[0] > 0:
                right = min(right, bb / a[0])
            elif a[0] < 0:
                left = max(left, bb / a[0])
        intervals.append((left, right, tuple((tuple(h[0]), h[1]) for h in out)))
    intervals.sort()
    linear = 1
    for (l1, r1, m1), (l2, r2, m2) in zip(intervals, intervals[1:]):
        assert r1 == l2, "brute-force intervals must tile the segment"
        if m1 != m2:
            linear += 1
    return len(intervals), linear


def _vertices(A, b):
    rows = [[bi] + [-x for x in a] for a, bi in zip(A, b)]
    poly = cdd.gmp.polyhedron_from_matrix(cdd.gmp.matrix_from_array(rows, rep_type=cdd.RepType.INEQUALITY))
    return {tuple(r[1:]) for r in cdd.gmp.copy_generators(poly).array if r[0] == 1}


def full_output_map(net: Network, pattern):
    """The affine map of all outputs in the net's own input space under a pattern, by direct
    composition: ((row of a, c) per output)."""
    _, out = _affine_maps(net, pattern)
    return tuple((tuple(a), c) for a, c in out)


def brute_force_linear_regions_2d(net: Network, domain: Domain, full_net: Network | None = None):
    """Linear regions of a 2-D domain as a set of frozensets of patterns, by exact gluing of
    brute-force regions that share an edge of positive length and have the same full affine map
    (of ``full_net`` in its own input space when given: the original net of a slice)."""
    regs = brute_force_regions(net, domain)
    pats = list(regs)
    maps = {p: full_output_map(full_net or net, p) for p in pats}
    parent = {p: p for p in pats}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for i, p in enumerate(pats):
        for q in pats[i + 1:]:
            if maps[p] != maps[q]:
                continue
            A = regs[p][0] + regs[q][0]
            b = regs[p][1] + regs[q][1]
            if len(_vertices(A, b)) >= 2:   # they share a segment: an edge of positive length
                parent[find(p)] = find(q)
    groups = {}
    for p in pats:
        groups.setdefault(find(p), set()).add(p)
    return {frozenset(g) for g in groups.values()}


def assert_same_complex(a, b) -> None:
    """Two region complexes equal face for face: regions (patterns, H-polytopes, vertices,
    volumes, witnesses, output maps), linear regions, B_N,k pieces, the face lattice and the
    vertex list (the oracle is the splitting engine on the whole of K)."""
    assert a.activation_regions == b.activation_regions
    assert a.linear_regions == b.linear_regions
    assert a.pieces == b.pieces
    assert a.faces == b.faces
    assert a.vertices == b.vertices
