"""Exact pre-activation maps of activation patterns, composed in integers.

On the region of a pattern, layer l's pre-activations are an affine map of the input,
z = A x + c.  Composed layer by layer in rationals, every product normalises by a gcd; here each
map is an integer matrix over one common denominator, ``Z = [A | c] = Zi / D``, and a layer is
one FLINT matrix product ``Zi_l = W_l · H_(l-1) + [0 | b_l] · D_H`` (``W_l``, ``b_l`` scaled to
integers by their common denominator; ``H`` the post-activation map, each row the pre-activation
row times the piece's slope plus its offset, in integers over the activation's common
denominator).  The rows are handed out as gmpy2 rationals, as the rest of the exact path reads
them; a map is computed once per pattern prefix and shared by every region with that prefix.

>>> from exactregions.exact.netfile import network_from_dict
>>> net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 2,
...   "layers": [{"weight": [[1, "1/2"], [-1, 3]], "bias": ["1/3", 0], "activation": "relu"},
...              {"weight": [["1/4", 2]], "bias": [1], "activation": "identity"}]})
>>> maps = PatternMaps(net)
>>> [[str(x) for x in row] for row in maps.of(((1, 0), (0,)))[1]]      # z = x1/4 + x2/8 + 13/12
[['1/4', '1/8', '13/12']]
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm

from flint import fmpz_mat
from gmpy2 import mpq

from exactregions.exact.network import Network

__all__ = ["PatternMaps"]

Pattern = tuple[tuple[int, ...], ...]


def _common_denominator(values: list[Fraction]) -> int:
    return lcm(1, *(x.denominator for x in values))


class PatternMaps:
    """The exact maps ``of(pattern)[l]`` (rows ``[a_1 … a_n, c]`` of gmpy2 mpq) of every layer,
    cached by pattern prefix: regions that share a prefix share the very same row lists."""

    def __init__(self, net: Network):
        self.net = net
        n = net.input_dim
        self.width = n + 1
        self.identity = fmpz_mat(n, n + 1, [int(j == i) for i in range(n) for j in range(n + 1)])
        self.W: list[fmpz_mat] = []
        self.B: list[fmpz_mat] = []
        self.den: list[int] = []
        self.slope: list[list[tuple[int, ...]]] = []     # per layer, per neuron, per piece
        self.offset: list[list[tuple[int, ...]]] = []
        self.act_den: list[int] = []
        self.relu_like: list[bool] = []                   # slopes 0/1, offsets 0, scale 1
        for layer in net.layers:
            flat = [x for row in layer.weight for x in row] + list(layer.bias)
            d = _common_denominator(flat)
            self.den.append(d)
            self.W.append(fmpz_mat(layer.out_dim, layer.in_dim,
                                   [int(x * d) for row in layer.weight for x in row]))
            self.B.append(fmpz_mat(layer.out_dim, n + 1,
                                   [int(b * d) if j == n else 0
                                    for b in layer.bias for j in range(n + 1)]))
            acts = layer.activations
            a_den = _common_denominator([x for a in set(acts) for x in a.slopes + a.offsets])
            self.act_den.append(a_den)
            self.slope.append([tuple(int(q * a_den) for q in a.slopes) for a in acts])
            self.offset.append([tuple(int(p * a_den) for p in a.offsets) for a in acts])
            self.relu_like.append(a_den == 1 and all(
                q in (0, 1) for a in set(acts) for q in a.slopes) and not any(
                p for a in set(acts) for p in a.offsets))
        # per prefix: the denominator D and the rows (the integer matrix is not kept: FLINT's
        # memory would outlive the maps, and the rows give it back cheaply when needed)
        self.cache: dict[Pattern, tuple[int, list[list[mpq]]]] = {}

    def _post(self, l: int, D: int, Z: list[list[mpq]], pieces: tuple[int, ...]
              ) -> tuple[fmpz_mat, int]:
        """Layer l's post-activation map on these pieces, as (integer matrix, denominator), from
        its pre-activation rows Z over their common denominator D."""
        m = self.width
        zero = [0] * m
        out: list = []
        if self.relu_like[l]:
            for z, s in zip(Z, (self.slope[l][i][j] for i, j in enumerate(pieces))):
                out.extend([int(x.numerator * (D // x.denominator)) for x in z] if s else zero)
            return fmpz_mat(len(pieces), m, out), D
        for i, (z, j) in enumerate(zip(Z, pieces)):
            q, p = self.slope[l][i][j], self.offset[l][i][j]
            row = [int(q * x.numerator * (D // x.denominator)) for x in z]
            row[-1] += p * D
            out.extend(row)
        return fmpz_mat(len(pieces), m, out), D * self.act_den[l]

    def of(self, pattern: Pattern) -> list[list[list[mpq]]]:
        """Every layer's exact pre-activation map on the region of ``pattern``."""
        out = []
        prev: tuple[int, list] | None = None
        m = self.width
        for l in range(len(self.net.layers)):
            key = pattern[:l]
            hit = self.cache.get(key)
            if hit is None:
                if prev is None:
                    H, DH = self.identity, 1
                else:
                    H, DH = self._post(l - 1, prev[0], prev[1], pattern[l - 1])
                Zi = self.W[l] * H + self.B[l] * DH
                D = self.den[l] * DH
                E = [int(x) for x in Zi.entries()]
                rows = [[mpq(x, D) for x in E[i:i + m]] for i in range(0, len(E), m)]
                hit = self.cache[key] = (D, rows)
            out.append(hit[1])
            prev = hit
        return out
