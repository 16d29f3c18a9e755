"""A single-producer ring of float64 frames, drained by a compiled worker that never takes the GIL.

The recorder's statistics are independent of the simulation, so on a machine with a second
core they can run beside it. A Python thread that took the GIL for every frame would hand
the GIL back and forth with the simulation (and wait up to the interpreter's switch interval
for it); instead, the worker thread enters :func:`serve` once and stays in compiled code,
with the GIL released, until it is told to stop. The producer (:func:`push`, which keeps the
GIL, so there is one producer at a time) copies a frame into the ring and publishes it, or
reports that there is no room or that the worker cannot keep up; it then summarises that
frame itself, in a state of its own, instead of waiting (so both cores work when the
statistics take longer than the simulation, and nothing ever waits for room);
the worker runs the statistics kernels of :mod:`fixsim._kernels._stats` on the frames.

Shared state (all plain arrays, allocated by :mod:`fixsim.tool._offload`):

* ``meta`` (int64, ``CTL + 4 * Q``): first the control words ``[head, tail, stop, written,
  consumed, state, caught_up]``: items published and items done (monotone counters), the
  stop request, the ring positions (monotone, in values) written by the producer and released
  by the worker, ``state = 2 * users + alive`` (see below), and the ring position where the
  worker was last nearly caught up (see :func:`_room`); then per item ``k`` (at ``CTL + 4 *
  (k % Q)``) ``(slot, start, length, end)``: the signal's slot, the frame's place in ``buf``,
  and the monotone position after it;
* ``buf`` (float64, ``R``): the ring of values; a frame never wraps (the producer skips to
  the start of the ring when the end has no room);
* ``slots`` (int64, ``(S, 6)``): per signal the addresses of its kernel state
  ``(ft, hd, fm, st, mm)`` and the ``sums`` flag. The Python side keeps those arrays alive
  and only reuses a slot after waiting for every published item (:func:`pending`).

Ordering: ``head``, ``tail`` and ``consumed`` are written with release and read with acquire
semantics (LLVM atomics), so a published item's values and slot are visible to the worker,
and the worker's results to the producer after it has seen ``tail`` reach ``head``.

Lifetime: ``state`` packs the number of active users (``record()`` blocks) and whether a
worker is alive into one word changed only by compare-and-swap. A worker left without users
exits after a short idle time, by swapping ``state`` from exactly ``1`` (alive, no users) to
``0``; a new user either adds itself to a live worker (``s -> s + 2`` with ``s`` odd) or, if
none is alive, starts one. A worker therefore never exits while a user could still push,
and starting and ending a recording does not start and join a thread each time.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import _stats as _ks

__all__ = ["push", "serve", "wait", "load", "cas", "CTL", "HEAD", "TAIL", "STOP",
           "WRITTEN", "CONSUMED", "STATE", "CAUGHT_UP", "SLOT_COLS"]

HEAD, TAIL, STOP, WRITTEN, CONSUMED, STATE, CAUGHT_UP = range(7)
CTL = 8
SLOT_COLS = 6
_IDLE_US = 20          # the worker's sleep when the ring is empty, a reader's in wait()
_PARK_US = 1000        # ... after _PARK_AFTER sleeps in a row
_PARK_AFTER = 2000
_LINGER = 100          # parked sleeps without users before the worker exits (about 0.1 s)
_SPIN = 4096           # polls before a sleep (a sleep lasts 50 us or more with timer slack)
_YIELDS = 100_000      # polls with sched_yield while a recording is active (about 0.1 s)

_usleep = types.ExternalFunction("usleep", types.int32(types.uint32))
_sched_yield = types.ExternalFunction("sched_yield", types.int32())


@intrinsic
def _voidptr(typingctx, addr):
    """The int64 *addr* as a ``void*`` (for ``numba.carray``)."""
    sig = types.voidptr(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen


def _item_ptr(context, builder, signature, args):
    aty = signature.args[0]
    ary = context.make_array(aty)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, aty, ary, [args[1]])


@intrinsic
def _load_acquire(typingctx, arr, idx):
    """``arr[idx]`` of a 1-D int64 array, as an atomic load with acquire ordering."""
    sig = types.int64(arr, idx)

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_item_ptr(context, builder, signature, args), "acquire", 8)

    return sig, codegen


@intrinsic
def _store_release(typingctx, arr, idx, val):
    """``arr[idx] = val`` on a 1-D int64 array, as an atomic store with release ordering."""
    sig = types.void(arr, idx, types.int64)

    def codegen(context, builder, signature, args):
        builder.store_atomic(args[2], _item_ptr(context, builder, signature, args), "release",
                             8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _cas(typingctx, arr, idx, expected, new):
    """Atomically ``arr[idx] = new`` if it equals *expected* (sequentially consistent);
    True if it did."""
    sig = types.boolean(arr, idx, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        ptr = _item_ptr(context, builder, signature, args)
        res = builder.cmpxchg(ptr, args[2], args[3], "seq_cst", "seq_cst")
        return builder.extract_value(res, 1)

    return sig, codegen


def _vector8(context, builder, aty, arr, idx, scale):
    """Elements ``idx .. idx + 7`` of a 1-D float64 or int64 array as ``<8 x double>``, the
    integers converted and multiplied by *scale*."""
    ary = context.make_array(aty)(context, builder, arr)
    ptr = cgutils.get_item_pointer(context, builder, aty, ary, [idx])
    if isinstance(aty.dtype, types.Integer):
        iv = builder.load(builder.bitcast(ptr, ir.VectorType(ir.IntType(64), 8).as_pointer()),
                          align=8)
        vt = ir.VectorType(ir.DoubleType(), 8)
        fv = builder.sitofp(iv, vt)
        sv = builder.insert_element(ir.Constant(vt, ir.Undefined), scale,
                                    ir.Constant(ir.IntType(32), 0))
        sv = builder.shuffle_vector(sv, ir.Constant(vt, ir.Undefined),
                                    ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8))
        return builder.fmul(fv, sv)
    return builder.load(builder.bitcast(ptr, ir.VectorType(ir.DoubleType(), 8).as_pointer()),
                        align=8)


@intrinsic
def _store8_nt(typingctx, dst, di, src, si, scale):
    """``dst[di:di + 8] = src[si:si + 8]`` (1-D float64 *dst*; *src* float64, or int64 whose
    values are multiplied by *scale* as float64) as one 64-byte store that bypasses the caches
    (LLVM ``!nontemporal``); ``dst[di]`` must be 64-byte aligned."""
    sig = types.void(dst, di, src, si, types.float64)

    def codegen(context, builder, signature, args):
        vt = ir.VectorType(ir.DoubleType(), 8)
        da = context.make_array(signature.args[0])(context, builder, args[0])
        dp = cgutils.get_item_pointer(context, builder, signature.args[0], da, [args[1]])
        v = _vector8(context, builder, signature.args[2], args[2], args[3], args[4])
        st = builder.store(v, builder.bitcast(dp, vt.as_pointer()), align=64)
        st.set_metadata("nontemporal", builder.module.add_metadata([ir.IntType(32)(1)]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _value(typingctx, src, i, scale):
    """``src[i]`` as float64: a float64 element as it is, an int64 one times *scale*."""
    sig = types.float64(src, types.intp, types.float64)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aty, ary, [args[1]])
        v = builder.load(ptr)
        if isinstance(aty.dtype, types.Integer):
            return builder.fmul(builder.sitofp(v, ir.DoubleType()), args[2])
        return v

    return sig, codegen


@intrinsic
def _fence(typingctx):
    """A full memory fence (``mfence`` on x86: it also orders the non-temporal stores, which a
    release store alone does not)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return sig, codegen


