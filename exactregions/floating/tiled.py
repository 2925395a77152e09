"""A complex too big for one process: tiles of K on a Dask cluster, glued back exactly.

K — a box, a 1-D or 2-D slice (cut in its slice coordinates), or an H-polytope — is cut by a
grid of near-equal boxes over its bounding box (:func:`~exactregions.exact.tiles.box_tiles`:
cut just off the equal parts, so the origin of a zero-bias net is inside one tile, not a corner
of all), and every tile is one Dask task: the worker proposes and decides the tile's regions (the
``propose`` engine, with its local repair inside the tile, falling back to exact splitting of
that tile alone), certifies the tile's complex (volumes add up to vol(tile) exactly, and the
other certificates of :func:`~exactregions.exact.complex.build_complex`), and sends back its
exact arrangement.  The tiles are glued by pattern across their shared faces
(:func:`~exactregions.exact.tiles.glue_arrangements`) and the whole complex is certified again:
Σ vol(tile) = vol(K), and every certificate of the single-process run.  The result equals the
single-process complex region for region.

``scheduler``: ``"none"`` (tiles one after another in this process), ``"local"`` (a Dask
``LocalCluster``, one single-threaded worker a core), or a scheduler address
``"tcp://host:8786"`` of a running cluster.

>>> import exactregions as er
>>> net = er.random_network([2, 6, 6, 1], seed=0, bias_std=0.3)
>>> rc = tiled_complex(net, er.box([(-1, 1), (-1, 1)]), tiles=2, scheduler="none")
>>> rc.certificate["tiles"]["count"], rc.certificate["ok"]
(4, True)
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any, Callable, Sequence

import torch

from exactregions.errors import CertificateError, InvalidOptionError
from exactregions.exact.complex import RegionComplex, build_complex, check_independently
from exactregions.exact.domain import Domain
from exactregions.exact.enumerate import CellArrangement, enumerate_cells
from exactregions.exact.network import Network
from exactregions.exact.tiles import box_tiles, glue_arrangements
from exactregions.floating.propose import certified_arrangement

__all__ = ["tiled_complex"]


def _tile_task(net: Network, tile: Domain, engine: str, device: str
               ) -> tuple[CellArrangement, dict[str, Any]]:
    """One tile, on a worker: its exact arrangement and its own certificate's figures.  The
    tile's regions are certified there (volumes, witnesses, patterns, vertex sides); its B_N,k
    pieces are not built (those of the glued whole are, once)."""
    torch.set_num_threads(1)          # one thread a worker: workers already fill the cores
    if engine == "propose":
        arr, rc, how = certified_arrangement(net, tile, device, with_pieces=False)
    else:
        arr = enumerate_cells(net, tile)
        rc, how = build_complex(arr, with_pieces=False), "split"
    cert = rc.certificate
    return arr, {"engine": how, "regions": len(rc.activation_regions),
                 "volume_sum": cert["volume_sum"], "domain_volume": cert["domain_volume"]}


def tiled_complex(net: Network, domain: Domain, tiles: int | Sequence[int] = 2,
                  scheduler: str = "local", workers: int | None = None, engine: str = "propose",
                  device: str = "cpu", independent_check: bool = True,
                  log: Callable[[str], None] | None = None) -> RegionComplex:
    """The certified complex of ``net`` on ``domain``, computed tile by tile.

    Parameters
    ----------
    tiles
        Parts per axis of the domain's bounding box (one count for all axes, or one per axis;
        slice coordinates for a slice).
    scheduler, workers
        See the module docstring; ``workers`` sizes a LocalCluster (default: one a core).
    engine, device
        The engine of each tile (``"propose"`` or ``"split"``) and the propose engine's device.

    Raises
    ------
    InvalidOptionError
        For bad tile counts, fewer than one worker, or an unknown scheduler or engine.
    CertificateError
        If a tile's or the glued complex's certificate fails.
    """
    if engine not in ("propose", "split"):
        raise InvalidOptionError(f"engine {engine!r}: use 'propose' or 'split'")
    if workers is not None and workers < 1:
        raise InvalidOptionError(f"workers must be at least 1, got {workers}")
    parts = box_tiles(domain, tiles)
    results = _run(net, parts, engine, str(device), scheduler, workers)
    for T, (_, cert) in zip(parts, results):
        if cert["volume_sum"] != cert["domain_volume"] or cert["domain_volume"] != T.volume():
            raise CertificateError(f"tile {T.description}: volumes {cert['volume_sum']} != "
                                   f"vol(tile) {T.volume()}")
    total = sum((Fraction(cert["domain_volume"]) for _, cert in results), Fraction(0))
    if total != domain.volume():
        raise CertificateError(f"the tiles' volumes add up to {total}, not vol(K) "
                               f"{domain.volume()}")
    glued = glue_arrangements(net, domain, [arr for arr, _ in results])
    certs = [cert for _, cert in results]
    del results      # the glued arrangement holds what it needs of the tiles' (consumed below)
    rc = build_complex(glued, consume=True)
    engines = [cert["engine"] for cert in certs]
    info = {"count": len(parts), "scheduler": scheduler,
            "regions_per_tile": [cert["regions"] for cert in certs],
            "engines": engines, "volume_sum_over_tiles": total}
    proposed = sum(e.startswith("propose") for e in engines)
    object.__setattr__(rc, "certificate", {**rc.certificate, "tiles": info, "engine":
                                           f"tiled ({proposed} of {len(engines)} tiles proposed)"})
    if log is not None:
        log(f"{len(parts)} tiles: {sum(info['regions_per_tile'])} pieces glued into "
            f"{len(rc.activation_regions)} regions")
    return check_independently(rc) if independent_check else rc


def _run(net: Network, parts: list[Domain], engine: str, device: str, scheduler: str,
         workers: int | None) -> list[tuple[CellArrangement, dict[str, Any]]]:
    if scheduler == "none":
        threads = torch.get_num_threads()
        try:
            return [_tile_task(net, T, engine, device) for T in parts]
        finally:
            torch.set_num_threads(threads)
    from exactregions.cluster import dask_client

    n = workers if workers is not None else min(len(parts), os.cpu_count() or 1)
    with dask_client(scheduler, n) as client:
        futures = [client.submit(_tile_task, net, T, engine, device, pure=False) for T in parts]
        return client.gather(futures)
