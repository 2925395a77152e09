"""Process-level helpers for the big exact computations (private).

* :func:`paused_gc` — the exact path allocates millions of small acyclic objects (tuples, mpq,
  Fractions); CPython's cyclic collector would traverse them again and again. Pausing it for the
  duration is about 10% faster; it is restored (and collects) afterwards.
* :func:`fork_call` — run an independent, read-only step (the certificates) in a forked child
  while the parent goes on (the boundary pieces): both cores of a small machine, no pickling of
  the inputs (the child sees the parent's memory), only the small result comes back. Used only
  where ``os.fork`` exists, for big inputs, and never when ``EXACTREGIONS_NO_FORK`` is set.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import threading
from typing import Any, Callable, Iterator

__all__ = ["paused_gc", "fork_call"]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block (re-entrant)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Forked:
    def __init__(self, pid: int, fd: int):
        self.pid, self.fd = pid, fd

    def result(self) -> Any:
        """Wait for the child; return its value or re-raise its exception here."""
        with os.fdopen(self.fd, "rb") as fh:
            data = fh.read()
        os.waitpid(self.pid, 0)
        if not data:
            raise RuntimeError("the forked certificate process died without a result")
        ok, value = pickle.loads(data)
        if ok:
            return value
        raise value


class _Inline:
    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn

    def result(self) -> Any:
        return self.fn()


def fork_call(fn: Callable[[], Any], enabled: bool = True) -> _Forked | _Inline:
    """Start ``fn()`` in a forked child when possible; ``.result()`` gives its value.

    Falls back to running ``fn`` lazily in-process (at ``.result()``) when forking is disabled
    or unavailable, or when other Python threads are running (forking them is unsafe).

    >>> fork_call(lambda: 6 * 7).result()
    42
    """
    if (not enabled or not hasattr(os, "fork") or os.environ.get("EXACTREGIONS_NO_FORK")
            or threading.active_count() > 1):
        return _Inline(fn)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: compute, send, leave without running the parent's cleanup
        code = 0
        try:
            os.close(r)
            try:
                payload = pickle.dumps((True, fn()))
            except BaseException as exc:  # noqa: BLE001 - sent back and re-raised in the parent
                try:
                    payload = pickle.dumps((False, exc))
                except Exception:  # noqa: BLE001
                    payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            with os.fdopen(w, "wb") as fh:
                fh.write(payload)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    return _Forked(pid, r)
