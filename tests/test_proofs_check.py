"""proofs_check: each check can fail (planted faults are caught), its integrands match
independent oracles, and reports are deterministic and honest about failure."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from proofs_check import proposition_9, proposition_10
from proofs_check.coarea import FloatNet, theorem3_integrand
from proofs_check.context import RunContext
from proofs_check.lemma_12 import tube_area
from proofs_check.nets import dead_neuron_net, make_net
from proofs_check.parallel import Runner, start_runner
from proofs_check.result import CheckResult, Verdict
from proofs_check.runner import main, run_checks


def test_proposition_9_holds_and_catches_a_wrong_goodness(monkeypatch):
    net = dead_neuron_net(3)
    ok = proposition_9.analyse(net, 2)
    assert ok["mismatches"] == 0 and ok["closure_mismatches"] == 0 and ok["surplus_facets"] > 0
    # planted fault: "every neuron is good" (ignores Proposition 9's goodness)
    monkeypatch.setattr(proposition_9, "good_neurons",
                        lambda net, pre: {(l, i) for l, z in enumerate(pre) for i in range(len(z))})
    bad = proposition_9.analyse(net, 2)
    assert bad["mismatches"] > 0


def test_proposition_9_closures_in_3d_catch_a_wrong_closure_rule(monkeypatch):
    """In 3-D the closure test is a real subset test (an edge off B_N can end on B_N's facets):
    the dead-neuron net's lower faces agree with closure(∪ S̃_z) exactly, and two planted rules
    — "a facet through the face's first vertex", and the faces' sorted vertex tuples compared as
    tuples instead of as sets — each find disagreements."""
    net = dead_neuron_net(3, n_in=3)
    ok = proposition_9.analyse(net, 3)
    assert ok["closure_mismatches"] == 0 and ok["surplus_facets"] > 0
    monkeypatch.setattr(proposition_9, "in_closure",
                        lambda g, faces, by_vertex: bool(by_vertex.get(g.verts[0])))
    assert proposition_9.analyse(net, 3)["closure_mismatches"] > 0
    monkeypatch.setattr(proposition_9, "in_closure", lambda g, faces, by_vertex: any(
        g.verts <= faces[F].verts for F in by_vertex.get(g.verts[0], [])))
    assert proposition_9.analyse(net, 3)["closure_mismatches"] > 0


def test_proposition_10_agrees_with_the_complex_on_neurons_constant_at_a_breakpoint():
    """Integer weights, zero biases: some neurons are identically at ξ around a piece.  The
    complex counts them among the piece's neurons (docs/concepts.md) and the check's own
    recomputation must too (it did not, and the full run failed 'complex_agrees')."""
    from proofs_check.proposition_10 import integer_net

    for seed in (36, 38):
        assert proposition_10.analyse(integer_net((2, 4, 4, 1), seed), 2)["tool_disagreements"] == 0


def test_proposition_10_generic_and_degenerate():
    assert proposition_10.analyse(make_net((2, 5, 5, 1), "relu", 4, 0.5), 2)["violations"] == 0
    r = proposition_10.analyse(proposition_10.concurrent_lines_net(), 2)
    assert r["violations"] == 1 and r["violation_examples"][0]["neurons"] == [[0, 0], [0, 1], [0, 2]]


def _one_hidden_layer(seed: int):
    return make_net((2, 3, 1), "relu", seed, 1.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_theorem3_integrand_k1_matches_bias_sampling(seed):
    """One hidden layer: every neuron is good, so Σ_z ∫_K Y = Σ_z E_b[length({w·x + b = 0} ∩ K)],
    which sampling b and clipping the line to the square gives independently."""
    net = _one_hidden_layer(seed)
    fn = FloatNet.of(net)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(200_000, 2))
    formula = 4 * theorem3_integrand(fn, X, 1, 1.0).mean()
    W, b = fn.W[0], rng.normal(0, 1.0, size=(200_000, 3))
    # chord length of {w·x + b = 0} in [-1,1]²: clip the line parametrised along its direction
    total = 0.0
    for z in range(3):
        w = W[z]
        d = np.array([-w[1], w[0]]) / np.linalg.norm(w)
        p0 = -b[:, z, None] * w / (w @ w)                              # foot of the line
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = (-1 - p0) / d
            t2 = (1 - p0) / d
        lo = np.nanmax(np.minimum(t1, t2), axis=1)
        hi = np.nanmin(np.maximum(t1, t2), axis=1)
        total += np.clip(hi - lo, 0, None).mean()
    assert formula == pytest.approx(total, rel=0.03)


def test_theorem3_integrand_k2_matches_bias_sampling():
    """One hidden layer, k = 2: Σ_pairs P(the two lines cross inside K), by sampling biases."""
    net = _one_hidden_layer(5)
    fn = FloatNet.of(net)
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(200_000, 2))
    formula = 4 * theorem3_integrand(fn, X, 2, 1.0).mean()
    W = fn.W[0]
    b = rng.normal(0, 1.0, size=(400_000, 3))
    total = 0.0
    for i in range(3):
        for j in range(i + 1, 3):
            A = np.array([W[i], W[j]])
            x = np.linalg.solve(A, -b[:, [i, j]].T).T
            total += np.mean(np.all(np.abs(x) <= 1, axis=1))
    assert formula == pytest.approx(total, rel=0.05)


def _integrand_at(fn, x, zs, xis, bias_std, goodness, conditional):
    """Y(x) of one k-set and breakpoint tuple at one point, by a plain pass with the Jacobian
    carried as a matrix (a per-point oracle for :func:`theorem3_integrand`)."""
    a, J = np.array(x, float), np.eye(len(x))
    forced = dict(zip(zs, xis))
    bstar, grads, opens = {}, {}, []
    for l, (W, b) in enumerate(zip(fn.W, fn.b)):
        h, Jh = W @ a + b, W @ J
        bps, qs, offs = fn.breakpoints[l], fn.slopes[l], fn.offsets[l]
        piece = np.searchsorted(bps, h, side="right")
        live = qs[piece] != 0
        slope = qs[piece].copy()
        for (fl, i), xi in forced.items():
            if fl == l:
                bstar[(fl, i)], grads[(fl, i)] = xi - (h[i] - b[i]), Jh[i].copy()
                if conditional:
                    j = int(np.searchsorted(bps, xi))
                    h[i], piece[i], slope[i] = xi, j + 1, 0.0
                    live[i] = qs[j] != 0 or qs[j + 1] != 0
        a = qs[piece] * h + offs[piece]
        J = slope[:, None] * Jh
        opens.append(live)
    y = math.sqrt(max(np.linalg.det(np.array([[g @ h for h in grads.values()]
                                               for g in grads.values()])), 0.0))
    for z in zs:
        y *= math.exp(-0.5 * (bstar[z] / bias_std) ** 2) / (bias_std * math.sqrt(2 * math.pi))
    if goodness:   # good: a path of non-zero weights through open neurons to the output
        good = [None] * len(fn.W)
        good[-1] = np.ones(fn.W[-1].shape[0], bool)
        for l in range(len(fn.W) - 2, -1, -1):
            good[l] = np.array([any(good[l + 1][o] and opens[l + 1][o] and fn.W[l + 1][o, i] != 0
                                    for o in range(fn.W[l + 1].shape[0]))
                                for i in range(fn.W[l].shape[0])])
        y *= all(good[l][i] for (l, i) in zs)
    return y


@pytest.mark.parametrize("widths, act, k", [((2, 4, 3, 1), "relu", 1), ((2, 4, 3, 1), "relu", 2),
                                            ((2, 3, 3, 1), "zigzag", 2), ((3, 3, 2, 2), "abs", 3),
                                            ((1, 3, 3, 1), "leaky_relu", 1), ("dead", "relu", 1),
                                            ("dead", "relu", 2)])
@pytest.mark.parametrize("goodness, conditional", [(True, True), (False, True), (True, False)])
def test_the_forced_passes_equal_a_per_point_oracle(widths, act, k, goodness, conditional):
    """The co-area integrand's forced passes (all points at once, one per k-set and breakpoint
    tuple) equal a plain per-point pass (deep nets, several breakpoints, the two ablations, a
    net with neurons that are never good), set by set; the bias-sampling tests above cover one
    hidden layer only.  Where the gradients are parallel (det Gram = 0 exactly), each
    side's √det is rounding noise of order √eps · |∇u|², hence the absolute tolerance."""
    net = dead_neuron_net(2) if widths == "dead" else make_net(widths, act, 3, 0.5)
    fn = FloatNet.of(net)
    X = np.random.default_rng(1).uniform(-1, 1, size=(7, net.input_dim))
    got = theorem3_integrand(fn, X, k, 0.5, goodness, conditional, per_set=True)
    assert len(got) == math.comb(len(fn.neurons()), k)
    for zs, y in got.items():
        want = [sum(_integrand_at(fn, x, zs, xis, 0.5, goodness, conditional)
                    for xis in itertools.product(*[fn.breakpoints[l] for (l, _) in zs]))
                for x in X]
        np.testing.assert_allclose(y, want, rtol=1e-9, atol=1e-6)


