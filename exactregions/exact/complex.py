"""The region complex: activation regions, linear regions and the pieces of B_N,k, exactly.

From the cells of :func:`~exactregions.exact.enumerate.enumerate_cells` this module builds the
face lattice of the subdivision of K (faces keyed by their exact vertex sets; the activation
subdivision is face-to-face, and that is checked), glues activation regions into linear regions
across facets where the full affine map of all outputs is the same, and stratifies
B_N = closure of the facets that were not glued into B_N,1 ⊔ … ⊔ B_N,n following §5 of the
paper: B_N,k is where B_N minus B_N,<k is locally an affine plane of codimension k.
"""

from __future__ import annotations

import math
import pickle
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from operator import mul
from typing import Callable, Iterable, Iterator

import numpy as np
from flint import fmpq, fmpq_mat, fmpz
from gmpy2 import mpq, mpz

from exactregions.errors import CertificateError
from exactregions.exact.enumerate import CellArrangement, enumerate_cells
from exactregions.exact.domain import Domain
from exactregions.exact.network import Layer, Network, NeuronId
from exactregions.exact._runtime import WorkQueue, fork_call, paused_gc, several_cores
from exactregions.exact.floatfilter import display_float
from exactregions.exact.rational import (coprime_fraction, homogeneous_integers, integer_det,
                                         mpq_to_fraction, sum_of_fractions)
from exactregions.exact.surd import SurdSum
from exactregions.exact.lawrence import SimpleVolumes
from exactregions.exact.polytope import (Cell, affine_dim, hyperplane_key, polygon_area,
                                         polytope_volume)

__all__ = ["Face", "ActivationRegion", "LinearRegion", "BoundaryPiece", "RegionComplex",
           "build_complex", "region_complex", "check_independently"]


@dataclass(frozen=True, slots=True, repr=False)
class ActivationRegion:
    """A full-dimensional activation region of K: an exact H-polytope ``A u <= b``.

    ``labels[i]`` names row i (``("domain", i)`` or ``("neuron", layer, index, breakpoint,
    side)``; coincident hyperplanes give a row several labels).  ``output_map`` is the exact
    affine map of the outputs on the region, rows ``(a_1, …, a_n, c)``.
    """

    index: int
    pattern: tuple[tuple[int, ...], ...]
    A: tuple[tuple[Fraction, ...], ...]
    b: tuple[Fraction, ...]
    labels: tuple[tuple[tuple, ...], ...]
    vertices: tuple[tuple[Fraction, ...], ...]
    witness: tuple[Fraction, ...]
    volume: Fraction
    output_map: tuple[tuple[Fraction, ...], ...]
    linear_region: int

    def __repr__(self) -> str:
        return (f"ActivationRegion(#{self.index}, {len(self.A)} facets, {len(self.vertices)} "
                f"vertices, volume {display_float(self.volume):.6g}, linear region {self.linear_region})")


@dataclass(frozen=True, slots=True, repr=False)
class LinearRegion:
    """Activation regions glued across facets where the network's affine map does not change."""

    index: int
    members: tuple[int, ...]
    volume: Fraction
    witness: tuple[Fraction, ...]

    def __repr__(self) -> str:
        return (f"LinearRegion(#{self.index}, {len(self.members)} activation regions, "
                f"volume {display_float(self.volume):.6g})")


@dataclass(frozen=True, slots=True, repr=False)
class BoundaryPiece:
    """A piece (connected component) of B_N,k inside the interior of K.

    ``volume`` is its exact (n-k)-volume (a :class:`SurdSum`; ``.to_sympy()`` for sympy;
    square roots appear for k < n; a point counts 1), ``neurons``
    the neurons at a breakpoint on the whole piece that are good there (Proposition 9).
    """

    index: int
    codim: int
    neurons: tuple[NeuronId, ...]
    all_neurons: tuple[NeuronId, ...]
    volume: SurdSum
    witness: tuple[Fraction, ...]
    faces: tuple[int, ...]

    def __repr__(self) -> str:
        return (f"BoundaryPiece(#{self.index}, B_N,{self.codim}, neurons {list(self.neurons)}, "
                f"volume {display_float(self.volume):.6g})")


@dataclass(slots=True)
class Face:
    """A face of the subdivision (internal): its vertices, dimension and incidences (the cells
    around it and the faces just above it; lists and sets while the lattice is built, tuples
    after).  ``verts`` is a frozenset while the complex is built and a sorted tuple in the
    finished complex (a frozenset takes 216 bytes, the tuple of an edge 56: 111 MB against
    23 MB on 3-24-24-24-1's 350,657 faces)."""

    verts: frozenset[int] | tuple[int, ...]
    dim: int
    cells: list[int] | tuple[int, ...]
    parents: set[int] | tuple[int, ...]
    on_boundary: bool = False
    in_bn: bool = False
    k: int = 0
    glued: bool = False


@dataclass(frozen=True, slots=True, repr=False)
class RegionComplex:
    """Everything the exact path knows about a net on K, with its certificates.

    Examples
    --------
    >>> from exactregions.exact.netfile import network_from_dict
    >>> from exactregions.exact.domain import box
    >>> net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
    ...   "layers": [{"weight": [[1], [1]], "bias": [0, -1], "activation": "relu"},
    ...              {"weight": [[1, 1]], "bias": [0], "activation": "identity"}]})
    >>> rc = region_complex(net, box([(-2, 2)]))
    >>> len(rc.activation_regions), len(rc.linear_regions), rc.boundary_counts()
    (3, 3, {1: 2})
    """

    net: Network
    domain: Domain
    activation_regions: tuple[ActivationRegion, ...]
    linear_regions: tuple[LinearRegion, ...]
    pieces: tuple[BoundaryPiece, ...]
    faces: tuple[Face, ...]
    vertices: tuple[tuple[Fraction, ...], ...]
    certificate: dict

    @property
    def dim(self) -> int:
        return self.domain.dim

    def boundary_counts(self) -> dict[int, int]:
        """Number of pieces of B_N,k for k = 1..n."""
        out = {k: 0 for k in range(1, self.dim + 1)}
        for p in self.pieces:
            out[p.codim] += 1
        return out

    def boundary_volumes(self) -> dict[int, SurdSum]:
        """Exact (n-k)-volume of B_N,k ∩ int K for k = 1..n (Σ c √r; ``.to_sympy()``)."""
        return {k: SurdSum.total(p.volume for p in self.pieces if p.codim == k)
                for k in range(1, self.dim + 1)}

    def __repr__(self) -> str:
        ok = self.certificate.get("ok")
        return (f"RegionComplex({'-'.join(map(str, self.net.widths))} on "
                f"{self.domain.description or 'an H-polytope'}: {len(self.activation_regions)} "
                f"activation regions, {len(self.linear_regions)} linear regions, B_N pieces "
                f"{self.boundary_counts()}, certificate {'ok' if ok else 'not run'})")


_fr = mpq_to_fraction


def _good_sets(net: Network, patterns: list[tuple[tuple[int, ...], ...]]) -> list[np.ndarray]:
    """Per layer, which neurons are good on the regions with these patterns: a (regions, width)
    bool array (all regions at once, one matrix product a layer).

    z is good iff a path z → … → output exists with non-zero weights whose neurons after z are
    all open (φ' ≠ 0 on their piece) — the paper's definition, Appendix A.
    """
    L = len(net.layers)
    R = len(patterns)
    good: list[np.ndarray] = [np.zeros((R, 0), bool)] * L
    good[L - 1] = np.ones((R, net.layers[L - 1].out_dim), bool)
    open_ok = np.zeros((R, 0), bool)
    for l in range(L - 1, -1, -1):
        layer = net.layers[l]
        width = layer.out_dim
        if l < L - 1:
            mask = np.array([[w != 0 for w in row] for row in net.layers[l + 1].weight], np.int64)
            good[l] = (open_ok.astype(np.int64) @ mask) > 0
        # open[i, j]: neuron i's activation has a non-zero slope on its piece j
        T = max(len(a.slopes) for a in layer.activations)
        open_tab = np.zeros((width, T), bool)
        for i, a in enumerate(layer.activations):
            open_tab[i, :len(a.slopes)] = [q != 0 for q in a.slopes]
        P = np.array([p[l] for p in patterns], np.int64).reshape(R, width)
        open_ok = open_tab[np.arange(width)[None, :], P] & good[l]
    return good


