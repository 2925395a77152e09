"""Dask clients for the parallel parts (tiles, training runs, proofs_check's Monte Carlo).

``scheduler`` is ``"local"`` (a :class:`~dask.distributed.LocalCluster` of single-threaded
worker processes, one a core unless ``workers`` says otherwise) or the address of a running
scheduler (``"tcp://host:8786"``).  ``"none"`` (in process) is the callers' own business.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

from exactregions.errors import InvalidOptionError

__all__ = ["open_client", "dask_client"]


def open_client(scheduler: str, workers: int | None = None) -> tuple[Any, Any]:
    """``(client, cluster)``: a client of a new LocalCluster (``cluster`` to close after it)
    for ``"local"``, or of the scheduler at an address (``cluster`` None).

    Raises
    ------
    InvalidOptionError
        For another scheduler name, or ``workers`` < 1.
    """
    if scheduler != "local" and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        raise InvalidOptionError(f"scheduler {scheduler!r}: use 'none', 'local' or a Dask "
                                 "scheduler address such as tcp://host:8786")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InvalidOptionError(f"scheduler {scheduler!r} needs Dask: pip install "
                                 "'dask[distributed]' (or use the scheduler 'none')") from None

    if scheduler != "local":
        return Client(scheduler), None
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise InvalidOptionError(f"workers must be positive, got {n}")
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=40)
    client = Client(cluster)
    client.run(_one_torch_thread)    # one worker a core: no intra-op threads fighting over it
    return client, cluster


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int | None = None) -> Iterator[Any]:
    """:func:`open_client` as a context manager: client and cluster closed on exit."""
    client, cluster = open_client(scheduler, workers)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _one_torch_thread() -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
