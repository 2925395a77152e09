"""Exact pre-activation maps of activation patterns, composed in integers.

On the region of a pattern, layer l's pre-activations are an affine map of the input,
z = A x + c.  Composed layer by layer in rationals, every product normalises by a gcd; here each
map is an integer matrix over one common denominator, ``Z = [A | c] = Zi / D``, and a layer is
one FLINT matrix product ``Zi_l = W_l · H_(l-1) + [0 | b_l] · D_H`` (``W_l``, ``b_l`` scaled to
integers by their common denominator; ``H`` the post-activation map, each row the pre-activation
row times the piece's slope plus its offset, in integers over the activation's common
denominator).  A map is kept as an :class:`AffineMap`: those integers and D, no rational per
entry (a 3-input net with 42,448 regions has 2 million map entries: 320 MB as gmpy2 rationals,
about a third of that as integers); a row is made a list of gmpy2 rationals when it is read.  A
map is computed once per pattern prefix and shared by every region with that prefix.
A prefix whose earlier layers are those of a prefix computed before it (a sibling: regions
come sorted by pattern, and neighbours differ in a neuron or two) is updated from the
sibling's map, E + Σ W[:, i] (H_i - H'_i) over the few neurons i whose piece differs, instead
of the whole product (on a plane slice of 784-100-100-100-10, two thirds of the maps).

>>> from exactregions.exact.netfile import network_from_dict
>>> net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 2,
...   "layers": [{"weight": [[1, "1/2"], [-1, 3]], "bias": ["1/3", 0], "activation": "relu"},
...              {"weight": [["1/4", 2]], "bias": [1], "activation": "identity"}]})
>>> maps = PatternMaps(net)
>>> [[str(x) for x in row] for row in maps.of(((1, 0), (0,)))[1]]      # z = x1/4 + x2/8 + 13/12
[['1/4', '1/8', '13/12']]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from operator import mul
from typing import Any, Iterator

from flint import fmpz_mat
from gmpy2 import mpq

from exactregions.exact.network import Network

__all__ = ["AffineMap", "PatternMaps"]

Pattern = tuple[tuple[int, ...], ...]


def _common_denominator(values: list[Fraction]) -> int:
    return lcm(1, *(x.denominator for x in values))


@dataclass(frozen=True, slots=True, eq=False)
class AffineMap(Sequence):
    """A layer's pre-activation map on a region: rows ``ints[i] = (A_i1, …, A_in, C_i)`` of
    integers over one denominator ``D > 0``, meaning z_i(x) = (A_i · x + C_i) / D.

    Read as a sequence, row i is the list of gmpy2 rationals ``[a_1, …, a_n, c]`` (made when
    read, not kept: the integers are the compact form).  Compared by identity: the regions of
    one pattern prefix share one map object.

    >>> Z = AffineMap(6, ((3, 2), (0, -6)))        # z_0 = x/2 + 1/3, z_1 = -1
    >>> len(Z), [str(x) for x in Z[0]], [str(x) for x in Z[1]]
    (2, ['1/2', '1/3'], ['0', '-1'])
    >>> AffineMap.from_rows([[mpq(1, 2), mpq(1, 3)]]).ints
    ((3, 2),)
    """

    D: int
    ints: tuple[tuple[int, ...], ...]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> "AffineMap":
        """The map of rows of exact rationals (Fraction, mpq or int), over the least common
        denominator of all its entries."""
        D = lcm(1, *(int(x.denominator) for r in rows for x in r))
        return cls(D, tuple(tuple(int(x * D) for x in r) for r in rows))

    def __len__(self) -> int:
        return len(self.ints)

    def __getitem__(self, i: int) -> list[mpq]:   # type: ignore[override]
        D = self.D
        return [mpq(x, D) for x in self.ints[i]]

    def __iter__(self) -> Iterator[list[mpq]]:
        D = self.D
        for r in self.ints:
            yield [mpq(x, D) for x in r]


SIBLING_UPDATE_MAX = 1024
"""A layer's map is updated from a sibling prefix's (rank k: the k neurons of the layer before
whose piece differs) when k × (its rows) is at most this, and computed whole beyond."""

PYTHON_PRODUCT_MAX = 64
"""A layer's product W·H in Python integers when (its rows) × (H's non-zero rows) is at most
this, in FLINT beyond: converting to and from FLINT costs more than a small product."""


class PatternMaps:
    """The exact maps ``of(pattern)[l]`` (:class:`AffineMap`) of every layer, cached by
    pattern prefix: regions that share a prefix share the very same map object."""

    def __init__(self, net: Network):
        self.net = net
        n = net.input_dim
        self.width = n + 1
        self.identity = [[int(j == i) for j in range(n + 1)] for i in range(n)]
        self.W: list[fmpz_mat] = []
        self.B: list[fmpz_mat] = []
        self.Wrows: list[list[list[int]]] = []            # the same, as Python integers
        self.brows: list[list[int]] = []
        self.den: list[int] = []
        self.slope: list[list[tuple[int, ...]]] = []     # per layer, per neuron, per piece
        self.offset: list[list[tuple[int, ...]]] = []
        self.act_den: list[int] = []
        self.relu_like: list[bool] = []                   # slopes 0/1, offsets 0, scale 1
        for layer in net.layers:
            flat = [x for row in layer.weight for x in row] + list(layer.bias)
            d = _common_denominator(flat)
            self.den.append(d)
            self.Wrows.append([[int(x * d) for x in row] for row in layer.weight])
            self.brows.append([int(b * d) for b in layer.bias])
            self.W.append(fmpz_mat(layer.out_dim, layer.in_dim,
                                   [x for row in self.Wrows[-1] for x in row]))
            self.B.append(fmpz_mat(layer.out_dim, n + 1,
                                   [b if j == n else 0 for b in self.brows[-1]
                                    for j in range(n + 1)]))
            acts = layer.activations
            a_den = _common_denominator([x for a in set(acts) for x in a.slopes + a.offsets])
            self.act_den.append(a_den)
            self.slope.append([tuple(int(q * a_den) for q in a.slopes) for a in acts])
            self.offset.append([tuple(int(p * a_den) for p in a.offsets) for a in acts])
            self.relu_like.append(a_den == 1 and all(
                q in (0, 1) for a in set(acts) for q in a.slopes) and not any(
                p for a in set(acts) for p in a.offsets))
        # per prefix: the map, as Python integers over D (not the FLINT matrix: its memory
        # would outlive the maps)
        self.cache: dict[Pattern, AffineMap] = {}
        # per parent prefix: the last prefix one layer longer computed from it (its sibling)
        self.sibling: dict[Pattern, Pattern] = {}

    def _post(self, l: int, D: int, E: Sequence[Sequence[int]], pieces: tuple[int, ...]
              ) -> tuple[list[Sequence[int] | None], int]:
        """Layer l's post-activation map on these pieces, as (integer rows, None for a zero row;
        denominator), from its pre-activation rows E over their common denominator D."""
        if self.relu_like[l]:
            return [e if self.slope[l][i][j] else None
                    for i, (e, j) in enumerate(zip(E, pieces))], D
        out: list[Sequence[int] | None] = []
        for i, (e, j) in enumerate(zip(E, pieces)):
            q, p = self.slope[l][i][j], self.offset[l][i][j]
            if q == 0 and p == 0:
                out.append(None)
                continue
            row = [q * x for x in e]
            row[-1] += p * D
            out.append(row)
        return out, D * self.act_den[l]

    def _compose(self, l: int, H: Sequence[Sequence[int] | None], DH: int) -> list[list[int]]:
        """Layer l's pre-activation rows in integers over den[l]·DH: W·H + [0 | b]·DH (in Python
        integers for a small product, such as the output neuron's, one FLINT product beyond)."""
        live = [i for i, h in enumerate(H) if h is not None]
        m = self.width
        if len(self.Wrows[l]) * len(live) <= PYTHON_PRODUCT_MAX:
            cols = list(zip(*(H[i] for i in live))) or [()] * m   # H's live rows, transposed
            rows = []
            for wr, b in zip(self.Wrows[l], self.brows[l]):
                w = [wr[i] for i in live]
                row = [sum(map(mul, w, col)) for col in cols]      # each a dot product in C
                row[-1] += b * DH
                rows.append(row)
            return rows
        zero = [0] * m
        Hm = fmpz_mat(len(H), m, [x for h in H for x in (zero if h is None else h)])
        E = [int(x) for x in (self.W[l] * Hm + self.B[l] * DH).entries()]
        return [E[i:i + m] for i in range(0, len(E), m)]

    def _post_row(self, l: int, i: int, j: int, e: Sequence[int], D: int) -> Sequence[int]:
        """Row i of :meth:`_post` (a zero row as zeros) for neuron i of layer l on piece j."""
        q, p = self.slope[l][i][j], self.offset[l][i][j]
        if self.relu_like[l]:
            return e if q else [0] * len(e)
        row = [q * x for x in e]
        row[-1] += p * D
        return row

    def _from_sibling(self, l: int, prev: AffineMap, pieces: tuple[int, ...],
                      sibling: tuple[int, ...], E: Sequence[Sequence[int]]
                      ) -> list[list[int]] | None:
        """Layer l's rows for the layer l - 1 pieces ``pieces`` from those of a sibling prefix
        (the same layers before, the pieces ``sibling``): E + Σ W[:, i] (H_i - H'_i) over the
        neurons i whose piece differs — a rank-k update in Python integers instead of the whole
        product; ``None`` when more than a few differ."""
        diff = [i for i, (a, b) in enumerate(zip(pieces, sibling)) if a != b]
        if len(diff) * len(self.Wrows[l]) > SIBLING_UPDATE_MAX:
            return None
        D, e = prev.D, prev.ints
        rows = [list(r) for r in E]
        for i in diff:
            new = self._post_row(l - 1, i, pieces[i], e[i], D)
            old = self._post_row(l - 1, i, sibling[i], e[i], D)
            delta = [a - b for a, b in zip(new, old)]
            for row, wr in zip(rows, self.Wrows[l]):
                w = wr[i]
                if w:
                    for c, dc in enumerate(delta):
                        if dc:
                            row[c] += w * dc
        return rows

    def of(self, pattern: Pattern) -> list[AffineMap]:
        """Every layer's exact pre-activation map on the region of ``pattern``.

        >>> from exactregions.exact.netfile import network_from_dict
        >>> net = network_from_dict({"format": "exactregions-network", "version": 1,
        ...   "input_dim": 1, "layers": [{"weight": [["1/2"]], "bias": ["1/3"],
        ...   "activation": "relu"}, {"weight": [[1]], "bias": [0], "activation": "identity"}]})
        >>> Z = PatternMaps(net).of(((1,), (0,)))[0]     # z = x/2 + 1/3
        >>> Z.D, Z.ints, [str(x) for x in Z[0]]
        (6, ((3, 2),), ['1/2', '1/3'])
        """
        out: list[AffineMap] = []
        prev: AffineMap | None = None
        for l in range(len(self.net.layers)):
            key = pattern[:l]
            hit = self.cache.get(key)
            if hit is None:
                rows = None
                if prev is None:
                    H, DH = self.identity, 1
                else:
                    DH = prev.D * self.act_den[l - 1]
                    near = self.sibling.get(key[:-1])
                    if near is not None:
                        rows = self._from_sibling(l, prev, key[-1], near[-1],
                                                  self.cache[near].ints)
                    self.sibling[key[:-1]] = key
                if rows is None:
                    if prev is not None:
                        H, _ = self._post(l - 1, prev.D, prev.ints, pattern[l - 1])
                    rows = self._compose(l, H, DH)    # type: ignore[arg-type]
                hit = self.cache[key] = AffineMap(self.den[l] * DH, tuple(map(tuple, rows)))
            out.append(hit)
            prev = hit
        return out