@nb.njit(cache=True, nogil=True)
def _copy_nt(buf, pos, x, scale):
    """``buf[pos:pos + x.size] = x`` for a contiguous *x* (float64, or int64 stored integers
    written as ``x * scale``), the 64-byte-aligned middle with non-temporal stores. The ring
    is written here and read on another core: ordinary stores would first fetch each line
    from the worker's cache (it read the line one lap before), which measured 4 to 5 times
    slower than this while the worker runs."""
    n = x.shape[0]
    head = min(n, ((64 - (buf[pos:].ctypes.data & 63)) & 63) >> 3)
    for i in range(head):
        buf[pos + i] = _value(x, i, scale)
    i = head
    while i + 8 <= n:
        _store8_nt(buf, pos + i, x, i, scale)
        i += 8
    while i < n:
        buf[pos + i] = _value(x, i, scale)
        i += 1


@nb.njit(cache=True, nogil=True)
def load(meta, i):
    """Control word *i* (acquire)."""
    return _load_acquire(meta, i)


@nb.njit(cache=True, nogil=True)
def cas(meta, i, expected, new):
    """Compare-and-swap of control word *i*."""
    return _cas(meta, i, expected, new)


@nb.njit(cache=True, nogil=True)
def wait(meta, target):
    """Wait (GIL released) until ``tail >= target``; False if no worker is alive first."""
    polls = 0
    while _load_acquire(meta, TAIL) < target:
        if (_load_acquire(meta, STATE) & 1) == 0:
            return _load_acquire(meta, TAIL) >= target
        polls += 1
        if polls > _SPIN + _YIELDS:
            _usleep(np.uint32(_IDLE_US))
        elif polls > _SPIN:  # the worker is a few frames from done: stay runnable (a sleep
            _sched_yield()   # lasts 50 us or more, longer than what is left, typically)
    return True


