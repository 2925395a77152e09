"""Scale-out: Monte Carlo tasks through Dask, with deterministic per-task seeds.

Every task gets its seed from ``(run seed, check name, task index)`` alone, and results are
gathered in task order, so a report depends on the seed only — not on the number of workers, the
scheduler, or the order in which tasks finish.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = ["task_seed", "Runner", "start_runner"]


def task_seed(seed: int, name: str, index: int) -> int:
    """A 63-bit seed for task ``index`` of check ``name`` under run seed ``seed``.

    >>> task_seed(0, "theorem_3", 5) == task_seed(0, "theorem_3", 5)
    True
    >>> task_seed(0, "theorem_3", 5) != task_seed(1, "theorem_3", 5)
    True
    """
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(zlib.crc32(name.encode()), int(index)))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass
class Runner:
    """Maps a top-level function over task arguments, in order, on Dask or in-process.

    ``client`` is a ``distributed.Client`` (local cluster or a scheduler address) or ``None``
    for the in-process path (tests, ``--scheduler none``).

    Examples
    --------
    >>> r = Runner(None, progress=False)
    >>> r.map(abs, [-1, 2, -3], "abs")
    [1, 2, 3]
    """

    client: Any = None
    progress: bool = True
    _cluster: Any = field(default=None, repr=False)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str) -> list[Any]:
        """``[fn(x) for x in items]``, in parallel when a Dask client is attached."""
        items = list(items)
        bar = _bar(len(items), desc, self.progress)
        try:
            if self.client is None:
                out = []
                for x in items:
                    out.append(fn(x))
                    bar.update(1)
                return out
            from distributed import as_completed

            futures = self.client.map(fn, items, pure=False)
            for fut in as_completed(futures):
                if fut.status == "error":
                    fut.result()  # re-raises the task's exception here
                bar.update(1)
            return self.client.gather(futures)
        finally:
            bar.close()

    def close(self) -> None:
        """Shut the client (and a local cluster this runner started) down."""
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
        self.client = self._cluster = None

    def describe(self) -> str:
        if self.client is None:
            return "in-process"
        info = self.client.scheduler_info()
        return f"dask ({len(info.get('workers', {}))} workers at {info.get('address', '?')})"


def start_runner(scheduler: str = "local", workers: int | None = None,
                 progress: bool = True) -> Runner:
    """A :class:`Runner` on a local Dask cluster (``"local"``), an existing scheduler
    (``"tcp://host:port"``), or in-process (``"none"``).

    Raises
    ------
    ValueError
        If ``workers`` is given and not positive.
    """
    if scheduler == "none":
        return Runner(None, progress)
    from exactregions.cluster import open_client

    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be positive, got {workers}")
    client, cluster = open_client(scheduler, workers)
    return Runner(client, progress, cluster)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, on: bool):
    if not on:
        return _NoBar()
    from exactregions.progress import progress_bar

    return progress_bar(total=total, desc=desc, leave=False, dynamic_ncols=True)


def chunks(seq: Iterable[Any], size: int) -> list[list[Any]]:
    """Consecutive chunks of ``size`` (the last may be shorter).

    >>> chunks(range(5), 2)
    [[0, 1], [2, 3], [4]]
    """
    seq = list(seq)
    return [seq[i:i + size] for i in range(0, len(seq), size)]
