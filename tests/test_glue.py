"""The gluing helpers of the float slice against independent oracles: numpy's packbits for the
bit packing, a path search over the weights for Proposition 9's goodness."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, strategies as st

import exactregions as er
from exactregions.exact.activation import Activation
from exactregions.floating.glue import _bit_words, _good_at, _pack_octets
from exactregions.floating.tensors import TorchNet


@given(st.integers(1, 12), st.integers(1, 9), st.integers(0, 2 ** 31 - 1))
def test_torch_bit_packing_equals_numpy_packbits(rows, octets, seed):
    planes = np.random.default_rng(seed).integers(0, 2, size=(rows, 8 * octets), dtype=np.uint8)
    got = _pack_octets(torch.from_numpy(planes)).numpy()
    assert np.array_equal(got, np.packbits(planes, axis=1, bitorder="little"))


@given(st.integers(1, 150), st.integers(1, 3), st.integers(0, 2 ** 31 - 1))
def test_bit_words_put_bit_b_of_entry_i_at_b_times_n_plus_i(n, n_bits, seed):
    pat = torch.from_numpy(np.random.default_rng(seed).integers(0, 2 ** n_bits, size=(5, n),
                                                                dtype=np.int8))
    words = _bit_words(pat, n_bits)
    for r in range(5):
        for b in range(n_bits):
            for i in range(n):
                pos = b * n + i
                bit = (int(words[r, pos // 64]) >> (pos % 64)) & 1
                assert bit == (int(pat[r, i]) >> b) & 1


def _good_by_paths(net: TorchNet, pattern: list[int], layer: int, i: int) -> bool:
    """Neuron i of ``layer`` is good iff a path of open neurons (nonzero slope on their piece)
    joined by nonzero weights leads from it to the output layer."""
    widths = [w.shape[0] for w in net.W]
    starts = [sum(widths[:m]) for m in range(len(widths))]
    frontier = {i}
    for m in range(layer + 1, net.depth):
        frontier = {j for j in range(widths[m])
                    if float(net.q[m][pattern[starts[m] + j]]) != 0.0
                    and any(float(net.W[m][j, k]) != 0.0 for k in frontier)}
    return bool(frontier)


@given(st.lists(st.integers(1, 4), min_size=2, max_size=3), st.sampled_from(["relu", "hardtanh"]),
       st.booleans(), st.integers(0, 2 ** 31 - 1))
def test_good_at_equals_a_path_search(hidden, act, sparse, seed):
    activation = Activation.relu() if act == "relu" else Activation.hardtanh()
    net = er.random_network([2, *hidden, 1], seed=seed, activation=activation, bias_std=0.5)
    tn = TorchNet.from_network(net)
    rng = np.random.default_rng(seed)
    if sparse:   # zero weights: "reached" becomes a row of bits (the second code path)
        W = tuple(w * torch.from_numpy(rng.integers(0, 2, size=w.shape)).to(w.dtype) for w in tn.W)
        tn = TorchNet(W, tn.b, tn.xi, tn.q, tn.p)
    n_pieces = [x.numel() + 1 for x in tn.xi]
    patterns = torch.tensor(np.concatenate(
        [rng.integers(0, k, size=(6, w.shape[0])) for k, w in zip(n_pieces, tn.W)], axis=1),
        dtype=torch.int8)
    n_hidden = sum(hidden)
    poly = torch.from_numpy(rng.integers(0, 6, size=20))
    neuron = torch.from_numpy(rng.integers(0, n_hidden, size=20))
    got = _good_at(tn, patterns, poly, neuron).tolist()
    starts = np.cumsum([0, *hidden])
    for g, P, z in zip(got, poly.tolist(), neuron.tolist()):
        layer = int(np.searchsorted(starts, z, side="right")) - 1
        assert g == _good_by_paths(tn, patterns[P].tolist(), layer, z - int(starts[layer]))