def test_tube_area_encloses_a_stadium():
    lo, hi = tube_area(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), 0.1,
                       np.array([-1.0, -1.0]), np.array([2.0, 1.0]), depth=10)
    stadium = 2 * 0.1 * 1.0 + math.pi * 0.1 ** 2
    assert lo <= stadium <= hi and hi - lo < 0.02


def test_dask_and_in_process_give_the_same_report():
    ctx0 = RunContext(7, True, Runner(None, progress=False))
    a = run_checks(["proposition_9"], ctx0, log=lambda s: None)[0]
    runner = start_runner("local", workers=2, progress=False)
    try:
        b = run_checks(["proposition_9"], RunContext(7, True, runner), log=lambda s: None)[0]
    finally:
        runner.close()
    assert a.verdict is Verdict.PASS and a.figures == b.figures and a.evidence == b.evidence


def test_cli_writes_reports_and_fails_loudly(tmp_path, monkeypatch, capsys):
    js, md = tmp_path / "r.json", tmp_path / "r.md"
    rc = main(["--quick", "--only", "sawtooth", "--scheduler", "none", "--no-progress",
               "--json", str(js), "--md", str(md), "--plots", str(tmp_path / "plots")])
    rep = json.loads(js.read_text())
    entry = rep["checks"][0]
    assert rc == 0 and rep["passed"] and set(entry) >= {"name", "statement", "verdict", "figures",
                                                       "evidence"}
    assert entry["figures"]["exact_counts"]["8"] == 256
    assert (tmp_path / "plots" / "sawtooth.png").stat().st_size > 0 and "sawtooth.png" in md.read_text()
    # a check that raises is a failed check, and the run exits 1
    from proofs_check import registry

    def broken(ctx):
        raise RuntimeError("planted")

    monkeypatch.setitem(registry.CHECKS, "sawtooth", broken)
    monkeypatch.setattr("proofs_check.runner.CHECKS", registry.CHECKS)
    assert main(["--only", "sawtooth", "--scheduler", "none", "--json", str(js)]) == 1
    assert json.loads(js.read_text())["checks"][0]["verdict"] == "fail"
    # bad arguments: exit 2, nothing written
    out = tmp_path / "never.json"
    assert main(["--only", "theorem_99", "--json", str(out)]) == 2 and not out.exists()
    # a seed numpy refuses, or a planted error that is not one: bad input, not a failed check
    (tmp_path / "a_file").write_text("")
    for bad in (["--seed", "-1"], ["--plant", "nan"], ["--plant", "-1"], ["--workers", "2"],
                ["--plots", str(tmp_path / "a_file")],           # a report that cannot be
                ["--md", str(tmp_path / "no_folder" / "r.md")]):  # written: bad input, not FAIL
        assert main(["--only", "sawtooth", "--quick", "--scheduler", "none", *bad,
                     "--json", str(out)]) == 2 and not out.exists()


