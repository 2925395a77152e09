"""The float proposer: the skeleton (vertices and edges) of the activation regions by edge
subdivision, batched in torch, for any input dimension.

This is the *propose* half of the ``propose`` engine: floats only say where the vertices
probably are and which regions probably exist; :mod:`exactregions.exact.decide` then solves
every vertex exactly and certifies the partition, or rejects the proposal.

The method is the skeleton subdivision of Berzins (ICML 2023), written anew for this package:

* Start from K's vertices and edges.  Every vertex carries its sign vector over the
  constraints seen so far (K's facets: 0 on the facet, +1 inside; each hyperplane
  z_i = ξ_j of a neuron: the sign of z_i - ξ_j), and a 64-bit hash of it.
* Hyperplane by hyperplane (a layer's pre-activations are affine on every cell of the layers
  before, so within a layer one hyperplane at a time is exact in exact arithmetic): the edges
  whose endpoints have strictly opposite signs are cut at the linearly interpolated point;
  every 2-face the hyperplane cuts gets one new edge between its two new vertices.  The
  2-faces of a cut edge are its sign vector with one zero turned to ±1, so matching two cut
  edges is a sort of 64-bit face hashes: all cut edges of the step at once, no loop.
* At the end every vertex of a generic arrangement lies on exactly n constraints; the 2^n
  sign vectors with those zeros turned to ±1 (only + for K's facets) are the regions around
  it, and grouping by their hashes gives every region with its vertices.

A K whose vertices lie on more than n facets is proposed as a simple polytope that tends to it,
each vertex copied at its own coordinates (:func:`_simple_copies`); the copies are merged in
the regions' vertex lists.  Hyperplanes that are no new hyperplanes are known exactly from the
weights (:func:`_coincident_columns`): a pruned neuron (zero weight row) is on one side
everywhere, and a duplicated or rescaled neuron reads the first copy's column.  A first-layer
hyperplane through corners of K is known exactly there, from the exact pre-activations at
K's corners (:func:`_through_corners`): a first-layer one touching K only is one side of it;
one through a corner, of any layer, puts the corner on its + side (a perturbation), the points
cut next to it merge with it, the zero-volume sliver dropped.  A
vertex on more than n constraints, a value within ``tol`` of a breakpoint, or a face hit by
other than two cut edges make the arrangement non-generic: :class:`NotGeneric` is raised and
the caller uses the exact splitting engine instead.  A hash collision cannot go unnoticed
either: the exact decision re-derives everything.

>>> from exactregions.exact.random import random_network
>>> from exactregions.exact.domain import box
>>> from exactregions.exact.enumerate import enumerate_cells
>>> net, K = random_network([2, 5, 1], seed=0), box([(-1, 1), (-1, 1)])
>>> sk = propose_skeleton(net, K)
>>> sk.num_regions == len(enumerate_cells(net, K).cells), sk.vertices.shape[1]   # exact splitting
(True, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from exactregions.errors import ExactRegionsError
from exactregions.exact import _cdd
from exactregions.exact.domain import Domain, restrict_network
from exactregions.exact.network import Layer, Network
from exactregions.floating.tensors import TorchNet, threads_for

__all__ = ["Skeleton", "NotGeneric", "propose_skeleton"]

HASH_SEED = 0x5EED
"""Seed of the 64-bit column weights of the sign-vector hashes (same seed, same proposal)."""


class NotGeneric(ExactRegionsError):
    """The float skeleton cannot propose this arrangement (not generic at float precision, or
    a non-simple K with no simple perturbation found); the exact splitting engine is used
    instead."""


@dataclass(frozen=True)
class Skeleton:
    """A proposed complex: float vertices, the constraints each lies on, and the regions.

    ``columns[c]`` names constraint column c: ``("domain", f)`` or ``("neuron", l, i, j)``
    (neuron i of layer l at breakpoint j).  ``zeros[v]`` are the n columns vertex v lies on.
    Region r has the vertices ``region_vertices[region_ptr[r]:region_ptr[r + 1]]`` and the
    proposed pattern ``patterns[r]`` (pieces of all neurons, layer after layer).
    """

    vertices: np.ndarray
    zeros: np.ndarray
    region_ptr: np.ndarray
    region_vertices: np.ndarray
    patterns: np.ndarray
    columns: tuple[tuple, ...]
    widths: tuple[int, ...]
    edges: int

    @property
    def num_regions(self) -> int:
        return len(self.region_ptr) - 1

    def region(self, r: int) -> np.ndarray:
        """Vertex ids of region r."""
        return self.region_vertices[self.region_ptr[r]:self.region_ptr[r + 1]]

    def pattern(self, r: int) -> tuple[tuple[int, ...], ...]:
        """Region r's proposed pattern, one tuple of pieces per layer."""
        out, k = [], 0
        row = self.patterns[r].tolist()
        for w in self.widths:
            out.append(tuple(row[k:k + w]))
            k += w
        return tuple(out)


