"""The statistics worker (fixsim.tool._offload, fixsim._kernels._ring): a recording made with
the worker equals one made in the calling thread, value for value, and the worker's lifetime
(start, reuse, exit, fork) never loses or double-counts a frame."""

from __future__ import annotations

import multiprocessing
import os
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixsim._core._typetable import TypeTable
from fixsim._kernels import _ring
from fixsim.tool import SignalStats, record
from fixsim.tool import _offload as off_mod
from fixsim.tool._offload import offload


@pytest.fixture
def worker(monkeypatch):
    monkeypatch.setenv("FIXSIM_RECORD_THREAD", "1")


@pytest.fixture
def no_worker(monkeypatch):
    monkeypatch.setenv("FIXSIM_RECORD_THREAD", "0")


def _frames(seed: int, n_frames: int = 40, size: int = 3000) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_frames):
        f = rng.standard_normal(size) * 10.0 ** rng.integers(-30, 30)
        f[rng.integers(0, size, 5)] = 0.0
        if k % 7 == 3:  # the rare values go through the row kernel inside the worker
            f[:6] = [np.nan, np.inf, -np.inf, 5e-324, -2.5e-310, -0.0]
        out.append(f)
    return out


def _run(frames, detail="full"):
    D = TypeTable({"a": "double", "b": "double", "c": "sfix16_En8"})
    with record(detail=detail) as rec:
        for f in frames:
            D.a(f)
            D.b(f[::3] * 0.5)
            D.c(np.clip(np.nan_to_num(f), -100, 100))
    return rec


@pytest.mark.parametrize("detail", ["full", "ranges"])
def test_worker_recording_equals_the_calling_thread(monkeypatch, detail):
    frames = _frames(1)
    monkeypatch.setenv("FIXSIM_RECORD_THREAD", "1")
    with_worker = _run(frames, detail)
    monkeypatch.setenv("FIXSIM_RECORD_THREAD", "0")
    without = _run(frames, detail)
    assert with_worker == without
    reference = SignalStats(detail=detail).update(np.concatenate(frames))
    assert with_worker["a"] == reference
    assert with_worker["a"].nan_count == without["a"].nan_count > 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64),
                         max_size=50), min_size=1, max_size=12))
def test_worker_equals_single_update_on_random_frames(frames):
    os.environ["FIXSIM_RECORD_THREAD"] = "1"
    try:
        D = TypeTable({"s": "double"})
        with record() as rec:
            for f in frames:
                D.s(np.array(f, dtype=np.float64))
        values = [v for f in frames for v in f]
        if values:
            assert rec["s"] == SignalStats().update(values)
        else:
            assert rec["s"].count == 0
    finally:
        del os.environ["FIXSIM_RECORD_THREAD"]


def test_frames_larger_than_the_ring_and_more_items_than_the_queue(worker):
    # one frame larger than the ring (cut into pieces), then more small frames than the queue
    # holds (the producer summarises what the worker cannot take), then a frame that must
    # skip the ring's end
    rng = np.random.default_rng(2)
    big = rng.standard_normal(off_mod._RING + 12345)
    small = [rng.standard_normal(3) for _ in range(off_mod._QUEUE + 500)]
    odd = rng.standard_normal(off_mod._PIECE - 7)
    D = TypeTable({"s": "double"})
    with record() as rec:
        D.s(big)
        for f in small:
            D.s(f)
        D.s(odd)
        D.s(odd)
    assert offload.running is False
    assert rec["s"] == SignalStats().update(np.concatenate([big, *small, odd, odd]))


def test_reading_inside_the_block_waits_for_the_worker(worker):
    D = TypeTable({"s": "double"})
    x = np.arange(1.0, 50001.0)
    with record() as rec:
        D.s(x)
        assert rec["s"].count == 50000 and rec["s"].max == 50000.0  # synced on read
        D.s(-x)
        assert rec["s"].count == 100000 and rec["s"].min == -50000.0
        assert rec["s"].exact_sum == 0


def test_input_arrays_are_copied_before_the_worker_reads_them(worker):
    D = TypeTable({"s": "double"})
    x = np.ones(200_000)
    with record() as rec:
        D.s(x)
        x[:] = 1e9  # the worker may not have read the frame yet
    assert rec["s"].max == 1.0 and rec["s"].count == 200_000


def test_threads_recording_at_once_each_get_their_own_values(worker):
    D = TypeTable({"s": "double"})
    results = {}

    def work(k):
        frames = _frames(10 + k, n_frames=20, size=2000)
        with record() as r:
            for f in frames:
                D.s(f)
        results[k] = (r, frames)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, frames in results.values():
        assert r["s"] == SignalStats().update(np.concatenate(frames))


