"""The ``propose`` engine: the float skeleton proposes, the exact path decides.

:func:`propose_complex` runs :func:`~exactregions.floating.skeleton.propose_skeleton` (batched
torch, any device), makes the proposal exact with
:func:`~exactregions.exact.decide.arrangement_from_proposal`, and builds the complex with the
same certificates as the splitting engine.  A proposal that is not generic at float precision,
fails an exact test, or fails a certificate is never repaired by trusting a float: the complex is
then computed by exact splitting (``engine="split"``), and the reason is recorded in
``rc.certificate["engine"]``.  Both engines end in one canonical order, so their complexes are
equal, region for region.

>>> import exactregions as er
>>> net = er.random_network([2, 8, 8, 1], seed=0)
>>> rc = propose_complex(net, er.box([(-1, 1), (-1, 1)]))
>>> rc.certificate["engine"], rc.certificate["ok"]
('propose', True)
>>> split = er.build_complex(er.enumerate_cells(net, er.box([(-1, 1), (-1, 1)])))
>>> [r.pattern for r in rc.activation_regions] == [r.pattern for r in split.activation_regions]
True
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from exactregions.errors import CertificateError
from exactregions.exact.complex import RegionComplex, build_complex, check_independently
from exactregions.exact.decide import ProposalRejected, arrangement_from_proposal
from exactregions.exact.domain import Domain
from exactregions.exact.enumerate import CellArrangement, enumerate_cells
from exactregions.exact.network import Network
from exactregions.floating.skeleton import NotGeneric, propose_skeleton

__all__ = ["ENGINES", "proposed_arrangement", "propose_complex"]

ENGINES = ("propose", "split")


def proposed_arrangement(net: Network, domain: Domain, device: str | torch.device = "cpu"
                         ) -> tuple[CellArrangement | None, str]:
    """The decided arrangement of the float proposal, or ``None`` and the reason it was not
    taken (not generic, or rejected by an exact test)."""
    try:
        sk = propose_skeleton(net, domain, device=device)
        arr = arrangement_from_proposal(net, domain, sk.vertices, sk.zeros, sk.region_ptr,
                                        sk.region_vertices, sk.patterns, sk.columns)
    except NotGeneric as exc:
        return None, f"not generic: {exc}"
    except ProposalRejected as exc:
        return None, f"proposal rejected: {exc}"
    return arr, ""


def propose_complex(net: Network, domain: Domain, device: str | torch.device = "cpu",
                    progress: Callable[[int, int], None] | None = None,
                    independent_check: bool = False) -> RegionComplex:
    """The certified region complex by the ``propose`` engine (see the module docstring).

    ``rc.certificate["engine"]`` is ``"propose"``, or ``"split (<reason>)"`` when the exact
    splitting engine had to compute it.
    """
    arr, why = proposed_arrangement(net, domain, device)
    rc: RegionComplex | None = None
    if arr is not None:
        try:
            rc = build_complex(arr)
            engine = "propose"
        except CertificateError as exc:
            why = f"proposal failed a certificate: {exc}"
    if rc is None:
        rc = build_complex(enumerate_cells(net, domain, progress))
        engine = f"split ({why})"
    elif progress is not None:
        progress(len(net.layers) - 1, len(rc.activation_regions))
    object.__setattr__(rc, "certificate", {**rc.certificate, "engine": engine})
    return check_independently(rc) if independent_check else rc


def engine_complex(net: Network, domain: Domain, engine: str = "propose",
                   device: str | torch.device = "cpu",
                   progress: Callable[[int, int], None] | None = None,
                   independent_check: bool = True) -> Any:
    """Dispatch on ``engine`` (``"propose"`` or ``"split"``)."""
    if engine == "split":
        rc = build_complex(enumerate_cells(net, domain, progress))
        object.__setattr__(rc, "certificate", {**rc.certificate, "engine": "split"})
        return check_independently(rc) if independent_check else rc
    return propose_complex(net, domain, device, progress, independent_check)
