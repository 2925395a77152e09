"""Import from and export to torch nn.Sequential."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import given, strategies as st
from torch import nn

import exactregions as er
from exactregions.floating.torch_io import load_torch_network, network_from_torch, network_to_torch
from exactregions.testing.strategies import networks


@given(networks(weights="dyadic", biases="dyadic"), st.lists(st.fractions(-2, 2), min_size=3, max_size=3))
def test_export_then_import_is_exact_for_dyadic_nets(net, x):
    back = network_from_torch(network_to_torch(net))
    if all(l.activation.name != "pwl" for l in net.layers):
        assert [l.weight for l in back.layers] == [l.weight for l in net.layers]
    point = [Fraction(float(v)) for v in x[: net.input_dim]]
    got = network_to_torch(net)(torch.tensor([[float(v) for v in point]], dtype=torch.float64))
    assert got.item() == pytest.approx(float(net.forward(point)[0]), rel=1e-12, abs=1e-12)


def test_import_takes_binary_values_and_rejects_sigmoid(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 3), nn.LeakyReLU(0.1), nn.Linear(3, 1))
    net = network_from_torch(model)
    assert net.layers[0].weight[0][0] == Fraction(model[1].weight[0, 0].item())
    assert net.layers[0].activation.slopes[0] == Fraction(0.1)
    torch.save(model, tmp_path / "m.pt")
    assert load_torch_network(tmp_path / "m.pt").layers == net.layers
    with pytest.raises(er.UnsupportedActivationError):
        network_from_torch(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()))
    with pytest.raises(er.FormatError):
        load_torch_network(tmp_path / "missing.pt")
