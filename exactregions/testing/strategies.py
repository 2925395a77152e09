"""Hypothesis strategies for networks, activations and domains.

Weights can be dyadic rationals (exact in float64, so a float counter can be judged exactly),
small integers (degenerate on purpose: coincident hyperplanes, zero rows), or He-init floats.
Shrinking goes towards fewer neurons and smaller numbers.

>>> from hypothesis import given
>>> @given(networks(input_dim=2, max_width=3))
... def test_inputs(net):
...     assert net.input_dim == 2
>>> test_inputs()
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

from hypothesis import strategies as st

from exactregions.exact.activation import Activation
from exactregions.exact.domain import Domain, box
from exactregions.exact.network import Layer, Network
from exactregions.exact.rational import exact_rational

__all__ = ["dyadic_rationals", "small_integers", "he_floats", "activations", "networks",
           "subtle_networks", "boxes", "polytopes", "segments", "planes"]


def dyadic_rationals(max_exponent: int = 4, max_abs: int = 3) -> st.SearchStrategy[Fraction]:
    """k / 2^max_exponent with |value| <= max_abs: exact in float64; shrinks towards 0."""
    scale = 2 ** max_exponent
    return st.integers(-max_abs * scale, max_abs * scale).map(lambda k: Fraction(k, scale))


def small_integers(max_abs: int = 2) -> st.SearchStrategy[Fraction]:
    """Integers in [-max_abs, max_abs]: degenerate nets on purpose."""
    return st.integers(-max_abs, max_abs).map(Fraction)


def he_floats(fan_in: int) -> st.SearchStrategy[Fraction]:
    """Floats of about He-normal size, entering by their exact binary value."""
    s = (2.0 / fan_in) ** 0.5
    return st.floats(-3 * s, 3 * s, allow_nan=False, allow_infinity=False).map(exact_rational)


_DYADIC = dyadic_rationals()
_SMALL_INT = small_integers()


def activations(kinds: tuple[str, ...] = ("relu", "leaky_relu", "abs", "hardtanh", "pwl")
                ) -> st.SearchStrategy[Activation]:
    """ReLU, leaky ReLU (slope 1/4), |x|, hard tanh, and a PWL with a zero-slope piece."""
    table = {
        "relu": Activation.relu(),
        "leaky_relu": Activation.leaky_relu(Fraction(1, 4)),
        "abs": Activation.abs(),
        "hardtanh": Activation.hardtanh(),
        "pwl": Activation.pwl([Fraction(-1, 2), Fraction(1, 2)], [1, 0, 2], Fraction(-1, 2)),
    }
    return st.sampled_from([table[k] for k in kinds])


_PRELU_SLOPES = (Fraction(0), Fraction(1, 4), Fraction(1, 2), Fraction(-1, 2), Fraction(2),
                 Fraction(-1))


@st.composite
def networks(draw: st.DrawFn, input_dim: int | st.SearchStrategy[int] = st.integers(1, 3),
             depth: st.SearchStrategy[int] = st.integers(1, 3), max_width: int = 6,
             weights: str | None = None, biases: str | None = None,
             activation: st.SearchStrategy[Activation] | None = None,
             max_neurons: int = 12, per_neuron_slopes: bool = False) -> Network:
    """A random feed-forward PWL net with a linear output layer of width 1.

    Parameters
    ----------
    per_neuron_slopes : bool
        Hidden layers are per-channel PReLUs: each neuron a leaky ReLU with its own negative
        slope from {0, 1/4, 1/2, -1/2, 2, -1} (``activation`` is then ignored).
    weights : {"dyadic", "integer", "float"}, optional
        Drawn when not given.
    biases : {"dyadic", "integer", "zero", "tiny"}, optional
        "zero" is the paper's collapse case; "tiny" is ±2^-20-scale (tiny regions).
    """
    n = draw(input_dim) if isinstance(input_dim, st.SearchStrategy) else input_dim
    d = draw(depth)
    wkind = weights or draw(st.sampled_from(["dyadic", "integer", "float"]))
    bkind = biases or draw(st.sampled_from(["dyadic", "integer", "zero", "tiny"]))
    act = draw(activation if activation is not None else activations())

    def number(fan_in: int) -> st.SearchStrategy[Fraction]:
        if wkind == "dyadic":
            return _DYADIC
        if wkind == "integer":
            return _SMALL_INT
        return he_floats(fan_in)

    def bias() -> st.SearchStrategy[Fraction]:
        if bkind == "zero":
            return st.just(Fraction(0))
        if bkind == "tiny":
            return st.integers(-8, 8).map(lambda k: Fraction(k, 2 ** 20))
        if bkind == "integer":
            return small_integers()
        return dyadic_rationals(3, 1)

    rows_cache: dict[tuple[int, int], st.SearchStrategy] = {}
    bias_strategy = bias()

    def rows_of(fan_in: int, most: int) -> st.SearchStrategy:
        key = (fan_in, most)
        if key not in rows_cache:
            row = st.lists(number(fan_in), min_size=fan_in, max_size=fan_in).map(tuple)
            rows_cache[key] = st.lists(st.tuples(row, bias_strategy), min_size=1, max_size=most)
        return rows_cache[key]

    layers = []
    fan_in = n
    budget = max_neurons
    for i in range(d + 1):
        is_out = i == d
        # a layer is a list of neurons (weight row, bias): the shrinker can delete neurons
        most = 1 if is_out else max(1, min(max_width, budget - (d - 1 - i)))
        rows = draw(rows_of(fan_in, most))
        budget -= 0 if is_out else len(rows)
        W = tuple(tuple(r) for r, _ in rows)
        b = tuple(bb for _, bb in rows)
        if per_neuron_slopes and not is_out:
            slopes = draw(st.lists(st.sampled_from(_PRELU_SLOPES), min_size=len(rows),
                                   max_size=len(rows)))
            layers.append(Layer(W, b, tuple(Activation.leaky_relu(a) for a in slopes)))
        else:
            layers.append(Layer(W, b, Activation.identity() if is_out else act))
        fan_in = len(rows)
    return Network(n, tuple(layers), source=f"hypothesis ({wkind} weights, {bkind} biases)")


@st.composite
def subtle_networks(draw: st.DrawFn, input_dim: int | st.SearchStrategy[int] = st.integers(1, 3),
                    max_neurons: int = 8,
                    activation: st.SearchStrategy[Activation] | None = None) -> Network:
    """Nets built to catch subtle counter bugs within ~100 examples (targeted, not uniform):

    * ``small kinks`` — one always-open neuron carries a slope of about 2 and others add kinks
      that change it by 1/128–1/32 (under 2%: a counter that merges "nearly equal" slopes
      misses them);
    * ``near-parallel`` — first-layer hyperplanes whose normals differ by 2^-6–2^-8, crossing
      far away or just inside;
    * ``tiny regions`` — breakpoints 2^-20 apart.

    All numbers are dyadic (exact in float64). Shrinks towards fewer neurons.
    """
    n = draw(input_dim) if isinstance(input_dim, st.SearchStrategy) else input_dim
    act = draw(activation if activation is not None else activations())
    kind = ("small kinks", "small kinks", "near-parallel", "tiny regions")[draw(st.integers(0, 3))]
    k = draw(st.integers(2, max(2, min(max_neurons, 6))))
    base = [Fraction(draw(st.integers(1, 4)), 4) for _ in range(n)]        # a common direction
    W1, b1, out = [], [], []
    for i in range(k):
        if kind == "near-parallel":
            tilt = Fraction(draw(st.integers(-4, 4)), 2 ** draw(st.integers(6, 8)))
            row = [base[0] + tilt] + base[1:]
            bias = Fraction(draw(st.integers(-8, 8)), 8)
        elif kind == "tiny regions":
            row = list(base)
            bias = Fraction(draw(st.integers(-4, 4)), 2 ** 20) - Fraction(i, 4)
        else:
            row = [Fraction(draw(st.integers(-4, 4)), 4) for _ in range(n)]
            bias = Fraction(draw(st.integers(-4, 4)), 4)
        W1.append(tuple(row))
        b1.append(bias)
        small = kind == "small kinks" and i > 0
        out.append(Fraction(draw(st.sampled_from([1, -1])), 2 ** draw(st.integers(5, 7)))
                   if small else Fraction(draw(st.sampled_from([1, 2, -1])), 1))
    if kind == "small kinks":   # the carrier: open on the whole box, a slope of about 2
        W1[0] = tuple(Fraction(1, 2) for _ in range(n))
        b1[0] = Fraction(8)
        out[0] = Fraction(2)
    layers = (Layer(tuple(W1), tuple(b1), act), Layer((tuple(out),), (Fraction(0),),
                                                      Activation.identity()))
    return Network(n, layers, source=f"hypothesis subtle_networks ({kind})")


@st.composite
def boxes(draw: st.DrawFn, dim: int) -> Domain:
    """A box with dyadic sides, each of positive length."""
    sides = []
    for _ in range(dim):
        lo = draw(dyadic_rationals(2, 2))
        length = draw(st.integers(1, 8)) * Fraction(1, 4)
        sides.append((lo, lo + length))
    return box(sides)


@st.composite
def polytopes(draw: st.DrawFn, dim: int, max_cuts: int = 2) -> Domain:
    """An H-polytope: a drawn box cut by up to ``max_cuts`` half-spaces with small integer
    normals that keep its centre strictly inside (so it is bounded and full-dimensional; a cut
    may miss the box, a redundant row, or pass through its corners, a non-simple polytope).

    >>> from hypothesis import given
    >>> @given(polytopes(2))
    ... def test_inside(K):
    ...     assert K.dim == 2 and K.volume() > 0
    >>> test_inside()
    """
    from exactregions.exact.domain import hpolytope
    K = draw(boxes(dim))
    centre = [sum((v[i] for v in K.vertices), Fraction(0)) / len(K.vertices)
              for i in range(dim)]
    A, b = [list(a) for a in K.A], list(K.b)
    for _ in range(draw(st.integers(0, max_cuts))):
        a = draw(st.lists(small_integers(2), min_size=dim, max_size=dim)
                 .filter(lambda r: any(r)))
        slack = draw(st.integers(1, 8)) * Fraction(1, 8)
        A.append(a)
        b.append(sum((x * c for x, c in zip(a, centre)), Fraction(0)) + slack)
    return hpolytope(A, b)


@st.composite
def segments(draw: st.DrawFn, dim: int, points: Sequence[Sequence[Any]] | None = None,
             with_points: bool = False) -> Any:
    """A segment P1 -> P2 (the ``--through P1 P2`` domain): given points, or two drawn dyadic ones.
    ``with_points=True`` gives ``(domain, (p1, p2))``, the points a counter is called with."""
    from exactregions.exact.domain import segment
    if points is not None:
        p1, p2 = points
    else:
        p1 = draw(st.lists(dyadic_rationals(3, 1), min_size=dim, max_size=dim))
        p2 = draw(st.lists(dyadic_rationals(3, 1), min_size=dim, max_size=dim)
                  .filter(lambda q: q != p1))
    dom = segment(p1, p2)
    return (dom, (p1, p2)) if with_points else dom


@st.composite
def planes(draw: st.DrawFn, dim: int, bounds: Sequence[tuple[Any, Any]] = ((0, 1), (0, 1)),
           with_points: bool = False) -> Any:
    """A plane through three drawn dyadic points (not collinear) over ``bounds``.
    ``with_points=True`` gives ``(domain, (p1, p2, p3))``.

    Collinear draws are not filtered away (that trips hypothesis' health checks in a user's own
    test): the third point is nudged off the line through the first two instead."""
    from exactregions.exact.domain import plane
    from exactregions.exact.polytope import rank
    from gmpy2 import mpq
    pts = st.lists(st.lists(dyadic_rationals(3, 1), min_size=dim, max_size=dim), min_size=3,
                   max_size=3)
    p1, p2, p3 = draw(pts)
    if p1 == p2:
        p2 = [p2[0] + 1] + list(p2[1:])
    d1 = [mpq(y - x) for x, y in zip(p1, p2)]
    for i in range(dim + 1):
        if rank([d1, [mpq(y - x) for x, y in zip(p1, p3)]]) == 2:
            break
        p3 = list(p3)
        p3[i % dim] += 1
    dom = plane(p1, p2, p3, bounds=bounds)
    return (dom, (p1, p2, p3)) if with_points else dom
