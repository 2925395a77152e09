"""Every model a researcher has goes in: torch modules (nested, with batch norm, PReLU, convs),
saved files, TorchScript, state_dicts, ONNX — converted exactly, checked against the model's own
float forward pass, and refused by name where the layer is not piecewise linear of this form."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

import exactregions as er
from exactregions.cli import main

torch.manual_seed(0)


def _agree(model, net, shape, n=6):
    """The exact net (a rational forward pass) and the model (float64) give the same outputs."""
    x = torch.rand((n,) + tuple(shape), dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        want = model.double()(x).reshape(n, -1)
    got = torch.tensor([[float(v) for v in net.forward([er.exact_rational(t) for t in row])]
                        for row in x.reshape(n, -1).tolist()], dtype=torch.float64)
    assert torch.allclose(want, got, rtol=1e-12, atol=1e-12), (want, got)


def _mlp():
    bn = nn.BatchNorm1d(4)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-0.5, 0.5)
    return nn.Sequential(nn.Flatten(), nn.Linear(3, 4), bn, nn.ReLU(), nn.Dropout(0.5),
                         nn.Sequential(nn.Linear(4, 4), nn.PReLU(), nn.Identity()),
                         nn.Linear(4, 5), nn.ReLU6(), nn.Linear(5, 3), nn.Hardtanh(),
                         nn.Linear(3, 3), nn.LeakyReLU(0.1), nn.Linear(3, 2)).eval()


def test_a_module_object_goes_in_everywhere():
    model = _mlp()
    net = er.load_network(model)
    assert net.widths == (3, 4, 4, 5, 3, 3, 2)
    assert [l.activation.name for l in net.layers] == ["relu", "leaky_relu", "relu6", "hardtanh",
                                                        "leaky_relu", "identity"]
    _agree(model, net, (3,))
    rc = er.region_complex(model, er.plane([0, 0, 0], [1, 0, 0], [0, 1, 0], [(-1, 1), (-1, 1)]))
    assert rc.certificate["independent"]["ok"]
    from exactregions.floating.tensors import TorchNet
    assert TorchNet.from_network(model).widths == net.widths


# users still hold TorchScript files, which torch 2.13 deprecates writing (not reading)
@pytest.mark.filterwarnings("ignore:`torch.jit.(script|save)` is deprecated:DeprecationWarning")
def test_saved_modules_torchscript_and_state_dicts(tmp_path):
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 1))
    whole, script, sd = tmp_path / "m.pt", tmp_path / "s.pt", tmp_path / "sd.pt"
    torch.save(model, whole)
    torch.jit.save(torch.jit.script(model), script)
    torch.save(model.state_dict(), sd)
    nets = [er.load_network(whole), er.load_network(script),
            er.load_network(sd, widths=[2, 6, 6, 1])]
    assert nets[0].layers == nets[1].layers == nets[2].layers
    _agree(model, nets[0], (2,))
    with pytest.raises(er.FormatError, match="--widths"):
        er.load_network(sd)
    with pytest.raises(er.InvalidNetworkError, match="shape"):
        er.load_network(sd, widths=[2, 5, 6, 1])
    out = tmp_path / "n.json"
    assert main(["net", "import", str(sd), "--widths", "2,6,6,1", "-o", str(out)]) == 0
    assert er.load_network(out).layers == nets[0].layers


def test_convolutions_and_average_pooling_unrolled_exactly():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Conv2d(2, 2, 2, stride=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(2, 1)).double()
    net = er.load_network(model, input_shape=(1, 4, 4))
    assert net.widths == (16, 32, 2, 1)
    _agree(model, net, (1, 4, 4))
    # the pooling's 1/4 is exact, not the float 0.25 times anything
    with pytest.raises(er.InvalidNetworkError, match="input_shape"):
        er.load_network(model)


def _prelu_per_channel():
    p = nn.PReLU(4)
    with torch.no_grad():
        p.weight.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    return p


def test_a_per_channel_prelu_has_a_slope_a_neuron_everywhere(tmp_path, capsys):
    """nn.PReLU(4) with four slopes: exact per-neuron leaky ReLUs (each slope the float's exact
    binary value), through the network file, back to torch, the CLI and the region complex."""
    model = nn.Sequential(nn.Linear(2, 4), _prelu_per_channel(), nn.Linear(4, 1)).double()
    net = er.load_network(model)
    lay = net.layers[0]
    assert lay.per_neuron and [a.slopes[0] for a in lay.activations] == [
        er.exact_rational(v) for v in model[1].weight.tolist()]
    _agree(model, net, (2,))
    f = tmp_path / "n.json"
    er.save_network(net, f)
    assert json.loads(f.read_text())["layers"][0]["activation"]["name"] == "prelu"
    assert er.load_network(f).layers == net.layers
    back = er.floating.torch_io.network_to_torch(net)
    assert isinstance(back[1], nn.PReLU)
    _agree(back, net, (2,))
    rc = er.region_complex(model, er.box([(-2, 2), (-2, 2)]))
    assert rc.certificate["independent"]["ok"]
    torch.save(model, tmp_path / "m.pt")
    assert main(["net", "import", str(tmp_path / "m.pt"), "-o", str(tmp_path / "i.json")]) == 0
    assert er.load_network(tmp_path / "i.json").layers == net.layers
    # a slope count that fits no layer is refused by name
    bad = nn.Sequential(nn.Linear(2, 3), _prelu_per_channel(), nn.Linear(3, 1))
    with pytest.raises(er.InvalidNetworkError, match="4 slopes after a layer of width 3"):
        er.load_network(bad)


def test_a_per_channel_prelu_after_a_convolution_repeats_over_the_channel():
    prelu = nn.PReLU(2)
    with torch.no_grad():
        prelu.weight.copy_(torch.tensor([0.25, -0.5]))
    model = nn.Sequential(nn.Conv2d(1, 2, 2), prelu, nn.Flatten(), nn.Linear(8, 1)).double()
    net = er.load_network(model, input_shape=(1, 3, 3))
    assert [a.slopes[0] for a in net.layers[0].activations] == [er.exact_rational(v) for v in
                                                                 [0.25] * 4 + [-0.5] * 4]
    _agree(model, net, (1, 3, 3))


def test_a_generic_per_neuron_layer_reads_and_writes_as_a_list():
    spec = [{"name": "pwl", "breakpoints": [0], "slopes": [0, 1], "value_at_first": 0},
            {"name": "pwl", "breakpoints": [0], "slopes": [2, 1], "value_at_first": 0}]
    net = er.network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
                                "layers": [{"weight": [[1], [-1]], "bias": [0, "1/2"],
                                            "activation": spec},
                                           {"weight": [[1, 1]], "bias": [0]}]})
    assert er.network_to_dict(net)["layers"][0]["activation"] == [
        {"name": "pwl", "breakpoints": ["0"], "slopes": ["0", "1"], "value_at_first": "0"},
        {"name": "pwl", "breakpoints": ["0"], "slopes": ["2", "1"], "value_at_first": "0"}]
    # by hand: neuron 0 at z = -1 on its zero-slope piece gives 0; neuron 1 at z = 3/2 gives 3/2
    assert net.forward([er.exact_rational(-1)]) == (er.exact_rational("3/2"),)
    with pytest.raises(er.InvalidNetworkError, match="share their activation's breakpoints"):
        er.Layer.from_numbers([[1], [1]], [0, 0], (er.Activation.relu(), er.Activation.relu6()))
    with pytest.raises(er.InvalidNetworkError, match="needs one activation or 2"):
        er.Layer.from_numbers([[1], [1]], [0, 0], (er.Activation.relu(),) * 3)


def test_a_per_channel_prelu_with_equal_slopes_is_a_leaky_relu():
    model = nn.Sequential(nn.Linear(2, 4), nn.PReLU(4), nn.Linear(4, 1))   # all slopes 0.25
    net = er.load_network(model)
    assert net.layers[0].activation.name == "leaky_relu"
    _agree(model, net, (2,))


@pytest.mark.parametrize("layer, words", [
    (nn.Softmax(dim=1), "drop the final softmax"), (nn.LogSoftmax(dim=1), "log-softmax"),
    (nn.Tanh(), "Tanh is refused: smooth"), (nn.GELU(), "GELU is refused"),
    (nn.Sigmoid(), "Sigmoid"), (nn.MaxPool1d(2), "MaxPool1d is refused"),
])
def test_refused_layers_are_named_with_the_reason(layer, words, tmp_path, capsys):
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4), layer)
    with pytest.raises(er.UnsupportedActivationError, match=words):
        er.load_network(model)
    f = tmp_path / "m.pt"
    torch.save(model, f)
    assert main(["net", "import", str(f), "-o", str(tmp_path / "n.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words.split()[0] in err[0]
    assert not (tmp_path / "n.json").exists()


def test_a_custom_model_class_loads_with_module(tmp_path, monkeypatch, capsys):
    pkg = tmp_path / "mymodels.py"
    pkg.write_text(textwrap.dedent("""
        import torch
        from torch import nn

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.act, self.fc2 = nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 1)

            def forward(self, x):
                return self.fc2(self.act(self.fc1(x)))

        class Swapped(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.act, self.b = nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3)

            def forward(self, x):
                return self.a(self.act(self.b(x)))

        class Backwards(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc2, self.act, self.fc1 = nn.Linear(5, 1), nn.ReLU(), nn.Linear(2, 5)

            def forward(self, x):
                return self.fc2(self.act(self.fc1(x)))
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import mymodels
    torch.save(mymodels.MLP(), tmp_path / "mlp.pt")
    torch.save(mymodels.Backwards(), tmp_path / "back.pt")
    torch.save(mymodels.Swapped(), tmp_path / "swapped.pt")
    del sys.modules["mymodels"]
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    monkeypatch.chdir("/")
    assert main(["net", "import", str(tmp_path / "mlp.pt"), "-o", str(tmp_path / "n.json")]) == 2
    assert "--module" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert main(["net", "import", "mlp.pt", "--module", "mymodels:MLP", "-o", "n.json"]) == 0
    assert er.load_network(tmp_path / "n.json").widths == (2, 5, 1)
    # layers registered in another order than forward applies them: refused, not mis-converted
    assert main(["net", "import", "back.pt", "--module", "mymodels:Backwards", "-o", "b.json"]) == 2
    err = capsys.readouterr().err
    assert "forward applies them differently" in err and "nn.Sequential" in err
    # ... and layers that chain but are applied in another order: the self-check refuses them
    assert main(["net", "import", "swapped.pt", "--module", "mymodels:Swapped", "-o", "s.json"]) == 2
    assert "does not compute what the model computes" in capsys.readouterr().err


# ----- ONNX, built node by node (no exporter needed), checked against a numpy forward pass ---

def _onnx_model(bn=True, slope=0.2):
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(4, 3)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(3, 4)), rng.normal(size=3)       # MatMul takes (in, out)
    W3 = rng.normal(size=(2, 3))
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.normal(size=4)
    mean, var = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    inits = [numpy_helper.from_array(a, n) for a, n in [
        (W1, "W1"), (b1, "b1"), (W2.T.copy(), "W2"), (b2, "b2"), (W3, "W3"), (gamma, "g"),
        (beta, "be"), (mean, "mu"), (var, "var"), (np.array(slope), "slope"),
        (np.array(-1.0), "lo"), (np.array(1.0), "hi")]]
    nodes = [helper.make_node("Flatten", ["x"], ["f"]),
             helper.make_node("Gemm", ["f", "W1", "b1"], ["h1"], transB=1),
             helper.make_node("BatchNormalization", ["h1", "g", "be", "mu", "var"], ["h2"],
                              epsilon=1e-5),
             helper.make_node("Relu", ["h2"], ["a1"]),
             helper.make_node("Dropout", ["a1"], ["d1"]),
             helper.make_node("MatMul", ["d1", "W2"], ["h3"]),
             helper.make_node("Add", ["h3", "b2"], ["h4"]),
             helper.make_node("PRelu", ["h4", "slope"], ["a2"]),
             helper.make_node("Identity", ["a2"], ["i2"]),
             helper.make_node("Gemm", ["i2", "W3"], ["h5"], transB=1),
             helper.make_node("Clip", ["h5", "lo", "hi"], ["y"])]
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 2])], inits)

    def forward(x):
        h = x @ W1.T + b1
        h = gamma * (h - mean) / np.sqrt(var + 1e-5) + beta
        h = np.maximum(h, 0)
        h = h @ W2.T + b2
        h = np.where(h >= 0, h, np.asarray(slope) * h)
        return np.clip(h @ W3.T, -1, 1)

    return helper.make_model(g), forward


