"""exactregions: exact linear regions of piecewise-linear networks, and checks of the theorems
of Hanin & Rolnick (2019).  The exact API lives in :mod:`exactregions.exact` (re-exported
here); the torch float kernels in :mod:`exactregions.floating` (imported on demand).

>>> import exactregions as er
>>> rc = er.region_complex(er.random_network([2, 8, 1], seed=0), er.box([(-1, 1), (-1, 1)]))
>>> rc.certificate["ok"]
True
"""

from exactregions.errors import (CertificateError, ExactRegionsError, FormatError,
                                 InvalidDomainError, InvalidNetworkError, NotExactError,
                                 UnsupportedActivationError)
from exactregions.exact import *  # noqa: F401,F403
from exactregions.exact import __all__ as _exact_all

__version__ = "0.1.0"

__all__ = ["ExactRegionsError", "InvalidNetworkError", "UnsupportedActivationError",
           "InvalidDomainError", "FormatError", "NotExactError", "CertificateError",
           *_exact_all]
