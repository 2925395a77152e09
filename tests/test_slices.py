"""Slices: the restricted net is exact, and linear regions glue by the full input-space map."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, strategies as st

import exactregions as er
from exactregions.exact.domain import restrict_network
from exactregions.testing.strategies import dyadic_rationals, networks


@given(networks(input_dim=4, max_width=4, max_neurons=6),
       st.lists(st.lists(dyadic_rationals(), min_size=4, max_size=4), min_size=3, max_size=3),
       st.fractions(0, 1), st.fractions(0, 1))
def test_restricted_net_equals_the_net_on_the_plane(net, pts, s, t):
    p1, p2, p3 = pts
    try:
        dom = er.plane(p1, p2, p3)
    except er.InvalidDomainError:
        return  # collinear
    small = restrict_network(net, dom)
    x = [a + s * (b - a) + t * (c - a) for a, b, c in zip(p1, p2, p3)]
    assert small.forward([s, t]) == net.forward(x)


def test_gluing_uses_the_full_map_not_the_slice_map():
    # N(x, y) = relu(x + y) - relu(x): on the line y = 0 it is constant 0, but its full gradient
    # jumps from (0, 0) to (0, 1) at x = 0, so the segment crosses B_N once.
    F = Fraction
    net = er.Network(2, (er.Layer(((F(1), F(1)), (F(1), F(0))), (F(0), F(0)), er.Activation.relu()),
                         er.Layer(((F(1), F(-1)),), (F(0),), er.Activation.identity())))
    rc = er.region_complex(net, er.segment([-1, 0], [1, 0]))
    assert len(rc.activation_regions) == 2
    assert len(rc.linear_regions) == 2 and rc.boundary_counts() == {1: 1}
    # in the plane itself (not a slice) the same two regions are different linear regions too
    rc2 = er.region_complex(net, er.box([(-1, 1), (-1, 1)]))
    assert len(rc2.linear_regions) <= len(rc2.activation_regions)


def test_slice_of_a_high_dimensional_net_is_certified():
    net = er.random_network([50, 12, 12, 3], seed=1, bias_std=0.1)
    import numpy as np
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, size=(3, 50)).tolist()
    rc = er.region_complex(net, er.plane(*p, bounds=[(-1, 2), (-1, 2)]))
    assert rc.certificate["ok"] and rc.certificate["domain_volume"] == 9
    seg = er.region_complex(net, er.segment(p[0], p[1]))
    assert len(seg.linear_regions) == seg.boundary_counts()[1] + 1
