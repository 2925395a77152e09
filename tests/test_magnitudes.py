"""The float filter is rigorous at every magnitude, and the exact path is right at every scale.

Magnitudes from 2^-1100 to 2^1100 and rationals that are no float (1/3, 29/4·2^-1074): the
filter either proves a sign (and the exact sign agrees) or hands it to exact arithmetic.  The
exact path is judged against the brute-force oracle of ``tests/oracles.py`` (every pattern,
an exact LP each), which uses no float at all.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from gmpy2 import mpq
from hypothesis import example, given, settings, strategies as st

import exactregions as er
from exactregions.cli import main
from exactregions.exact import enclosure
from exactregions.exact.enclosure import dot, enclose, enclose_rows
from exactregions.exact import floatfilter
from exactregions.exact.floatfilter import (affine_values, affine_values_each, error_bound,
                                            safe_float_matrix, safe_float_quotients,
                                            safe_float_rows, safe_floats)

from oracles import brute_force_1d, brute_force_regions

EXPONENTS = st.integers(-1100, 1100)
# these properties are cheap: 8x the profile's examples (200 in CI, 3,200 with "thorough"), so
# that the draws reach the extreme exponents (checked by test_the_draws_reach_the_extremes)
MANY = settings(max_examples=8 * settings.default.max_examples)


@st.composite
def rationals_at_any_scale(draw):
    """Zero, or ±(p/q)·2^e with small p, q (q odd: most are no float) and |e| ≤ 1100."""
    if draw(st.integers(0, 5)) == 0:
        return Fraction(0)
    p = draw(st.integers(1, 40)) * draw(st.sampled_from([1, -1]))
    q = draw(st.sampled_from([1, 3, 5, 7, 1024, 2 ** 60 + 1]))
    e = draw(st.one_of(st.integers(-60, 60), EXPONENTS))   # the safe range, and beyond it
    return Fraction(p, q) * Fraction(2) ** e


@st.composite
def affine_problems(draw):
    """Rows (a, c) and points v, some built to cancel exactly (a·v + c = 0 with large terms)."""
    n = draw(st.integers(1, 3))
    m = draw(st.integers(1, 4))
    pts = [tuple(draw(rationals_at_any_scale()) for _ in range(n)) for _ in range(draw(st.integers(1, 4)))]
    rows = []
    for _ in range(m):
        a = [draw(rationals_at_any_scale()) for _ in range(n)]
        if draw(st.booleans()):   # exactly zero at the first point: c = -a·v0
            c = -sum((x * y for x, y in zip(a, pts[0])), Fraction(0))
        else:
            c = draw(rationals_at_any_scale())
        rows.append(tuple(a) + (c,))
    return rows, pts


@MANY
@given(affine_problems(), rationals_at_any_scale())
@example(([(Fraction(5), -Fraction(5, 11) - Fraction(1, 2 ** 60))], [(Fraction(1, 11),)]),
         Fraction(0))   # exactly -2^-60, rounds to +5.6e-17
@example(([(Fraction(2) ** 90, -Fraction(27, 4) * Fraction(2) ** (90 - 1074) + Fraction(1, 2 ** 988))],
          [(Fraction(27, 4) * Fraction(1, 2 ** 1074),)]), Fraction(0))
@example(([(Fraction(1, 3) * 2 ** 600, Fraction(-1, 3) * 2 ** 600, Fraction(0))],
          [(Fraction(1, 3), Fraction(1, 3))]), Fraction(1, 2 ** 700))
def test_a_sign_the_filter_decides_is_the_exact_sign(problem, shift):
    rows, pts = problem
    Zf = safe_float_matrix(rows)
    Vf = safe_float_matrix(pts)
    sf = safe_floats([shift])
    if Zf is None or Vf is None or sf is None:
        # the filter refuses: some value is outside [2^-500, 2^500] (or has no float at all)
        mags = [abs(x) for r in rows for x in r] + [abs(x) for p in pts for x in p] + [abs(shift)]
        assert any(m != 0 and not (Fraction(1, 2 ** 500) <= m <= Fraction(2) ** 500) for m in mags)
        return
    vals, mags = affine_values(Zf, Vf)
    d = vals - sf[0]
    bound = error_bound(mags, len(pts[0]), float(sf[0]))
    for p_i, p in enumerate(pts):
        for r_i, r in enumerate(rows):
            exact = sum((x * y for x, y in zip(r[:-1], p)), r[-1]) - shift
            if abs(d[p_i, r_i]) > bound[p_i, r_i]:
                assert (exact > 0) == (d[p_i, r_i] > 0) and exact != 0, (r, p, shift)


@given(st.data())
def test_each_point_against_its_own_map_is_within_the_bound(data):
    """The batched kernel of the decision (``affine_values_each``: point p against map
    ``which[p]`` of many, only the maps the points use gathered, the products taken a chunk of
    points at a time) is within the proven bound of the exact a·v + c of the point's own map,
    computed map by map in Fractions — whichever maps the points skip or repeat, however small
    the chunks."""
    n, m = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    M = data.draw(st.integers(1, 6))
    num = st.builds(Fraction, st.integers(-50, 50), st.sampled_from([1, 3, 8]))
    maps = [[tuple(data.draw(num) for _ in range(n + 1)) for _ in range(m)] for _ in range(M)]
    which = data.draw(st.lists(st.integers(0, M - 1), min_size=1, max_size=12))
    pts = [tuple(data.draw(num) for _ in range(n)) for _ in which]
    Zf = safe_float_matrix([r for Z in maps for r in Z]).reshape(M, m, n + 1)
    Vf = safe_float_matrix(pts)
    saved = floatfilter.AFFINE_CHUNK
    floatfilter.AFFINE_CHUNK = data.draw(st.sampled_from([1, 2 * m * (n + 1), saved]))
    try:
        vals, mags = affine_values_each(Zf, np.array(which), Vf)
    finally:
        floatfilter.AFFINE_CHUNK = saved
    bound = error_bound(mags, n)
    for i, (k, v) in enumerate(zip(which, pts)):
        for j, row in enumerate(maps[k]):
            exact = sum((a * x for a, x in zip(row, v)), row[-1])
            assert abs(Fraction(float(vals[i, j])) - exact) <= Fraction(float(bound[i, j])), \
                (k, j, v)


@MANY
@given(affine_problems(), rationals_at_any_scale(), st.sampled_from([mpq, Fraction]))
@example(([(Fraction(5), -Fraction(5, 11) - Fraction(1, 2 ** 60))], [(Fraction(1, 11),)]),
         Fraction(0), mpq)
@example(([(Fraction(1, 10), Fraction(2, 10), Fraction(0))], [(Fraction(1), Fraction(1))]),
         Fraction(3, 10), Fraction)             # 0.1 + 0.2 - 0.3: rounds to +5.6e-17
@example(([(Fraction(2) ** 1000, Fraction(2) ** 1000, Fraction(0))],
          [(Fraction(2) ** 23, -Fraction(2) ** 23)]), Fraction(0), mpq)   # overflow, exactly 0
@example(([(Fraction(3, 2 ** 1074), Fraction(0))], [(Fraction(1, 3),)]), Fraction(0), mpq)
@example(([(Fraction(2, 7), Fraction(6, 97), Fraction(95), Fraction(62))],
          [(Fraction(12, 17), Fraction(31, 18), Fraction(3, 64))]), Fraction(22, 59), Fraction)
def test_the_certificates_enclosures_hold_the_exact_value(problem, shift, kind):
    """The certificates' own filter (:mod:`exactregions.exact.enclosure`, outward rounding at
    every step, no a-priori bound) encloses the exact a·v + c − s at every magnitude, the
    float range's ends and beyond included (an endpoint may be NaN: no claim); and in the safe
    range it is sharp: a value not within 2^-40 of its terms' size gets a settled sign.  (The
    last example needs the steps after additions and subtractions: the conversions' and
    products' steps alone leave its exact value outside.)"""
    rows, pts = problem
    n = len(pts[0])
    Z = enclose_rows([[kind(x) for x in r] for r in rows], n + 1)
    V = enclose_rows([[kind(x) for x in p] for p in pts], n)
    vals = dot(V[:, None, :], Z[None, :, :n]) + Z[None, :, n] - enclose([kind(shift)])
    in_range = all(x == 0 or Fraction(1, 2 ** 400) <= abs(x) <= Fraction(2) ** 400
                   for x in [*(x for r in rows for x in r), *(x for p in pts for x in p), shift])
    for p_i, p in enumerate(pts):
        for r_i, r in enumerate(rows):
            terms = [x * y for x, y in zip(r[:-1], p)] + [r[-1], -shift]
            exact = sum(terms, Fraction(0))
            lo, hi = float(vals.lo[p_i, r_i]), float(vals.hi[p_i, r_i])
            assert lo != lo or lo == -math.inf or Fraction(lo) <= exact, (r, p, shift)
            assert hi != hi or hi == math.inf or exact <= Fraction(hi), (r, p, shift)
            if in_range and abs(exact) > sum(map(abs, terms)) / 2 ** 40:
                assert lo > 0 or hi < 0, (r, p, shift, lo, hi)


