"""Certificates that every exact result carries; a failed one raises :class:`CertificateError`.

(a) the regions' exact volumes add up to vol(K); (b) patterns are distinct; (c) every witness
satisfies its region's inequalities strictly and an independent forward pass at it gives the
region's pattern; (d) the Euler characteristic of the complex inside K is 1; (e) every vertex
of every region lies on the region's side of every neuron's breakpoints (so each region is
inside the closure of its activation region — with (a) and (b) this proves the partition);
(f) cddlib's redundancy removal keeps exactly the facet rows found from incidence.

Floats decide nothing here on their own.  (c)'s insideness and (e) settle a sign in floats only
where an enclosure rounded outward at every step lies on one side
(:mod:`exactregions.exact.enclosure` — not the decision's a-priori bound of
:mod:`exactregions.exact.floatfilter`, so a wrong bound there cannot pass here); (c)'s forward
pass propagates a rounding bound of its own through the layers.  Everything else is redone in
rationals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np
from gmpy2 import mpq

from exactregions.errors import CertificateError
from exactregions.exact import _cdd
from exactregions.exact.enclosure import Interval, dot, enclose, enclose_quotients, enclose_rows
from exactregions.exact.floatfilter import TINY, U, gamma, safe_float_matrix, safe_floats
from exactregions.exact.rational import describe_rational, mpq_to_fraction

if TYPE_CHECKING:
    from exactregions.exact.complex import RegionComplex
    from exactregions.exact.enumerate import CellArrangement

__all__ = ["certify_complex", "CDD_CHECK_LIMIT"]

CDD_CHECK_LIMIT = 500
WITNESS_CHUNK = 1 << 16   # entries whose float values a certificate computes at once
"""Certificate (f) runs cddlib on every region up to this many regions, and on this many regions
spread evenly over the rest beyond (cddlib costs 0.3-4 ms a region); the report says which."""

_U = U


def _gamma(k: int) -> float:
    return 2.0 * gamma(k)


@np.errstate(over="ignore", invalid="ignore")     # an overflow or NaN marks a point unsure
def _forward_patterns_certified(net, X: list[tuple[mpq, ...]]
                                ) -> Iterable[tuple[tuple[int, ...], ...]]:
    """Activation patterns at the points X: batched float64 with a propagated rigorous error
    bound; points where any neuron is within the bound of a breakpoint are redone exactly."""
    def exact_all() -> list[tuple[tuple[int, ...], ...]]:
        return [net.forward_with_pattern([mpq_to_fraction(x) for x in p])[1] for p in X]

    # the rounding model needs safe copies of every input (floatfilter); else all is exact
    Xf = safe_float_matrix(X)
    if Xf is None:
        return exact_all()
    h = Xf
    err = np.abs(Xf) * _U
    pats: list[np.ndarray] = []
    unsure = np.zeros(len(X), bool)
    for layer in net.layers:
        W = safe_float_matrix(layer.weight)
        b = safe_floats(layer.bias)
        acts = layer.activations
        bps = safe_floats(layer.breakpoints)
        slopes = safe_float_matrix([a.slopes for a in acts])     # (width, T + 1)
        offs = safe_float_matrix([a.offsets for a in acts])
        if W is None or b is None or bps is None or slopes is None or offs is None:
            return exact_all()
        cols = np.arange(len(acts))
        k = layer.in_dim + 3
        z = h @ W.T + b
        mag = np.abs(h) @ np.abs(W).T + np.abs(b)
        # TINY covers products that underflow (an absolute 2^-1075 each)
        ez = err @ np.abs(W).T + _gamma(k) * mag * 1.01 + TINY
        if len(bps):
            piece = (z[:, :, None] >= bps[None, None, :]).sum(axis=2)
            margin = np.abs(z[:, :, None] - bps[None, None, :]).min(axis=2)
            unsure |= ~(margin > ez * 1.01).all(axis=1)   # NaN or inf never counts as clear
        else:
            piece = np.zeros(z.shape, int)
        unsure |= ~np.isfinite(ez).all(axis=1)
        pats.append(piece)
        q_on, p_on = slopes[cols, piece], offs[cols, piece]
        h = q_on * z + p_on
        lip = float(np.abs(slopes).max())
        err = lip * ez + _gamma(3) * (np.abs(h) + np.abs(p_on)) + TINY

    def each() -> Iterator[tuple[tuple[int, ...], ...]]:
        # one point's pattern at a time: all of them as tuples held ~0.1 GB on
        # 3-24-24-24-1 while the vertex sides were checked
        for r in range(len(X)):
            if unsure[r]:
                yield net.forward_with_pattern([mpq_to_fraction(x) for x in X[r]])[1]
            else:
                yield tuple(tuple(p[r].tolist()) for p in pats)
    return each()


def certify_complex(rc: "RegionComplex", arr: "CellArrangement") -> dict:
    """Run every certificate; return the report, or raise :class:`CertificateError`.

    Raises
    ------
    CertificateError
        Naming the first certificate that failed.
    """
    regions = rc.activation_regions
    if len(arr.cells) != len(regions):   # e.g. an arrangement emptied too early (consumed)
        raise CertificateError(f"{len(regions)} regions but {len(arr.cells)} cells in the "
                               f"arrangement")
    # (a) volumes
    total = mpq_to_fraction(sum((mpq(r.volume) for r in regions), mpq(0)))  # gmpy2: fast gcds
    dom = rc.domain.volume()
    if total != dom:
        raise CertificateError(f"volumes do not add up: sum {describe_rational(total)} != vol(K) "
                               f"{describe_rational(dom)}")
    if any(r.volume <= 0 for r in regions):
        raise CertificateError("a region has non-positive volume")
    # (b) distinct patterns
    if len({r.pattern for r in regions}) != len(regions):
        raise CertificateError("two regions share an activation pattern")
    # (c) witnesses: strictly inside, and the independent forward pass gives the pattern
    W = [tuple(mpq(x) for x in r.witness) for r in regions]
    _check_witnesses(arr, W)
    pats = _forward_patterns_certified(arr.reduced, W)
    for r, p in zip(regions, pats):
        if p != r.pattern:
            raise CertificateError(f"region {r.index}: the forward pass at its witness gives "
                                   f"another pattern")
    # (d) Euler characteristic of the complex inside K
    counts: dict[int, int] = {}
    for f in rc.faces:
        counts[f.dim] = counts.get(f.dim, 0) + 1
    chi = sum((-1) ** d * c for d, c in counts.items())
    if chi != 1:
        raise CertificateError(f"Euler characteristic {chi} != 1 (face counts {counts})")
    # (e) every vertex on the right side of every neuron's breakpoints, under the region's maps
    _check_vertex_sides(arr)
    # (f) cddlib redundancy removal agrees with the incidence facets
    step = max(1, -(-len(regions) // CDD_CHECK_LIMIT))
    cdd_checked = len(range(0, len(regions), step))
    for r, cell in list(zip(regions, arr.cells))[::step]:
        A = [[mpq_to_fraction(x) for x in arr.table[c].a] for c in cell.cons]
        bb = [mpq_to_fraction(arr.table[c].b) for c in cell.cons]
        kept, lin = _cdd.canonical_rows(A, bb)
        if lin:
            raise CertificateError(f"region {r.index}: cddlib finds {len(lin)} of its rows tight "
                                   f"on all of it (not full-dimensional)")
        if len({_key(A[i], bb[i]) for i in kept}) != len(r.A):
            raise CertificateError(f"region {r.index}: cddlib keeps {len(kept)} rows, "
                                   f"incidence found {len(r.A)} facets")
    return {
        "ok": True,
        "volume_sum": total,
        "domain_volume": dom,
        "patterns_distinct": True,
        "witnesses_interior": True,
        "euler_characteristic": chi,
        "face_counts": {str(d): c for d, c in sorted(counts.items())},
        "vertex_sides": True,
        "cdd_redundancy": f"{cdd_checked} of {len(regions)} regions",
    }


def _check_witnesses(arr: "CellArrangement", W: list) -> None:
    """Every constraint a cell carries (its facets and the redundant ones) holds strictly at its
    witness.  Float enclosures rounded outward (:mod:`exactregions.exact.enclosure`, not the
    decision's filter) settle the clear margins, all cells at once; the rest is exact."""
    table = arr.table
    n = arr.domain.dim
    cells = arr.cells
    rows = enclose_rows([(*con.a, con.b) for con in table], n + 1)
    wits = enclose_rows(W, n)
    counts = [len(cell.cons) for cell in cells]
    pcell = np.repeat(np.arange(len(cells)), counts)
    pcon = np.fromiter((c for cell in cells for c in cell.cons), np.int64, sum(counts))
    # slack b − a·w of every (cell, constraint) pair, in chunks that bound the temporaries
    clear = np.zeros(len(pcon), bool)
    for lo in range(0, len(pcon), WITNESS_CHUNK):
        R = rows[pcon[lo:lo + WITNESS_CHUNK]]
        slack = R[:, n] - dot(R[:, :n], wits[pcell[lo:lo + WITNESS_CHUNK]])
        clear[lo:lo + WITNESS_CHUNK] = slack.lo > 0
    for k in np.flatnonzero(~clear).tolist():
        ci, con = int(pcell[k]), table[pcon[k]]
        if not sum((x * y for x, y in zip(con.a, W[ci])), mpq(0)) < con.b:
            raise CertificateError(f"witness of region {ci} is not strictly inside")


def _key(a, b) -> tuple:
    for v in a:
        if v != 0:
            return tuple(x / abs(v) for x in a) + (b / abs(v),)
    return (b,)


def _settled_vertex_sides(arr: "CellArrangement"
                          ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """For each layer with breakpoints, ``(l, cell_of, start, clear)``: row r stands for vertex
    ``r - start[cell_of[r]]`` of cell ``cell_of[r]``, and ``clear[r, i]`` says that the float
    enclosures (or the vertex's exact incidence with one of the piece's bounding hyperplanes)
    prove it inside the closed piece of neuron (l, i) that its cell's pattern names.  Every
    entry not clear is for the caller to decide exactly."""
    net = arr.reduced
    n = arr.domain.dim
    cells = arr.cells
    if not cells:
        return
    counts = np.array([len(c.verts) for c in cells], np.int64)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cell_of = np.repeat(np.arange(len(cells)), counts)
    # float copies of the distinct vertices (cells share their vertices' very tuples), gathered
    # for every (cell, vertex) row
    vindex: dict[int, int] = {}
    distinct = []
    for c in cells:
        for v in c.verts:
            if id(v) not in vindex:
                vindex[id(v)] = len(distinct)
                distinct.append(v)
    VE = enclose_rows(distinct, n)[np.fromiter((vindex[id(v)] for c in cells for v in c.verts),
                                               np.int64, int(counts.sum()))]
    # (row, layer, neuron, breakpoint) for every neuron constraint tight at a cell's vertex
    lab_l = np.full(len(arr.table), -1, np.int64)
    lab_i = np.zeros(len(arr.table), np.int64)
    lab_j = np.zeros(len(arr.table), np.int64)
    for c, con in enumerate(arr.table):
        if con.label[0] == "neuron":
            lab_l[c], lab_i[c], lab_j[c] = con.label[1], con.label[2], con.label[3]
    tights = [t for cell in cells for t in cell.tight]
    sizes = np.fromiter(map(len, tights), np.int64, len(tights))
    prow = np.repeat(np.arange(len(tights)), sizes)
    pcon = np.fromiter((c for t in tights for c in t), np.int64, int(sizes.sum()))
    for l, layer in enumerate(net.layers):
        bps = layer.breakpoints
        if not bps:
            continue
        # the layer's distinct maps (cells of one pattern prefix share one object)
        index: dict[int, int] = {}
        maps = []
        cmap = np.empty(len(cells), np.int64)
        for ci, cell in enumerate(cells):
            Z = cell.maps[l]
            k = index.get(id(Z))
            if k is None:
                k = index[id(Z)] = len(maps)
                maps.append(Z)
            cmap[ci] = k
        width = layer.out_dim
        # the pattern by cell, read for a (cell, vertex) row through cell_of (a table by row
        # held rows x width integers: 163 MB on 3-24-24-24-1's 850,000 rows)
        P = np.array([cell.pattern[l] for cell in cells], np.int64).reshape(len(cells), width)
        clear = np.zeros((len(cell_of), width), bool)
        xi = enclose(bps)
        T = len(bps)
        which = cmap[cell_of]
        step = max(1, WITNESS_CHUNK // max(1, width))   # chunks bound the temporaries
        for a in range(0, len(cell_of), step):
            e = min(len(cell_of), a + step)
            # the chunk's distinct maps, each enclosed in one conversion (the cells come in
            # pattern order, so a map is rarely enclosed in two chunks; all of a layer's at
            # once held ~0.2 GB on 3-24-24-24-1)
            used, local = np.unique(which[a:e], return_inverse=True)
            stack = enclose_quotients([[x for z in maps[k].ints for x in z] for k in used],
                                      [maps[k].D for k in used], width * (n + 1))
            G = Interval(stack.lo.reshape(len(used), width, n + 1),
                         stack.hi.reshape(len(used), width, n + 1))[local]   # (rows, width, n+1)
            vals = dot(VE[a:e][:, None, :], G[:, :, :n]) + G[:, :, n]   # (rows, width)
            j = P[cell_of[a:e]]
            # z ≥ ξ_{j-1} (none for the first piece) and z ≤ ξ_j (none for the last)
            above = (j == 0) | vals.ge(xi[np.maximum(j - 1, 0)])
            below = (j == T) | vals.le(xi[np.minimum(j, T - 1)])
            clear[a:e] = above & below
        # on the neuron's own hyperplane ξ_{j-1} or ξ_j: exactly at the piece's boundary
        own = lab_l[pcon] == l
        r_own, i_own, j_own = prow[own], lab_i[pcon[own]], lab_j[pcon[own]]
        j_pat = P[cell_of[r_own], i_own]
        at_piece = (j_own == j_pat - 1) | (j_own == j_pat)
        clear[r_own[at_piece], i_own[at_piece]] = True
        yield l, cell_of, start, clear


def _check_vertex_sides(arr: "CellArrangement") -> None:
    """Every vertex of every cell inside the closed pieces of its pattern, for every neuron.

    All cells at once, layer by layer: float enclosures rounded outward
    (:mod:`exactregions.exact.enclosure`: no a-priori bound, none of the decision's filter)
    settle the clear cases (each vertex against its own cell's map); a vertex on one of the
    neuron's own bounding hyperplanes (exact incidence from the enumeration) sits exactly at
    ξ_{j-1} or ξ_j, inside the closed piece; every other entry is recomputed exactly.
    """
    net = arr.reduced
    cells = arr.cells
    for l, cell_of, start, clear in _settled_vertex_sides(arr):
        bps = net.layers[l].breakpoints
        for r, i in np.argwhere(~clear).tolist():
            ci = int(cell_of[r])
            cell = cells[ci]
            j = cell.pattern[l][i]
            z = cell.maps[l][i]
            ex = sum((p * q for p, q in zip(z[:-1], cell.verts[r - start[ci]])), z[-1])
            if (j > 0 and ex < bps[j - 1]) or (j < len(bps) and ex > bps[j]):
                raise CertificateError(
                    f"region {ci}: a vertex lies on the wrong side of neuron ({l}, {i})")
