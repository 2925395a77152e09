"""Metamorphic transformations that must not change any correct counter's answer.

Permuting hidden units, positively rescaling a neuron (and the next layer's weights inversely;
positively homogeneous activations only), and adding a dead neuron leave the partition
unchanged.  Splitting a segment at its midpoint adds the pieces up: the halves have one piece
more than the whole, or as many when the midpoint is itself a breakpoint (the exact core decides).
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any, Callable, Sequence

from exactregions.exact.activation import Activation
from exactregions.exact.network import Layer, Network
from exactregions.exact.rational import exact_rational
from exactregions.testing.oracles import CounterMismatch, model_for

__all__ = ["permute_hidden", "rescale_neuron", "add_dead_neuron", "check_line_metamorphic"]


def permute_hidden(net: Network, seed: int = 0) -> Network:
    """The same function with the units of every hidden layer permuted (seeded)."""
    rng = random.Random(seed)
    layers = list(net.layers)
    for l in range(len(layers) - 1):
        perm = list(range(layers[l].out_dim))
        rng.shuffle(perm)
        cur, nxt = layers[l], layers[l + 1]
        layers[l] = Layer(tuple(cur.weight[p] for p in perm), tuple(cur.bias[p] for p in perm),
                          tuple(cur.activations[p] for p in perm))
        layers[l + 1] = Layer(tuple(tuple(row[p] for p in perm) for row in nxt.weight), nxt.bias,
                              nxt.activation)
    return Network(net.input_dim, tuple(layers), source=f"{net.source} (permuted)")


def _homogeneous(a: "Activation | tuple[Activation, ...]") -> bool:
    acts = a if isinstance(a, tuple) else (a,)
    return all(x.breakpoints in ((), (Fraction(0),)) and all(p == 0 for p in x.offsets)
               for x in acts)


def rescale_neuron(net: Network, layer: int = 0, index: int = 0, c: Fraction = Fraction(2)) -> Network:
    """Neuron (layer, index) scaled by c > 0 and its outgoing weights by 1/c (ReLU-like φ only).

    Raises
    ------
    ValueError
        If c <= 0, the layer is the last, or φ is not positively homogeneous.
    """
    c = Fraction(c)
    if c <= 0 or layer >= len(net.layers) - 1 or not _homogeneous(net.layers[layer].activation):
        raise ValueError("rescaling needs c > 0, a hidden layer and a positively homogeneous φ")
    layers = list(net.layers)
    cur, nxt = layers[layer], layers[layer + 1]
    W = [list(r) for r in cur.weight]
    b = list(cur.bias)
    W[index] = [c * w for w in W[index]]
    b[index] *= c
    W2 = [list(r) for r in nxt.weight]
    for r in W2:
        r[index] /= c
    layers[layer] = Layer(tuple(map(tuple, W)), tuple(b), cur.activation)
    layers[layer + 1] = Layer(tuple(map(tuple, W2)), nxt.bias, nxt.activation)
    return Network(net.input_dim, tuple(layers), source=f"{net.source} (rescaled)")


def add_dead_neuron(net: Network, layer: int = 0) -> Network:
    """One more unit in hidden ``layer`` that is constant and closed (a zero row whose bias puts
    it on a zero-slope piece of φ), feeding the next layer: the function does not change.

    Raises
    ------
    ValueError
        If φ of that layer has no zero-slope piece or ``layer`` is the last.
    """
    if layer >= len(net.layers) - 1:
        raise ValueError("a dead neuron must sit in a hidden layer")
    cur, nxt = net.layers[layer], net.layers[layer + 1]
    act = cur.neuron_activation(0)   # the new unit takes neuron 0's φ
    flat = [j for j, q in enumerate(act.slopes) if q == 0]
    if not flat:
        raise ValueError(f"{act.name} has no zero-slope piece: no neuron of it is dead")
    j = flat[0]
    bps = act.breakpoints
    value = bps[0] - 1 if j == 0 else (bps[-1] + 1 if j == len(bps) else (bps[j - 1] + bps[j]) / 2)
    W = cur.weight + (tuple(Fraction(0) for _ in range(cur.in_dim)),)
    b = cur.bias + (value,)
    out = act.slopes[j] * value + act.offsets[j]
    W2 = tuple(row + (Fraction(3),) for row in nxt.weight)
    b2 = tuple(bb - 3 * out for bb in nxt.bias)  # cancel the constant it feeds forward
    layers = list(net.layers)
    layers[layer] = Layer(W, b, cur.activations + (act,))
    layers[layer + 1] = Layer(W2, b2, nxt.activation)
    return Network(net.input_dim, tuple(layers), source=f"{net.source} (plus a dead neuron)")


def check_line_metamorphic(counter: Callable[..., Any], net: Network, p1: Sequence[Any],
                           p2: Sequence[Any], model: str = "numpy", seed: int = 0) -> None:
    """The counter's line count must not change under the transformations above.

    Raises
    ------
    CounterMismatch
        Naming the transformation that changed the count.
    """
    def count(n: Network) -> int:
        got = counter(model_for(n, model), [float(v) for v in p1], [float(v) for v in p2])
        return int(got) if isinstance(got, int) or getattr(got, "ndim", 1) == 0 else len(got) + 1

    base = count(net)
    variants = [("permuting hidden units", lambda: permute_hidden(net, seed))]
    if len(net.layers) > 1:
        if _homogeneous(net.layers[0].activation):
            # by 2: a dyadic factor keeps the weights exact in float64, so a float counter sees
            # exactly the same function (by 3 it would see 1/3 rounded, a different net)
            variants.append(("rescaling neuron (0, 0) by 2", lambda: rescale_neuron(net, 0, 0, Fraction(2))))
        if any(q == 0 for q in net.layers[0].neuron_activation(0).slopes):
            variants.append(("adding a dead neuron", lambda: add_dead_neuron(net, 0)))
    for name, make in variants:
        c = count(make())
        if c != base:
            raise CounterMismatch(f"{name} changed the counter's answer from {base} to {c} "
                                  f"(net widths {'-'.join(map(str, net.widths))})")
    # refining the domain: split at the midpoint m; the pieces of the halves add up to the whole's
    # plus one, or exactly to the whole's when m is itself a breakpoint
    from exactregions.exact.complex import region_complex
    from exactregions.exact.domain import segment
    a = [exact_rational(v) for v in p1]
    b = [exact_rational(v) for v in p2]
    t = Fraction(1, 2)
    m = [x + t * (y - x) for x, y in zip(a, b)]
    on_break = any(p.witness[0] == t for p in region_complex(net, segment(a, b)).pieces)
    left = counter(model_for(net, model), [float(v) for v in a], [float(v) for v in m])
    right = counter(model_for(net, model), [float(v) for v in m], [float(v) for v in b])
    n_left = int(left) if isinstance(left, int) or getattr(left, "ndim", 1) == 0 else len(left) + 1
    n_right = int(right) if isinstance(right, int) or getattr(right, "ndim", 1) == 0 else len(right) + 1
    # interior breakpoints of the halves are those of the whole, less the midpoint if it is one
    want = base + (0 if on_break else 1)
    if n_left + n_right != want:
        raise CounterMismatch(
            f"splitting the segment at its midpoint{' (a breakpoint)' if on_break else ''}: the "
            f"halves have {n_left} + {n_right} pieces, but the whole has {base}, so they should add "
            f"up to {want} (net widths {'-'.join(map(str, net.widths))})")