class _Builder:
    def __init__(self, arr: CellArrangement):
        self.arr = arr
        self.n = arr.domain.dim
        self.table = arr.table
        self.vid: dict[tuple[mpq, ...], int] = {}
        self.vcoords: list[tuple[mpq, ...]] = []
        self.hom_cache: dict[int, tuple[mpz, ...]] = {}
        self.int_rows: dict[int, tuple[tuple[mpz, ...], mpz]] = {}
        self.faces: list[Face] = []
        self.fid: dict[frozenset[int], int] = {}
        self.cell_faces: list[list[int]] = []
        self.cell_local: list[list[int]] = []
        self.not_facet: set[frozenset[int]] = set()
        self.facet_key: dict[frozenset[int], object] = {}
        # a facet's hyperplane key, per constraint (by id: the table keeps them alive) and one
        # tuple for equal keys (the two sides of one hyperplane, the constraints of one plane)
        self.con_keys: dict[int, tuple] = {}
        self.plane_keys: dict[tuple, tuple] = {}
        self.cell_gidx: dict[int, dict[int, int]] = {}
        self.const_cache: dict[int, frozenset[NeuronId]] = {}
        self.const_maps: dict[int, list[NeuronId]] = {}   # by id of a layer's map
        self.fq_cache: dict[int, tuple] = {}
        self.vf_cache: dict[int, tuple[float, ...]] = {}
        self.neuron_ids: dict[NeuronId, NeuronId] = {}
        self.face_cons: dict[int, tuple[int, ...]] = {}   # a simple cell's constraints on a face
        self.hull_rows: dict[int, list | None] = {}   # a face's affine hull as integer rows

    def release_caches(self) -> None:
        """Drop the lattice's lookups and the caches of numbers (each is recomputed if read
        again); the faces, vertices, cell incidences and facet planes stay."""
        for cache in (self.vid, self.fid, self.not_facet, self.hom_cache, self.int_rows,
                      self.con_keys, self.plane_keys, self.cell_gidx, self.const_cache,
                      self.const_maps, self.fq_cache, self.vf_cache, self.hull_rows):
            cache.clear()

    def plane_key(self, verts: frozenset[int]) -> tuple:
        """Canonical key of the hyperplane of a facet (from the constraint that made it)."""
        con = self.facet_key[verts]
        k = self.con_keys.get(id(con))
        if k is None:
            k = hyperplane_key(con.a, con.b)  # type: ignore[attr-defined]
            k = self.con_keys[id(con)] = self.plane_keys.setdefault(k, k)
        return k

    # ----- face lattice -------------------------------------------------------------------
    def _gid(self, v: tuple[mpq, ...]) -> int:
        g = self.vid.get(v)
        if g is None:
            g = self.vid[v] = len(self.vcoords)
            self.vcoords.append(v)
        return g

    def _dim(self, verts: frozenset[int]) -> int:
        if len(verts) <= 2:
            return len(verts) - 1
        return self.affine_dim(verts)

    def affine_dim(self, verts: Iterable[int], upper: int | None = None) -> int:
        """Exact dimension of the affine hull of these vertices: the float-filtered fast paths
        of :func:`affine_dim` up to 3-D, flint's rational row reduction on coordinates
        converted once per vertex beyond."""
        vs = list(verts)
        if self.n <= 3:
            return affine_dim([self.vcoords[v] for v in vs], upper)
        if len(vs) == 1:
            return 0
        p0 = self.fq(vs[0])
        return int(fmpq_mat([[x - y for x, y in zip(self.fq(v), p0)] for v in vs[1:]]).rref()[1])

    def fq(self, v: int) -> tuple:
        """Vertex v's coordinates as flint fmpq (converted once)."""
        q = self.fq_cache.get(v)
        if q is None:
            q = self.fq_cache[v] = tuple(fmpq(int(x.numerator), int(x.denominator))
                                         for x in self.vcoords[v])
        return q

    def _face(self, verts: frozenset[int], dim: int | None = None) -> int:
        f = self.fid.get(verts)
        if f is None:
            f = self.fid[verts] = len(self.faces)
            self.faces.append(Face(verts, self._dim(verts) if dim is None else dim, [], set()))
        return f

    def build_lattice(self) -> None:
        n = self.n
        for ci, cell in enumerate(self.arr.cells):
            local = [self._gid(v) for v in cell.verts]
            self.cell_local.append(local)
            top = self._face(frozenset(local), n)
            self.faces[top].cells.append(ci)
            if n >= 2 and all(len(t) == n for t in cell.tight):
                self.cell_faces.append(self._simple_faces(ci, cell, local, top))
                continue
            by_con: dict[int, set[int]] = defaultdict(set)
            for li, t in enumerate(cell.tight):
                for c in t:
                    by_con[c].add(local[li])
            facets: set[frozenset[int]] = set()
            for c, vs in by_con.items():
                if len(vs) >= n:
                    fs = frozenset(vs)
                    if fs not in facets and fs not in self.not_facet:
                        # n <= 3: the vertices of a face are exactly the cell's vertices on its
                        # supporting plane, and a face of dim <= n - 2 has at most n - 1 of
                        # them (a vertex, or an edge's two), so >= n vertices make a facet
                        if n <= 3 or self.affine_dim(fs, upper=n - 1) == n - 1:
                            facets.add(fs)
                            self.facet_key.setdefault(fs, self.table[c])
                        else:
                            self.not_facet.add(fs)
            # all faces: closure of the facets under intersection
            all_faces = set(facets)
            frontier = set(facets)
            while frontier:
                nxt = set()
                for f in frontier:
                    for g in facets:
                        x = f & g
                        if x and x != f and x not in all_faces:
                            all_faces.add(x)
                            nxt.add(x)
                frontier = nxt
            for v in local:
                all_faces.add(frozenset((v,)))
            # in a canonical order (sorted vertex ids), so face ids do not depend on how an
            # engine numbered its constraints
            ids = [self._face(f, n - 1 if f in facets else None)
                   for f in sorted(all_faces, key=sorted)]
            self.cell_faces.append(ids)
            for f in ids:
                self.faces[f].cells.append(ci)
            # Hasse edges inside this cell
            by_dim: dict[int, list[int]] = defaultdict(list)
            for f in ids:
                by_dim[self.faces[f].dim].append(f)
            by_dim[n].append(top)
            for d in range(n):
                for f in by_dim[d]:
                    fv = self.faces[f].verts
                    for g in by_dim[d + 1]:
                        if fv <= self.faces[g].verts:
                            self.faces[f].parents.add(g)
        # faces on the boundary of K: some domain constraint is tight on all their vertices
        for f, face in enumerate(self.faces):
            if face.dim == n:
                continue
            S = self.face_cons.get(f)
            if S is not None:
                face.on_boundary = any(self.table[c].label[0] == "domain" for c in S)
                continue
            ci = face.cells[0]
            cell = self.arr.cells[ci]
            local = self.cell_local[ci]
            common = None
            for li, g in enumerate(local):
                if g in face.verts:
                    common = cell.tight[li] if common is None else common & cell.tight[li]
            face.on_boundary = any(self.table[c].label[0] == "domain" for c in (common or ()))
        # the lattice is complete: incidences frozen as tuples (a small set costs 216 bytes)
        for face in self.faces:
            face.cells = tuple(face.cells)
            face.parents = tuple(sorted(face.parents))
        self.face_cons.clear()

    def _simple_faces(self, ci: int, cell: Cell, local: list[int], top: int) -> list[int]:
        """The faces of a simple cell (every vertex on exactly n of its constraints, as in every
        generic arrangement), with their Hasse edges, from incidence alone: every non-empty
        set S of constraints common to some vertex is a face of dimension n - |S| (every
        tight constraint a facet), and the faces just above S are S minus one constraint."""
        n = self.n
        # keys: the constraint sets as sorted tuples (combinations of a sorted tuple are sorted)
        sub: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for g, t in zip(local, cell.tight):
            ts = tuple(sorted(t))
            for r in range(1, n):
                for S in combinations(ts, r):
                    sub[S].append(g)
            sub[ts].append(g)       # all n: the vertex itself
        fid_of: dict[tuple[int, ...], int] = {}
        new = []
        fid = self.fid
        for S, vs in sub.items():
            fv = frozenset(vs)
            f = fid.get(fv)
            if f is None:
                new.append((sorted(fv), fv, S))
            else:
                fid_of[S] = f
        # new faces numbered in a canonical order (sorted vertex ids), as for every cell
        new.sort(key=lambda x: x[0])
        for _, fv, S in new:
            f = fid_of[S] = self._face(fv, n - len(S))
            self.face_cons[f] = S
            if len(S) == 1:
                self.facet_key.setdefault(fv, self.table[S[0]])
        ids = list(fid_of.values())
        faces = self.faces
        for f in ids:
            faces[f].cells.append(ci)
        for S, f in fid_of.items():
            parents = faces[f].parents
            if len(S) == 1:
                parents.add(top)
            else:
                for i in range(len(S)):
                    parents.add(fid_of[S[:i] + S[i + 1:]])
        return ids

    def tight_labels(self, face: Face) -> set[NeuronId]:
        """Neurons at a breakpoint on the whole face, read in one cell around it.

        One cell is enough: such a neuron z is affine on every cell C ⊇ face and equals ξ at
        the face's vertices, which are C's vertices, so either z cuts or touches C — then both
        engines record its constraint as tight at exactly the vertices where z = ξ — or z is
        constant on C (:meth:`constant_at_breakpoint`).  The independent checker recomputes
        every piece's neurons from all of its faces."""
        ci = face.cells[0]
        out: set[NeuronId] = set(self.constant_at_breakpoint(ci))
        for c in frozenset.intersection(*self.tight_at(ci, face.verts)):
            lab = self.table[c].label
            if lab[0] == "neuron":
                out.add(self.neuron(lab[1], lab[2]))
        return out

    def neuron(self, l: int, i: int) -> NeuronId:
        """The one (layer, index) tuple of a neuron (pieces share them: no copy per piece)."""
        z = (l, i)
        return self.neuron_ids.setdefault(z, z)

    def tight_at(self, ci: int, verts: Iterable[int]) -> list[frozenset[int]]:
        """The constraints of cell ci tight at each of these (global) vertices, in order."""
        gidx = self.cell_gidx.get(ci)
        if gidx is None:
            gidx = self.cell_gidx[ci] = {g: li for li, g in enumerate(self.cell_local[ci])}
        tight = self.arr.cells[ci].tight
        return [tight[gidx[g]] for g in verts]

    def polygon_cycle(self, ci: int, verts: frozenset[int]) -> list[int] | None:
        """The vertices of a 2-face of a simple cell ci in boundary order, from incidence
        alone: each vertex is on the n - 2 constraints of the face's plane and on two more, and
        the edge on each of those holds exactly two of the face's vertices.  None when the cell
        is not simple there (the caller orders the points geometrically instead)."""
        n = self.n
        ts = dict(zip(verts, self.tight_at(ci, verts)))
        if any(len(t) != n for t in ts.values()):
            return None
        common = frozenset.intersection(*ts.values())
        if len(common) != n - 2:
            return None
        on: dict[int, list[int]] = defaultdict(list)
        for v, t in ts.items():
            for c in t - common:
                on[c].append(v)
        if any(len(vs) != 2 for vs in on.values()):
            return None
        start = min(verts)
        cycle, prev, cur = [start], None, start
        while True:
            nxt = [w for c in ts[cur] - common for w in on[c] if w != cur and w != prev]
            if not nxt:
                return None
            prev, cur = cur, nxt[0]
            if cur == start:
                break
            cycle.append(cur)
            if len(cycle) > len(verts):
                return None
        return cycle if len(cycle) == len(verts) else None

    def polygon_area_gram(self, f: int) -> tuple[mpq, mpq] | None:
        """A 2-face f of a simple cell in n >= 4 dimensions, from incidence and integer rows:
        (its area projected onto the pivot coordinates (u, w) of the reduced row-echelon basis
        B of its plane's directions, det(B Bᵀ)) — what :func:`polytope_volume` and
        :func:`_gram` compute, without a rational elimination.  None when the cell is not simple
        at the face or its n - 2 common constraints do not cut out its plane.

        With A the integer rows of those constraints (rank n - 2), the Plücker coordinate p_S of
        the plane's directions (S a pair of coordinates) is, up to one common factor, ± the
        minor of A on the other n - 2 columns.  The pivots are the first coordinate u with some
        p_S ≠ 0 (S ∋ u) and the first w > u with p_uw ≠ 0 (on the plane's directions the
        coordinates before u vanish and those between u and w are multiples of the u-th); B has
        p_uw = 1, so by Cauchy–Binet det(B Bᵀ) = Σ_S p_S(B)² = Σ_S minor_S² / minor_uw².  The
        area is the shoelace sum along the boundary cycle, fraction-free."""
        n = self.n
        face = self.faces[f]
        ci = face.cells[0]
        cycle = self.polygon_cycle(ci, face.verts)
        if cycle is None:
            return None
        common = frozenset.intersection(*self.tight_at(ci, face.verts))
        A = [self.integer_row(c)[0] for c in sorted(common)]
        minors = {}
        for S in combinations(range(n), 2):
            rest = [j for j in range(n) if j not in S]
            minors[S] = integer_det([[a[j] for j in rest] for a in A])
        nonzero = [S for S, m in minors.items() if m != 0]
        if not nonzero:
            return None
        u = min(S[0] for S in nonzero)
        w = min(S[1] for S in nonzero if S[0] == u)
        area = shoelace([self.homogeneous(v) for v in cycle], u, w)
        return area, mpq(sum(m * m for m in minors.values()), minors[(u, w)] ** 2)

    def witness(self, ci: int) -> tuple[Fraction, ...]:
        """A strictly interior point of cell ci with small numbers: its float centroid rounded to
        a dyadic grid finer than the cell's extent, checked exactly against every constraint of
        the cell; the exact centroid when no such point passes (a cell too thin for floats).
        Any interior point has the cell's pattern (it is constant on the open cell)."""
        cell = self.arr.cells[ci]
        pts = [self.vfloat(g) for g in self.cell_local[ci]]
        cols = list(zip(*pts))
        for W, D in _dyadic_near([sum(x) / len(x) for x in cols],
                                 min(max(x) - min(x) for x in cols)):
            if self.strictly_inside_homogeneous(W, D, cell.cons):
                return tuple(_fr(mpq(x, D)) for x in W)
        return tuple(_fr(x) for x in cell.centroid())

    def face_witness(self, face: Face, d: int) -> tuple[mpq, ...]:
        """A point in the relative interior of a d-face (0 < d < n) with small numbers.

        The face is its cell's intersection with the planes of the constraints tight on all of
        it, which span its affine hull.  Its free coordinates (the non-pivots of those
        equations) are set to its float centroid's, rounded to a dyadic grid finer than the
        face; the rest follow exactly; the point is taken when it satisfies strictly every other
        constraint tight at a vertex of the face.  Those include every constraint that makes a
        facet of the face, so within its affine hull they cut out the face itself, and strictly
        satisfied they put the point in its relative interior.  Otherwise: the centroid of
        d + 1 affinely independent vertices (inside a d-simplex spanning the face's plane, so
        in its relative interior)."""
        n = self.n
        vs = sorted(face.verts)
        ts = self.tight_at(face.cells[0], vs)
        common = frozenset.intersection(*ts)
        rows = [[*a, b] for a, b in map(self.integer_row, sorted(common))]
        if len(rows) == 1:      # a facet's plane: its own echelon form
            piv = [next(j for j, x in enumerate(rows[0]) if x)]
        else:
            rows, piv = _integer_echelon(rows)
        free = [j for j in range(n) if j not in piv]
        if len(free) == d:
            cols = list(zip(*(self.vfloat(g) for g in vs)))
            others = frozenset.union(*ts) - common
            for M, D in _dyadic_near([sum(cols[j]) / len(vs) for j in free],
                                     min(max(cols[j]) - min(cols[j]) for j in free)):
                # back substitution in homogeneous integers: w = X / D, D > 0
                X = [0] * n
                for j, m in zip(free, M):
                    X[j] = m
                for r, p in zip(reversed(rows), reversed(piv)):
                    N = r[n] * D - sum(map(mul, r[p + 1:n], X[p + 1:n]))
                    rp = r[p]
                    if rp < 0:
                        rp, N = -rp, -N
                    X = [x * rp for x in X]
                    X[p] = N
                    D *= rp
                if self.strictly_inside_homogeneous(X, D, others):
                    return tuple(mpq(x, D) for x in X)
        wv: list[int] = []
        for v in vs:
            if len(wv) < 3 or self.affine_dim(wv + [v]) == len(wv):   # any 3 are independent
                wv.append(v)
                if len(wv) == d + 1:
                    break
        return tuple(sum((self.vcoords[v][i] for v in wv), mpq(0)) / (d + 1) for i in range(n))

    def in_affine_hull(self, f: int, pts: Iterable[int]) -> bool | None:
        """Whether these vertices lie in the affine hull of face f, exactly; None when that
        hull is not cut out by the constraints tight on the whole face (the caller then
        computes a rank).

        The constraints of a cell tight on all of a face F define a flat containing F, of
        dimension n − (their rank) ≥ dim F; when their rank is n − dim F that flat is aff(F),
        and a vertex lies in it iff it satisfies each of them with equality (integer rows
        against the vertex's homogeneous integers: no elimination per point)."""
        rows = self.hull_rows.get(f, False)
        if rows is False:
            face = self.faces[f]
            common = frozenset.intersection(*self.tight_at(face.cells[0], face.verts))
            rows = [[*a, b] for a, b in map(self.integer_row, sorted(common))]
            if len(_integer_echelon(rows)[1]) != self.n - face.dim:
                rows = None
            self.hull_rows[f] = rows
        if rows is None:
            return None
        fv = self.faces[f].verts
        for g in pts:
            if g not in fv:
                *X, D = self.homogeneous(g)
                for r in rows:
                    if sum(map(mul, r, X)) != r[-1] * D:
                        return False
        return True

    def strictly_inside_homogeneous(self, W: list, D: int, cons: Iterable[int]) -> bool:
        """Whether a·W < b·D for each of these constraints (the point W / D, D > 0), exactly,
        each row scaled to integers by a positive factor."""
        if D <= 0:
            raise ValueError("a homogeneous point needs a positive denominator")
        for c in cons:
            a, b = self.integer_row(c)
            if sum(map(mul, a, W)) >= b * D:
                return False
        return True

    def homogeneous(self, g: int) -> tuple[mpz, ...]:
        """Vertex g as integers (X_1, …, X_n, D), D > 0, with x = X / D (fraction-free
        arithmetic on them needs no gcd until its one result)."""
        h = self.hom_cache.get(g)
        if h is None:
            h = self.hom_cache[g] = homogeneous_integers(self.vcoords[g])
        return h

    def integer_row(self, c: int) -> tuple[tuple[mpz, ...], mpz]:
        """Constraint c (a·x <= b) scaled to integers by a positive factor."""
        r = self.int_rows.get(c)
        if r is None:
            con = self.table[c]
            *a, bs, _ = homogeneous_integers((*con.a, con.b))
            r = self.int_rows[c] = (tuple(a), bs)
        return r

    def vfloat(self, g: int) -> tuple[float, ...]:
        """Vertex g's coordinates as floats (a guide only; inf/0 where out of range)."""
        f = self.vf_cache.get(g)
        if f is None:
            try:
                f = tuple(float(x) for x in self.vcoords[g])
            except OverflowError:
                f = (math.inf,) * self.n
            self.vf_cache[g] = f
        return f

    def constant_at_breakpoint(self, ci: int) -> frozenset[NeuronId]:
        """Neurons whose pre-activation is identically a breakpoint on cell ci (they cut
        nothing, so no constraint names them, but they sit at ξ on every face of the cell)."""
        hit = self.const_cache.get(ci)
        if hit is None:
            found: list[NeuronId] = []
            for l, Z in enumerate(self.arr.cells[ci].maps):
                bps = self.arr.reduced.layers[l].breakpoints
                if bps:
                    # per map: the cells of one pattern prefix share their map object, which
                    # the cells keep alive (so its id names it for the whole build)
                    m = self.const_maps.get(id(Z))
                    if m is None:
                        m = self.const_maps[id(Z)] = [
                            self.neuron(l, i) for i, z in enumerate(Z.ints)
                            if not any(z[:-1]) and mpq(z[-1], Z.D) in bps]
                    found += m
            hit = self.const_cache[ci] = frozenset(found)
        return hit