def test_the_step_to_the_next_float_is_nextafter():
    """The enclosures' outward step (bit patterns ± 1) is ``np.nextafter`` on every kind of
    float — zeros of both signs, subnormals, the ends of the range — and turns an upper +inf
    (a lower -inf) into NaN, no claim, instead of into a finite float."""
    tiny, big = 5e-324, np.finfo(np.float64).max
    x = np.array([0.0, -0.0, tiny, -tiny, 2.2250738585072014e-308, 1.0, -1.0, 1 / 3, big, -big])
    with np.errstate(over="ignore"):
        assert (enclosure._up(x) == np.nextafter(x, np.inf)).all()
        assert (enclosure._down(x) == np.nextafter(x, -np.inf)).all()
    assert np.isnan(enclosure._up(np.array([np.inf, np.nan]))).all()
    assert np.isnan(enclosure._down(np.array([-np.inf, np.nan]))).all()
    # an end rounded to the far infinity steps back to the largest float, still a bound
    assert enclosure._up(np.array([-np.inf]))[0] == -big
    assert enclosure._down(np.array([np.inf]))[0] == big


def test_a_sliver_next_to_a_vertex_that_is_no_float_is_split():
    """At the vertex x = 1/11 the second neuron is exactly −2^-60 but its float value is
    +5.6e-17: only the rounding bound sends it to exact arithmetic, which finds the sliver
    (1/11, 1/11 + 2^-60/5): 3 activation regions."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [["1"]], "bias": ["-1/11"], "activation": "relu"},
                                           {"weight": [["5"]], "bias": [str(-Fraction(1, 2 ** 60))],
                                            "activation": "relu"},
                                           {"weight": [["1"]], "bias": ["0"], "activation": "identity"}]})
    assert brute_force_1d(net, Fraction(-1), Fraction(1)) == (3, 2)
    rc = er.region_complex(net, er.box([(-1, 1)]))
    assert (len(rc.activation_regions), len(rc.linear_regions)) == (3, 2)


@MANY
@given(st.lists(st.lists(rationals_at_any_scale(), min_size=3, max_size=3), max_size=6),
       st.sampled_from([mpq, Fraction]))
def test_batched_safe_rows_equal_safe_floats_row_by_row(rows, kind):
    """``safe_float_rows`` (one conversion for all rows, the range tests vectorised) keeps
    exactly the rows that ``safe_floats`` keeps, with the same floats; the others are 0.0."""
    rows = [[kind(x) for x in r] for r in rows]
    F, ok = safe_float_rows(rows, 3)
    assert F.shape == (len(rows), 3) and ok.shape == (len(rows),)
    for r, f, good in zip(rows, F.tolist(), ok.tolist()):
        want = safe_floats(r)
        assert good == (want is not None)
        assert f == (want.tolist() if good else [0.0] * 3)


@st.composite
def maps_as_integers(draw):
    """Rows of rationals at any scale, each also as integers over a common denominator times
    a large odd factor (the integers then exceed 2^53: converting them on their own rounds)."""
    rows = draw(st.lists(st.lists(rationals_at_any_scale(), min_size=3, max_size=3),
                         max_size=6))
    dens = [math.lcm(1, *(x.denominator for x in r)) * draw(st.sampled_from([1, 3 ** 40, 7 ** 90]))
            for r in rows]
    return rows, [[int(x * d) for x in r] for r, d in zip(rows, dens)], dens


@MANY
@given(maps_as_integers())
@example(([[Fraction(1, 3), Fraction(5, 7), Fraction(0)]], [[7 * 3 ** 40, 15 * 3 ** 40, 0]],
          [21 * 3 ** 40]))     # float(x) / float(d) rounds twice: 1/3 comes out one float off
def test_maps_kept_as_integers_convert_as_their_rationals(problem):
    """A map kept as integers over one denominator (:class:`~exactregions.exact.affinemaps.
    AffineMap`) converts to the floats and safe-row flags its rationals convert to, in the
    decision's filter (``safe_float_quotients`` = ``safe_float_rows``), and the certificates'
    enclosures hold every exact quotient (``enclose_quotients``), beyond the float range too."""
    rows, ints, dens = problem
    F, ok = safe_float_quotients(ints, dens, 3)
    want_F, want_ok = safe_float_rows([[mpq(x) for x in r] for r in rows], 3)
    assert ok.tolist() == want_ok.tolist() and F.tolist() == want_F.tolist()
    e = enclosure.enclose_quotients(ints, dens, 3)
    assert e.lo.shape == e.hi.shape == (len(rows), 3)
    for i, r in enumerate(rows):
        for k, x in enumerate(r):
            lo, hi = float(e.lo[i, k]), float(e.hi[i, k])
            assert lo == -math.inf or Fraction(lo) <= x, (x, lo)
            assert hi == math.inf or x <= Fraction(hi), (x, hi)
            assert lo < hi


def test_the_filter_refuses_what_it_cannot_bound():
    tiny = Fraction(27, 4) / 2 ** 1074
    assert safe_floats([tiny]) is None                   # subnormal: relative error ~4%
    assert safe_floats([Fraction(1, 2 ** 1100)]) is None  # flushed to 0.0
    assert safe_floats([Fraction(10) ** 400]) is None     # no float at all
    assert safe_floats([Fraction(2) ** 501]) is None      # products could overflow
    assert safe_floats([Fraction(0), Fraction(1, 3)]).tolist() == [0.0, 1 / 3]


def _two_layer_2d(tiny_vertex: Fraction, amp: int, b2: Fraction) -> er.Network:
    return er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 2,
                                 "layers": [
        {"weight": [["1", "0"]], "bias": [str(-tiny_vertex)], "activation": "relu"},
        {"weight": [[str(2 ** amp)], ["1"]], "bias": [str(b2), "0"], "activation": "relu"},
        {"weight": [["1", "1"]], "bias": ["0"], "activation": "identity"}]})


@pytest.mark.parametrize("amp, b2", [(90, -Fraction(1, 2 ** 988)), (200, -Fraction(1, 2 ** 878))])
def test_a_subnormal_vertex_amplified_by_a_huge_weight_is_split(amp, b2):
    """The issue's net: the first layer puts a vertex at x = 27/4·2^-1074 (its float copy is
    7·2^-1074), a second-layer weight 2^amp amplifies that copy's error past any fixed absolute
    slack, so the float value at the vertex has the wrong sign by far more than a rounding bound
    that assumes relative errors.  The true split (a region of width 2^-1078) must be found:
    3 regions, not 2."""
    net = _two_layer_2d(Fraction(27, 4) / 2 ** 1074, amp, b2)
    K = er.box([(-1, 1), (-1, 1)])
    rc = er.region_complex(net, K)
    assert len(rc.activation_regions) == 3
    assert {r.pattern for r in rc.activation_regions} == set(brute_force_regions(net, K))


@pytest.mark.parametrize("amp", [90, 200])
def test_a_box_side_that_is_no_float_is_respected(amp):
    """Box [0, 29/4·2^-1074] (float(side) = 7·2^-1074): the neuron 2^amp·(x − 57/8·2^-1074)
    crosses inside the box but outside its float copy: 2 regions, not 1."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[str(2 ** amp)]],
                                            "bias": [str(-Fraction(57, 8) * 2 ** amp / 2 ** 1074)],
                                            "activation": "relu"}]})
    side = Fraction(29, 4) / 2 ** 1074
    assert brute_force_1d(net, Fraction(0), side)[0] == 2
    assert len(er.region_complex(net, er.box([(0, side)])).activation_regions) == 2