def test_exactregions_verify_delegates(tmp_path):
    from exactregions.cli import main as cli_main

    assert cli_main(["verify", "--list"]) == 0


def test_verdict_needs_criteria():
    r = CheckResult("x", "c", Verdict.FAIL, {}, {}, None, {}, 0.0)
    assert r.to_json()["verdict"] == "fail"


def test_theorem1_recounts_near_ties_exactly(monkeypatch):
    """Two neurons switching at the same point: the float kernel flags a near-tie and the count
    comes from the exact core (one B_N point, not two)."""
    from exactregions.exact.netfile import network_from_dict
    from exactregions.floating.tensors import TorchNet
    from proofs_check import theorem_1

    net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                             "layers": [{"weight": [[1], [1]], "bias": [0, 0], "activation": "relu"},
                                        {"weight": [[1, 1]], "bias": [0], "activation": "identity"}]})
    monkeypatch.setattr(theorem_1, "float_net", lambda *a, **k: TorchNet.from_network(net))
    monkeypatch.setattr(theorem_1, "make_net", lambda *a, **k: net)
    out = theorem_1.line_counts(((1, 2, 1), "relu", 2.0, [0], "cpu", False))
    assert out["near_ties"] == 1 and out["counts"] == [1]


def _small(module, monkeypatch, **sizes):
    """Measure ``module`` in-process at reduced sizes (the designs stay the same)."""
    base = module.sizes(True)
    monkeypatch.setattr(module, "sizes", lambda quick: {**base, **sizes})
    return module.measure(RunContext(0, True, Runner(None, progress=False)))