def test_worker_is_reused_then_exits_by_itself(worker):
    D = TypeTable({"s": "double"})
    with record():
        D.s(np.ones(10))
    t = offload._thread
    assert t is not None and t.is_alive()
    with record() as rec:  # a following recording reuses the live worker
        D.s(np.ones(10))
    assert offload._thread is t and rec["s"].count == 10
    t.join(timeout=20)  # no users: it leaves after about a tenth of a second (and a park)
    assert not t.is_alive()
    assert _ring.load(offload._arrays[0], _ring.STATE) == 0
    with record() as rec:  # and a new one starts when needed
        D.s(np.full(5, 2.0))
    assert offload._thread is not t and rec["s"].sum == 10.0


def test_no_thread_when_turned_off(no_worker):
    before = {t.name for t in threading.enumerate()}
    D = TypeTable({"s": "double"})
    if offload._thread is not None:
        offload._thread.join(timeout=20)
    with record() as rec:
        D.s(np.ones(10))
        assert not offload.running
        assert "fixsim-record-stats" not in {t.name for t in threading.enumerate()} - before
    assert rec["s"].count == 10


def _child_records(q):
    D = TypeTable({"s": "double"})
    with record() as r:
        D.s(np.array([3.0, 4.0]))
    q.put((r["s"].count, r["s"].max))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork start method is POSIX-only")
def test_fork_while_recording(worker):
    # the parent waits for its worker before the fork; the child has no worker and starts
    # its own for its own recording; neither loses values
    D = TypeTable({"s": "double"})
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    with record() as rec:
        D.s(np.arange(100_000.0))
        p = ctx.Process(target=_child_records, args=(q,))
        p.start()
        got = q.get(timeout=60)
        p.join(timeout=60)
        D.s(np.array([-1.0]))
    assert p.exitcode == 0 and got == (2, 4.0)
    assert rec["s"].count == 100_001 and rec["s"].min == -1.0


def test_shutdown_drains_then_the_calling_thread_takes_over(monkeypatch):
    # regression (review): after the interpreter-exit shutdown a still-active recording must
    # neither hang on a stopped worker nor lose the frames it had handed over
    monkeypatch.setenv("FIXSIM_RECORD_THREAD", "1")
    monkeypatch.setattr(offload, "threads", True)
    D = TypeTable({"s": "double"})
    x = np.arange(1.0, 100_001.0)
    try:
        with record() as rec:
            D.s(x)
            offload.shutdown()
            assert not offload.running and offload._thread is None
            D.s(-x)  # summarised in this thread now
        assert rec["s"].count == 200_000 and rec["s"].exact_sum == 0
        assert offload.running is False
    finally:
        offload.threads = True
    with record() as rec:  # and a later recording starts a worker again
        D.s(x)
        assert offload.running
    assert rec["s"].count == 100_000


def _refuse_every_other(monkeypatch) -> list:
    """Make the recorder's ring hand-over refuse every other item (as when the worker is
    behind or the ring is full); returns the list of ``(length, dtype)`` offered."""
    from fixsim.tool import _stats as stats_mod

    real = _ring.push
    pushed = []

    def refuse_every_other(meta, buf, x, slot, scale=1.0):
        pushed.append((x.shape[0], x.dtype))
        return len(pushed) % 2 == 0 and real(meta, buf, x, slot, scale)

    monkeypatch.setattr(stats_mod._kr, "push", refuse_every_other)
    return pushed


def test_frames_the_worker_cannot_take_are_summarised_by_the_producer(worker, monkeypatch):
    # every other hand-over is refused (as when the worker is behind or the ring is full): the
    # producer summarises those frames in its own state, and the two shares merge exactly
    pushed = _refuse_every_other(monkeypatch)
    frames = _frames(5, n_frames=12)
    big = np.random.default_rng(6).standard_normal(3 * off_mod._PIECE + 11)  # in pieces
    D = TypeTable({"s": "double"})
    with record() as rec:
        for f in frames:
            D.s(f)
        D.s(big)
        acc = rec._pending["s"].acc
        assert acc._local is not None and acc._local.pending > 0 and acc.n > 0
    assert [n for n, _ in pushed[-4:]] == [off_mod._PIECE] * 3 + [11]
    assert rec["s"] == SignalStats().update(np.concatenate([*frames, big]))