@MANY
@given(st.data())
def test_exact_regions_at_any_scale_equal_brute_force(data):
    """Small nets whose layers are scaled by 2^e (|e| ≤ 1100), biases and box sides that are no
    float: the exact path agrees with the float-free brute force."""
    n = data.draw(st.integers(1, 2), label="n")
    widths = [n] + data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=2), label="hidden")
    layers, scale = [], Fraction(1)
    for i, (a, b) in enumerate(zip(widths, widths[1:] + [1])):
        e = data.draw(EXPONENTS, label=f"exponent {i}")
        W = [[str(Fraction(data.draw(st.integers(-3, 3))) * Fraction(2) ** e) for _ in range(a)]
             for _ in range(b)]
        scale *= Fraction(2) ** e
        bias = [str(Fraction(data.draw(st.integers(-5, 5)), data.draw(st.sampled_from([1, 3, 7])))
                    * scale) for _ in range(b)]
        layers.append({"weight": W, "bias": bias,
                       "activation": "relu" if i < len(widths) - 1 else "identity"})
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": n,
                                "layers": layers})
    e_box = data.draw(EXPONENTS, label="box exponent")
    side = Fraction(data.draw(st.sampled_from([1, 29, 5])), data.draw(st.sampled_from([1, 3, 4]))) \
        * Fraction(2) ** e_box
    K = er.box([(-side, side)] * n)
    rc = er.region_complex(net, K)
    assert {r.pattern for r in rc.activation_regions} == set(brute_force_regions(net, K))
    if n == 1:
        assert (len(rc.activation_regions), len(rc.linear_regions)) == brute_force_1d(net, -side, side)


