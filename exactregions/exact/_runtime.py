"""Process-level helpers for the big exact computations (private).

* :func:`paused_gc` — the exact path allocates millions of small acyclic objects (tuples, mpq,
  Fractions); CPython's cyclic collector would traverse them again and again. Pausing it for the
  duration is about 10% faster; it is restored (and collects) afterwards.
* :func:`fork_call` — run an independent, read-only step (the boundary pieces) in a forked
  child while the parent goes on (the regions and their certificates): both cores of a small
  machine, no pickling of the inputs (the child sees the parent's memory), only the result
  comes back. Used only where ``os.fork`` exists, for big inputs, and never when
  ``EXACTREGIONS_NO_FORK`` is set.
* :class:`WorkQueue` — a list of items that a forked child takes from the front and the parent
  from the back, in chunks, until they meet: the two share the work whatever else the parent
  had to do first.
* :func:`several_cores` — whether this process may run on more than one core (a second
  process pays only then).
* :func:`fork_has_room` — whether a child could copy all of the parent's pages and still fit in
  memory.  A forked CPython child does copy most of what it reads (reference counts are written
  into every object it touches), so a fork of a 10 GB process can need 10 GB more: without
  room, the step runs in-process instead (slower, never killed for memory).
* :func:`other_threads` — whether threads run that make a fork unsafe (then no fork).
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import multiprocessing
import os
import pickle
import signal
import struct
import threading
from typing import Any, Callable, Iterator

__all__ = ["paused_gc", "fork_call", "fork_has_room", "other_threads", "several_cores",
           "WorkQueue"]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block (re-entrant).

    On leaving, the objects made inside go to the oldest generation untraversed (a freeze and
    an unfreeze): re-enabled as it was, the collector would at once walk the millions of them
    in its youngest generation (0.5–0.8 s a build step on 3-24-24-24-1), to keep nearly all.
    They are still collected, by the next full collection; a caller's own frozen objects are
    left as they are (then the trick is skipped)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


FORK_ROOM_FACTOR = 2.0
"""By default a fork needs this many times the parent's resident memory available: the child's
copies (up to the parent's size) and the parent's own growth while the child runs.  Without
this test, the independent check of a 3-32-32-32-1 complex (161,373 regions) forked at ~16 GB
and filled 22 of 24 GB.  A caller whose parent grows more after the fork asks for more
(``fork_call(..., room=...)``)."""


def _memory() -> tuple[int, int] | None:
    """(bytes available to new allocations, this process's resident bytes), or None where
    Linux's /proc does not tell."""
    try:
        with open("/proc/meminfo") as fh:
            avail = next(int(line.split()[1]) * 1024 for line in fh
                         if line.startswith("MemAvailable:"))
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return avail, rss


class WorkQueue:
    """Items ``0 … count-1``, claimed in chunks from either end by one or two processes (a
    forked child and its parent share the two counters through an anonymous shared mapping,
    under a process-shared lock); every item is handed out exactly once.

    >>> q = WorkQueue(5, chunk=2)
    >>> q.claim(front=True), q.claim(front=False), q.claim(front=False), q.claim(front=True)
    (range(0, 2), range(3, 5), range(2, 3), range(0, 0))
    """

    def __init__(self, count: int, chunk: int = 64):
        if chunk < 1:
            raise ValueError("chunk must be positive")
        self.chunk = chunk
        try:
            self._lock: Any = multiprocessing.get_context("fork").Lock()
        except (ValueError, OSError, ImportError):   # no fork here: one process only
            self._lock = threading.Lock()
        self._mem = mmap.mmap(-1, 16)
        struct.pack_into("qq", self._mem, 0, 0, count)

    def claim(self, front: bool) -> range:
        """The next chunk from the front (or the back); an empty range once all are taken."""
        with self._lock:
            lo, hi = struct.unpack_from("qq", self._mem, 0)
            if lo >= hi:
                return range(0)
            if front:
                mid = min(hi, lo + self.chunk)
                struct.pack_into("qq", self._mem, 0, mid, hi)
                return range(lo, mid)
            mid = max(lo, hi - self.chunk)
            struct.pack_into("qq", self._mem, 0, lo, mid)
            return range(mid, hi)


def several_cores() -> bool:
    """Whether this process may run on at least two cores (its CPU affinity where readable).

    >>> isinstance(several_cores(), bool)
    True
    """
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:
        return (os.cpu_count() or 1) >= 2


HARMLESS_THREADS = ("Dask-Offload",)
"""Name prefixes of threads that do not stop a fork: distributed's offload thread stays (idle)
after a Dask cluster has closed — a tiled run's build comes after its tiles' cluster — and our
children never touch Dask, so no lock of its can block them."""


def other_threads() -> bool:
    """Whether Python threads other than this one run, besides :data:`HARMLESS_THREADS`
    (forking a process with threads can leave the child a lock that no thread will release).

    >>> import threading
    >>> stop = threading.Event()
    >>> t = threading.Thread(target=stop.wait, name="a worker", daemon=True); t.start()
    >>> other_threads()
    True
    >>> stop.set(); t.join()
    """
    me = threading.current_thread()
    return any(t is not me and not t.name.startswith(HARMLESS_THREADS)
               for t in threading.enumerate())


def fork_has_room(factor: float = FORK_ROOM_FACTOR) -> bool:
    """Whether MemAvailable exceeds factor × this process's resident size (True where that
    cannot be read).

    >>> isinstance(fork_has_room(), bool)
    True
    """
    mem = _memory()
    return mem is None or mem[0] > factor * mem[1]


class _Forked:
    forked = True      # fn runs in a child process, beside the parent

    def __init__(self, pid: int, fd: int):
        self.pid, self.fd = pid, fd

    def result(self) -> Any:
        """Wait for the child; return its value or re-raise its exception here."""
        # unpickled straight from the pipe: the payload's bytes are never held whole
        with os.fdopen(self.fd, "rb") as fh:
            try:
                ok, value = pickle.load(fh)
            except (EOFError, pickle.UnpicklingError):
                ok, value = False, RuntimeError("the forked process died without a result")
        os.waitpid(self.pid, 0)
        if ok:
            return value
        raise value

    def cancel(self) -> None:
        """Stop the child and reap it (its result is not wanted: the parent failed)."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(self.fd)
        os.waitpid(self.pid, 0)


class _Inline:
    forked = False     # fn runs in this process, at result()

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn

    def result(self) -> Any:
        return self.fn()

    def cancel(self) -> None:
        """Nothing to stop: ``fn`` runs only at :meth:`result`."""


def fork_call(fn: Callable[[], Any], enabled: bool = True, room: float = FORK_ROOM_FACTOR
              ) -> _Forked | _Inline:
    """Start ``fn()`` in a forked child when possible; ``.result()`` gives its value.

    Falls back to running ``fn`` lazily in-process (at ``.result()``) when forking is disabled
    or unavailable, when other Python threads are running (forking them is unsafe), or when
    memory has no room for the child's copies and the parent's growth (``room`` × the
    resident size, :func:`fork_has_room`).

    >>> fork_call(lambda: 6 * 7).result()
    42
    """
    if (not enabled or not hasattr(os, "fork") or os.environ.get("EXACTREGIONS_NO_FORK")
            or other_threads() or not fork_has_room(room)):
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
