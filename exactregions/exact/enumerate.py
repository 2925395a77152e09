"""Exact enumeration of the activation regions of a PWL net inside a domain K.

The paper's method (§3.3), made exact: start from K as one cell; layer by layer, compute on each
cell the exact affine pre-activation of every neuron of the layer and split the cell by every
hyperplane z(x) = ξ that cuts its interior.  Sign tests are exact ``mpq`` dot products at
vertices, so nothing is decided by a tolerance; degenerate nets (coincident hyperplanes, zero
rows, dead layers) need no special case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from gmpy2 import mpq

from exactregions.errors import InvalidDomainError, NotExactError
from exactregions.exact._runtime import paused_gc
from exactregions.exact.affinemaps import AffineMap
from exactregions.exact.domain import Domain, restrict_network
from exactregions.exact.floatfilter import (affine_values, error_bound, safe_float_matrix,
                                            safe_floats)
from exactregions.exact.network import Network
from exactregions.exact.polytope import ZERO, Cell, Constraint

__all__ = ["CellArrangement", "enumerate_cells", "canonical_order"]


def _pieces_at_centroid(act, bps: list[mpq], Z: list[list[mpq]], Zf: np.ndarray | None,
                        cell: Cell) -> tuple[int, ...]:
    """The piece of every neuron at the cell's centroid.

    Floats decide only with a margin above the rounding bound of :mod:`floatfilter` (valid
    because ``Zf`` and the centroid's copy come from :func:`safe_floats`); otherwise, and for
    every neuron when a copy is unsafe, the piece is computed exactly."""
    if not bps:
        return (0,) * len(Z)
    w = cell.centroid()
    wf = safe_floats(w) if Zf is not None else None
    bpf = safe_floats(bps) if wf is not None else None
    if bpf is None:
        return tuple(act.piece(sum((x * y for x, y in zip(z[:-1], w)), z[-1])) for z in Z)
    zf, mag = affine_values(Zf, wf[None, :])
    zf, mag = zf[0], mag[0]
    bound = error_bound(mag, len(w), float(np.abs(bpf).max()))
    margin = np.abs(zf[:, None] - bpf[None, :]).min(axis=1)
    pieces = (zf[:, None] > bpf[None, :]).sum(axis=1)
    out = pieces.tolist()
    for i in np.flatnonzero(~(margin > bound)):
        z = Z[i]
        out[i] = act.piece(sum((x * y for x, y in zip(z[:-1], w)), z[-1]))
    return tuple(out)


def _require_exact(net: object, domain: object) -> None:
    """The exact API takes exact values only: a torch module, a tensor or an array is refused
    with the converter to use."""
    if not isinstance(net, Network):
        kind = type(net).__name__
        hint = ("exactregions.floating.torch_io.network_from_torch(model) (exact binary values "
                "of its float weights)" if hasattr(net, "state_dict") or hasattr(net, "dtype")
                else "exactregions.load_network(path) or exactregions.network_from_dict(...)")
        raise NotExactError(f"the exact API takes an exactregions Network, not a {kind}; "
                            f"convert with {hint}")
    if not isinstance(domain, Domain):
        raise NotExactError(f"the domain must be an exactregions Domain (box, hpolytope, segment, "
                            f"plane), not a {type(domain).__name__}")


@dataclass(slots=True)
class CellArrangement:
    """The raw result of enumeration: final cells, the shared constraint table, the nets.

    ``maps[l]`` of a cell is the exact affine map of layer l's pre-activations on that cell, an
    :class:`~exactregions.exact.affinemaps.AffineMap` (integer rows over one denominator; read
    as rows ``[a_1, …, a_n, c]`` of rationals meaning z(u) = a·u + c in domain coordinates).
    """

    net: Network
    reduced: Network
    domain: Domain
    cells: list[Cell]
    table: list[Constraint]

    def output_map(self, cell: Cell) -> list[list[mpq]]:
        """Exact affine map of the outputs (post-activations of the last layer) on ``cell``."""
        return post_activation_map(self.reduced, len(self.reduced.layers) - 1,
                                   cell.maps[-1], cell.pattern[-1])


def post_activation_map(net: Network, layer: int, Z: Sequence[list[mpq]],
                        pieces: tuple[int, ...]) -> list[list[mpq]]:
    """Rows of φ applied piecewise: h_i = q_j z_i + p_j on the pieces given."""
    out = []
    for act, z, j in zip(net.layers[layer].activations, Z, pieces):
        q = act.slopes[j]
        if q == 0:
            row = [ZERO] * (len(z) - 1) + [mpq(act.offsets[j])]
        elif q == 1:
            row = z[:-1] + [z[-1] + mpq(act.offsets[j])]
        else:
            qm = mpq(q)
            row = [qm * x for x in z[:-1]] + [qm * z[-1] + mpq(act.offsets[j])]
        out.append(row)
    return out


def _layer_map(W: np.ndarray, b: list[mpq], H: list[list[mpq]]) -> list[list[mpq]]:
    """Z = W H + b for affine-map rows H (each of length n + 1); W an object array of mpq."""
    keep = [k for k, h in enumerate(H) if any(h)]
    if not keep:
        width = len(H[0])
        return [[ZERO] * (width - 1) + [bi] for bi in b]
    Hk = np.array([H[k] for k in keep], dtype=object)
    Z = W[:, keep].dot(Hk).tolist()
    for row, bi in zip(Z, b):
        row[-1] += bi
    return Z


def canonical_order(cells: list[Cell], table: Sequence[Constraint]) -> None:
    """Put an arrangement in its canonical order, in place: cells by pattern, each cell's
    vertices by their exact coordinates, its constraints by label (K's facets, then layer,
    breakpoint, neuron).  Every engine ends with it, so their complexes compare bit for bit.
    """
    def con_key(c: int) -> tuple:
        lab = table[c].label
        return (0, lab[1]) if lab[0] == "domain" else (1, lab[1], lab[3], lab[2], lab[4])

    cells.sort(key=lambda c: c.pattern)
    for cell in cells:
        order = sorted(range(len(cell.verts)), key=cell.verts.__getitem__)
        cell.verts = [cell.verts[i] for i in order]
        cell.tight = [cell.tight[i] for i in order]
        cell.cons = sorted(cell.cons, key=con_key)


@paused_gc()
def enumerate_cells(net: Network, domain: Domain,
                    progress: Callable[[int, int], None] | None = None) -> CellArrangement:
    """Split K into the activation regions of ``net`` (exactly).

    Parameters
    ----------
    net : Network
        The network (for a slice domain: the original net; it is restricted exactly).
    domain : Domain
        K, in the net's input coordinates or in slice coordinates.
    progress : callable, optional
        Called as ``progress(layer, n_cells)`` after each layer.

    Returns
    -------
    CellArrangement

    Raises
    ------
    InvalidDomainError
        If the domain's dimension does not fit the net.
    NotExactError
        If ``net`` is a torch module or a tensor (or ``domain`` is no :class:`Domain`).

    Examples
    --------
    >>> from exactregions.exact.domain import box
    >>> from exactregions.exact.netfile import network_from_dict
    >>> net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
    ...   "layers": [{"weight": [[1], [1]], "bias": [0, -1], "activation": "relu"}]})
    >>> len(enumerate_cells(net, box([(-2, 2)])).cells)
    3
    """
    _require_exact(net, domain)
    reduced = restrict_network(net, domain)
    n = domain.dim
    if reduced.input_dim != n:
        raise InvalidDomainError(f"domain dimension {n} != net input dimension {reduced.input_dim}")
    table: list[Constraint] = []
    for i, (a, b) in enumerate(zip(domain.A, domain.b)):
        table.append(Constraint(tuple(mpq(x) for x in a), mpq(b), ("domain", i)))
    verts = [tuple(mpq(x) for x in v) for v in domain.vertices]
    tight = []
    for v in verts:
        t = frozenset(i for i, c in enumerate(table)
                      if sum((x * y for x, y in zip(c.a, v)), ZERO) == c.b)
        tight.append(t)
    root = Cell(verts, tight, list(range(len(table))), (), [])
    cells = [root]
    identity = [[mpq(1) if j == i else ZERO for j in range(n + 1)] for i in range(n)]
    for l, layer in enumerate(reduced.layers):
        W = np.array([[mpq(x) for x in row] for row in layer.weight], dtype=object)
        b = [mpq(x) for x in layer.bias]
        act = layer.neuron_activation(0)   # for pieces: the breakpoints are the layer's
        bps = [mpq(x) for x in layer.breakpoints]
        bpf = safe_floats(bps)
        new_cells: list[Cell] = []
        for cell in cells:
            H = identity if l == 0 else post_activation_map(reduced, l - 1, cell.maps[-1],
                                                              cell.pattern[-1])
            Z = _layer_map(W, b, H)
            base_pattern, base_maps = cell.pattern, cell.maps
            subcells = [cell]
            Zf = None
            if bps:
                # Floats guide: one matmul signs every hyperplane of the layer at every vertex,
                # with the rigorous rounding bound of floatfilter (valid at every magnitude:
                # copies outside its safe range are refused and every sign is then exact).
                # Only a hyperplane the floats cannot prove to leave all vertices strictly on
                # one side is split exactly.
                Zf = safe_float_matrix(Z) if bpf is not None else None
                VF = safe_float_matrix(cell.verts) if Zf is not None else None
                if VF is None:
                    undecided = [np.arange(len(Z))] * len(bps)
                else:
                    vals, mags = affine_values(Zf, VF)
                    undecided = []
                    for j in range(len(bps)):
                        d = vals - bpf[j]
                        bound = error_bound(mags, n, bpf[j])
                        above = (d > bound).all(axis=0)
                        below = (d < -bound).all(axis=0)
                        undecided.append(np.flatnonzero(~(above | below)))
                for j, xi in enumerate(bps):
                    for i in undecided[j]:
                        z = Z[i]
                        a = z[:-1]
                        if not any(a):
                            continue
                        rhs = xi - z[-1]
                        nxt = []
                        for sc in subcells:
                            nxt.extend(sc.split(a, rhs, table, ("neuron", l, int(i), j, -1),
                                                ("neuron", l, int(i), j, 1)))
                        subcells = nxt
            maps = base_maps + [AffineMap.from_rows(Z)]
            for sc in subcells:
                sc.pattern = base_pattern + (_pieces_at_centroid(act, bps, Z, Zf, sc),)
                sc.maps = maps
                new_cells.append(sc)
        cells = new_cells
        if progress is not None:
            progress(l, len(cells))
    canonical_order(cells, table)
    return CellArrangement(net, reduced, domain, cells, table)
