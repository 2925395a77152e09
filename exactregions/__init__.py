"""exactregions: exact linear regions of piecewise-linear networks, and checks of the theorems
of Hanin & Rolnick (2019).  The exact API lives in :mod:`exactregions.exact` (re-exported
here, loaded on first use so that ``exactregions --help`` stays fast), except that
:func:`load_network` and :func:`region_complex` here also take torch and ONNX models
(:mod:`exactregions.models`); the torch float kernels are in :mod:`exactregions.floating`
(imported on demand).

>>> import exactregions as er
>>> rc = er.region_complex(er.random_network([2, 8, 1], seed=0), er.box([(-1, 1), (-1, 1)]))
>>> rc.certificate["ok"]
True
"""

from typing import Any

from exactregions.errors import (CertificateError, ExactRegionsError, FormatError,
                                 InvalidDomainError, InvalidNetworkError, InvalidOptionError,
                                 NotExactError, UnsupportedActivationError)

__version__ = "0.1.0"

_EXACT = (
    "Activation", "activation_from_spec", "ActivationRegion", "BoundaryPiece", "LinearRegion",
    "RegionComplex", "build_complex", "region_complex", "Domain", "Embedding", "box", "hpolytope",
    "read_polytope", "on_slice", "plane", "segment", "restrict_network", "enumerate_cells",
    "region_graph", "write_graph",
    "read_graph", "hasse_view", "adjacency_view", "load_network", "save_network",
    "network_from_dict", "network_to_dict", "Layer", "Network", "random_network",
    "exact_rational", "format_rational", "complex_summary", "certificate_document", "certify",
    "write_document",
)

__all__ = ["ExactRegionsError", "InvalidNetworkError", "UnsupportedActivationError",
           "InvalidDomainError", "FormatError", "NotExactError", "CertificateError",
           "InvalidOptionError", *_EXACT]


_FRONT = ("load_network", "region_complex")   # take any model (exactregions.models)


def __getattr__(name: str) -> Any:
    if name in _FRONT:
        import exactregions.models as models
        return getattr(models, name)
    if name in _EXACT or name == "exact":
        import exactregions.exact as exact
        return exact if name == "exact" else getattr(exact, name)
    raise AttributeError(f"module 'exactregions' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