def _fi_frames():
    """fi inputs of every shape the stored-integer hand-over meets: 16 to 53 bits, fraction
    lengths from -40 to 1000, lengths that leave ragged heads and tails around the 64-byte
    stores, a frame in several pieces, a deferred product, and (too wide for it) 54 bits."""
    from fixsim import fi, numerictype

    rng = np.random.default_rng(8)
    out = []
    for W, F, n in [(16, 14, 4096), (16, 14, 13), (24, -40, 1001), (53, 52, 777),
                    (53, 1000, 65), (32, 0, 3 * off_mod._PIECE + 5), (54, 20, 300)]:
        T = numerictype(True, W, F)
        ints = rng.integers(T.int_min, T.int_max + 1, n)
        ints[:3] = [T.int_min, T.int_max, 0]
        out.append(fi.from_int(ints, T))
    a = fi(rng.uniform(-1, 1, 20_000), 1, 16, 15)
    out.append(a * a)  # deferred: its stored integers are built when read
    return out


@pytest.mark.parametrize("mode", ["worker", "refuse every other", "no worker"])
def test_fi_inputs_hand_over_stored_integers_exactly(monkeypatch, mode):
    """The recorder takes a fi input's stored integers and their scale, converting them as it
    copies them into the ring: the statistics equal those of the fi's float values, in the
    worker, in the producer's share, and without a worker."""
    from fixsim._core import _typetable as tt

    monkeypatch.setenv("FIXSIM_RECORD_THREAD", "0" if mode == "no worker" else "1")
    pushed = _refuse_every_other(monkeypatch) if mode == "refuse every other" else []
    stored_of = tt._stored_of
    given_stored = []
    monkeypatch.setattr(tt, "_stored_of",
                        lambda x: given_stored.append(x) or stored_of(x))
    frames = _fi_frames()
    T = TypeTable({"s": "sfix64_En10"})
    with record() as rec:
        for f in frames:
            T.s(f)
    got = rec["s"]
    ref = SignalStats().update(np.concatenate([f.data for f in frames]))
    # the cast's own counts and type are not the values' statistics: copy them over
    ref.name, ref.numerictype = got.name, got.numerictype
    ref.overflows, ref.underflows = got.overflows, got.underflows
    assert got == ref
    assert got.overflows > 0 and got.underflows > 0
    assert len(given_stored) == len(frames)
    if mode == "refuse every other":
        dtypes = {d for _, d in pushed}
        assert np.dtype(np.int64) in dtypes and np.dtype(np.float64) in dtypes  # 54 bits


def test_other_listeners_still_get_float_values():
    from fixsim import fi
    from fixsim._core._typetable import signal_listening

    T = TypeTable({"s": "sfix8_En4"})
    x = fi([0.5, -1.25, 3.0], 1, 16, 8)
    got = []
    with record() as rec, signal_listening(got.append):
        T.s(x)
    assert got[0].stored is None and got[0].values.tolist() == [0.5, -1.25, 3.0]
    assert rec["s"].max == 3.0


def test_push_refuses_when_the_worker_cannot_keep_up():
    # _room's policy: refuse (the producer takes the frame) when more than r/64 values wait
    # and the worker has not been within r/16 of done for r/2 values; else queue (bursts)
    r = 1 << 12
    meta = np.zeros(_ring.CTL + 4 * 16, dtype=np.int64)
    buf = np.zeros(r)
    x = np.ones(8)

    def state(written, consumed, caught_up):
        meta[:] = 0
        meta[_ring.WRITTEN], meta[_ring.CONSUMED] = written, consumed
        meta[_ring.CAUGHT_UP] = caught_up
        return _ring.push(meta, buf, x, 0)

    assert state(10_000, 10_000 - r // 64, 0)  # a short queue: always taken
    assert state(10_000, 10_000 - r // 64 - 1, 10_000 - r // 2)  # caught up recently: a burst
    assert not state(10_000, 10_000 - r // 64 - 1, 10_000 - r // 2 - 1)  # persistently behind
    assert not state(10_000, 10_000 - r + 7, 10_000)  # no room in the ring
    assert meta[_ring.HEAD] == 0  # a refused frame publishes nothing


def test_leaving_the_block_keeps_the_summary_until_read(worker):
    # the exact summaries are folded on the first read; a recording dropped unread gives its
    # cleared state back to the pool, and the next recording starts from empty statistics
    from fixsim.tool import _stats as stats_mod

    D = TypeTable({"s": "double"})
    with record() as rec:
        D.s(np.arange(1.0, 1001.0))
    acc = rec._pending["s"].acc
    assert acc._slot == -1 and not acc._queued and acc.pending == 1000  # settled, not folded
    assert rec["s"].count == 1000 and rec["s"].exact_sum == 500500
    assert acc.pending == 0
    with record() as dropped:
        D.s(np.full(500, 7.5))
    state = dropped._pending["s"].acc.ft
    del dropped
    assert any(s[2] is state for s in stats_mod._POOL)
    with record() as rec:
        D.s(np.array([2.0]))
    assert rec["s"] == SignalStats().update([2.0])