def _domain_skeleton(domain: Domain, device: torch.device
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None,
                                list]:
    """K's vertices (float), their sign vectors over K's facets (exact incidence), its edges,
    for a non-simple K the vertex each copy stands for (see :func:`_simple_copies`), and the
    exact coordinates of each."""
    n = domain.dim
    A = [[Fraction(x) for x in row] for row in domain.A]
    tight = [[sum((a * x for a, x in zip(row, v)), Fraction(0)) == bb
              for row, bb in zip(A, domain.b)] for v in domain.vertices]
    alias = None
    points = list(domain.vertices)
    if any(sum(t) != n for t in tight):
        tight, of = _simple_copies(A, [Fraction(x) for x in domain.b], tight, n)
        points = [domain.vertices[k] for k in of]
        first = {k: c for c, k in reversed(list(enumerate(of)))}
        alias = torch.tensor([first[k] for k in of], dtype=torch.int64, device=device)
    T = torch.tensor(tight, dtype=torch.bool)
    common = (T[:, None, :] & T[None, :, :]).sum(2)
    i, j = torch.nonzero(torch.triu(common == n - 1, diagonal=1), as_tuple=True)
    if n == 1:
        i, j = torch.tensor([0]), torch.tensor([1])
    V = torch.tensor([[float(x) for x in v] for v in points], dtype=torch.float64)
    S = (~T).to(torch.int8)
    return V.to(device), S.to(device), torch.stack([i, j], 1).to(device), alias, points


def _simple_copies(A: list[list[Fraction]], b: list[Fraction], tight: list[list[bool]], n: int
                   ) -> tuple[list[list[bool]], list[int]]:
    """A simple polytope with K's combinatorics in the limit, for a K whose vertices lie on
    more than n facets (an octahedron, a pyramid, a repeated row).

    K_δ = {x : a_i·x <= b_i + δ^(i+1)} is simple for small δ > 0 (the lexicographic
    perturbation of the simplex method), and each of its vertices tends to the vertex of K
    that lies on its n facets.  Returned: the tight rows of every vertex of K_δ (exactly n
    each) and the index of the vertex of K it stands for.  The skeleton runs on these copies,
    each at its vertex's own coordinates (δ = 0 in the floats): the copies of one vertex, and
    the copies of an edge or a point a cut makes on them, stand for one face of K's
    arrangement, merged in the regions' vertex lists.  Nothing here is trusted: the proposal
    is decided and certified exactly as any other.

    >>> pyramid = [[-1, 0, 0], [0, -1, 0], [1, 0, 1], [0, 1, 1], [0, 0, -1]]   # apex (0, 0, 1)
    >>> from exactregions.exact.domain import hpolytope
    >>> K = hpolytope(pyramid, [0, 0, 1, 1, 0])
    >>> tight = [[sum(a * x for a, x in zip(r, v)) == c for r, c in zip(K.A, K.b)]
    ...          for v in K.vertices]
    >>> t, of = _simple_copies([list(r) for r in K.A], list(K.b), tight, 3)
    >>> len(K.vertices), len(t), all(sum(r) == 3 for r in t), sorted(set(of)) == [0, 1, 2, 3, 4]
    (5, 6, True, True)
    """
    for k in (8, 24, 64):
        delta = Fraction(1, 2 ** k)
        verts = _cdd.vertices_of(A, [bb + delta ** (i + 1) for i, bb in enumerate(b)])[0]
        rows = [[sum((a * x for a, x in zip(row, w)), Fraction(0)) == bb + delta ** (i + 1)
                 for i, (row, bb) in enumerate(zip(A, b))] for w in verts]
        of = []
        for t in rows:
            on = [v for v, tv in enumerate(tight) if all(tv[i] for i, x in enumerate(t) if x)]
            if sum(t) != n or len(on) != 1:
                break
            of.append(on[0])
        else:
            if set(of) == set(range(len(tight))):
                return rows, of
    raise NotGeneric("K is not a simple polytope, and no small perturbation of it was found")


