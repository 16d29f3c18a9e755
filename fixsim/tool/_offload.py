"""Recording statistics on a second core: the process-wide statistics worker.

While at least one ``record()`` block is active, the recorder hands each probed frame to a
worker thread instead of running the statistics kernel itself: the frame is copied into a
ring buffer (:mod:`fixsim._kernels._ring`) and the simulation goes on. The worker runs the same
kernels on the same values in the same order per signal, so a recording is identical with or
without it; the only difference is where the time is spent. Anything that reads statistics
first waits for the worker to finish what was handed to it (:meth:`_Offload.sync`).

The worker is used only where it can help and cannot hang:

* on a machine with more than one CPU available to the process, where the C library has
  ``usleep`` (Linux, macOS and the other POSIX systems); elsewhere the recorder works as
  before, in the calling thread;
* ``FIXSIM_RECORD_THREAD=0`` in the environment turns it off (``1`` forces it on, for tests,
  even on one CPU).

The worker outlives a ``record()`` block by about a quarter of a second, so that a sequence of
recordings (``collect`` over batches, a test suite) does not start a thread for each; while
no block is active it sleeps, and then it exits (:mod:`fixsim._kernels._ring`).

A fork (``collect(workers=N)`` with the ``fork`` start method) first waits for the worker; the
child starts with no worker thread and no shared ring, and starts its own if it records.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

import numpy as np

from .._kernels import lazy, usable_cpus

__all__ = ["offload"]

_kr = lazy("fixsim._kernels._ring")

_RING = 1 << 20          # values in the ring (8 MB, touched as used)
_QUEUE = 1 << 12         # items in flight
_SLOTS = 1 << 16         # signals with a registered state at once
#: the largest item: a longer frame is handed over (or summarised by the producer) in pieces
#: of this size, so that when the worker is behind the two threads take turns piece by piece
_PIECE = _RING >> 6


def _wanted() -> bool:
    env = os.environ.get("FIXSIM_RECORD_THREAD", "").strip()
    if env == "0":
        return False
    if sys.platform == "win32":  # no usleep in the C library
        return False
    return env == "1" or usable_cpus() > 1


class _Offload:
    """The ring, its worker thread, and the slot table (one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()   # one producer at a time; guards the fields below
        self._users = 0                 # active record() blocks of this process
        self._thread: threading.Thread | None = None
        self._arrays: tuple | None = None
        self._free: list[int] = []
        self._next_slot = 0
        self.generation = 0             # bumped when the slot table is replaced (fork)
        self._pid = os.getpid()
        #: False turns the worker off in this process (``collect``'s worker processes)
        self.threads = True
        #: ``(meta, buf)`` while frames go to the worker (a record() block is active), else
        #: None: the producers' fast path (:meth:`_Accumulator.add_offloaded`)
        self.live: tuple | None = None

    # -- lifetime -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether frames go to the worker (a ``record()`` block is active and it is wanted)."""
        return self.live is not None

    def enter(self) -> bool:
        """A ``record()`` block starts: join the live worker, or start one. True if it did
        (then :meth:`leave` must follow); False if the worker is not used."""
        with self._lock:
            if self._pid != os.getpid():
                self._after_fork()
            if not (self.threads and _wanted()):
                return False
            if self._arrays is None:
                meta = np.zeros(_kr.CTL + 4 * _QUEUE, dtype=np.int64)
                buf = np.empty(_RING, dtype=np.float64)
                slots = np.zeros((_SLOTS, _kr.SLOT_COLS), dtype=np.int64)
                self._arrays = (meta, buf, slots)
            meta = self._arrays[0]
            while True:
                s = int(_kr.load(meta, _kr.STATE))
                if s & 1:  # a worker is alive: count ourselves in (it cannot exit now)
                    if _kr.cas(meta, _kr.STATE, s, s + 2):
                        break
                    continue
                if self._thread is not None:  # it has left, or is leaving: wait for it
                    self._thread.join()
                    self._thread = None
                if _kr.cas(meta, _kr.STATE, s, s + 3):
                    meta[_kr.STOP] = 0
                    t = threading.Thread(target=_kr.serve, args=self._arrays,
                                         name="fixsim-record-stats", daemon=True)
                    t.start()
                    self._thread = t
                    break
            self._users += 1
            self.live = self._arrays[:2]
            return True

    def leave(self) -> None:
        """A ``record()`` block ended (after its flush). The worker stays for a moment (a
        following recording reuses it) and then exits by itself."""
        with self._lock:
            if self._users == 0 or self._pid != os.getpid():
                return
            self._users -= 1
            if self._users == 0:
                self.live = None
            meta = self._arrays[0]
            while True:
                s = int(_kr.load(meta, _kr.STATE))
                if s < 2 or _kr.cas(meta, _kr.STATE, s, s - 2):
                    break  # (s < 2: shutdown() has already let the worker go)

    def shutdown(self) -> None:
        """Stop the worker now, after it has processed what it holds (at interpreter exit).
        Frames probed after this are summarised in the calling thread."""
        with self._lock:
            self.threads = False  # no new worker while the interpreter exits
            if self._thread is not None and self._pid == os.getpid():
                self.live = None
                meta = self._arrays[0]
                meta[_kr.STOP] = 1
                self._thread.join()
                self._thread = None
                meta[_kr.STATE] = 0
                meta[_kr.STOP] = 0

    def _after_fork(self) -> None:
        """In a forked child: no worker runs here and the parent's ring is not ours."""
        self._lock = threading.Lock()
        self._users = 0
        self.live = None
        self._thread = None
        self._arrays = None
        self._free = []
        self._next_slot = 0
        self.generation += 1
        self._pid = os.getpid()

    # -- slots ----------------------------------------------------------------------------------
    def register(self, addrs: np.ndarray, sums: bool) -> int:
        """A slot for one accumulator's kernel state, or -1 if none is free. *addrs* holds the
        addresses of its arrays ``(ft, hd, fm, st, mm)``; the caller keeps them alive."""
        with self._lock:
            if self._arrays is None:
                return -1
            if self._free:
                slot = self._free.pop()
            elif self._next_slot < _SLOTS:
                slot = self._next_slot
                self._next_slot += 1
            else:
                return -1
            row = self._arrays[2][slot]
            row[:5] = addrs
            row[5] = 1 if sums else 0
            return slot

    def release(self, slot: int, generation: int) -> None:
        """Give a slot back (its accumulator has synced: no item refers to it)."""
        with self._lock:
            if generation == self.generation and slot >= 0:
                self._free.append(slot)

    # -- frames -----------------------------------------------------------------------------------
    def sync(self) -> None:
        """Wait until the worker has processed every frame handed to it so far."""
        arrays = self._arrays
        if arrays is None or self._pid != os.getpid():
            return
        meta = arrays[0]
        target = int(_kr.load(meta, _kr.HEAD))
        if int(_kr.load(meta, _kr.TAIL)) >= target:
            return
        if not _kr.wait(meta, target):
            raise RuntimeError("fixsim record: the statistics worker is not running but has "
                               "frames left; this is a bug in fixsim.")


offload = _Offload()

atexit.register(offload.shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=offload.sync, after_in_child=offload._after_fork)
