"""The exact path: rationals only (``fractions``, gmpy2, cddlib GMP, sympy). Never imports torch."""

from exactregions.exact.activation import Activation, activation_from_spec
from exactregions.exact.checker import certify
from exactregions.exact.complex import (ActivationRegion, BoundaryPiece, LinearRegion,
                                        RegionComplex, build_complex, region_complex)
from exactregions.exact.domain import (Domain, Embedding, box, hpolytope, on_slice, plane,
                                       read_polytope, restrict_network, segment)
from exactregions.exact.enumerate import enumerate_cells
from exactregions.exact.graph import adjacency_view, hasse_view, read_graph, region_graph, write_graph
from exactregions.exact.netfile import load_network, network_from_dict, network_to_dict, save_network
from exactregions.exact.network import Layer, Network
from exactregions.exact.random import random_network
from exactregions.exact.rational import exact_rational, format_rational
from exactregions.exact.summary import certificate_document, complex_summary, write_document

__all__ = [
    "Activation", "activation_from_spec", "ActivationRegion", "BoundaryPiece", "LinearRegion",
    "RegionComplex", "build_complex", "region_complex", "Domain", "Embedding", "box", "hpolytope",
    "read_polytope", "on_slice", "plane", "segment", "restrict_network", "enumerate_cells",
    "region_graph", "write_graph",
    "read_graph", "hasse_view", "adjacency_view", "load_network", "save_network",
    "network_from_dict", "network_to_dict", "Layer", "Network", "random_network",
    "exact_rational", "format_rational", "complex_summary", "certificate_document", "certify",
    "write_document",
]