@nb.njit(cache=True, nogil=True)
def _room(meta, r, q, n):
    """The ring position where an item of *n* values would go, or -1 if there is no room
    (in the ring or in the queue) now, or if the worker cannot keep up: more than ``r // 64``
    values wait for it, and it has not been within ``r // 16`` values of done during the
    last ``r // 2`` values written. (A block model hands over a frame's internal values at
    once, and the worker works through them while the next frame is simulated: it catches
    up between such bursts, and the ring absorbs them. A worker that never catches up is
    slower than the simulation: the producer then takes a share, which also keeps the wait
    at the end of the recording short.)"""
    w = meta[WRITTEN]
    consumed = _load_acquire(meta, CONSUMED)
    if w - consumed > (r >> 6) and w - _load_acquire(meta, CAUGHT_UP) > (r >> 1):
        return -1
    pos = w % r
    if pos + n > r:  # no room before the end: skip to the ring's start
        w += r - pos
    if w + n - consumed > r or meta[HEAD] - _load_acquire(meta, TAIL) >= q:
        return -1
    return w


@nb.njit(cache=True)
def push(meta, buf, x, slot, scale=1.0):
    """Copy the 1-D float64 array *x* (``x.size <= buf.size // 2``) into the ring as an item of
    *slot* and publish it; False (nothing done) if there is no room now. An int64 *x* (stored
    integers) goes in as the float64 values ``x * scale``; the caller makes that exact
    (``|x| <= 2**53``, *scale* a power of two keeping every nonzero value normal).

    It keeps the GIL on purpose: that makes the producers of different Python threads take
    turns without a lock of their own (the worker never needs the GIL). It never waits: when
    it returns False, the caller summarises the frame itself (a worker that has just started
    needs the GIL once to enter :func:`serve`, so waiting here could hang), and when the
    worker cannot keep up (:func:`_room`)."""
    n = x.shape[0]
    r = buf.shape[0]
    q = (meta.shape[0] - CTL) // 4
    w = _room(meta, r, q, n)
    if w < 0:
        return False
    pos = w % r
    if x.strides[0] == 8:
        _copy_nt(buf, pos, x, scale)
        _fence()
    else:
        for i in range(n):
            buf[pos + i] = _value(x, i, scale)
    head = meta[HEAD]
    k = CTL + 4 * (head % q)
    meta[k] = slot
    meta[k + 1] = pos
    meta[k + 2] = n
    meta[k + 3] = w + n
    meta[WRITTEN] = w + n
    _store_release(meta, HEAD, head + 1)
    return True


