"""The ``propose`` engine: the float skeleton proposes, the exact path decides.

:func:`propose_complex` runs :func:`~exactregions.floating.skeleton.propose_skeleton` (batched
torch, any device), makes the proposal exact with
:func:`~exactregions.exact.decide.arrangement_from_proposal`, and builds the complex with the
same certificates as the splitting engine.  A proposal that is not generic at float precision,
fails an exact test, or fails a certificate is never repaired by trusting a float: the repair
is local (K — a box, a slice or an H-polytope — cut off-centre along every axis of its bounding
box and the tiles proposed apart, a failing tile cut again, down to three levels, only the
tiles still failing split exactly, all glued back and certified as a whole); if that fails
too, exact splitting of K computes the complex (``engine="split"``).
``rc.certificate["engine"]`` records which, and why.  Both engines end in one canonical order,
so their complexes are equal, region for region.

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

from fractions import Fraction
from typing import Callable

import numpy as np
import torch

from exactregions.errors import CertificateError
from exactregions.exact.complex import RegionComplex, build_complex, check_independently
from exactregions.exact.decide import ProposalRejected, arrangement_from_proposal
from exactregions.exact.domain import Domain
from exactregions.exact.enumerate import CellArrangement, enumerate_cells
from exactregions.exact.network import Network
from exactregions.exact.tiles import box_halves, cut_faces, glue_arrangements
from exactregions.floating.skeleton import NotGeneric, Skeleton, propose_skeleton

__all__ = ["proposed_arrangement", "repaired_arrangement", "certified_arrangement",
           "propose_complex"]


def proposed_arrangement(net: Network, domain: Domain, device: str | torch.device = "cpu"
                         ) -> tuple[CellArrangement | None, str]:
    """The decided arrangement of the float proposal, or ``None`` and the reason it was not
    taken (not generic, or rejected by an exact test)."""
    sk, why = _skeleton(net, domain, device)
    return (None, why) if sk is None else _decided(net, domain, sk)


def _skeleton(net: Network, domain: Domain, device: str | torch.device
              ) -> tuple[Skeleton | None, str]:
    try:
        return propose_skeleton(net, domain, device=device), ""
    except NotGeneric as exc:
        return None, f"not generic: {exc}"


def _decided(net: Network, domain: Domain, sk: Skeleton) -> tuple[CellArrangement | None, str]:
    try:
        return arrangement_from_proposal(net, domain, sk.vertices, sk.zeros, sk.region_ptr,
                                         sk.region_vertices, sk.patterns, sk.columns), ""
    except ProposalRejected as exc:
        return None, f"proposal rejected: {exc}"


REPAIR_DEPTH = 3
"""How many times the local repair halves a failing tile before it splits that tile exactly
(tiles down to about 1/2^3 of K's sides)."""
REPAIR_MAX_CUT_SHARE = 0.5
"""The local repair halves a tile only while at most this share of the regions proposed in
its halves meet the new cuts: beyond, the cuts duplicate most regions (every region of a
zero-bias net is a cone through the origin, so every cut meets it) and splitting the tile
whole is cheaper."""


def repaired_arrangement(net: Network, domain: Domain, device: str | torch.device = "cpu",
                         depth: int = REPAIR_DEPTH, max_cut_share: float = REPAIR_MAX_CUT_SHARE
                         ) -> tuple[CellArrangement | None, int, int, Fraction]:
    """Local repair of a failed proposal on K.  K is cut in two along every axis of its
    bounding box, off the midpoint (:func:`~exactregions.exact.tiles.box_halves`; a slice in
    its slice coordinates), and the (up to) 2^n tiles are proposed apart; a tile whose
    proposal fails is repaired the same way, down to ``depth`` levels, and split exactly there.
    A tile is split whole instead of halved when all of its halves fail (the degeneracy is not
    local) or when more than ``max_cut_share`` of the regions its halves' float skeletons
    propose meet the new cuts (halving would duplicate most regions).  The tiles are glued
    back (:func:`~exactregions.exact.tiles.glue_arrangements`).

    Returns the arrangement (``None`` when K itself is to be split whole), the number of tiles
    split exactly, the number of tiles, and the share of vol(K) split.

    >>> import exactregions as er
    >>> net = er.random_network([2, 5, 1], seed=0, bias_std=0.0)   # every line through 0
    >>> K = er.box([(-1, 1), (-1, 1)])
    >>> repaired_arrangement(net, K)[1:]              # cones: every cut meets every region
    (0, 0, Fraction(0, 1))
    >>> arr, split, tiles, share = repaired_arrangement(net, K, max_cut_share=1.0)
    >>> split, tiles, share < Fraction(1, 50)
    (1, 10, True)
    """
    parts = _repair(net, domain, device, max(1, depth), max_cut_share)
    if parts is None:
        return None, 0, 0, Fraction(0)
    split = [T for _, T, how in parts if how == "split"]
    share = sum((T.volume() for T in split), Fraction(0)) / domain.volume()
    return glue_arrangements(net, domain, [a for a, _, _ in parts]), len(split), len(parts), share


def _repair(net: Network, domain: Domain, device: str | torch.device, depth: int,
            max_cut_share: float) -> list[tuple[CellArrangement, Domain, str]] | None:
    """The tiles of ``domain`` (see :func:`repaired_arrangement`) with their arrangements and
    how each was made (``"propose"`` or ``"split"``); ``None`` when ``domain`` is to be split
    whole."""
    halves = box_halves(domain)
    skeletons = [_skeleton(net, T, device)[0] for T in halves]
    done = [(sk, T) for sk, T in zip(skeletons, halves) if sk is not None]
    if not done:
        return None
    # the float skeletons guide this choice (how the work is cut), never an answer
    cut = sum(_regions_on_new_cuts(sk, T, domain) for sk, T in done)
    if cut > max_cut_share * sum(sk.num_regions for sk, _ in done):
        return None
    parts: list[tuple[CellArrangement, Domain, str]] = []
    for T, sk in zip(halves, skeletons):
        arr = None if sk is None else _decided(net, T, sk)[0]
        if arr is not None:
            parts.append((arr, T, "propose"))
            continue
        deeper = _repair(net, T, device, depth - 1, max_cut_share) if depth > 1 else None
        parts += deeper if deeper is not None else [(enumerate_cells(net, T), T, "split")]
    return parts


def _regions_on_new_cuts(sk: Skeleton, tile: Domain, parent: Domain) -> int:
    """How many proposed regions of a tile have a vertex on a face of the tile that the cut
    made (a face that is not on the boundary of the domain it was cut from)."""
    new = [sk.columns.index(("domain", f)) for f in cut_faces(tile, parent)]
    on_cut = np.isin(sk.zeros, new).any(axis=1)[sk.region_vertices]
    ptr = sk.region_ptr
    return int(np.add.reduceat(on_cut, ptr[:-1]).astype(bool).sum()) if len(ptr) > 1 else 0


def certified_arrangement(net: Network, domain: Domain, device: str | torch.device = "cpu",
                          progress: Callable[[int, int], None] | None = None,
                          repair: bool = True, with_pieces: bool = True,
                          consume: bool = False
                          ) -> tuple[CellArrangement, RegionComplex, str]:
    """The arrangement the propose engine settles on, its certified complex and the engine's
    account: ``"propose"``; ``"propose, k of m tiles split, p% of K (<reason>)"`` when the
    proposal for K failed (not generic, rejected by the decision, or failing a certificate)
    and was repaired tile by tile (:func:`repaired_arrangement`, only with ``repair``); or
    ``"split (<reason>)"`` when exact splitting of the whole of K computed it.
    ``with_pieces=False``: the complex without its B_N,k pieces; ``consume=True``: the
    build frees the arrangement once it is done with it, and the one returned is left empty
    (both ``build_complex``'s options)."""
    arr, why = proposed_arrangement(net, domain, device)
    if arr is not None:
        try:
            return arr, build_complex(arr, with_pieces=with_pieces, consume=consume), "propose"
        except CertificateError as exc:     # e.g. a region the floats missed: repair too
            why = f"proposal failed a certificate: {exc}"
    if repair:
        arr, failed, total, share = repaired_arrangement(net, domain, device)
        if arr is not None:
            engine = (f"propose, {failed} of {total} tiles split, {float(share):.2%} of K "
                      f"({why})")
            try:
                return arr, build_complex(arr, with_pieces=with_pieces, consume=consume), engine
            except CertificateError as exc:
                why = f"{why}; the repaired proposal failed a certificate too: {exc}"
    arr = enumerate_cells(net, domain, progress)
    return arr, build_complex(arr, with_pieces=with_pieces, consume=consume), f"split ({why})"


def propose_complex(net: Network, domain: Domain, device: str | torch.device = "cpu",
                    progress: Callable[[int, int], None] | None = None,
                    independent_check: bool = True) -> RegionComplex:
    """The certified region complex by the ``propose`` engine (see the module docstring), with
    the independent checker's report like :func:`exactregions.region_complex`
    (``independent_check=False`` skips it).  ``rc.certificate["engine"]`` says which path
    computed it (:func:`certified_arrangement`)."""
    _, rc, engine = certified_arrangement(net, domain, device, progress, consume=True)
    if progress is not None and not engine.startswith("split"):   # splitting reported its own
        progress(len(net.layers) - 1, len(rc.activation_regions))
    object.__setattr__(rc, "certificate", {**rc.certificate, "engine": engine})
    return check_independently(rc) if independent_check else rc
