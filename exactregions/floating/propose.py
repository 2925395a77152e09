"""The ``propose`` engine: the float skeleton proposes, the exact path decides.

:func:`propose_complex` runs :func:`~exactregions.floating.skeleton.propose_skeleton` (batched
torch, any device), makes the proposal exact with
:func:`~exactregions.exact.decide.arrangement_from_proposal`, and builds the complex with the
same certificates as the splitting engine.  A proposal that is not generic at float precision,
fails an exact test, or fails a certificate is never repaired by trusting a float: on a box K the
repair is local (the tiles of K proposed apart, only the failing ones split exactly, glued back
and certified as a whole); otherwise, or if that fails too, exact splitting of K computes the
complex (``engine="split"``).  ``rc.certificate["engine"]`` records which, and why.  Both
engines end in one canonical order, so their complexes are equal, region for region.

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

from typing import Callable

import torch

from exactregions.errors import CertificateError
from exactregions.exact.complex import RegionComplex, build_complex, check_independently
from exactregions.exact.decide import ProposalRejected, arrangement_from_proposal
from exactregions.exact.domain import Domain
from exactregions.exact.enumerate import CellArrangement, enumerate_cells
from exactregions.exact.network import Network
from exactregions.exact.tiles import box_sides, box_tiles, glue_arrangements
from exactregions.floating.skeleton import NotGeneric, propose_skeleton

__all__ = ["proposed_arrangement", "repaired_arrangement", "certified_arrangement",
           "propose_complex"]


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


def repaired_arrangement(net: Network, domain: Domain, device: str | torch.device = "cpu"
                         ) -> tuple[CellArrangement | None, int, int]:
    """Local repair of a failed proposal on a box K: its 2^n tiles (halves of every side) are
    proposed apart, only the tiles whose proposal fails are split exactly, and the tiles are
    glued back (:func:`~exactregions.exact.tiles.glue_arrangements`).  Returns the arrangement
    (``None`` when K is no box or every tile failed: splitting K whole is then cheaper), the
    number of tiles split and the number of tiles."""
    if box_sides(domain) is None:
        return None, 0, 0
    tiles = box_tiles(domain, 2)
    proposals = [proposed_arrangement(net, T, device)[0] for T in tiles]
    failed = sum(arr is None for arr in proposals)
    if failed == len(tiles):
        return None, failed, len(tiles)
    parts = [arr if arr is not None else enumerate_cells(net, T)
             for arr, T in zip(proposals, tiles)]
    return glue_arrangements(net, domain, parts), failed, len(tiles)


def certified_arrangement(net: Network, domain: Domain, device: str | torch.device = "cpu",
                          progress: Callable[[int, int], None] | None = None,
                          repair: bool = True, with_pieces: bool = True
                          ) -> tuple[CellArrangement, RegionComplex, str]:
    """The arrangement the propose engine settles on, its certified complex and the engine's
    account: ``"propose"``; ``"propose, k of m tiles split (<reason>)"`` when the proposal for
    K failed and was repaired tile by tile (:func:`repaired_arrangement`, only with ``repair``);
    or ``"split (<reason>)"`` when exact splitting of the whole of K computed it.
    ``with_pieces=False``: the complex without its B_N,k pieces (``build_complex``'s option)."""
    arr, why = proposed_arrangement(net, domain, device)
    engine = "propose"
    if arr is None and repair:
        arr, failed, total = repaired_arrangement(net, domain, device)
        if arr is not None:
            engine = f"propose, {failed} of {total} tiles split ({why})"
    if arr is not None:
        try:
            return arr, build_complex(arr, with_pieces=with_pieces), engine
        except CertificateError as exc:
            why = f"proposal failed a certificate: {exc}"
    arr = enumerate_cells(net, domain, progress)
    return arr, build_complex(arr, with_pieces=with_pieces), f"split ({why})"


def propose_complex(net: Network, domain: Domain, device: str | torch.device = "cpu",
                    progress: Callable[[int, int], None] | None = None,
                    independent_check: bool = True) -> RegionComplex:
    """The certified region complex by the ``propose`` engine (see the module docstring), with
    the independent checker's report like :func:`exactregions.region_complex`
    (``independent_check=False`` skips it).  ``rc.certificate["engine"]`` says which path
    computed it (:func:`certified_arrangement`)."""
    _, rc, engine = certified_arrangement(net, domain, device, progress)
    if progress is not None and not engine.startswith("split"):   # splitting reported its own
        progress(len(net.layers) - 1, len(rc.activation_regions))
    object.__setattr__(rc, "certificate", {**rc.certificate, "engine": engine})
    return check_independently(rc) if independent_check else rc