def _layer_values(tn: TorchNet, l: int, V: torch.Tensor) -> torch.Tensor:
    """z_i(x) - ξ_j at every vertex for every hyperplane of layer l: (m, width·T)."""
    h = V
    for k in range(l):
        h = tn.act(k, h @ tn.W[k].T + tn.b[k])
    z = h @ tn.W[l].T + tn.b[l]
    return (z[:, :, None] - tn.xi[l][None, None, :]).reshape(len(V), -1)


def propose_skeleton(net: Network, domain: Domain, device: str | torch.device = "cpu",
                     tol: float = 1e-11) -> Skeleton:
    """Propose the activation regions of ``net`` on ``domain`` by float edge subdivision.

    Parameters
    ----------
    net, domain
        As for :func:`exactregions.region_complex` (a slice domain restricts the net exactly).
    device
        Torch device of the kernels.
    tol
        A value within ``tol`` times the layer's scale of a breakpoint is a near-tie: the
        arrangement is reported non-generic instead of being guessed.

    Raises
    ------
    NotGeneric
        When the float skeleton cannot propose (see the module docstring).
    """
    device = torch.device(device)
    reduced = restrict_network(net, domain)
    try:
        tn = TorchNet.from_network(reduced, device=device)
    except OverflowError:
        raise NotGeneric("a weight is beyond the float range") from None
    with threads_for(tn), torch.no_grad():
        return _propose(reduced, domain, tn, device, tol)


