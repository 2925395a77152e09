"""Progress bars that start no thread.

A tqdm bar starts tqdm's monitor thread, which lives while the bar is open; and a thread alive
in the process keeps the exact build and the independent check from forking their second
process (:func:`exactregions.exact._runtime.other_threads`: forking a process with threads can
leave the child a lock that no thread releases).  The bars of this package are refreshed as
their work reports, so they need no monitor: every one is made here, without it.

>>> import io, threading
>>> before = set(threading.enumerate())
>>> bar = progress_bar(total=3, file=io.StringIO())
>>> [t.name for t in threading.enumerate() if t not in before]
[]
>>> bar.close()
"""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar"]

_BAR: Any = None


def progress_bar(**kwargs: Any) -> Any:
    """``tqdm(**kwargs)`` without its monitor thread.

    Raises
    ------
    ImportError
        Where tqdm is not installed (an optional dependency: callers draw no bar then).
    """
    global _BAR
    if _BAR is None:
        from tqdm import tqdm

        class Bar(tqdm):   # type: ignore[misc,valid-type]
            monitor_interval = 0   # no monitor thread for the instances of this class

        _BAR = Bar
    return _BAR(**kwargs)