def test_theorem_3_passes_clean_and_fails_a_planted_error(monkeypatch):
    """Paired design: the clean data pass; the formula × 1.1 fails, and the report's power says
    10% is detectable (the smallest detectable error is below 0.1)."""
    from proofs_check import theorem_3

    data = _small(theorem_3, monkeypatch, nets=25, terms_nets=100)
    clean = theorem_3.judge(data, 0.0)
    assert clean.verdict is Verdict.PASS, {k: c for k, c in clean.criteria.items() if not c["ok"]}
    assert clean.figures["power"] < 0.1
    planted = theorem_3.judge(data, 0.1)
    assert planted.verdict is Verdict.FAIL
    assert not planted.criteria["hardtanh_k1"]["ok"]


@pytest.mark.parametrize("plant, fails", [({"goodness": False}, "terms_theorem_k1"),
                                          ({"conditional": False}, "terms_theorem_k2")])
def test_theorem_3_sees_the_papers_terms(monkeypatch, plant, fails):
    """Planted in the formula itself: dropping the goodness indicator, or the plain forward pass
    instead of the one conditioned on z_1 at its breakpoint, fails the check (the narrow deep
    design makes both terms matter: ~45% and ~35%)."""
    from proofs_check import theorem_3

    monkeypatch.setitem(theorem_3.VARIANTS, "theorem", plant)
    data = _small(theorem_3, monkeypatch, nets=6,
                  terms_nets=150 if "goodness" in plant else 700)
    r = theorem_3.judge(data, 0.0)
    assert r.verdict is Verdict.FAIL and not r.criteria[fails]["ok"]


def test_theorem_1_passes_clean_and_fails_a_planted_error(monkeypatch):
    from proofs_check import theorem_1

    monkeypatch.setattr(theorem_1, "nets_per_setting", lambda quick: 80)
    data = theorem_1.measure(RunContext(0, True, Runner(None, progress=False)))
    clean = theorem_1.judge(data, 0.0)
    assert clean.verdict is Verdict.PASS, {k: c for k, c in clean.criteria.items() if not c["ok"]}
    planted = theorem_1.judge(data, 0.1)
    assert planted.verdict is Verdict.FAIL and clean.figures["power"] < 0.1
    assert not any(c["ok"] for k, c in planted.criteria.items()
                   if k.startswith("formula_") and c["detectable_relative_error"] < 0.05)