def test_huge_and_tiny_weights_in_files_never_crash(tmp_path, capsys):
    cases = {
        "1e400": (["1e400", "-1"], ["0", "1e400"]),
        "2^400 and 2^-530": ([str(2 ** 400), str(Fraction(1, 2 ** 400))],
                             [str(Fraction(1, 2 ** 530)), "0"]),
    }
    for name, (w, b) in cases.items():
        f = tmp_path / "net.json"
        f.write_text(json.dumps({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                 "layers": [{"weight": [[w[0]], [w[1]]], "bias": b,
                                             "activation": "relu"},
                                            {"weight": [["1", "1"]], "bias": ["0"],
                                             "activation": "identity"}]}))
        out = tmp_path / "out.json"
        code = main(["enumerate", str(f), "--box", "-1:1", "--regions", "--json", str(out)])
        assert code == 0, (name, capsys.readouterr().err)
        net = er.load_network(f)
        assert (json.loads(out.read_text())["activation_regions"]
                == brute_force_1d(net, Fraction(-1), Fraction(1))[0]), name
        assert main(["certify", str(out)]) == 0
        capsys.readouterr()


def test_the_draws_reach_the_extremes():
    """The CI profile's examples cover magnitudes below 2^-1000 and above 2^1000 (and zero)."""
    seen = []

    @settings(max_examples=8 * settings.default.max_examples, derandomize=True, database=None)
    @given(rationals_at_any_scale())
    def collect(x):
        seen.append(x)

    collect()
    assert any(x == 0 for x in seen)
    assert any(0 < abs(x) < Fraction(1, 2 ** 1000) for x in seen)
    assert any(abs(x) > Fraction(2) ** 1000 for x in seen)
    assert any(Fraction(1, 2 ** 60) < abs(x) < 2 ** 60 and x.denominator % 2 for x in seen)


def test_a_centroid_below_the_float_range_keeps_its_exact_pattern():
    """Weights 2^±400 and a bias 2^-730 on the box [−2^-1100, 2^-1100]: the right region's
    centroid (≈ 2^-1101) has the float copy 0.0, where the neuron is negative; its exact pattern
    has the neuron positive.  Deciding the pattern from the float gave a false certificate
    failure; now the certificate holds and the count is the brute force's."""
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[str(2 ** 400)]],
                                            "bias": [str(-Fraction(1, 2 ** 730))],
                                            "activation": "relu"},
                                           {"weight": [[str(Fraction(1, 2 ** 400))]], "bias": ["0"],
                                            "activation": "identity"}]})
    side = Fraction(1, 2 ** 1100)
    rc = er.region_complex(net, er.box([(-side, side)]))
    assert rc.certificate["ok"] and rc.certificate["independent"]["ok"]
    counts = (len(rc.activation_regions), len(rc.linear_regions))
    assert counts == brute_force_1d(net, -side, side) == (2, 2)
