"""Certificates that every exact result carries; a failed one raises :class:`CertificateError`.

(a) the regions' exact volumes add up to vol(K); (b) patterns are distinct; (c) every witness
satisfies its region's inequalities strictly and an independent forward pass at it gives the
region's pattern; (d) the Euler characteristic of the complex inside K is 1; (e) every vertex
of every region lies on the region's side of every neuron's breakpoints (so each region is
inside the closure of its activation region — with (a) and (b) this proves the partition);
(f) cddlib's redundancy removal keeps exactly the facet rows found from incidence.

Floats decide nothing here on their own: a float forward pass with a rigorous rounding bound
settles a sign only when the margin exceeds the bound; everything else is redone in rationals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from gmpy2 import mpq

from exactregions.errors import CertificateError
from exactregions.exact import _cdd
from exactregions.exact.floatfilter import (TINY, U, affine_values, error_bound, gamma,
                                            safe_float_matrix, safe_floats)
from exactregions.exact.rational import describe_rational, mpq_to_fraction

if TYPE_CHECKING:
    from exactregions.exact.complex import RegionComplex
    from exactregions.exact.enumerate import CellArrangement

__all__ = ["certify_complex", "CDD_CHECK_LIMIT"]

CDD_CHECK_LIMIT = 500
"""Certificate (f) runs cddlib on every region up to this many regions, and on this many regions
spread evenly over the rest beyond (cddlib costs 0.3-4 ms a region); the report says which."""

_U = U


def _gamma(k: int) -> float:
    return 2.0 * gamma(k)


def _forward_patterns_certified(net, X: list[tuple[mpq, ...]]) -> list[tuple[tuple[int, ...], ...]]:
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
    out = []
    for r in range(len(X)):
        if unsure[r]:
            out.append(net.forward_with_pattern([mpq_to_fraction(x) for x in X[r]])[1])
        else:
            out.append(tuple(tuple(int(j) for j in p[r]) for p in pats))
    return out


def certify_complex(rc: "RegionComplex", arr: "CellArrangement") -> dict:
    """Run every certificate; return the report, or raise :class:`CertificateError`.

    Raises
    ------
    CertificateError
        Naming the first certificate that failed.
    """
    regions = rc.activation_regions
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
        if lin or len({_key(A[i], bb[i]) for i in kept}) != len(r.A):
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
    witness.  float64 with floatfilter's rigorous bound settles the clear margins; the rest
    is exact."""
    table = arr.table
    n = arr.domain.dim
    frow: dict[int, tuple[np.ndarray, float] | None] = {}
    for ci, (cell, w) in enumerate(zip(arr.cells, W)):
        rows = []
        for c in cell.cons:
            if c not in frow:
                con = table[c]
                fa = safe_floats(con.a)
                fb = safe_floats([con.b])
                frow[c] = None if fa is None or fb is None else (fa, float(fb[0]))
            rows.append(frow[c])
        wf = safe_floats(w)
        if wf is None or any(r is None for r in rows):
            unclear = range(len(cell.cons))  # no rigorous float bound: all exact
        else:
            # slack b − a·w: the affine rows (−a, b) at w, with floatfilter's bound
            rowsf = np.array([np.append(-r[0], r[1]) for r in rows])
            slack, mags = affine_values(rowsf, wf[None, :])
            unclear = np.nonzero(~(slack[0] > error_bound(mags[0], n)))[0]
        for i in unclear:
            con = table[cell.cons[i]]
            if not sum((x * y for x, y in zip(con.a, w)), mpq(0)) < con.b:
                raise CertificateError(f"witness of region {ci} is not strictly inside")


def _key(a, b) -> tuple:
    for v in a:
        if v != 0:
            return tuple(x / abs(v) for x in a) + (b / abs(v),)
    return (b,)


def _check_vertex_sides(arr: "CellArrangement") -> None:
    """Every vertex of every cell inside the closed pieces of its pattern, for every neuron.

    Float64 with a rigorous rounding bound decides the clear cases; every entry within the bound
    (the vertices on a neuron's own hyperplane among them) is recomputed exactly.
    """
    net = arr.reduced
    n = arr.domain.dim
    fcache: dict[int, np.ndarray | None] = {}
    layer_bps = []
    for layer in net.layers:
        bf = safe_floats(layer.breakpoints)
        if bf is None:
            layer_bps.append(None)
            continue
        bps = bf.tolist()
        lo = np.array([-np.inf] + bps)
        hi = np.array(bps + [np.inf])
        layer_bps.append((lo, hi))
    labels = [con.label for con in arr.table]
    for ci, cell in enumerate(arr.cells):
        V = cell.verts
        VF = safe_float_matrix(V)
        for l, Z in enumerate(cell.maps):
            bps = net.layers[l].breakpoints
            if not bps:
                continue
            if id(Z) not in fcache:
                fcache[id(Z)] = safe_float_matrix(Z)
            Zf = fcache[id(Z)]
            if VF is None or Zf is None or layer_bps[l] is None:
                # no rigorous float bound for these magnitudes: every entry exactly
                clear = np.zeros((len(V), len(Z)), bool)
            else:
                vals, mag = affine_values(Zf, VF)
                pieces = np.array(cell.pattern[l])
                lo, hi = layer_bps[l]
                lo_p, hi_p = lo[pieces], hi[pieces]
                bound = error_bound(mag, n, np.maximum(np.abs(np.where(np.isfinite(lo_p), lo_p, 0)),
                                                       np.abs(np.where(np.isfinite(hi_p), hi_p, 0))))
                clear = ((vals - lo_p) > bound) & ((hi_p - vals) > bound)
            if clear.all():
                continue
            for vi, i in zip(*np.nonzero(~clear)):
                j = cell.pattern[l][i]
                # a vertex on one of this neuron's own bounding hyperplanes (exact incidence from
                # the enumeration) sits exactly at ξ_{j-1} or ξ_j: inside the closed piece
                if any(labels[c][0] == "neuron" and labels[c][1] == l and labels[c][2] == i
                       and labels[c][3] in (j - 1, j) for c in cell.tight[vi]):
                    continue
                z = Z[i]
                ex = sum((p * q for p, q in zip(z[:-1], V[vi])), z[-1])
                if (j > 0 and ex < bps[j - 1]) or (j < len(bps) and ex > bps[j]):
                    raise CertificateError(
                        f"region {ci}: a vertex lies on the wrong side of neuron ({l}, {i})")