def test_paired_power_is_what_a_planted_error_shows():
    """The reported detectable error is calibrated: a planted error of twice it is caught, one of
    a tenth is not (simulated nets with a known noise)."""
    from proofs_check.stats import paired

    rng = np.random.default_rng(0)
    pred = rng.uniform(5, 15, 400)
    meas = pred + rng.normal(0, 2.0, 400)
    p = paired(meas, pred)
    assert p["ok"]
    assert not paired(meas, pred, plant=2 * p["detectable_relative_error"])["ok"]
    assert paired(meas, pred, plant=0.1 * p["detectable_relative_error"])["ok"]


def test_proposition_11_sees_a_wrong_split_between_k_sets(monkeypatch):
    """A formula whose per-layer sums are right but which gives 40% of one neuron's share to
    another of its layer passes the per-signature tests and fails the per-set one; a planted
    error of 20% fails the per-signature ones."""
    import copy

    from proofs_check import proposition_11

    monkeypatch.setattr(proposition_11, "ACTS", ("relu",))
    data = _small(proposition_11, monkeypatch, nets=120, points=256)
    clean = proposition_11.judge(data, 0.0)
    assert clean.verdict is Verdict.PASS, {k: c for k, c in clean.criteria.items() if not c["ok"]}
    moved = copy.deepcopy(data)
    for r in moved["rows"]["relu"]:
        f = r["formula"]
        share = 0.4 * f["((0, 0),)"]
        f["((0, 0),)"] -= share
        f["((0, 1),)"] += share
    bad = proposition_11.judge(moved, 0.0)
    assert bad.criteria["relu layers 0"]["ok"] and not bad.criteria["relu_every_set"]["ok"]
    assert proposition_11.judge(data, 0.2).verdict is Verdict.FAIL


def test_corollary_5_pins_the_decay_and_sees_a_faster_one(monkeypatch):
    """The slope test passes on the real distances and fails when they decay like
    #neurons^-1.3 (each net's distance × (#neurons/60)^-0.3)."""
    from functools import lru_cache

    from proofs_check import corollary_5

    real = lru_cache(maxsize=None)(corollary_5.distance_task)
    monkeypatch.setattr(corollary_5, "distance_task", real)
    ctx = RunContext(0, True, Runner(None, progress=False))
    clean = corollary_5.run(ctx)
    assert clean.criteria["decays_like_c_over_n"]["ok"]

    def faster(spec):
        r = dict(real(spec))
        r["good_times_neurons"] *= (sum(spec[0]) / 60) ** -0.3
        return r

    monkeypatch.setattr(corollary_5, "distance_task", faster)
    assert not corollary_5.run(ctx).criteria["decays_like_c_over_n"]["ok"]


def test_lemma_12_decides_with_a_margin_and_sees_a_bound_too_small(monkeypatch):
    """Real nets: every case confirmed with the 1% margin.  A bound 40% too small (the ω_2 ε²
    term dropped and the rest scaled) is certified violated, not left undecided."""
    from proofs_check import lemma_12

    spec = ((2, 6, 6, 1), "relu", 11, (0.5, 1.0), 9, 12)
    good = lemma_12._task(spec)
    assert all(e["status"] == "confirmed" for e in good["by_eps"])
    monkeypatch.setattr(lemma_12, "tube_bound", lambda eps, length, pts: 0.6 * 2 * eps * length)
    bad = lemma_12._task(spec)
    assert all(e["status"] == "violated" for e in bad["by_eps"])