def _propose(reduced: Network, domain: Domain, tn: TorchNet, device: torch.device,
             tol: float) -> Skeleton:
    n = domain.dim
    try:
        V, S, E, alias, points = _domain_skeleton(domain, device)
    except OverflowError:
        raise NotGeneric("K's vertices are beyond the float range") from None
    F = S.shape[1]
    columns: list[tuple] = [("domain", f) for f in range(F)]    # S's columns
    total = F + sum(layer.out_dim * len(layer.breakpoints) for layer in reduced.layers)
    gen = torch.Generator(device="cpu").manual_seed(HASH_SEED)
    R = torch.randint(-2 ** 62, 2 ** 62, (total,), generator=gen,
                      dtype=torch.int64).to(device)
    H = (S.to(torch.int64) * R[:F]).sum(1)
    corner_z: list[list[list[Fraction]]] | None = None
    # every neuron column, layer after layer: the column of S it reads, and the sign
    src: list[int] = []
    mult: list[int] = []
    col = F
    for l, layer in enumerate(reduced.layers):
        T = len(layer.breakpoints)
        if T == 0:
            continue
        D = _layer_values(tn, l, V)
        if not bool(torch.isfinite(D).all()):
            raise NotGeneric(f"layer {l}'s pre-activations overflow the float range")
        scale = float(D.abs().max()) if D.numel() else 1.0
        thresh = tol * max(scale, 1.0)
        constant, duplicate = _coincident_columns(layer, tn.W[l].cpu().numpy())
        base = len(src)
        for q in range(D.shape[1]):
            if q in duplicate:       # the hyperplane of an earlier column: no column of its own
                q0, sign = duplicate[q]
                src.append(src[base + q0])
                mult.append(mult[base + q0] * sign)
                continue
            src.append(col)
            mult.append(1)
            columns.append(("neuron", l, q // T, q % T))
            d = D[:, q]
            side = constant.get(q)
            on: torch.Tensor | None = None
            if side is None and bool((d.abs() <= thresh).any()):
                if corner_z is None:   # exact pre-activations at K's corners, once
                    corner_z = [reduced.preactivations(v) for v in points]
                side, on = _through_corners(corner_z, l, q, layer, d, alias, thresh,
                                            columns[col])
            if side is not None:     # z - ξ has one sign on int K (exactly known)
                S = torch.cat([S, torch.full((len(V), 1), side, dtype=torch.int8,
                                             device=device)], 1)
                H = H + side * R[col]
                col += 1
                continue
            if on is not None:       # through corners of K: those are on its + side
                d = d.clone()
                d[on] = 0.0
                D[on, q] = 0.0
                if alias is None:
                    alias = torch.arange(len(V), device=device)
            da, db = d[E[:, 0]], d[E[:, 1]]
            if on is None:
                s = torch.where(d > 0, 1, -1).to(torch.int8)
                cut = (da > 0) != (db > 0)
            else:                    # the corners on it, d = 0 exactly, on its + side
                s = torch.where(d >= 0, 1, -1).to(torch.int8)
                cut = (da >= 0) != (db >= 0)
            Ec = E[cut]
            k = len(Ec)
            m = len(V)
            S = torch.cat([S, s[:, None]], 1)
            H = H + s.to(torch.int64) * R[col]
            if k:
                a, b = Ec[:, 0], Ec[:, 1]
                t = (da[cut] / (da[cut] - db[cut]))[:, None]
                Vn = V[a] + t * (V[b] - V[a])
                Dn = D[a] + t * (D[b] - D[a])
                if on is not None:   # a cut at a corner is that corner, bit for bit
                    at_b = (db[cut] == 0)[:, None]
                    Vn = torch.where(at_b, V[b], Vn)
                    Dn = torch.where(at_b, D[b], Dn)
                esv = (S[a, :-1].to(torch.int16) + S[b, :-1].to(torch.int16)).sign().to(torch.int8)
                Sn = torch.cat([esv, torch.zeros(k, 1, dtype=torch.int8, device=device)], 1)
                Hn = (esv.to(torch.int64) * R[:col]).sum(1)
                new_ids = m + torch.arange(k, device=device)
                if alias is not None:
                    made = _cut_copies(alias[a], alias[b], new_ids)
                    if on is not None:   # cut at a corner of K: that corner itself
                        made = torch.where(da[cut] == 0, alias[a],
                                           torch.where(db[cut] == 0, alias[b], made))
                    alias = torch.cat([alias, made])
                new_edges = _face_edges(esv, Hn, R[:col], F, n, new_ids)
                V = torch.cat([V, Vn])
                D = torch.cat([D, Dn])
                S = torch.cat([S, Sn])
                H = torch.cat([H, Hn])
                E = torch.cat([E[~cut], torch.stack([a, new_ids], 1), torch.stack([b, new_ids], 1),
                               new_edges])
            col += 1
    full = None if src == list(range(F, col)) else (
        torch.tensor(src, dtype=torch.int64, device=device),
        torch.tensor(mult, dtype=torch.int64, device=device))
    return _regions(V, S, H, E, R, F, n, columns, reduced, alias, full)


def _coincident_columns(layer: Layer, weight: np.ndarray | None = None
                        ) -> tuple[dict[int, int], dict[int, tuple[int, int]]]:
    """The columns ``q = i·T + j`` of a layer whose hyperplane z_i = ξ_j is not a new one,
    found exactly from the layer's weights (z_i is the same function of the layer's input on
    all of K).

    * ``constant[q] = side``: neuron i has an all-zero weight row (a pruned neuron, or on a
      slice a neuron blind to its directions), so z_i ≡ b_i and z_i - ξ_j has one sign
      everywhere: +1 when b_i >= ξ_j (a tie is on the right piece, as in
      :meth:`~exactregions.exact.activation.Activation.piece`), -1 below;
    * ``duplicate[q] = (q0, sign)``: z_i - ξ_j = c (z_k - ξ_l) for an earlier column q0 = k·T + l
      of the layer and a constant c of that sign (a duplicated or rescaled neuron): the same
      hyperplane, the side given by q0's.

    ``weight``: the layer's weights in floats, if at hand (see :func:`_parallel_candidates`).

    >>> from exactregions.exact.network import Layer
    >>> from exactregions.exact.activation import Activation
    >>> from fractions import Fraction as F
    >>> rows = ((F(0), F(0)), (F(1), F(2)), (F(0), F(0)), (F(-2), F(-4)), (F(1), F(3)))
    >>> L = Layer(rows, (F(0), F(1), F(-1), F(-2), F(1)), Activation.relu())
    >>> _coincident_columns(L)     # 0 at its breakpoint, 2 below it; 3 is -2 times 1
    ({0: 1, 2: -1}, {3: (1, -1)})
    """
    T = len(layer.breakpoints)
    constant: dict[int, int] = {}
    duplicate: dict[int, tuple[int, int]] = {}
    seen: dict[tuple, tuple[int, int]] = {}
    candidates = _parallel_candidates(layer, weight)
    for i, (row, b) in enumerate(zip(layer.weight, layer.bias)):
        lead = next((x for x in row if x), None)
        if lead is not None and i not in candidates:
            continue
        for j, xi in enumerate(layer.breakpoints):
            q = i * T + j
            if lead is None:
                constant[q] = 1 if b >= xi else -1
                continue
            key = tuple(x / lead for x in row) + ((b - xi) / lead,)
            sign = 1 if lead > 0 else -1
            if key in seen:
                q0, s0 = seen[key]
                duplicate[q] = (q0, sign * s0)
            else:
                seen[key] = (q, sign)
    return constant, duplicate


def _parallel_candidates(layer: Layer, W: np.ndarray | None = None) -> set[int]:
    """The neurons whose weight row may be a multiple of another's: the rows divided by their
    first non-zero entry, in floats, equal to another's (a guide only: exactly proportional
    rows of floats give equal correctly rounded quotients; a missed pair is found
    non-generic later, never taken for a new hyperplane; every candidate is compared
    exactly)."""
    if W is None:
        W = np.array([[float(x) for x in row] for row in layer.weight], dtype=np.float64)
    nz = W != 0
    has = nz.any(1)
    lead = W[np.arange(len(W)), nz.argmax(1)]
    with np.errstate(over="ignore", invalid="ignore"):     # a guide: inf and nan may be
        U = W[has] / lead[has, None] + 0.0                # + 0.0: -0.0 and 0.0 alike
    _, inverse, counts = np.unique(U, axis=0, return_inverse=True, return_counts=True)
    return set(np.flatnonzero(has)[counts[inverse.reshape(-1)] > 1].tolist())


def _through_corners(corner_z: list[list[list[Fraction]]], l: int, q: int, layer: Layer,
                     d: torch.Tensor, alias: torch.Tensor | None, thresh: float, label: tuple
                     ) -> tuple[int | None, torch.Tensor | None]:
    """A hyperplane z_i = ξ_j of layer l with near-ties, read from the neuron's exact
    pre-activations ``corner_z[corner][l][i]`` at K's corners (the net is continuous: one value
    at a corner, whatever the region).  ``(side, None)`` when it only touches K — every corner
    on one side or on it — for the first layer only (z - ξ is affine on K there, so it has that
    sign on int K, as a constant neuron); ``(None, on)`` when every near-tie is exactly a
    corner, or a point merged with one by an earlier hyperplane through it: they are put on the
    + side — the perturbation z - ξ + ε, each later hyperplane's ε far larger than the earlier
    ones' — and the points cut next to them are merged with them (a deeper hyperplane that only
    touches K at a corner leaves slivers, which are dropped); NotGeneric otherwise (a near-tie
    that is not exact, or not at a corner)."""
    i, j = divmod(q, len(layer.breakpoints))
    xi = layer.breakpoints[j]
    signs = [(z[l][i] > xi) - (z[l][i] < xi) for z in corner_z]
    if l == 0 and (min(signs) >= 0 or max(signs) <= 0):
        return (1 if max(signs) > 0 else -1), None
    near = torch.nonzero(d.abs() <= thresh, as_tuple=True)[0]
    corner = (near if alias is None else alias[near]).tolist()
    if max(corner) >= len(corner_z) or any(signs[k] for k in corner):
        raise NotGeneric(f"a vertex is within {thresh:.1e} of the hyperplane of {label}")
    return None, near


def _cut_copies(a: torch.Tensor, b: torch.Tensor, new_ids: torch.Tensor) -> torch.Tensor:
    """For the points cut on edges with the merged end points ``(a, b)``: the first new point
    cut on the same merged edge (copies of one edge of a non-simple K are cut at one point).

    >>> _cut_copies(torch.tensor([0, 3, 0]), torch.tensor([3, 5, 3]), torch.tensor([7, 8, 9]))
    tensor([7, 8, 7])
    """
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    _, inv = torch.unique(lo * (int(new_ids.max()) + 1) + hi, return_inverse=True)
    first = torch.full((int(inv.max()) + 1,), len(inv), dtype=torch.int64, device=a.device)
    first = first.scatter_reduce(0, inv, torch.arange(len(inv), device=a.device), "amin")
    return new_ids[first[inv]]


def _face_edges(esv: torch.Tensor, Hn: torch.Tensor, R: torch.Tensor, F: int, n: int,
                new_ids: torch.Tensor) -> torch.Tensor:
    """New edges: pairs of cut edges on one 2-face (equal face hashes)."""
    if n == 1:
        return torch.zeros(0, 2, dtype=torch.int64, device=esv.device)
    k = len(esv)
    zr, zc = torch.nonzero(esv == 0, as_tuple=True)
    if len(zr) != k * (n - 1):
        raise NotGeneric("a cut edge lies on other than n - 1 constraints")
    zc = zc.reshape(k, n - 1)
    owner = torch.arange(k, device=esv.device)[:, None].expand(k, n - 1)
    keys = torch.cat([Hn[:, None] + R[zc], Hn[:, None] - R[zc]])      # (2k, n-1)
    owners = torch.cat([owner, owner])
    inside = torch.cat([torch.ones_like(zc, dtype=torch.bool), zc >= F])  # - on K's facet: out
    keys, owners = keys[inside], owners[inside]
    order = torch.argsort(keys)
    keys, owners = keys[order], owners[order]
    same = keys[1:] == keys[:-1]
    if bool((same[1:] & same[:-1]).any()):
        raise NotGeneric("a 2-face is cut by more than two edges")
    pair = torch.nonzero(same, as_tuple=True)[0]
    matched = torch.zeros(len(keys), dtype=torch.bool, device=esv.device)
    matched[pair] = True
    matched[pair + 1] = True
    if not bool(matched.all()):
        raise NotGeneric("a 2-face is cut by one edge only")
    return torch.stack([new_ids[owners[pair]], new_ids[owners[pair + 1]]], 1)


def _regions(V: torch.Tensor, S: torch.Tensor, H: torch.Tensor, E: torch.Tensor,
             R: torch.Tensor, F: int, n: int, columns: list[tuple], reduced: Network,
             alias: torch.Tensor | None, full: tuple[torch.Tensor, torch.Tensor] | None
             ) -> Skeleton:
    """Every region around every vertex, grouped by the hash of its sign vector (the copies
    of one vertex of a non-simple K, ``alias``, merged into one); ``full``: the column of S
    and the sign of every neuron column (a duplicated hyperplane reads its first column), or
    ``None`` when every neuron column is a column of S."""
    m = len(V)
    zr, zc = torch.nonzero(S == 0, as_tuple=True)
    if len(zr) != m * n:
        raise NotGeneric("a vertex lies on more than n constraints")
    Z = zc.reshape(m, n)
    signs = torch.tensor([[1 if (c >> k) & 1 else -1 for k in range(n)] for c in range(2 ** n)],
                         dtype=torch.int64, device=V.device)              # (2^n, n)
    keys = H[:, None] + (signs[None, :, :] * R[Z][:, None, :]).sum(2)      # (m, 2^n)
    ok = ~((signs[None, :, :] < 0) & (Z[:, None, :] < F)).any(2)          # not outside K
    vid = torch.arange(m, device=V.device)[:, None].expand(m, 2 ** n)
    combo = torch.arange(2 ** n, device=V.device)[None, :].expand(m, 2 ** n)
    keys, vid, combo = keys[ok], vid[ok], combo[ok]
    uniq, inverse = torch.unique(keys, return_inverse=True)
    order = torch.argsort(inverse, stable=True)
    counts = torch.bincount(inverse, minlength=len(uniq))
    ptr = torch.zeros(len(uniq) + 1, dtype=torch.int64, device=V.device)
    ptr[1:] = torch.cumsum(counts, 0)
    if bool((counts < n + 1).any()):
        raise NotGeneric("a proposed region has fewer than n + 1 vertices")
    # one representative (vertex, combo) per region: its sign vector gives the pattern
    first = order[ptr[:-1]]
    rep = S[vid[first]].clone().to(torch.int64)
    rz = Z[vid[first]]
    rep.scatter_(1, rz, signs[combo[first]])
    widths = tuple(layer.out_dim for layer in reduced.layers)
    # every neuron column, duplicates included
    rep = rep[:, F:] if full is None else rep[:, full[0]] * full[1]
    pieces = []
    c = 0
    for l, layer in enumerate(reduced.layers):
        T = len(layer.breakpoints)
        if T == 0:
            pieces.append(torch.zeros(len(uniq), layer.out_dim, dtype=torch.int64,
                                      device=V.device))
            continue
        block = rep[:, c:c + layer.out_dim * T].reshape(len(uniq), layer.out_dim, T)
        pieces.append((block > 0).sum(2))
        c += layer.out_dim * T
    patterns = torch.cat(pieces, 1).to(torch.int16)
    # regions in a canonical order: by pattern
    pat_np = patterns.cpu().numpy()
    ro = np.lexsort(pat_np.T[::-1]) if pat_np.shape[1] else np.arange(len(pat_np))
    rank = np.empty_like(ro)
    rank[ro] = np.arange(len(ro))
    new_key = rank[inverse.cpu().numpy()]
    o = np.argsort(new_key, kind="stable")
    new_verts = vid.cpu().numpy()[o]
    counts_np = np.bincount(new_key, minlength=len(ro))
    if alias is not None:     # each region's copies of a vertex: one, the first
        owner = new_key[o]
        merged = np.unique(owner * len(V) + alias.cpu().numpy()[new_verts])
        owner, new_verts = merged // len(V), merged % len(V)
        counts_np = np.bincount(owner, minlength=len(ro))
        # a region whose copies merge into fewer than n + 1 points has no volume: the sliver
        # between a corner of K and a hyperplane through it, perturbed off it (dropped; the
        # certificates would miss nothing else: volumes must still add up to vol(K))
        keep = counts_np >= n + 1
        if not bool(keep.all()):
            kept = np.flatnonzero(keep)
            renum = np.full(len(ro), -1)
            renum[kept] = np.arange(len(kept))
            sel = keep[owner]
            owner, new_verts = renum[owner[sel]], new_verts[sel]
            ro = ro[kept]
            counts_np = counts_np[kept]
    new_ptr = np.zeros(len(ro) + 1, dtype=np.int64)
    new_ptr[1:] = np.cumsum(counts_np)
    return Skeleton(V.cpu().numpy(), Z.cpu().numpy(), new_ptr, new_verts, pat_np[ro],
                    tuple(columns), widths, int(len(E)))