def test_onnx_models_go_in(tmp_path):
    import onnx
    model, forward = _onnx_model()
    f = tmp_path / "m.onnx"
    onnx.save(model, str(f))
    net = er.load_network(f)
    assert net.widths == (3, 4, 3, 2)
    assert [l.activation.name for l in net.layers] == ["relu", "leaky_relu", "hardtanh"]
    x = np.random.default_rng(2).uniform(-2, 2, size=(8, 3))
    got = np.array([[float(v) for v in net.forward([er.exact_rational(t) for t in row])] for row in x])
    assert np.allclose(got, forward(x), rtol=1e-12, atol=1e-12)
    out = tmp_path / "n.json"
    assert main(["net", "import", str(f), "-o", str(out)]) == 0
    assert main(["enumerate", str(f), "--through", "0,0,0", "1,0,0", "0,1,0", "--box", "-1:1,-1:1",
                 "--json", str(tmp_path / "e.json")]) == 0


def test_an_onnx_prelu_with_a_slope_a_neuron_goes_in():
    model, forward = _onnx_model(slope=[0.2, -0.3, 0.5])
    net = er.load_network(model)
    assert [a.slopes[0] for a in net.layers[1].activations] == [
        er.exact_rational(v) for v in (0.2, -0.3, 0.5)]
    x = np.random.default_rng(3).uniform(-2, 2, size=(8, 3))
    got = np.array([[float(v) for v in net.forward([er.exact_rational(t) for t in row])] for row in x])
    assert np.allclose(got, forward(x), rtol=1e-12, atol=1e-12)
    bad, _ = _onnx_model(slope=[0.2, -0.3])
    with pytest.raises(er.InvalidNetworkError, match="2 slopes after a layer of width 3"):
        er.load_network(bad)


def test_onnx_refusals_and_garbage(tmp_path, capsys):
    from onnx import TensorProto, helper, numpy_helper
    W = numpy_helper.from_array(np.eye(2), "W")
    g = helper.make_graph([helper.make_node("Gemm", ["x", "W"], ["h"]),
                           helper.make_node("Tanh", ["h"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 2])], [W])
    with pytest.raises(er.UnsupportedActivationError, match="Tanh is refused"):
        er.load_network(helper.make_model(g))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01 not a model \xff")
    assert main(["net", "import", str(bad), "-o", str(tmp_path / "o.json")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
