"""The experiment pipeline: IDX reading, data errors, resume, and its counts tied to the exact core."""

from __future__ import annotations

import gzip
import json
import struct
from fractions import Fraction

import numpy as np
import pytest
import torch

from exactregions.cli import main as cli
from exactregions.experiments.datasets import DatasetError, load_dataset, read_idx
from exactregions.experiments.training import T_RANGE, RunSpec, make_model, measure, train_run


def _idx(arr: np.ndarray) -> bytes:
    code = 0x08 if arr.dtype == np.uint8 else 0x0C
    return struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) \
        + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _mnist_dir(tmp_path, n=20, gz=True):
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
             "train-labels-idx1-ubyte": rng.integers(0, 10, n, dtype=np.uint8),
             "t10k-images-idx3-ubyte": rng.integers(0, 256, (n // 2, 28, 28), dtype=np.uint8),
             "t10k-labels-idx1-ubyte": rng.integers(0, 10, n // 2, dtype=np.uint8)}
    for name, arr in files.items():
        data = _idx(arr)
        (tmp_path / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(data) if gz else data)
    return files


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip(tmp_path, gz):
    files = _mnist_dir(tmp_path, gz=gz)
    d = load_dataset("mnist", tmp_path)
    assert d.x_train.shape == (20, 784) and d.shape == (28, 28)
    assert np.array_equal(d.y_test, files["t10k-labels-idx1-ubyte"])
    assert np.array_equal((d.x_train * 255).round().astype(np.uint8).reshape(20, 28, 28),
                          files["train-images-idx3-ubyte"])


def test_bad_data_is_named(tmp_path):
    _mnist_dir(tmp_path, gz=False)
    p = tmp_path / "t10k-labels-idx1-ubyte"
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(DatasetError, match="truncated"):
        load_dataset("mnist", tmp_path)
    (tmp_path / "junk").write_bytes(b"hello world")
    with pytest.raises(DatasetError, match="not an IDX"):
        read_idx(tmp_path / "junk")
    with pytest.raises(DatasetError, match="--data-dir"):
        load_dataset("mnist")
    with pytest.raises(DatasetError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist", tmp_path / "nowhere")


def test_cli_bad_data_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "exp"
    assert cli(["experiment", "--dataset", "mnist", "--out", str(out)]) == 2
    assert not out.exists()
    assert "data-dir" in capsys.readouterr().err


def test_line_counts_match_the_exact_core():
    """The tracked regions-per-line equal the exact 1-D count of the same segment."""
    import exactregions as er
    from exactregions.floating.torch_io import network_from_torch

    data = load_dataset("digits")
    model = make_model(64, (6, 6, 6), 10, seed=3)
    e = torch.as_tensor(data.x_train[:4], dtype=torch.float64)
    m = measure(model, data, e, e, "cpu")
    net = network_from_torch(model)
    exact = []
    for row in data.x_train[:4]:
        a = [Fraction(float(x)) * Fraction(T_RANGE[0]) for x in row]
        b = [Fraction(float(x)) * Fraction(T_RANGE[1]) for x in row]
        exact.append(len(er.region_complex(net, er.segment(a, b)).linear_regions))
    assert m["regions_per_neuron"] * 18 == pytest.approx(np.mean(exact), abs=1e-12)
    assert m["line_near_ties"] == 0


def test_resume_equals_an_uninterrupted_run(tmp_path):
    data = load_dataset("digits")
    spec = RunSpec((8, 8, 8), 1, 1, lines=5, points=50)
    full = train_run(spec, data, tmp_path / "a", progress=False)

    class Stop(Exception):
        pass

    seen = []

    def stop_after_three(rec):
        seen.append(rec)
        if len(seen) == 3:
            raise Stop

    with pytest.raises(Stop):
        train_run(spec, data, tmp_path / "b", on_record=stop_after_three, progress=False)
    resumed = train_run(spec, data, tmp_path / "b", progress=False)
    assert resumed == full
    lines = (tmp_path / "b" / "records.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines] == full


def test_experiment_cli_on_digits(tmp_path):
    out = tmp_path / "exp"
    assert cli(["experiment", "--dataset", "digits", "--archs", "6,6,6", "--epochs", "1",
                "--seeds", "1", "--lines", "5", "--points", "40", "--no-progress",
                "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["archs"][0]["neurons"] == 18 and len(s["checkpoints"]) == 12
    for f in ("fig1_8_slices", "fig3_sawtooth", "fig4_1d_graph", "fig5a_regions_early",
              "fig5b_regions", "fig6a_distance", "fig6b_distance_x_neurons", "fig6b_test_points",
              "fig6c_distance_vs_accuracy"):
        assert (out / "figures" / f"{f}.png").stat().st_size > 0
    md = (out / "summary.md").read_text()
    assert "Beside the paper" in md and "## Deviations from the paper's setup" in md
    assert "| data set | MNIST | digits |" in md and "| Figs 1/8 net | [64, 64, 64] | [6, 6, 6] |" in md
    assert json.loads((out / "figures" / "fig3_sawtooth.json").read_text())["sawtooth"]["pieces"] == 32
    # Figures 1/8: examples of classes 0, 1, 2, the square around their circumcentre
    data = load_dataset("digits")
    from exactregions.experiments.experiment import _figure_18_examples
    idx, names = _figure_18_examples(data, 0)
    assert [int(data.y_train[i]) for i in idx] == [0, 1, 2] and names[2].startswith("class 2")
    sl = s["slices"]
    assert sl[0]["regions_over_neurons_squared"] == sl[0]["activation_regions"] / 18 ** 2
    # Figure 6 at the paper's Gaussian sample points as well as at test points
    rec = json.loads((out / "records.json").read_text())[0]
    assert rec["distance_times_neurons_gauss"] > 0 and rec["distance_times_neurons"] > 0
    # Figure 4 with the paper's biases: N(0, 1e-6)
    f4 = json.loads((out / "figures" / "fig4_1d_graph.json").read_text())
    assert f4["bias_std"] == 1e-3 and max(abs(b) for b in f4["breakpoints"]) < 0.1


def test_the_dip_is_called_only_when_it_beats_the_checkpoint_noise():
    """Regions/neuron 1.00 at init, 0.97 at 0.1 epoch, 1.02 at the end: with 100 lines of
    sd 0.05 a neuron (SE 0.005) the dip and the rebound are significant; with sd 0.5 (SE 0.05)
    neither is."""
    from exactregions.experiments.experiment import _summary

    class D:
        name, source = "digits", "test"

    def recs(sd):
        out = []
        for e, v in zip([0.0, 0.05, 0.1, 0.5, 1.0], [1.0, 0.99, 0.97, 0.99, 1.02]):
            out.append({"hidden": [4, 4, 4], "epoch": e, "regions_per_neuron": v,
                        "regions_per_neuron_sd": sd, "distance_times_neurons": 0.5,
                        "distance_times_neurons_gauss": 0.6, "test_accuracy": 0.9,
                        "line_near_ties": 0, "distance_near_ties": 0})
        return out

    sharp = _summary(recs(0.05), [(4, 4, 4)], [], "", 1, 1, 100, 10, D, 0.0, [4, 4, 4], "none",
                     "")["archs"][0]
    noisy = _summary(recs(0.5), [(4, 4, 4)], [], "", 1, 1, 100, 10, D, 0.0, [4, 4, 4], "none",
                     "")["archs"][0]
    assert sharp["early_dip"] and sharp["rebound"] and sharp["dip_epoch"] == 0.1
    assert not noisy["early_dip"] and not noisy["rebound"]
    assert sharp["band_fraction_gauss"] == 1.0 and sharp["band_fraction_test"] == 1.0


def test_training_runs_on_a_dask_cluster_give_the_same_records(tmp_path):
    common = ["experiment", "--dataset", "digits", "--archs", "4,4,4", "5,5,5", "--epochs", "1",
              "--seeds", "1", "--lines", "4", "--points", "30", "--no-progress"]
    assert cli(common + ["--out", str(tmp_path / "a")]) == 0
    assert cli(common + ["--scheduler", "local", "--workers", "2", "--out",
                         str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "records.json").read_text())
    b = json.loads((tmp_path / "b" / "records.json").read_text())
    # the same runs; float32 training on one thread (a worker) and on two (in process) sums in
    # another order, so real-valued figures agree to rounding, counts exactly
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float):
                assert x[k] == pytest.approx(y[k], rel=1e-6), k
            else:
                assert x[k] == y[k], k
    assert "runs on Dask (local)" in (tmp_path / "b" / "summary.md").read_text()


def test_resume_refuses_other_settings(tmp_path):
    from exactregions.errors import InvalidDomainError

    data = load_dataset("digits")
    train_run(RunSpec((4, 4, 4), 0, 1, lines=3, points=20), data, tmp_path, progress=False)
    with pytest.raises(InvalidDomainError, match="lines"):
        train_run(RunSpec((4, 4, 4), 0, 1, lines=5, points=20), data, tmp_path, progress=False)
    more = train_run(RunSpec((4, 4, 4), 0, 2, lines=3, points=20), data, tmp_path, progress=False)
    assert [r["epoch"] for r in more][-2:] == [1.0, 2.0]


def test_a_run_from_an_older_version_is_redone_not_refused(tmp_path):
    """The quick start is idempotent across versions: a run whose spec lacks today's
    measurements (no Gaussian distances) is trained again instead of refused."""
    data = load_dataset("digits")
    spec = RunSpec((4, 4, 4), 0, 1, lines=3, points=20)
    train_run(spec, data, tmp_path, progress=False)
    old = json.loads((tmp_path / "spec.json").read_text())
    del old["measures"]
    (tmp_path / "spec.json").write_text(json.dumps(old))
    again = train_run(spec, data, tmp_path, progress=False)
    assert "distance_times_neurons_gauss" in again[0]