def test_corollary_4_sees_a_density_growing_a_power_of_n_too_fast(monkeypatch):
    """The upper bound at the larger sizes fails when the density grows like N·C(N, k)
    (each exact volume × (N/6)²); the real densities pass at every size."""
    from proofs_check import corollary_4

    monkeypatch.setattr(corollary_4, "ACTS", ("relu",))
    ctx = RunContext(0, True, Runner(None, progress=False))
    clean = corollary_4.run(ctx)
    assert clean.verdict is Verdict.PASS
    real = corollary_4.exact_volumes

    def faster(spec):
        r = real(spec)
        N = sum(spec[1][1:-1])
        return {**r, "volumes": {k: v * (N / 6) ** 2 for k, v in r["volumes"].items()}}

    monkeypatch.setattr(corollary_4, "exact_volumes", faster)
    bad = corollary_4.run(ctx)
    assert not bad.criteria["sizes_N16_k1"]["ok"] and bad.criteria["sizes_N6_k1"]["ok"]


def test_theorem_2_pins_both_exponents_and_sees_a_linear_region_law(monkeypatch):
    from functools import lru_cache

    from proofs_check import theorem_2

    real = lru_cache(maxsize=None)(theorem_2.complex_task)
    monkeypatch.setattr(theorem_2, "complex_task", real)
    ctx = RunContext(0, True, Runner(None, progress=False))
    assert theorem_2.run(ctx).verdict is Verdict.PASS
    # a counter that follows Theorem 1's 1-D law in the plane (regions ∝ #neurons) is caught
    monkeypatch.setattr(theorem_2, "complex_task",
                        lambda spec: {**real(spec), "linear_regions": 3 * real(spec)["neurons"]})
    bad = theorem_2.run(ctx)
    assert not bad.criteria["regions_quadratic_in_neurons"]["ok"]
    assert bad.criteria["density_linear_in_neurons"]["ok"]


def test_corollary_8_holds_with_the_proofs_constant_and_reports_its_margin(monkeypatch):
    from functools import lru_cache

    from proofs_check import corollary_8

    monkeypatch.setattr(corollary_8, "distance_task",
                        lru_cache(maxsize=None)(corollary_8.distance_task))
    ctx = RunContext(0, True, Runner(None, progress=False))
    clean = corollary_8.run(ctx)
    assert clean.verdict is Verdict.PASS
    margin = clean.figures["power"]
    assert 1 < margin < 100
    planted = corollary_8.run(RunContext(0, True, Runner(None, progress=False),
                                         plant=1.2 * margin + 0.5))
    assert not planted.criteria["relu"]["ok"] or not planted.criteria["hardtanh"]["ok"]
    # an exact distance measured on K itself (no reach) would not be certified
    assert all(r["reach"] >= 1 for r in clean.evidence)


def test_figure_7_sees_a_collapsed_distribution(monkeypatch):
    from proofs_check import figure_7

    ctx = RunContext(0, True, Runner(None, progress=False))
    monkeypatch.setattr(figure_7, "log_distances",
                        lambda spec: {"seed": spec[0], "log10": list(np.linspace(-2.2, -1.6, 50)),
                                      "near_ties": 0})
    assert figure_7.run(ctx).verdict is Verdict.FAIL


def test_sawtooth_sees_a_wrong_tent_and_noise_that_does_nothing(monkeypatch):
    """A tent whose middle kink sits at 0.4 instead of 1/2 breaks the exact 2^n count for n ≥ 2;
    'noise' that leaves the net unchanged keeps 2^n pieces and fails the collapse criterion."""
    from fractions import Fraction

    from exactregions.exact.network import Layer, Network
    from proofs_check import sawtooth

    real = sawtooth.sawtooth_network

    def skewed(n):
        net = real(n)
        l0 = net.layers[0]
        b = list(l0.bias)
        b[1] = Fraction(-2, 5)
        return Network(net.input_dim, (Layer(l0.weight, tuple(b), l0.activation),)
                       + net.layers[1:])

    ctx = RunContext(0, True, Runner(None, progress=False))
    monkeypatch.setattr(sawtooth, "perturbed_sawtooth", lambda n, seed, sigma=0.1: real(n))
    r = sawtooth.run(ctx)
    assert r.criteria["exact_2_to_n"]["ok"] and not r.criteria["noise_collapses"]["ok"]
    monkeypatch.setattr(sawtooth, "sawtooth_network", skewed)
    assert sawtooth._count((3, None))["linear_regions"] != 8
