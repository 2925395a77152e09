"""Input domains K: boxes, H-polytopes, and affine slices (segments and planes).

A slice is an exact affine change of variables x = P1 + D u: the net restricted to it is again
a PWL net, of input dimension 1 or 2 (:func:`restrict_network`), so a 784-input net gets an exact
1-D or 2-D picture.  The slice keeps its embedding so that linear regions are glued by the full
map in the original input space.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from gmpy2 import mpq

from exactregions.errors import (ExactRegionsError, InvalidDomainError, InvalidNetworkError,
                                 NotExactError)
from exactregions.exact import _cdd
from exactregions.exact.network import Layer, Network
from exactregions.exact.rational import exact_rational, mpq_to_fraction

MAX_BOX_DIM = 24
"""A box keeps its 2^n vertices: beyond this dimension it is refused (slice instead)."""

__all__ = ["Domain", "Embedding", "box", "hpolytope", "segment", "plane", "parse_box",
           "parse_point", "read_polytope", "on_slice", "restrict_network"]


@dataclass(frozen=True, slots=True)
class Embedding:
    """x = origin + Σ_i u_i · directions[i], mapping slice coordinates u to the input space."""

    origin: tuple[Fraction, ...]
    directions: tuple[tuple[Fraction, ...], ...]


@dataclass(frozen=True, slots=True, repr=False)
class Domain:
    """A bounded full-dimensional polytope K = {u : A u <= b} with its exact vertices.

    ``embedding`` is set for slices; then u are slice coordinates.

    Examples
    --------
    >>> K = box([(-1, 1), (-1, 1)])
    >>> K.dim, K.volume()
    (2, Fraction(4, 1))
    """

    A: tuple[tuple[Fraction, ...], ...]
    b: tuple[Fraction, ...]
    vertices: tuple[tuple[Fraction, ...], ...]
    embedding: Embedding | None = None
    description: str = ""

    @property
    def dim(self) -> int:
        return len(self.A[0])

    def volume(self) -> Fraction:
        """Exact n-volume of K (in slice coordinates for a slice)."""
        from exactregions.exact.polytope import polytope_volume
        if self.dim <= 2:
            v, _ = polytope_volume([tuple(mpq(x) for x in p) for p in self.vertices])
            return mpq_to_fraction(v)
        facets = []
        for a, bb in zip(self.A, self.b):
            fac = frozenset(i for i, p in enumerate(self.vertices)
                            if sum((x * y for x, y in zip(a, p)), Fraction(0)) == bb)
            if len(fac) >= self.dim:
                facets.append(fac)
        v, _ = polytope_volume([tuple(mpq(x) for x in p) for p in self.vertices], list(set(facets)))
        return mpq_to_fraction(v)

    def __repr__(self) -> str:
        return f"Domain({self.description or f'H-polytope with {len(self.A)} rows'}, dim {self.dim})"


def box(bounds: Sequence[tuple[Any, Any]], description: str = "") -> Domain:
    """The box Π [lo_i, hi_i].

    Raises
    ------
    InvalidDomainError
        If a side is empty or inverted (lo >= hi), NaN or infinite.
    NotExactError
        For a tensor or another non-number (convert with :func:`exact_rational`).
    """
    if not bounds:
        raise InvalidDomainError("a box needs at least one coordinate")
    if len(bounds) > MAX_BOX_DIM:
        raise InvalidDomainError(
            f"a {len(bounds)}-dimensional box has 2^{len(bounds)} vertices: too many to enumerate "
            "exactly; restrict the net to a segment or plane through given points (segment, plane)")
    los, his = [], []
    for i, side in enumerate(bounds):
        try:
            lo, hi = side
            lo, hi = exact_rational(lo), exact_rational(hi)
        except InvalidNetworkError as exc:   # NaN, ±inf, an unparsable string
            raise InvalidDomainError(f"box side {i}: {exc}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, NotExactError):
                raise
            raise InvalidDomainError(f"box side {i} must be a pair (lo, hi), got {side!r}") from None
        if not lo < hi:
            raise InvalidDomainError(f"box side {i} is empty or inverted: [{lo}, {hi}]")
        los.append(lo)
        his.append(hi)
    n = len(bounds)
    A, b = [], []
    for i in range(n):
        e = [Fraction(0)] * n
        e[i] = Fraction(1)
        A.append(tuple(e))
        b.append(his[i])
        A.append(tuple(-x for x in e))
        b.append(-los[i])
    verts: list[tuple[Fraction, ...]] = [()]
    for lo, hi in zip(los, his):
        verts = [v + (x,) for v in verts for x in (lo, hi)]
    return Domain(tuple(A), tuple(b), tuple(verts), None,
                  description or "box " + " x ".join(f"[{lo},{hi}]" for lo, hi in zip(los, his)))


def hpolytope(A: Sequence[Sequence[Any]], b: Sequence[Any], description: str = "") -> Domain:
    """K = {x : A x <= b}; its vertices by cddlib (GMP).

    Raises
    ------
    InvalidDomainError
        If K is empty, unbounded, or not full-dimensional.
    """
    Ae = tuple(tuple(exact_rational(x) for x in row) for row in A)
    be = tuple(exact_rational(x) for x in b)
    if not Ae or len(Ae) != len(be) or len({len(r) for r in Ae}) != 1:
        raise InvalidDomainError("H-polytope: A must be m x n and b of length m")
    t, _ = _cdd.interior_point_lp(Ae, be)
    if t <= 0:
        raise InvalidDomainError("H-polytope domain is empty or not full-dimensional")
    verts, bounded = _cdd.vertices_of(Ae, be)
    if not bounded:
        raise InvalidDomainError("H-polytope domain is unbounded")
    return Domain(Ae, be, tuple(verts), None, description or f"H-polytope with {len(Ae)} rows")


def read_polytope(path: str | Path, dim: int | None = None) -> Domain:
    """The H-polytope K = {x : A x <= b} of a JSON file ``{"A": [[...], ...], "b": [...]}``
    (numbers, or exact rationals as strings such as ``"1/3"``; the ``"K"`` entry of a
    certificate file has this form).  ``dim``: the dimension K must have.

    >>> import json, tempfile, os
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    >>> json.dump({"A": [[-1, 0], [0, -1], [1, 1]], "b": [0, 0, "1/2"]}, f); f.close()
    >>> K = read_polytope(f.name, dim=2); os.unlink(f.name)
    >>> K.volume(), len(K.vertices)
    (Fraction(1, 8), 3)

    Raises
    ------
    InvalidDomainError
        If the file cannot be read, is not such an object, holds a NaN or an infinity, has
        rows of another dimension than ``dim``, or K is empty, unbounded or not
        full-dimensional — one line naming the problem.
    """
    where = f"polytope file {str(path)!r}"
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidDomainError(f"cannot read {where}: {exc}") from None
    A = data.get("A") if isinstance(data, dict) else None
    b = data.get("b") if isinstance(data, dict) else None
    if not (isinstance(A, list) and isinstance(b, list) and A
            and all(isinstance(r, list) for r in A)):
        raise InvalidDomainError(f"{where}: expected an object {{\"A\": [[...], ...], "
                                 f"\"b\": [...]}} (K = {{x : A x <= b}})")
    try:
        Ae = [[exact_rational(x) for x in row] for row in A]
        be = [exact_rational(x) for x in b]
    except ExactRegionsError as exc:
        raise InvalidDomainError(f"{where}: {exc}") from None
    if dim is not None and any(len(row) != dim for row in Ae):
        raise InvalidDomainError(f"{where}: every row of A needs {dim} "
                                 f"entr{'y' if dim == 1 else 'ies'} (the domain's dimension), "
                                 f"got rows of {sorted({len(r) for r in Ae})}")
    try:
        return hpolytope(Ae, be, f"H-polytope {Path(path).name} ({len(Ae)} rows)")
    except InvalidDomainError as exc:
        raise InvalidDomainError(f"{where}: {exc}") from None


def on_slice(K: Domain, slice_: Domain) -> Domain:
    """K, a polytope in the coordinates of a slice (t of a segment, (s, t) of a plane), on
    that slice: K's rows with the slice's embedding.

    >>> P = plane([0, 0, 0], [1, 0, 0], [0, 1, 0])
    >>> T = on_slice(hpolytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1]), P)   # the triangle
    >>> T.volume(), T.embedding == P.embedding
    (Fraction(1, 2), True)
    """
    if slice_.embedding is None or K.dim != slice_.dim:
        raise InvalidDomainError(f"a {K.dim}-D polytope cannot be put on a {slice_.dim}-D "
                                 f"{'domain' if slice_.embedding is None else 'slice'}")
    line = ("plane P1 + s (P2-P1) + t (P3-P1), (s,t)" if K.dim == 2 else
            "segment P1 + t (P2 - P1), t")
    return Domain(K.A, K.b, K.vertices, slice_.embedding, f"{line} in {K.description}")


def segment(p1: Sequence[Any], p2: Sequence[Any]) -> Domain:
    """The segment x = P1 + t (P2 - P1), t ∈ [0, 1], as a 1-D domain in t."""
    a = tuple(exact_rational(x) for x in p1)
    c = tuple(exact_rational(x) for x in p2)
    if len(a) != len(c):
        raise InvalidDomainError("segment end points have different dimensions")
    d = tuple(y - x for x, y in zip(a, c))
    if not any(d):
        raise InvalidDomainError("segment end points coincide")
    K = box([(0, 1)])
    return Domain(K.A, K.b, K.vertices, Embedding(a, (d,)), "segment P1 + t (P2 - P1), t in [0,1]")


def plane(p1: Sequence[Any], p2: Sequence[Any], p3: Sequence[Any],
          bounds: Sequence[tuple[Any, Any]] = ((0, 1), (0, 1))) -> Domain:
    """The plane x = P1 + s (P2 - P1) + t (P3 - P1) over (s, t) in the box ``bounds``.

    Raises
    ------
    InvalidDomainError
        If the three points are collinear or of different dimensions.
    """
    a = tuple(exact_rational(x) for x in p1)
    d1 = tuple(exact_rational(y) - x for x, y in zip(a, p2))
    d2 = tuple(exact_rational(y) - x for x, y in zip(a, p3))
    if not (len(a) == len(p2) == len(p3)):
        raise InvalidDomainError("plane points have different dimensions")
    # collinear iff the 2 x N matrix [d1; d2] has rank < 2
    from exactregions.exact.polytope import rank
    if rank([[mpq(x) for x in d1], [mpq(x) for x in d2]]) < 2:
        raise InvalidDomainError("the three points are collinear: they span no plane")
    if len(bounds) != 2:
        raise InvalidDomainError("a plane slice needs a 2-D --box for (s, t)")
    K = box(bounds)
    return Domain(K.A, K.b, K.vertices, Embedding(a, (d1, d2)),
                  f"plane P1 + s (P2-P1) + t (P3-P1), (s,t) in {K.description[4:]}")


def parse_box(text: str, dim: int, option: str = "--box") -> list[tuple[Fraction, Fraction]]:
    """Parse ``-1:1,-1:1`` (or ``-1:1`` for every one of ``dim`` coordinates); ``option`` names
    the text's source in errors.

    >>> parse_box("0:1/2", 2)
    [(Fraction(0, 1), Fraction(1, 2)), (Fraction(0, 1), Fraction(1, 2))]

    Raises
    ------
    InvalidDomainError
        On malformed text or the wrong number of sides.
    """
    parts = [p for p in text.split(",") if p.strip()]
    try:
        sides = [tuple(exact_rational(x.strip()) for x in p.split(":")) for p in parts]
    except Exception:
        raise InvalidDomainError(f"malformed {option} {text!r}; write lo:hi[,lo:hi...]") from None
    if not sides or any(len(s) != 2 for s in sides):
        raise InvalidDomainError(f"malformed {option} {text!r}; write lo:hi[,lo:hi...]")
    if len(sides) == 1:
        sides = sides * dim
    if len(sides) != dim:
        raise InvalidDomainError(f"{option} has {len(sides)} sides but the domain has dimension "
                                 f"{dim}")
    return [(s[0], s[1]) for s in sides]


def parse_point(text: str) -> tuple[Fraction, ...]:
    """A point as comma-separated numbers, or a path to a ``.npy`` / ``.json`` vector.

    ``.npy`` floats enter by their exact binary values.

    Raises
    ------
    InvalidDomainError
        If the file cannot be read or holds no flat vector.
    """
    p = Path(text)
    if text.endswith((".npy", ".json")):
        try:
            if text.endswith(".npy"):
                import numpy as np
                arr = np.load(p, allow_pickle=False)
                values: list[Any] = arr.reshape(-1).tolist()
            else:
                values = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidDomainError(f"cannot read point file {text!r}: {exc}") from None
        if not isinstance(values, list) or not values:
            raise InvalidDomainError(f"point file {text!r} holds no vector")
        try:
            return tuple(exact_rational(v) for v in values)
        except Exception as exc:
            raise InvalidDomainError(f"point file {text!r}: {exc}") from None
    try:
        return tuple(exact_rational(x.strip()) for x in text.split(",") if x.strip())
    except Exception:
        raise InvalidDomainError(f"malformed point {text!r}: comma-separated numbers or a "
                                 ".npy/.json file") from None


def restrict_network(net: Network, domain: Domain) -> Network:
    """The net composed with the domain's embedding (exact); the net itself for a plain domain.

    Raises
    ------
    InvalidDomainError
        If the domain's points do not have the net's input dimension.
    """
    emb = domain.embedding
    if emb is None:
        if domain.dim != net.input_dim:
            raise InvalidDomainError(
                f"domain has dimension {domain.dim} but the net has input dimension {net.input_dim}")
        return net
    if len(emb.origin) != net.input_dim:
        raise InvalidDomainError(
            f"slice points have dimension {len(emb.origin)} but the net has input dimension "
            f"{net.input_dim}")
    first = net.layers[0]
    o = [mpq(x) for x in emb.origin]
    dirs = [[mpq(x) for x in d] for d in emb.directions]
    W, b = [], []
    for row, bias in zip(first.weight, first.bias):
        r = [mpq(x) for x in row]
        W.append(tuple(mpq_to_fraction(sum(x * y for x, y in zip(r, d))) for d in dirs))
        b.append(mpq_to_fraction(sum((x * y for x, y in zip(r, o)), mpq(bias))))
    layers = (Layer(tuple(W), tuple(b), first.activation),) + net.layers[1:]
    return Network(len(emb.directions), layers, source=f"{net.source} restricted to a slice")