class ModularGradients:
    """g_z = ∂out/∂(post-activation of neuron z) on a pattern's region, modulo a prime p.

    Every weight and slope is a rational whose denominator p does not divide, and reduction
    modulo p is a ring homomorphism on such rationals: an entry of g that is not 0 modulo p is
    not 0.  So a non-zero residue decides g ≠ 0 exactly, in int64 products instead of big
    rationals (p < 2^25, so a dot product of up to 2^13 terms stays below 2^63); a zero residue
    decides nothing (g is then computed in rationals).  :meth:`jacobians_differ` does the same
    for the whole Jacobian of two patterns (facets where several neurons change piece at once).

    >>> from exactregions.exact.netfile import network_from_dict
    >>> net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
    ...   "layers": [{"weight": [[1]], "bias": [0], "activation": "relu"},
    ...              {"weight": [["1/3"]], "bias": [0], "activation": "relu"},
    ...              {"weight": [[2]], "bias": [0], "activation": "identity"}]})
    >>> g = ModularGradients(net)        # out = 2 relu(relu(x) / 3): g of the first neuron
    >>> g.nonzero(0, 0, ((1,), (1,), (0,))), g.nonzero(0, 0, ((1,), (0,), (0,)))
    (True, False)
    """

    MAX_WIDTH = 2 ** 13

    def __init__(self, net: Network):
        later = net.layers[1:]         # g of a neuron of layer l needs the layers after it
        values = [x for layer in later for row in layer.weight for x in row]
        values += [q for layer in later for a in set(layer.activations) for q in a.slopes]
        self.p = p = _prime_not_dividing(x.denominator for x in values)
        wide = max((max(layer.in_dim, layer.out_dim) for layer in later), default=0)
        self.dtype = object if wide > self.MAX_WIDTH else np.int64
        self.W: list[np.ndarray | None] = [None] + [
            np.array([[_residue(x, p) for x in row] for row in layer.weight], dtype=self.dtype)
            for layer in later]
        self.S: list[np.ndarray | None] = [None] + [self._slopes(layer) for layer in later]
        self.net = net
        self._first: tuple[np.ndarray, np.ndarray] | bool | None = None

    def _slopes(self, layer: Layer) -> np.ndarray:
        """The layer's slopes modulo p: row i, column j the slope of neuron i on piece j."""
        p = self.p
        pieces = max(len(a.slopes) for a in layer.activations)
        return np.array([[_residue(q, p)
                          for q in (a.slopes[min(j, len(a.slopes) - 1)] for j in range(pieces))]
                         for a in layer.activations], dtype=self.dtype)

    def jacobians_differ(self, p1: tuple[tuple[int, ...], ...],
                         p2: tuple[tuple[int, ...], ...]) -> bool:
        """Whether J·r modulo p differs for the two patterns, J = ∂out/∂x in the net's own input
        coordinates and r a fixed vector (then their J differ); ``False`` proves nothing.

        >>> from exactregions.exact.netfile import network_from_dict
        >>> net = network_from_dict({"format": "exactregions-network", "version": 1,
        ...   "input_dim": 1, "layers": [{"weight": [[1], [1]], "bias": [0, 0],
        ...   "activation": "relu"}, {"weight": [[1, -1]], "bias": [0], "activation": "identity"}]})
        >>> g = ModularGradients(net)    # relu(x) - relu(x): J = 0 whichever neuron is open
        >>> g.jacobians_differ(((1, 1), (0,)), ((0, 0), (0,)))
        False
        >>> g.jacobians_differ(((1, 0), (0,)), ((0, 0), (0,)))
        True
        """
        if self._first is None:
            self._first = self._first_layer()
        return bool(self._first) and self._jr(p1) != self._jr(p2)

    def _first_layer(self) -> tuple[np.ndarray, np.ndarray] | bool:
        """(W_1·r, the first layer's slopes) modulo p, or ``False`` when p divides one of their
        denominators (then no shortcut)."""
        first = self.net.layers[0]
        values = [x for row in first.weight for x in row]
        values += [q for a in set(first.activations) for q in a.slopes]
        if any(x.denominator % self.p == 0 for x in values):
            return False
        p = self.p
        dtype = object if first.in_dim > self.MAX_WIDTH else self.dtype
        W0 = np.array([[_residue(x, p) for x in row] for row in first.weight], dtype=dtype)
        # r random-like (seeded): an r affine or polynomial in k would be orthogonal to small
        # integer differences of J (second or higher differences along k)
        r = np.random.default_rng(25).integers(1, p, first.in_dim).astype(dtype)
        return W0 @ r % p, self._slopes(first)

    def _jr(self, pattern: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
        assert not isinstance(self._first, bool)
        u, S0 = self._first
        u = S0[np.arange(len(u)), list(pattern[0])] * u % self.p
        for m in range(1, len(self.W)):
            W, S = self.W[m], self.S[m]
            assert W is not None and S is not None
            u = S[np.arange(len(W)), list(pattern[m])] * (W @ u % self.p) % self.p
        return tuple(int(x) for x in u)

    def nonzero(self, l: int, i: int, pattern: tuple[tuple[int, ...], ...]) -> bool:
        """Whether g of neuron i of layer l is not 0 modulo p (then it is not 0)."""
        v = np.zeros(len(pattern[l]), dtype=self.dtype)
        v[i] = 1
        for m in range(l + 1, len(self.W)):
            W, S = self.W[m], self.S[m]
            assert W is not None and S is not None
            z = W @ v % self.p
            v = S[np.arange(len(z)), list(pattern[m])] * z % self.p
        return bool(v.any())


def _residue(x: Fraction, p: int) -> int:
    """x modulo p (p prime, not dividing x's denominator)."""
    return x.numerator * pow(x.denominator, -1, p) % p


def _prime_not_dividing(denominators: Iterable[int]) -> int:
    """The largest prime below 2^25 that divides none of the denominators."""
    ds = set(denominators)
    p = 2 ** 25 - 1
    while True:
        p -= 2
        if fmpz(p).is_prime() and all(d % p for d in ds):
            return p


def _jacobian_gluer(arr: CellArrangement) -> Callable[[Cell, Cell], bool]:
    """Decides exactly whether the full affine map of all outputs agrees on two cells."""
    net = arr.net
    if arr.domain.embedding is None:
        cache: dict[int, list[list[mpq]]] = {}

        def out_map(c: Cell) -> list[list[mpq]]:
            key = id(c)
            if key not in cache:
                cache[key] = arr.output_map(c)
            return cache[key]

        return lambda c1, c2: out_map(c1) == out_map(c2)

    # A slice: the map on the slice is J_full · D; glue by J_full.  Crossing a facet where one
    # neuron z changes piece, J changes by Δq · g_z ∇z(x)ᵀ with ∇z ≠ 0 (z cuts the slice), so
    # the maps agree iff g_z = ∂out/∂(post-activation of z) is 0, computed exactly.
    Ws = [[[mpq(x) for x in row] for row in layer.weight] for layer in net.layers]
    slopes = [[[mpq(q) for q in a.slopes] for a in layer.activations] for layer in net.layers]
    residues = ModularGradients(net)
    gcache: dict[tuple, bool] = {}

    def g_is_zero(l: int, i: int, pattern: tuple[tuple[int, ...], ...]) -> bool:
        key = (l, i, pattern[l + 1:])
        hit = gcache.get(key)
        if hit is None:
            # not 0 modulo p proves g ≠ 0; only a g that is 0 modulo p is computed in rationals
            hit = gcache[key] = (not residues.nonzero(l, i, pattern)
                                 and not any(g_vector(l, i, pattern)))
        return hit

    def g_vector(l: int, i: int, pattern: tuple[tuple[int, ...], ...]) -> list[mpq]:
        v = [mpq(0)] * len(pattern[l])
        v[i] = mpq(1)
        for m in range(l + 1, len(net.layers)):
            W = Ws[m]
            z = [sum((w * x for w, x in zip(row, v) if x), mpq(0)) for row in W]
            v = [sm[j] * t for sm, t, j in zip(slopes[m], z, pattern[m])]
        return v

    def full_grad(pattern: tuple[tuple[int, ...], ...]) -> list[list[mpq]]:
        # ∂out/∂x in the original coordinates: out_dim x n_in, exact (slow path, rare)
        rows = None
        for m, W in enumerate(Ws):
            J = W if rows is None else [[sum((w * r[c] for w, r in zip(row, rows)), mpq(0))
                                         for c in range(len(rows[0]))] for row in W]
            rows = [[sm[j] * x for x in r] for sm, r, j in zip(slopes[m], J, pattern[m])]
        return rows  # type: ignore[return-value]

    def glued(c1: Cell, c2: Cell) -> bool:
        diff = [(l, i) for l, (p1, p2) in enumerate(zip(c1.pattern, c2.pattern)) if p1 != p2
                for i, (a, b) in enumerate(zip(p1, p2)) if a != b]
        if not diff:
            return True
        if len(diff) == 1:
            l, i = diff[0]
            return g_is_zero(l, i, c1.pattern)
        return (not residues.jacobians_differ(c1.pattern, c2.pattern)
                and full_grad(c1.pattern) == full_grad(c2.pattern))

    return glued


FORK_MIN_WORK = 12000  # cells x 2^n below which forking costs more than it saves
PIECES_FORK_ROOM = 3.0
"""The pieces' child is forked before the regions are built, so the parent grows more after
this fork than after the checker's: it needs 3× its resident size available, not 2×."""
LAWRENCE_MIN_DIM = 4  # from here on, simple cells and facets get vertex formulas (Lawrence's)


def _root(parent: "list[int] | dict[int, int]", x: int) -> int:
    """The root of x in a union-find forest ``parent`` (halving the path on the way).

    >>> _root([0, 0, 1], 2)
    0
    """
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _strata(b: "_Builder") -> dict[int, list[int]]:
    """Mark the lower faces of B_N (``in_bn``) and each B_N face's stratum k (Proposition 10:
    the smallest j whose star around the face is a complete fan of (n − j)-faces in one flat),
    and return the pieces: the components of B_N faces with equal k, by their root face."""
    faces, n = b.faces, b.n
    # ----- B_N membership of lower faces and the strata B_N,k -----------------------------
    order = sorted(range(len(faces)), key=lambda f: -faces[f].dim)
    for f in order:
        face = faces[f]
        if face.dim >= n - 1 or face.on_boundary:
            continue
        face.in_bn = any(faces[g].in_bn and faces[g].dim < n for g in face.parents)
    # star: all faces containing a face (upward closure)
    star_cache: dict[int, set[int]] = {}

    def star(f: int) -> set[int]:
        s = star_cache.get(f)
        if s is None:
            s = set()
            for g in faces[f].parents:
                if faces[g].dim < n:
                    s.add(g)
                    s |= star(g)
            star_cache[f] = s
        return s

    for f in order:
        face = faces[f]
        if not face.in_bn:
            continue
        m = n - face.dim
        if m == 1:
            face.k = 1
            continue
        face.k = m
        st = [g for g in star(f) if faces[g].in_bn]
        for j in range(1, m):
            S = [g for g in st if faces[g].k >= j]
            top = [g for g in S if faces[g].dim == n - j]
            if not top:
                continue
            if j == 1:
                # one hyperplane: every B_N face around F lies in the plane of the first facet
                key = b.plane_key(faces[top[0]].verts)
                if any(b.plane_key(faces[g].verts) != key for g in top[1:]):
                    continue
                others = [g for g in S if faces[g].dim < n - 1]
                if others and not all(any(faces[g].verts <= faces[t].verts for t in top)
                                      for g in others):
                    continue
            else:
                if n - j == 1 and len(top) > 2:
                    continue   # a line through F holds at most two of its edges
                pts = set(face.verts)
                for g in S:
                    pts |= faces[g].verts
                # dim(pts) >= n - j (a top face's vertices span that much): it equals n - j
                # iff every point lies in the affine hull of one top face
                inside = b.in_affine_hull(top[0], pts)
                if inside is None:
                    inside = b.affine_dim(pts, upper=n - j + 1) == n - j
                if not inside:
                    continue
            # complete fan: every (n-j-1)-face E ⊇ F inside a top face lies in exactly two
            # (F itself only when it has that dimension: a vertex inside a flat sheet of 3-D B_N
            # lies in all four of its facets, and is in B_N,1 all the same)
            ridges: dict[int, int] = defaultdict(int)
            same_dim = [f] if faces[f].dim == n - j - 1 else []
            for g in top:
                for e in same_dim + [e for e in st if faces[e].dim == n - j - 1]:
                    if faces[e].verts <= faces[g].verts and faces[e].verts >= face.verts:
                        ridges[e] += 1
            if ridges and all(c == 2 for c in ridges.values()):
                face.k = j
                break
    star_cache.clear()
    # ----- pieces: components of faces with equal k -------------------------------------
    pparent = {f: f for f in range(len(faces)) if faces[f].in_bn}

    def pfind(x: int) -> int:
        return _root(pparent, x)

    for f in pparent:
        for g in faces[f].parents:
            if g in pparent and faces[g].k == faces[f].k:
                pparent[pfind(f)] = pfind(g)
    comps: dict[int, list[int]] = defaultdict(list)
    for f in pparent:
        comps[pfind(f)].append(f)
    return comps


@paused_gc()
def build_complex(arr: CellArrangement, *, with_pieces: bool = True,
                  consume: bool = False) -> RegionComplex:
    """Build the certified region complex from an enumerated arrangement.

    ``with_pieces=False`` builds the regions, the linear regions and the face lattice with
    all their certificates, but not the strata: ``pieces`` is empty and the faces below the
    facets carry no ``in_bn``/``k`` (what a tile of a tiled run needs to certify its regions;
    the pieces are built once, on the glued whole).  ``consume=True``: the caller is done
    with ``arr``, whose cells and constraint table are emptied as soon as the complex no
    longer reads them (before a forked child's pieces are taken back: ~0.3 GB on
    3-24-24-24-1); ``arr`` is then unusable.

    >>> from exactregions.exact.random import random_network
    >>> from exactregions.exact.domain import box
    >>> from exactregions.exact.enumerate import enumerate_cells
    >>> arr = enumerate_cells(random_network([2, 4, 1], seed=1), box([(-1, 1), (-1, 1)]))
    >>> rc = build_complex(arr, consume=True)
    >>> len(rc.activation_regions) > 0, arr.cells
    (True, [])

    Raises
    ------
    CertificateError
        If any certificate fails (see :mod:`exactregions.exact.certificates`).
    """
    from exactregions.exact.certificates import certify_complex

    b = _Builder(arr)
    b.build_lattice()
    n = b.n
    cells = arr.cells
    faces = b.faces
    # ----- gluing into linear regions ----------------------------------------------------
    same_map = _jacobian_gluer(arr)
    parent = list(range(len(cells)))

    def find(x: int) -> int:
        return _root(parent, x)

    for face in faces:
        if face.dim != n - 1 or face.on_boundary:
            continue
        if len(face.cells) != 2:
            raise CertificateError(
                f"face-to-face check failed: an interior facet lies on {len(face.cells)} cells")
        c1, c2 = face.cells
        if same_map(cells[c1], cells[c2]):
            face.glued = True
            parent[find(c1)] = find(c2)
        else:
            face.in_bn = True
    comps = _strata(b) if with_pieces else {}
    # ----- regions ------------------------------------------------------------------------
    # good[l] = (one byte per (cell, neuron), the layer's width): the pieces read single
    # entries (a numpy scalar index costs more than a bytes lookup; nested lists of bools
    # took 36 MB on 3-24-24-24-1, these bytes 1 MB)
    good = [(g.astype(np.uint8).tobytes(), g.shape[1])
            for g in _good_sets(arr.net, [c.pattern for c in cells])] if with_pieces else []

    # exact coordinates and constraint rows as Fractions, each converted once (vertices are
    # shared by ~2^n cells, facet rows by two)
    fverts = [tuple(_fr(x) for x in v) for v in b.vcoords]
    fcons: dict[int, tuple[tuple[Fraction, ...], Fraction]] = {}

    def frow(c: int) -> tuple[tuple[Fraction, ...], Fraction]:
        r = fcons.get(c)
        if r is None:
            con = arr.table[c]
            r = fcons[c] = (tuple(_fr(x) for x in con.a), _fr(con.b))
        return r

    # n = 3: a facet's area projected along a coordinate (the first its normal has) is shared
    # by the two cells' Lasserre volumes and by the B_N,1 piece that holds it: compute it once
    area_cache: dict[tuple[frozenset[int], int], mpq] = {}

    def facet_area(vs: frozenset[int], j: int, ci: int) -> mpq:
        a = area_cache.get((vs, j))
        if a is None:
            cycle = b.polygon_cycle(ci, vs)
            if cycle is None:
                pts = [tuple(x for i, x in enumerate(b.vcoords[v]) if i != j) for v in vs]
                a = polygon_area(pts)
            else:   # the shoelace formula along the boundary cycle
                u, w = (1, 2) if j == 0 else ((0, 2) if j == 1 else (0, 1))
                a = shoelace([b.homogeneous(v) for v in cycle], u, w)
            area_cache[(vs, j)] = a
        return a

    def lasserre3(ci: int, local: list[int], rows: dict[frozenset[int], list[int]]) -> mpq:
        # vol = Σ_F (1/3)·|b_F − a_F·apex|·area_j(F)/|a_F[j]|, facets through the apex skipped;
        # with the row in integers (a, b) (any positive scale cancels) and apex = X / D, a
        # term is |b D − a·X| area_j(F) / (D |a_j|): integer fractions over the common 3 D,
        # summed fraction-free
        *X, D = b.homogeneous(local[0])
        terms = []
        for vs, cs in rows.items():
            if local[0] in vs:
                continue
            a, bi = b.integer_row(cs[0])
            j = next(i for i, x in enumerate(a) if x != 0)
            area = facet_area(vs, j, ci)
            terms.append(_cone_term(a, bi, X, D, j, area))
        return sum_of_fractions(terms, 3 * D)

    children: dict[int, list[int]] = defaultdict(list)   # the Hasse diagram downwards
    for g, face in enumerate(faces if n >= 4 else ()):      # (read by n >= 4 volumes only)
        for p in face.parents:
            children[p].append(g)

    def facets_of(f: int) -> list[frozenset[int]]:
        """The facets of face f as index sets into its sorted vertex list (from the lattice:
        no hull to recompute)."""
        idx = {v: i for i, v in enumerate(sorted(faces[f].verts))}
        return [frozenset(idx[v] for v in faces[g].verts) for g in children[f]
                if faces[g].dim == faces[f].dim - 1]

    # simple cells (every vertex on exactly n constraints): Lawrence's vertex formula, each
    # vertex factor shared by the cells around it (no recursion over faces)
    lawrence = SimpleVolumes(n) if n >= LAWRENCE_MIN_DIM else None
    prows: dict[int, tuple] = {}

    def prow(c: int) -> tuple:
        r = prows.get(c)
        if r is None:
            r = prows[c] = lawrence.row(arr.table[c].a)  # type: ignore[union-attr]
        return r

    # ----- piece attributes ---------------------------------------------------------------
    # the vertices' ranks in lexicographic order of their exact coordinates: comparing sorted
    # rank lists is comparing sorted coordinate lists, with ints instead of rationals
    rank = [0] * len(b.vcoords)
    for r, g in enumerate(sorted(range(len(b.vcoords)), key=b.vcoords.__getitem__)):
        rank[g] = r

    def piece_key(fs: list[int]) -> tuple:
        # canonical, not by face id (ids follow the constraint table, which engines number
        # differently): the lexicographically least sorted vertex list of the piece's faces
        return min(tuple(sorted(rank[v] for v in faces[f].verts)) for f in fs)

    piece_items = sorted(comps.items(), key=lambda kv: piece_key(kv[1]))
    flaw = SimpleVolumes(n - 1) if n >= LAWRENCE_MIN_DIM else None

    def facet_lawrence(f: int, j: int, normal: tuple, pts: list) -> mpq | None:
        """The (n-1)-volume of facet f projected along coordinate j (its plane's normal has
        normal[j] = 1) by Lawrence's formula, when the facet is simple in a cell around it:
        the other n - 1 constraints at each vertex, restricted to the plane, are its facets'
        outer normals there.  None when not simple (the caller recurses instead)."""
        if flaw is None:
            return None
        ts = b.tight_at(faces[f].cells[0], sorted(faces[f].verts))
        common = frozenset.intersection(*ts)
        if len(common) != 1 or any(len(t) != n for t in ts):
            return None
        projected: dict[int, tuple] = {}
        rows_at = []
        for t in ts:
            rows = []
            for c in t:
                if c in common:
                    continue
                r = projected.get(c)
                if r is None:
                    a = arr.table[c].a
                    pa = tuple(a[i] - a[j] * normal[i] for i in range(n) if i != j)
                    if not any(pa):
                        return None
                    r = projected[c] = flaw.row(pa)
                rows.append(r)
            rows_at.append(rows)
        # c·p of a projected vertex is shared by the facets on the planes through it that drop
        # the same coordinate
        return flaw.volume(pts, rows_at, [(v, j) for v in sorted(faces[f].verts)])

    def facet_lasserre(f: int, j: int, key: tuple) -> mpq | None:
        """The 3-volume of a facet f of a 4-D cell projected along coordinate j (its plane
        normal·x = β has normal[j] = 1) by Lasserre's cone sum over its 2-faces, as lasserre3
        sums a 3-D cell over its facets: on the plane, a constraint a·x <= b reads
        pa·x' <= pb with pa_i = a_i - a_j normal_i (i != j) and pb = b - a_j β, and a 2-face G
        on it off the apex adds |pb - pa·apex'| area(G) / (3 |pa_k|), area(G) its shoelace sum
        on the two coordinates other than j and k (k the first with pa_k != 0).  None when the
        cell is not simple at the facet (the caller uses Lawrence's or Lasserre's recursion)."""
        face = faces[f]
        ci = face.cells[0]
        vs = sorted(face.verts)
        ts = b.tight_at(ci, vs)
        common = frozenset.intersection(*ts)
        if len(common) != 1 or any(len(t) != n for t in ts):
            return None
        normal, beta = key[:-1], key[-1]
        apex = vs[0]
        *X, D = b.homogeneous(apex)
        terms = []
        for g in children[f]:
            G = faces[g]
            if G.dim != 2 or apex in G.verts:
                continue
            gc = frozenset.intersection(*b.tight_at(ci, G.verts)) - common
            if len(gc) != 1:
                return None
            (c,) = gc
            con = arr.table[c]
            pa = [con.a[i] - con.a[j] * normal[i] for i in range(n)]
            pa[j] = mpq(0)
            *ia, ib, _ = homogeneous_integers((*pa, con.b - con.a[j] * beta))
            k = next((i for i, x in enumerate(ia) if x != 0), None)
            if k is None:
                return None
            cycle = b.polygon_cycle(ci, G.verts)
            if cycle is None:
                return None
            u, w = (i for i in range(n) if i != j and i != k)
            area = shoelace([b.homogeneous(v) for v in cycle], u, w)
            terms.append(_cone_term(ia, ib, X, D, k, area))
        return sum_of_fractions(terms, 3 * D)

    def one_piece(root: int, fs: list[int]) -> tuple:
        """Piece attributes as plain ints and tuples (they may cross a process boundary, where
        a pickled Fraction would be a decimal string parsed again)."""
        k = faces[root].k
        d = n - k
        tops = [f for f in fs if faces[f].dim == d]
        rational = mpq(0)
        gram = None
        if k == 1:
            key = b.plane_key(faces[tops[0]].verts)
            normal = key[:-1]
            j = next(i for i, x in enumerate(normal) if x != 0)  # normal[j] == 1
            for f in tops:
                if b.plane_key(faces[f].verts) != key:
                    raise CertificateError("a B_N,1 piece is not contained in one hyperplane")
                # dropping coordinate j (normal[j] = 1) maps the facet injectively: full-dim
                if n == 1:
                    rational += mpq(1)
                elif n == 3:
                    rational += facet_area(faces[f].verts, j, faces[f].cells[0])
                else:
                    pts = [tuple(x for i, x in enumerate(b.vcoords[v]) if i != j)
                           for v in sorted(faces[f].verts)]
                    if n == 2:
                        rational += max(p[0] for p in pts) - min(p[0] for p in pts)
                    else:
                        # the vertex formulas (n >= LAWRENCE_MIN_DIM): in 4-D a cone sum over
                        # the facet's 2-faces, beyond (or where that fails) Lawrence's
                        v = facet_lasserre(f, j, key) if n == 4 and flaw is not None else None
                        if v is None:
                            v = facet_lawrence(f, j, normal, pts)
                        rational += polytope_volume(pts, facets_of(f))[0] if v is None else v
            gram = sum((x * x for x in normal), mpq(0))
            tops_done = True
        else:
            tops_done = False
        if not tops_done and d == 1:
            # a straight piece: one direction for all its edges; length = Σ |Δ pivot coordinate|
            # times √(Gram) of the line's reduced direction, computed once
            # (the reduced direction of an edge p q is (q - p) / (q - p)[j], j its first non-zero
            # coordinate: its Gram determinant is |q - p|² / (q - p)[j]², the same for any
            # positive multiple of q - p: here the integer one with p = P / Dp, q = Q / Dq,
            # w = Q Dp - P Dq, and one gcd at the end instead of one per rational operation)
            p, q = sorted(faces[tops[0]].verts)
            *P, Dp = homogeneous_integers(b.vcoords[p])
            *Q, Dq = homogeneous_integers(b.vcoords[q])
            w = [y * Dp - x * Dq for x, y in zip(P, Q)]
            j = next(i for i, x in enumerate(w) if x != 0)
            for f in tops:
                a_, b_ = (b.vcoords[v] for v in faces[f].verts)
                rational += abs(a_[j] - b_[j])
            gram = mpq(sum(x * x for x in w), w[j] * w[j])
            tops_done = True
        for f in ([] if tops_done else tops):
            hit = b.polygon_area_gram(f) if d == 2 else None   # n >= 4 here
            if hit is None:
                pts = [b.vcoords[v] for v in sorted(faces[f].verts)]
                v, basis = polytope_volume(pts, facets_of(f) if d >= 3 else None)
                g = _gram(basis)
            else:
                v, g = hit
            if gram is None:
                gram = g
            elif g != gram:
                raise CertificateError("a boundary piece is not contained in one affine plane")
            rational += v
        volume = ((1, 1, 1),) if d == 0 else SurdSum.parts(rational,
                                                           gram if gram is not None else 1)
        top0 = faces[tops[0]]
        witness = (fverts[next(iter(top0.verts))] if len(top0.verts) == 1
                   else b.face_witness(top0, d))
        all_neurons: set[NeuronId] = set()
        good_neurons: set[NeuronId] = set()
        for f in tops:
            labs = b.tight_labels(faces[f])
            if f == tops[0]:
                all_neurons = labs
            else:
                all_neurons &= labs
        for z in all_neurons:
            gz, w = good[z[0]]
            i = z[1]
            if any(gz[ci * w + i] for ci in top0.cells):
                good_neurons.add(z)
        return (k, tuple(sorted(good_neurons)), tuple(sorted(all_neurons)),
                volume, tuple((int(x.numerator), int(x.denominator)) for x in witness),
                tuple(sorted(fs)))

    queue = WorkQueue(len(piece_items), chunk=64)

    def pieces_from(front: bool) -> Iterator[list[tuple[int, tuple]]]:
        """Chunks of (index, piece), taken from one end of the queue until it is empty."""
        while span := queue.claim(front):
            yield [(i, one_piece(*piece_items[i])) for i in span]

    def child_pieces() -> int:
        """The child's chunks, each pickled to the spool file as soon as it is done (its share
        of the pickling falls in the shared part of the work, not after it); the number of
        chunks.  The parent reads them back one at a time; sent as one payload, they were all
        held in the child as pickles (its peak on 3-24-24-24-1: 1.37 GB, now 1.16)."""
        count = 0
        for chunk in pieces_from(True):
            pickle.dump(chunk, spool, pickle.HIGHEST_PROTOCOL)   # type: ignore[arg-type]
            count += 1
        if count:
            spool.flush()                                         # type: ignore[union-attr]
        return count

    # The pieces need the lattice, not the regions: on a big complex a forked child computes
    # them from the front of their list while this process builds the regions and runs their
    # certificates, then joins in from the back
    big = with_pieces and len(cells) << n >= FORK_MIN_WORK
    # an unlinked file both processes hold (opened before the fork): the child's chunks
    spool = None
    if big:
        try:
            spool = tempfile.TemporaryFile()
        except OSError:      # no writable temporary directory: the pieces stay in process
            big = False
    piece_job = fork_call(child_pieces, enabled=big and several_cores(), room=PIECES_FORK_ROOM)
    try:   # a failure here stops the child too
        regions = []
        for ci, cell in enumerate(cells):
            local = b.cell_local[ci]
            rows: dict[frozenset[int], list[int]] = defaultdict(list)
            by_con: dict[int, set[int]] = defaultdict(set)
            for li, t in enumerate(cell.tight):
                for c in t:
                    by_con[c].add(local[li])
            facet_faces = {faces[f].verts for f in b.cell_faces[ci] if faces[f].dim == n - 1}
            for c in cell.cons:
                vs = frozenset(by_con.get(c, ()))
                if vs in facet_faces:
                    rows[vs].append(c)
            A, bb, labels, normals = [], [], [], []
            for vs, cs in rows.items():
                con = arr.table[cs[0]]
                fa, fb = frow(cs[0])
                A.append(fa)
                bb.append(fb)
                labels.append(tuple(arr.table[c].label for c in cs))
                normals.append(con.a)
            vol = None   # Lawrence's formula where it applies, else Lasserre's decomposition
            if lawrence is not None and all(len(t) == n for t in cell.tight):
                vol = lawrence.volume(cell.verts, [[prow(c) for c in t] for t in cell.tight], local)
            if vol is None and n == 3:
                vol = lasserre3(ci, local, rows)
                if piece_job.forked:
                    # the child computes most pieces, with areas of its own: an area no later
                    # region reads goes (the cache held 105 MB on 3-24-24-24-1 by the end of the
                    # regions; the peak fell 1.79 -> 1.74 GB; this process's share of the
                    # pieces computes the areas it needs again)
                    for vs in rows:
                        if max(faces[b.fid[vs]].cells) == ci:
                            for j in range(3):
                                area_cache.pop((vs, j), None)
            elif vol is None:
                gl = {g: i for i, g in enumerate(local)}
                facets_local = [frozenset(gl[g] for g in vs) for vs in rows]
                ridges = None
                if n >= 4:
                    # each facet's own facets from the lattice (no pairwise rank tests), as index
                    # sets into the facet's sorted local vertex list
                    ridges = []
                    for vs, fl in zip(rows, facets_local):
                        pos = {gl_i: k for k, gl_i in enumerate(sorted(fl))}
                        ridges.append([frozenset(pos[gl[g]] for g in faces[h].verts)
                                       for h in children[b.fid[vs]] if faces[h].dim == n - 2])
                vol, _ = polytope_volume(cell.verts, facets_local, normals, ridges)
            out_map = arr.output_map(cell)
            regions.append(ActivationRegion(
                ci, cell.pattern, tuple(A), tuple(bb), tuple(labels),
                tuple(fverts[g] for g in local),
                b.witness(ci), _fr(vol),
                tuple(tuple(_fr(x) for x in row) for row in out_map), find(ci)))
        b.hom_cache.clear()     # the volumes' integer vertices (a piece's area is mostly cached)
        roots = sorted({r.linear_region for r in regions})
        rindex = {r: i for i, r in enumerate(roots)}
        members: dict[int, list[int]] = defaultdict(list)
        for r in regions:
            members[rindex[r.linear_region]].append(r.index)
        regions = [ActivationRegion(r.index, r.pattern, r.A, r.b, r.labels, r.vertices,
                                    r.witness, r.volume, r.output_map, rindex[r.linear_region])
                   for r in regions]

        def vsum(ms: list[int]) -> Fraction:
            # gmpy2 sums huge rationals far faster than Fraction (one exact result either way)
            if len(ms) == 1:
                return regions[ms[0]].volume
            return _fr(sum((mpq(regions[m].volume) for m in ms), mpq(0)))

        linear = tuple(LinearRegion(i, tuple(ms), vsum(ms),
                                    regions[ms[0]].witness) for i, ms in sorted(members.items()))
        # ----- certificates (they read the regions and the faces only) -------------------------
        provisional = RegionComplex(arr.net, arr.domain, tuple(regions), linear, (), tuple(faces),
                                    (), {})
        certificate = certify_complex(provisional, arr)
        built: dict[int, BoundaryPiece] = {}
        shared_tuples: dict[tuple, tuple] = {}   # one object for equal neuron lists
        # one object for equal radicands (a plane's, 87,111 for 286,503 pieces on
        # 3-24-24-24-1) and equal small integers of the witnesses (their dyadic coordinates:
        # 33,286 values for 736,565 entries)
        shared_ints: dict[int, int] = {}
        small = 1 << 30

        def take(chunk: list[tuple[int, tuple]]) -> None:
            # each chunk becomes its BoundaryPieces at once (no second copy of all pieces)
            one = shared_ints.setdefault
            for pi, (k, good_n, all_n, terms, witness, fs) in chunk:
                built[pi] = BoundaryPiece(
                    pi, k, shared_tuples.setdefault(good_n, good_n),
                    shared_tuples.setdefault(all_n, all_n),
                    SurdSum(tuple((one(r, r), coprime_fraction(p, q)) for r, p, q in terms)),
                    tuple(coprime_fraction(one(p, p) if -small < p < small else p,
                                           one(q, q) if q < small else q)
                          for p, q in witness), fs)

        for chunk in pieces_from(False):
            take(chunk)
    except BaseException:
        piece_job.cancel()
        if spool is not None:
            spool.close()
        raise
    # this process's share of the work is done: its caches make room for the child's pieces
    b.release_caches()
    if consume:    # and so does the arrangement, when the caller has no further use for it
        arr.cells.clear()
        arr.table.clear()
    for face in faces:   # nothing here looks a face up by its vertex set any more
        face.verts = tuple(sorted(face.verts))
    area_cache.clear()
    fcons.clear()
    prows.clear()
    n_pieces = len(piece_items)
    try:
        count = piece_job.result()   # 0 if no child ran
        # the queue is empty: the pieces' face lists go before the child's pieces come in
        # (60 MB on 3-24-24-24-1; a child has its own copy)
        piece_items.clear()
        comps.clear()
        if count:
            spool.seek(0)                                         # type: ignore[union-attr]
            for _ in range(count):   # one chunk in memory at a time
                take(pickle.load(spool))                          # type: ignore[arg-type]
    finally:
        if spool is not None:
            spool.close()
    if len(built) != n_pieces or sorted(built) != list(range(n_pieces)):
        raise CertificateError("a boundary piece was not computed (the pieces' work queue)")
    pieces = [built[pi] for pi in range(n_pieces)]
    rc = RegionComplex(arr.net, arr.domain, tuple(regions), linear, tuple(pieces), tuple(faces),
                       tuple(fverts), {})
    object.__setattr__(rc, "certificate", certificate)
    return rc


def _cone_term(a: list, b: int, X: list, D: int, k: int, area: mpq) -> tuple[int, int]:
    """One facet's share of a 3-D cone sum from the apex X / D (D > 0): the cone's volume is
    |b − a·apex| · area_k / (3 |a_k|) for the facet's integer row a·x <= b and its area
    projected along coordinate k (a_k ≠ 0; |a| cancels), returned as the integer fraction
    (|b D − a·X| · area_num, |a_k| · area_den), to be summed over the common 3 D.

    >>> from gmpy2 import mpq
    >>> _cone_term([0, 0, 1], 1, [0, 0, 0], 1, 2, mpq(1))    # unit square at height 1, apex 0
    (mpz(1), mpz(1))
    """
    return abs(b * D - sum(map(mul, a, X))) * area.numerator, abs(a[k]) * area.denominator


def shoelace(P: list[tuple[mpz, ...]], u: int, w: int) -> mpq:
    """The area of a polygon projected onto coordinates (u, w), its vertices given in
    boundary order as homogeneous integers (X, D): ½|Σ_i cross(p_i, p_i+1)|, with every term
    brought to the common denominator Π_i D_i by integer products alone (one gcd, at the end).

    >>> from gmpy2 import mpz
    >>> sq = [(mpz(0), mpz(0), mpz(1)), (mpz(1), mpz(0), mpz(2)), (mpz(1), mpz(1), mpz(2)),
    ...       (mpz(0), mpz(1), mpz(2))]                  # (0,0), (½,0), (½,½), (0,½)
    >>> shoelace(sq, 0, 1)
    mpq(1,4)
    """
    m, k = len(P), len(P[0]) - 1
    total = mpz(0)
    for i in range(m):
        p, q = P[i], P[(i + 1) % m]
        t = p[u] * q[w] - q[u] * p[w]
        for h in range(m):
            if h != i and h != (i + 1) % m:
                t *= P[h][k]
        total += t
    den = mpz(2)
    for p in P:
        den *= p[k]
    return abs(mpq(total, den))


def _dyadic_near(values: list[float], extent: float) -> Iterable[tuple[list[int], int]]:
    """Points with small numbers near a float point (a guide for witnesses, which the caller
    checks exactly), as homogeneous integers (M, D), the point M / D: its coordinates rounded
    to dyadic grids 2^7 and 2^39 times finer than ``extent``; none when the floats are not
    finite or the extent is not positive.

    >>> list(_dyadic_near([0.3, -0.55], 1.0))      # 1 >= 2^0: grids of 2^-7 and 2^-39
    [([38, -70], 128), ([164926744166, -302365697638], 549755813888)]
    """
    if not (extent > 0 and math.isfinite(extent) and all(map(math.isfinite, values))):
        return
    e = math.frexp(extent)[1]   # extent >= 2^(e-1)
    for k in (8 - e, 40 - e):
        try:
            M = [round(math.ldexp(x, k)) for x in values]
        except OverflowError:   # far from the origin for its size: no small numbers there
            return
        yield (M, 1 << k) if k > 0 else ([m << -k for m in M], 1)


def _integer_echelon(rows: list[list[int]]) -> tuple[list[list[int]], list[int]]:
    """Row echelon form of the augmented integer rows [a | b] of a linear system over its
    first len - 1 columns, fraction-free (each new row divided by its content), zero rows
    dropped, and the pivot columns.

    >>> _integer_echelon([[2, 4, 6], [1, 3, 1]])
    ([[2, 4, 6], [0, 1, -2]], [0, 1])
    """
    m = [list(r) for r in rows]
    out, piv = [], []
    for c in range(len(m[0]) - 1 if m else 0):
        i = next((i for i, r in enumerate(m) if r[c] != 0), None)
        if i is None:
            continue
        r0 = m.pop(i)
        p = r0[c]
        nxt = []
        for r in m:
            if r[c] != 0:
                f = r[c]
                r = [p * x - f * y for x, y in zip(r, r0)]
                g = math.gcd(*r)
                if g > 1:
                    r = [x // g for x in r]
            nxt.append(r)
        m = nxt
        out.append(r0)
        piv.append(c)
    return out, piv


def _gram(basis: list[list[mpq]]) -> mpq:
    """det(B Bᵀ) for the reduced basis B of a face's direction space."""
    d = len(basis)
    if d == 0:
        return mpq(1)
    G = [[sum((x * y for x, y in zip(r, s)), mpq(0)) for s in basis] for r in basis]
    # exact determinant by elimination
    det = mpq(1)
    M = [row[:] for row in G]
    for c in range(d):
        piv = next(i for i in range(c, d) if M[i][c] != 0)
        if piv != c:
            M[c], M[piv] = M[piv], M[c]
            det = -det
        det *= M[c][c]
        for i in range(c + 1, d):
            f = M[i][c] / M[c][c]
            M[i] = [x - f * y for x, y in zip(M[i], M[c])]
    return det


def region_complex(net: Network, domain: Domain,
                   progress: Callable[[int, int], None] | None = None,
                   independent_check: bool = True) -> RegionComplex:
    """Enumerate, glue, stratify and certify: the exact answer for ``net`` on ``domain``.

    Besides the enumerator's own certificates, the whole result is written as a certificate
    document and re-checked by the independent checker (:func:`~exactregions.exact.checker.
    certify`: its own vertex-set proofs, volumes, exact vertex sides, gluing and pieces); its
    report is ``rc.certificate["independent"]``.  ``independent_check=False`` skips it (it
    takes 1.2–1.7× the build on the 2,000–20,000 regions of the benchmark nets, 2.5× on
    161,373; the enumerator's certificates still run).

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> from exactregions.exact.domain import box
    >>> rc = region_complex(random_network([2, 4, 1], seed=1), box([(-1, 1), (-1, 1)]))
    >>> rc.certificate["ok"], rc.certificate["independent"]["ok"]
    (True, True)

    Raises
    ------
    CertificateError
        If a certificate fails; InvalidDomainError if domain and net do not fit.
    """
    rc = build_complex(enumerate_cells(net, domain, progress), consume=True)
    return check_independently(rc) if independent_check else rc


def check_independently(rc: RegionComplex,
                        progress: Callable[[str, int, int], None] | None = None
                        ) -> RegionComplex:
    """Write ``rc`` as a certificate document, re-check it with the independent checker and
    attach its report as ``rc.certificate["independent"]`` (a failure raises
    CertificateError); returns ``rc``.  ``progress(what, done, total)`` follows the checker's
    regions and pieces (:func:`~exactregions.exact.checker.certify`)."""
    from exactregions.exact.checker import certify
    from exactregions.exact.summary import certificate_document
    # entries made as read, with the complex's own rationals (no decimal round trip)
    report = certify(certificate_document(rc, lazy=True, numbers="exact"), progress)
    object.__setattr__(rc, "certificate", {**rc.certificate, "independent": report})
    return rc