@nb.njit(cache=True, nogil=True)
def _rare(x, st, mm):
    """The subnormals, NaNs and infinities of *x*, through the row kernel."""
    m = 0
    for i in range(x.shape[0]):
        a = abs(x[i])
        if not (a >= 2.2250738585072014e-308 and a < np.inf) and a != 0.0:
            m += 1
    odd = np.empty(m, dtype=np.float64)
    m = 0
    for i in range(x.shape[0]):
        a = abs(x[i])
        if not (a >= 2.2250738585072014e-308 and a < np.inf) and a != 0.0:
            odd[m] = x[i]
            m += 1
    _ks.accumulate(odd, st, mm)


@nb.njit(cache=True, nogil=True)
def _process(x, row):
    ft = nb.carray(_voidptr(row[0]), (2 * _ks.FT_HALF,), np.int64)
    hd = nb.carray(_voidptr(row[1]), (6,), np.int64)
    fm = nb.carray(_voidptr(row[2]), (2,), np.float64)
    if _ks.accumulate_fast(x, ft, hd, fm, row[5] != 0):
        st = nb.carray(_voidptr(row[3]), (_ks.ROWS, _ks.COLS), np.int64)
        mm = nb.carray(_voidptr(row[4]), (2,), np.float64)
        _rare(x, st, mm)


@nb.njit(cache=True, nogil=True)
def serve(meta, buf, slots):
    """The worker: process published items in order; return when stopped (``meta[STOP]``) or,
    once idle for a while without users, after swapping ``state`` from 1 to 0. Returns the
    number of items processed."""
    q = (meta.shape[0] - CTL) // 4
    low = buf.shape[0] >> 4
    done = 0
    idle = 0  # empty polls since the last item
    slept = 0  # of which sleeps
    tail = meta[TAIL]
    while True:
        if _load_acquire(meta, HEAD) == tail:
            if _load_acquire(meta, STOP) != 0:
                if _load_acquire(meta, HEAD) == tail:
                    return done
                continue
            idle += 1
            if idle < _SPIN:
                continue
            if idle < _SPIN + _YIELDS and _load_acquire(meta, STATE) >= 2:
                # a recording is active: stay runnable, giving the CPU to anything waiting
                # for it. A worker that slept here was woken by timers, often on the
                # simulation's CPU, which it then took over.
                _sched_yield()
                continue
            slept += 1
            if slept < _PARK_AFTER:
                _usleep(np.uint32(_IDLE_US))
                continue
            if slept >= _PARK_AFTER + _LINGER and _cas(meta, STATE, 1, 0):
                # no users: exit, unless an item was published before the last user left
                if _load_acquire(meta, HEAD) == tail or not _cas(meta, STATE, 0, 1):
                    return done  # (if the revival fails, a new worker has taken over)
                idle = 0
                slept = 0
                continue
            _usleep(np.uint32(_PARK_US))
            continue
        idle = 0
        slept = 0
        k = CTL + 4 * (tail % q)
        pos = meta[k + 1]
        _process(buf[pos:pos + meta[k + 2]], slots[meta[k]])
        tail += 1
        done += 1
        consumed = meta[k + 3]
        _store_release(meta, CONSUMED, consumed)
        _store_release(meta, TAIL, tail)
        if _load_acquire(meta, WRITTEN) - consumed <= low:  # nearly caught up (see _room)
            _store_release(meta, CAUGHT_UP, consumed)
