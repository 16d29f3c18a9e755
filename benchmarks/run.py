"""fixsim benchmarks against its peers, in one process.

Usage::

    python benchmarks/run.py                 # full run (1,000,000 elements), about 2 minutes
    python benchmarks/run.py --quick         # 100,000 elements, fewer repeats (smoke run)
    python benchmarks/run.py --only quantize # rows whose key or title contains 'quantize'
    python benchmarks/run.py --json out.json # also write every number as JSON

For each workload it times fixsim, apytypes (its fastest exact route), fxpmath, numfi (when it
imports) and a hand-written single-thread numba loop doing the same integer arithmetic, after a
warm-up call (numba compilation excluded), as the best of N ``time.perf_counter`` runs. Before
timing, each peer's stored integers are compared with fixsim's under the semantics the peer
claims (fixsim is run in the peer's mode when the peer has no exact equivalent of the workload's
mode); mismatches are reported, never hidden.

Ratios: ``peer / fixsim`` (above 1: fixsim is faster) and ``fixsim / numba`` (the cost over a
tight loop; the target is at most 1.5). See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import subprocess
import sys
import time
import timeit
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _loops  # noqa: E402  (benchmarks/_loops.py: the numba baselines)

import fixsim as fx  # noqa: E402
from fixsim import fi, numerictype  # noqa: E402

PEERS = ("fixsim", "apytypes", "fxpmath", "numfi", "numba")

# -- optional peers ---------------------------------------------------------------------------
_UNAVAILABLE: dict[str, str] = {}
try:
    import apytypes as apy
except Exception as exc:  # pragma: no cover - depends on the machine
    apy = None
    _UNAVAILABLE["apytypes"] = f"import failed: {type(exc).__name__}: {exc}"
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import fxpmath
        from fxpmath import Fxp
except Exception as exc:  # pragma: no cover
    fxpmath = Fxp = None
    _UNAVAILABLE["fxpmath"] = f"import failed: {type(exc).__name__}: {exc}"
try:
    import numfi as _numfi_mod
    from numfi import numfi as Numfi
except Exception as exc:  # numfi 0.5.0 uses Python 3.12 syntax
    _numfi_mod = Numfi = None
    msg = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, SyntaxError):
        msg = (f"numfi fails to import on Python {platform.python_version()}: SyntaxError "
               f"({exc.msg}, numfi.py line {exc.lineno}: `type X = ...` needs Python >= 3.12)")
    _UNAVAILABLE["numfi"] = msg or type(exc).__name__


# -- helpers ----------------------------------------------------------------------------------
def _as_obj(a: np.ndarray) -> np.ndarray:
    if a.dtype == object:
        return a
    out = np.empty(a.shape, dtype=object)
    out.ravel()[:] = [int(v) for v in a.ravel()]
    return out


def _align(ints: np.ndarray, frac: int, to: int) -> np.ndarray:
    """Stored integers at fraction ``frac`` re-expressed at fraction ``to >= frac`` (exact)."""
    k = to - frac
    if k == 0:
        return ints
    o = _as_obj(np.asarray(ints))
    return o * (1 << k)


def compare_ints(ref: tuple, got: tuple) -> dict:
    """Compare two (stored integers, fraction length) results as exact values."""
    (ri, rf), (gi, gf) = ref, got
    ri, gi = np.asarray(ri), np.asarray(gi)
    if ri.shape != gi.shape:
        return {"ok": False, "detail": f"shape {gi.shape} != fixsim {ri.shape}"}
    f = max(rf, gf)
    ri, gi = _align(ri, rf, f), _align(gi, gf, f)
    if ri.dtype == object or gi.dtype == object:
        ri, gi = _as_obj(ri), _as_obj(gi)
    bad = np.asarray(ri != gi, dtype=bool)
    n = int(np.count_nonzero(bad))
    if n == 0:
        return {"ok": True, "detail": f"{ri.size} values identical"}
    idx = int(np.flatnonzero(bad.ravel())[0])
    return {"ok": False, "n_bad": n, "detail":
            f"MISMATCH {n}/{ri.size} values; first at flat index {idx}: peer "
            f"{gi.ravel()[idx]} vs fixsim {ri.ravel()[idx]} (fraction length {f})"}


FIXSIM_ISSUES: set[str] = set()


def _built(r):
    """*r* with its stored integers computed (fixsim defers a large full-precision product)."""
    r.int  # noqa: B018 - the read builds them
    return r


def fi_ints(r) -> tuple:
    try:
        v = r.int
    except ValueError as exc:   # seen for scalar a + b / a * b: _int is a numpy scalar
        FIXSIM_ISSUES.add(f"fi.int raised ValueError ({exc}) on a {r.numerictype} result; "
                          "the check read the stored integer directly")
        v = r._int
    return np.asarray(v), r.fraction_length


def apy_ints(r) -> tuple:
    """Signed stored integers of an APyFixed / APyFixedArray."""
    bits = r.bits
    if isinstance(r, apy.APyFixed):
        v = int(r.to_bits())
        if v >> (bits - 1):
            v -= 1 << bits
        return np.array(v, dtype=object), r.frac_bits
    shape = tuple(r.shape)
    if bits <= 64:
        u = np.asarray(r.to_bits(numpy=True)).astype(np.uint64).view(np.int64).reshape(shape)
        sh = 64 - bits
        return (u << sh) >> sh if sh else u, r.frac_bits
    vals = [v - (1 << bits) if v >> (bits - 1) else v for v in _flatten(r.to_bits())]
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out.reshape(shape), r.frac_bits


def _flatten(seq):
    for v in seq:
        if isinstance(v, list):
            yield from _flatten(v)
        else:
            yield v


def fxp_ints(r) -> tuple:
    return np.asarray(r.val), int(r.n_frac)


def numfi_ints(r) -> tuple:
    return np.asarray(r.int).astype(np.int64), int(r.f)


def apy_exact_format(x: np.ndarray, F: int):
    """(int_bits, frac_bits) of an APyFixed format that holds every float in *x* exactly.

    apytypes' ``from_float`` always rounds ties away from zero and wraps, so its exact route to
    other modes is: ``from_float`` into a format wide enough to hold each input exactly (no
    rounding, no wrap), then one ``cast`` with the wanted quantization and overflow modes.
    The width comes from the data (the smallest such format), which favours apytypes.
    """
    ax = np.abs(x[np.isfinite(x) & (x != 0)])
    _, emax = np.frexp(ax.max())
    _, emin = np.frexp(ax.min())           # |x| in [2**(e-1), 2**e): ulp = 2**(e-53)
    frac = max(F, 53 - int(emin))
    ib = int(emax) + 1                     # holds |x| < 2**emax with the sign bit
    return ib, frac


# -- timing -----------------------------------------------------------------------------------
@dataclass
class Impl:
    """One library's way of doing a workload."""

    peer: str
    run: Callable[[Any], Any]                 # timed: run(state) -> result
    setup: Callable[[dict], Any] = lambda inp: inp   # untimed: inputs -> state
    ints: Callable[[Any], tuple] | None = None        # result -> (stored ints, frac)
    ref: Callable[[dict], tuple] | None = None        # fixsim reference in the peer's semantics
    note: str = ""
    sliceable: bool = True                    # the inputs are 1-D and may be cut for a probe


@dataclass
class Workload:
    key: str
    title: str
    make: Callable[[int, np.random.Generator], dict]
    impls: list[Impl]
    targets: list[tuple[str, str, float]] = field(default_factory=list)
    unit: str = "ms"
    notes: str = ""
    fixed_size: bool = False                  # the size does not follow --quick / n


def _slice(inp: dict, m: int) -> dict:
    return {k: (v[:m] if isinstance(v, np.ndarray) and v.ndim == 1 else v) for k, v in inp.items()}


class Timer:
    def __init__(self, quick: bool):
        self.budget = 0.4 if quick else 1.5    # seconds of timed runs per cell
        self.min_reps = 3 if quick else 5
        self.max_reps = 50 if quick else 200
        self.slow_limit = 3.0 if quick else 12.0   # one run longer than this: time a subset

    def best(self, fn, state) -> tuple[float, int]:
        times = []
        t0 = time.perf_counter()
        fn(state)
        times.append(time.perf_counter() - t0)
        reps = int(self.budget / max(times[0], 1e-9))
        reps = max(self.min_reps, min(self.max_reps, reps)) if times[0] < self.slow_limit / 4 \
            else 1
        gc_was = gc.isenabled()
        gc.disable()
        try:
            for _ in range(reps):
                t0 = time.perf_counter()
                fn(state)
                times.append(time.perf_counter() - t0)
        finally:
            if gc_was:
                gc.enable()
        return min(times), len(times)


def run_workload(w: Workload, n: int, timer: Timer, rng_seed: int) -> dict:
    rng = np.random.default_rng(rng_seed)
    inp = w.make(n, rng)
    row: dict[str, Any] = {"key": w.key, "title": w.title, "unit": w.unit, "cells": {},
                           "checks": {}, "notes": w.notes}
    fixsim_ref = None
    for impl in w.impls:
        peer = impl.peer
        if peer in _UNAVAILABLE:
            row["cells"][peer] = {"na": _UNAVAILABLE[peer]}
            continue
        cell: dict[str, Any] = {"note": impl.note}
        try:
            state = impl.setup(inp)
            if isinstance(state, dict) and "fmt" in state:
                cell["note"] = f"{impl.note} ({state['fmt']})"
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = impl.run(state)          # warm-up (compiles numba) and the checked result
            first = time.perf_counter() - t0
            used = inp
            scale = 1.0
            if first > timer.slow_limit and impl.sliceable and not w.fixed_size:
                m = max(10_000, int(n * timer.slow_limit / 4 / first))
                used = _slice(inp, m)
                state = impl.setup(used)
                scale = n / m
                cell["subset"] = m
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, reps = timer.best(impl.run, state)
            cell["time"] = t * scale
            cell["reps"] = reps
            cell["first_call"] = first
        except Exception as exc:  # a peer that cannot do it is recorded, not fatal
            cell = {"na": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    [:160]}
            row["cells"][peer] = cell
            continue
        row["cells"][peer] = cell
        if peer == "fixsim" and impl.ints is not None:
            fixsim_ref = impl.ints(result)
        # verification (on the warm-up result, full inputs)
        if impl.ints is not None:
            try:
                got = impl.ints(result)
                if impl.ref is not None:
                    ref = impl.ref(inp)
                else:
                    ref = fixsim_ref
                if ref is not None and peer != "fixsim":
                    row["checks"][peer] = compare_ints(ref, got)
                    if cell.get("note"):
                        row["checks"][peer]["semantics"] = cell["note"]
            except Exception as exc:
                row["checks"][peer] = {"ok": False,
                                       "detail": f"check failed: {type(exc).__name__}: {exc}"}
        del result
    fx_t = row["cells"].get("fixsim", {}).get("time")
    ratios = {}
    for peer, cell in row["cells"].items():
        t = cell.get("time")
        if t is None or fx_t is None or peer == "fixsim":
            continue
        ratios[peer] = t / fx_t if peer != "numba" else fx_t / t
    row["ratios"] = ratios
    row["targets"] = _eval_targets(w.targets, row)
    return row


def _eval_targets(targets, row) -> list[dict]:
    out = []
    for peer, op, bound in targets:
        r = row["ratios"].get(peer)
        if peer == "numba":
            text = f"fixsim/numba <= {bound:g}"
        elif op == ">=":
            text = f"{peer}/fixsim >= {bound:g}"
        else:
            text = f"{peer}/fixsim {op} {bound:g}"
        if r is None:
            out.append({"target": text, "measured": None, "pass": None})
            continue
        ok = r >= bound if op == ">=" else r <= bound
        out.append({"target": text, "measured": r, "pass": bool(ok)})
    return out


# -- workloads --------------------------------------------------------------------------------
QM = apy.QuantizationMode if apy is not None else None
OV = apy.OverflowMode if apy is not None else None


def _normal(n, rng, scale):
    return rng.standard_normal(n) * scale


def _quantize_workload(key, title, s, W, F, rounding, overflow, scale, apy_q, apy_o,
                       fxp_mode, fxp_ref, numfi_modes, numba_fn, targets, notes=""):
    def make(n, rng):
        return {"x": _normal(n, rng, scale)}

    def fixsim_run(st):
        return fi(st["x"], s, W, F, rounding=rounding, overflow=overflow)

    impls = [Impl("fixsim", fixsim_run, ints=fi_ints)]

    def apy_setup(inp):
        ib, fb = apy_exact_format(inp["x"], F)
        return {"x": inp["x"], "ib": ib, "fb": fb,
                "fmt": f"intermediate int_bits={ib}, frac_bits={fb}: {ib + fb} bits"}

    def apy_run(st):
        wide = apy.APyFixedArray.from_float(st["x"], int_bits=st["ib"], frac_bits=st["fb"])
        return wide.cast(int_bits=W - F, frac_bits=F, quantization=apy_q, overflow=apy_o)

    impls.append(Impl("apytypes", apy_run, apy_setup, apy_ints,
                      note="from_float into an exact wide format, then cast"))

    fr, fo = fxp_mode
    impls.append(Impl("fxpmath", lambda st: Fxp(st["x"], bool(s), W, F, rounding=fr,
                                                overflow=fo),
                      ints=fxp_ints,
                      ref=(lambda inp: fi_ints(fi(inp["x"], s, W, F, rounding=fxp_ref[0],
                                                  overflow=fxp_ref[1])))
                      if fxp_ref else None,
                      note=f"rounding='{fr}' (= fixsim '{fxp_ref[0]}')"
                      if fxp_ref and fxp_ref[0] != rounding else ""))
    if numfi_modes is not None:
        nr, no, nref = numfi_modes
        impls.append(Impl("numfi", lambda st: Numfi(st["x"], s, W, F, RoundingMethod=nr,
                                                    OverflowAction=no),
                          ints=numfi_ints,
                          ref=lambda inp: fi_ints(fi(inp["x"], s, W, F, rounding=nref,
                                                     overflow=overflow)),
                          note=f"RoundingMethod='{nr}' (= fixsim '{nref}')"))

    impls.append(Impl("numba", lambda st: numba_fn(st["x"], F, W), ints=lambda r: (r, F)))
    return Workload(key, title, make, impls, targets, notes=notes)


def build_workloads() -> list[Workload]:
    ws: list[Workload] = []

    # 1. quantize s16/12 nearest/saturate
    ws.append(_quantize_workload(
        "q16", "1. quantize -> s16/12 nearest/saturate", 1, 16, 12, "nearest", "saturate", 3.0,
        QM and QM.RND, OV and OV.SAT, ("around", "saturate"), ("convergent", "saturate"),
        ("Nearest", "Saturate", "round"), _loops.quantize_nearest_sat,
        [("apytypes", ">=", 20), ("numba", "<=", 1.5)],
        notes="x ~ N(0, 3^2): 0.8% saturate. fxpmath has no ties-to-+inf mode; it is run with "
              "'around' (ties to even) and checked against fixsim 'convergent'."))

    # 1b. the same in apytypes' native from_float semantics (one call, no exact-route cost)
    def make_1b(n, rng):
        return {"x": _normal(n, rng, 3.0)}

    w1b = Workload(
        "q16rw", "1b. quantize -> s16/12 round/wrap (apytypes' native from_float modes)", make_1b,
        [Impl("fixsim", lambda st: fi(st["x"], 1, 16, 12, rounding="round", overflow="wrap"),
              ints=fi_ints),
         Impl("apytypes", lambda st: apy.APyFixedArray.from_float(st["x"], int_bits=4,
                                                                   frac_bits=12),
              ints=apy_ints, note="from_float alone (RND_INF, WRAP)"),
         Impl("fxpmath", lambda st: Fxp(st["x"], True, 16, 12, rounding="around",
                                        overflow="wrap"),
              ints=fxp_ints, ref=lambda inp: fi_ints(fi(inp["x"], 1, 16, 12,
                                                        rounding="convergent", overflow="wrap")),
              note="rounding='around' (= fixsim 'convergent')"),
         Impl("numfi", lambda st: Numfi(st["x"], 1, 16, 12, RoundingMethod="Nearest",
                                        OverflowAction="Wrap"),
              ints=numfi_ints, note="RoundingMethod='Nearest' (ties away = fixsim 'round')"),
         Impl("numba", lambda st: _loops.quantize_round_wrap(st["x"], 12, 16),
              ints=lambda r: (r, 12))],
        [],
        notes="Informational (no target): apytypes' one-call route, with fixsim in the same "
              "modes. fxpmath runs 'around' (ties to even) and is checked against fixsim "
              "'convergent'.")
    ws.append(w1b)

    # 2. quantize s32/28 floor/wrap
    ws.append(_quantize_workload(
        "q32", "2. quantize -> s32/28 floor/wrap", 1, 32, 28, "floor", "wrap", 3.0,
        QM and QM.TRN, OV and OV.WRAP, ("floor", "wrap"), ("floor", "wrap"),
        ("Floor", "Wrap", "floor"), _loops.quantize_floor_wrap,
        [("apytypes", ">=", 20), ("numba", "<=", 1.5)],
        notes="x ~ N(0, 3^2): 0.8% wrap."))

    # 3. multiply two s16/12 then cast to s16/12 nearest/saturate
    def make_mul(n, rng):
        return {"x": _normal(n, rng, 2.0), "y": _normal(n, rng, 2.0)}

    def fx_pair(inp, fa=12, fb=12):
        return fi(inp["x"], 1, 16, fa), fi(inp["y"], 1, 16, fb)

    T16 = numerictype(1, 16, 12)

    def apy_pair(inp, fa=12, fb=12):
        # from stored bit patterns (fixsim's saturated ints), so every library holds the
        # same operand values
        fa_, fb_ = fx_pair(inp, fa, fb)
        a = apy.APyFixedArray(np.array(fa_.int, dtype=np.int64),
                              int_bits=16 - fa, frac_bits=fa)
        b = apy.APyFixedArray(np.array(fb_.int, dtype=np.int64),
                              int_bits=16 - fb, frac_bits=fb)
        return {"a": a, "b": b}

    def fxp_pair(inp, fa=12, fb=12):
        fa_, fb_ = fx_pair(inp, fa, fb)
        return {"a": Fxp(fa_.data, True, 16, fa), "b": Fxp(fb_.data, True, 16, fb)}

    def numfi_pair(inp, fa=12, fb=12):
        fa_, fb_ = fx_pair(inp, fa, fb)
        return {"a": Numfi(fa_.data, 1, 16, fa), "b": Numfi(fb_.data, 1, 16, fb)}

    def int_pair(inp, fa=12, fb=12):
        fa_, fb_ = fx_pair(inp, fa, fb)
        return {"a": np.array(fa_.int), "b": np.array(fb_.int)}

    def fx_setup(inp, fa=12, fb=12):
        a, b = fx_pair(inp, fa, fb)
        return {"a": a, "b": b}

    def fxp_mulcast(st):
        p = st["a"] * st["b"]
        return Fxp(p, True, 16, 12, rounding="around", overflow="saturate")

    ws.append(Workload(
        "mulcast", "3. s16/12 * s16/12 -> cast s16/12 nearest/saturate", make_mul,
        [Impl("fixsim", lambda st: (st["a"] * st["b"]).cast(T16), fx_setup, fi_ints),
         Impl("apytypes", lambda st: (st["a"] * st["b"]).cast(
             int_bits=4, frac_bits=12, quantization=QM.RND, overflow=OV.SAT), apy_pair, apy_ints),
         Impl("fxpmath", fxp_mulcast, fxp_pair, fxp_ints,
              ref=lambda inp: fi_ints((fi(inp["x"], 1, 16, 12) * fi(inp["y"], 1, 16, 12)).cast(
                  T16, rounding="convergent")),
              note="product re-quantized by Fxp(p, ..., rounding='around') (= 'convergent')"),
         Impl("numfi", lambda st: Numfi(st["a"] * st["b"], 1, 16, 12),
              numfi_pair, numfi_ints,
              ref=lambda inp: fi_ints((fi(inp["x"], 1, 16, 12) * fi(inp["y"], 1, 16, 12)).cast(
                  T16, rounding="round")),
              note="Numfi(a*b, 1, 16, 12), 'Nearest' = fixsim 'round'"),
         Impl("numba", lambda st: _loops.multiply_cast_nearest_sat(st["a"], st["b"], 12, 16),
              int_pair, lambda r: (r, 12))],
        [("apytypes", ">=", 20), ("numba", "<=", 1.5)],
        notes="x, y ~ N(0, 2^2); about 6% of products saturate. The timed fixsim call is "
              "(a * b).cast(T): the full-precision product is deferred (its operands are "
              "private to their fi) and cast runs one fused multiply-requantize pass."))

    # 3b. requantize only: s32/24 -> s16/12
    T32 = numerictype(1, 32, 24)

    def make_rq(n, rng):
        return {"x": _normal(n, rng, 4.0)}

    def rq_ints(inp):
        return np.array(fi(inp["x"], T32).int)

    ws.append(Workload(
        "requant", "3b. cast s32/24 -> s16/12 nearest/saturate (requantize only)", make_rq,
        [Impl("fixsim", lambda st: st["a"].cast(T16),
              lambda inp: {"a": fi(inp["x"], T32)}, fi_ints),
         Impl("apytypes", lambda st: st["a"].cast(int_bits=4, frac_bits=12, quantization=QM.RND,
                                                   overflow=OV.SAT),
              lambda inp: {"a": apy.APyFixedArray(rq_ints(inp),
                                                  int_bits=8, frac_bits=24)}, apy_ints),
         Impl("fxpmath", lambda st: Fxp(st["a"], True, 16, 12, rounding="around",
                                        overflow="saturate"),
              lambda inp: {"a": Fxp(fi(inp["x"], T32).data, True, 32, 24)}, fxp_ints,
              ref=lambda inp: fi_ints(fi(inp["x"], T32).cast(T16, rounding="convergent")),
              note="rounding='around' (= fixsim 'convergent')"),
         Impl("numba", lambda st: _loops.requantize_nearest_sat(st["a"], 12, 16),
              lambda inp: {"a": rq_ints(inp)}, lambda r: (r, 12))],
        [("numba", "<=", 1.5)],
        notes="x ~ N(0, 4^2) in s32/24; 4.6% saturate in s16/12. Isolates the requantize "
              "kernel from row 3."))

    # 4. full-precision add: s16/12 + s16/10 -> s19/12
    def make_add(n, rng):
        return {"x": _normal(n, rng, 3.0), "y": _normal(n, rng, 12.0)}

    ws.append(Workload(
        "add", "4. full-precision add s16/12 + s16/10", make_add,
        [Impl("fixsim", lambda st: st["a"] + st["b"], lambda inp: fx_setup(inp, 12, 10),
              fi_ints),
         Impl("apytypes", lambda st: st["a"] + st["b"], lambda inp: apy_pair(inp, 12, 10),
              apy_ints),
         Impl("fxpmath", lambda st: st["a"] + st["b"], lambda inp: fxp_pair(inp, 12, 10),
              fxp_ints),
         Impl("numfi", lambda st: st["a"] + st["b"], lambda inp: numfi_pair(inp, 12, 10),
              numfi_ints),
         Impl("numba", lambda st: _loops.add_aligned(st["a"], 0, st["b"], 2),
              lambda inp: int_pair(inp, 12, 10), lambda r: (r, 12))],
        [("apytypes", ">=", 1)],
        notes="Result s19/12 (MATLAB full precision); operands are built untimed."))

    # 5. full-precision multiply: s16/12 * s16/10 -> s32/22
    ws.append(Workload(
        "mul", "5. full-precision multiply s16/12 * s16/10", make_add,
        # fixsim defers a large full-precision product until its integers are read (so that
        # a following cast can fuse); reading them (.int, a view) is timed with the product
        [Impl("fixsim", lambda st: _built(st["a"] * st["b"]),
              lambda inp: fx_setup(inp, 12, 10), fi_ints),
         Impl("apytypes", lambda st: st["a"] * st["b"], lambda inp: apy_pair(inp, 12, 10),
              apy_ints),
         Impl("fxpmath", lambda st: st["a"] * st["b"], lambda inp: fxp_pair(inp, 12, 10),
              fxp_ints),
         Impl("numfi", lambda st: st["a"] * st["b"], lambda inp: numfi_pair(inp, 12, 10),
              numfi_ints),
         Impl("numba", lambda st: _loops.multiply(st["a"], st["b"]),
              lambda inp: int_pair(inp, 12, 10), lambda r: (r, 22))],
        [("apytypes", ">=", 1)],
        notes="Result s32/22. The timed fixsim call builds the product's stored integers "
              "(a * b alone defers them)."))

    # 6. 256x256 matmul, s16/12 full precision -> s40/24
    def make_mm(n, rng):
        return {"X": rng.standard_normal((256, 256)) * 2.0,
                "Y": rng.standard_normal((256, 256)) * 2.0}

    def fx_mm_setup(inp):
        return {"A": fi(inp["X"], 1, 16, 12), "B": fi(inp["Y"], 1, 16, 12)}

    def fx_matmul(st):
        mm = getattr(fx, "matmul", None)
        if mm is None:
            raise NotImplementedError("fixsim has no fx.matmul yet (a @ b raises TypeError: "
                                      "numpy.matmul is not supported on fi)")
        return mm(st["A"], st["B"])

    def apy_mm_setup(inp):
        A, B = fx_mm_setup(inp).values()
        mk = lambda a: apy.APyFixedArray(np.array(a.int),  # noqa: E731
                                         int_bits=4, frac_bits=12)
        return {"A": mk(A), "B": mk(B)}

    def ref_mm(inp):
        st = fx_mm_setup(inp)
        C = np.array(st["A"].int) @ np.array(st["B"].int)   # int64 exact (|C| < 2**38)
        return C, 24

    def mm_int_setup(inp):
        st = fx_mm_setup(inp)
        return {"A": np.array(st["A"].int), "B": np.array(st["B"].int)}

    def fxp_mm_setup(inp):
        st = fx_mm_setup(inp)
        return {"A": Fxp(st["A"].data, True, 16, 12), "B": Fxp(st["B"].data, True, 16, 12)}

    ws.append(Workload(
        "matmul", "6. matmul 256x256 s16/12 @ s16/12 (full precision)", make_mm,
        [Impl("fixsim", fx_matmul, fx_mm_setup, fi_ints, sliceable=False),
         Impl("apytypes", lambda st: st["A"] @ st["B"], apy_mm_setup, apy_ints, ref=ref_mm,
              sliceable=False),
         Impl("fxpmath", lambda st: np.matmul(st["A"], st["B"]), fxp_mm_setup, fxp_ints,
              ref=ref_mm, sliceable=False),
         Impl("numba", lambda st: _loops.matmul_i64(st["A"], st["B"]),
              mm_int_setup, lambda r: (r, 24), ref=ref_mm, sliceable=False),
         Impl("numpy-f64-blas", lambda st: st["Af"] @ st["Bf"],
              lambda inp: {k + "f": v.astype(np.float64) for k, v in mm_int_setup(inp).items()},
              lambda r: (r.astype(np.int64), 24), ref=ref_mm, sliceable=False,
              note="float64 BLAS on the stored ints; exact since |partial sums| < 2^38 < 2^53")],
        [("apytypes", ">=", 3)], fixed_size=True,
        notes="MATLAB full precision: s40/24 (product s32/24, plus ceil(log2 256) = 8 bits). "
              "fixsim uses fx.matmul when present; the numba loop is a plain int64 i-k-j loop."))

    # 7. to float
    def make_tf(n, rng):
        return {"x": _normal(n, rng, 3.0)}

    def fl(r):
        return np.asarray(r, dtype=np.float64), 0

    def s16(inp):
        return fi(inp["x"], 1, 16, 12)

    ws.append(Workload(
        "tofloat", "7. to float64 (.data) from s16/12", make_tf,
        [Impl("fixsim", lambda st: st["a"].data, lambda inp: {"a": s16(inp)}, fl),
         Impl("apytypes", lambda st: st["a"].to_numpy(),
              lambda inp: {"a": apy.APyFixedArray(np.array(s16(inp).int), int_bits=4,
                                                  frac_bits=12)}, fl),
         Impl("fxpmath", lambda st: st["a"].get_val(),
              lambda inp: {"a": Fxp(s16(inp).data, True, 16, 12)}, fl),
         Impl("numfi", lambda st: st["a"].double,
              lambda inp: {"a": Numfi(s16(inp).data, 1, 16, 12)}, fl),
         Impl("numba", lambda st: _loops.to_float(st["v"], 12),
              lambda inp: {"v": np.array(s16(inp).int)}, fl)],
        [("apytypes", ">=", 5)],
        notes="Checked as floats (every peer's float64 array must equal fixsim's .data)."))

    # 8. 80-bit quantize
    def make_80(n, rng):
        return {"x": rng.standard_normal(n) * np.exp2(rng.uniform(-12, 20, n))}

    def apy80_setup(inp):
        ib, fb = apy_exact_format(inp["x"], 60)
        return {"x": inp["x"], "ib": ib, "fb": fb,
                "fmt": f"intermediate int_bits={ib}, frac_bits={fb}: {ib + fb} bits"}

    def apy80_run(st):
        wide = apy.APyFixedArray.from_float(st["x"], int_bits=st["ib"], frac_bits=st["fb"])
        return wide.cast(int_bits=20, frac_bits=60, quantization=QM.RND, overflow=OV.SAT)

    def numba80_run(st):
        return _loops.quantize_wide_nearest_sat(st["x"], 60, 80)

    def numba80_ints(r):
        hi, lo = r
        return _as_obj(hi) * (1 << 64) + _as_obj(lo), 60

    ws.append(Workload(
        "q80", "8. quantize -> s80/60 nearest/saturate (wide word)", make_80,
        [Impl("fixsim", lambda st: fi(st["x"], 1, 80, 60), ints=fi_ints),
         Impl("apytypes", apy80_run, apy80_setup, apy_ints,
              note="from_float into an exact wide format, then cast"),
         Impl("fxpmath", lambda st: Fxp(st["x"], True, 80, 60, rounding="around",
                                        overflow="saturate"),
              ints=fxp_ints, ref=lambda inp: fi_ints(fi(inp["x"], 1, 80, 60,
                                                        rounding="convergent")),
              note="rounding='around' (= fixsim 'convergent')"),
         Impl("numfi", lambda st: Numfi(st["x"], 1, 80, 60), ints=numfi_ints,
              ref=lambda inp: fi_ints(fi(inp["x"], 1, 80, 60, rounding="round"))),
         Impl("numba", numba80_run, ints=numba80_ints,
              note="two-limb (hi int64, lo uint64) loop")],
        [("apytypes", ">=", 5)],
        notes="x = N(0,1) * 2^U, U ~ uniform(-12, 20): magnitudes 2^-12..2^21, so both "
              "rounding (|x| < 2^-8: 15%) and saturation (|x| >= 2^19: 2%) happen."))

    # 8b. the same, then read the stored integers as Python ints: fixsim keeps a 65..128-bit
    # result as two 64-bit limbs until something reads .int, so row 8 alone would hide the cost
    # of building the object array of Python ints; this row shows it
    def apy80_bits(st):
        return apy80_run(st).to_bits()

    def apy80_bits_ints(r):
        vals = [v - (1 << 80) if v >> 79 else v for v in _flatten(r)]
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out, 60

    ws.append(Workload(
        "q80int", "8b. quantize -> s80/60 nearest/saturate, then read .int (Python ints)",
        make_80,
        [Impl("fixsim", lambda st: fi(st["x"], 1, 80, 60).int,
              ints=lambda r: (np.asarray(r), 60), note="fi(...).int: object array"),
         Impl("apytypes", apy80_bits, apy80_setup, apy80_bits_ints,
              note="row 8's route, then to_bits(): a list of Python ints (bit patterns)"),
         Impl("fxpmath", lambda st: Fxp(st["x"], True, 80, 60, rounding="around",
                                        overflow="saturate"),
              ints=fxp_ints, ref=lambda inp: fi_ints(fi(inp["x"], 1, 80, 60,
                                                        rounding="convergent")),
              note="as row 8 (its .val already holds Python ints)"),
         Impl("numba", numba80_run, ints=numba80_ints,
              note="as row 8: two limbs, no Python ints")],
        notes="Row 8 plus reading the stored integers: fixsim times fi(x, 1, 80, 60).int, "
              "which builds the object array of Python ints from the limbs; apytypes times "
              "its row 8 route plus to_bits(). The numba loop stays at limbs (the floor)."))
    return ws


# -- scalars ----------------------------------------------------------------------------------
def run_scalars(quick: bool) -> list[dict]:
    rows = []
    a, b = fi(1.5, 1, 16, 12), fi(-0.3, 1, 16, 12)
    ops = {"add": "a + b", "mul": "a * b"}
    peers: dict[str, dict] = {"fixsim": {"a": a, "b": b}}
    if apy is not None:
        peers["apytypes"] = {"a": apy.APyFixed.from_float(1.5, int_bits=4, frac_bits=12),
                             "b": apy.APyFixed(int(np.array(b.int)), int_bits=4,
                                               frac_bits=12)}
    if Fxp is not None:
        peers["fxpmath"] = {"a": Fxp(1.5, True, 16, 12), "b": Fxp(b.data, True, 16, 12)}
    if Numfi is not None:
        peers["numfi"] = {"a": Numfi(1.5, 1, 16, 12), "b": Numfi(b.data, 1, 16, 12)}
    # many short batches, best batch: a batch of a few ms is often untouched by other
    # processes even on a busy machine, where a few long batches all are not
    repeat = 40 if quick else 200
    for op, stmt in ops.items():
        row = {"key": f"scalar_{op}", "title": f"9{'a' if op == 'add' else 'b'}. scalar {stmt} "
               "(s16/12, per op)", "unit": "us", "cells": {}, "checks": {},
               "notes": f"Per-operation time of one scalar op: the best of {repeat} timeit "
                        "batches (2,000 operations each; fxpmath 20)."}
        ref = None
        for peer in PEERS:
            if peer == "numba":
                row["cells"][peer] = {"na": "no per-op Python call to compare"}
                continue
            if peer in _UNAVAILABLE or peer not in peers:
                row["cells"][peer] = {"na": _UNAVAILABLE.get(peer, "not available")}
                continue
            g = peers[peer]
            try:
                res = eval(stmt, {}, g)
                tm = timeit.Timer(stmt, globals=g)
                number = 20 if peer == "fxpmath" else 2000
                t = min(tm.repeat(repeat=repeat, number=number)) / number
                row["cells"][peer] = {"time": t, "reps": repeat}
                got = {"fixsim": fi_ints, "apytypes": apy_ints, "fxpmath": fxp_ints,
                       "numfi": numfi_ints}[peer](res)
                if peer == "fixsim":
                    ref = got
                elif ref is not None:
                    row["checks"][peer] = compare_ints(ref, (np.asarray(got[0]).reshape(()),
                                                             got[1]))
            except Exception as exc:
                row["cells"][peer] = {"na": f"{type(exc).__name__}: {exc}"[:160]}
        fx_t = row["cells"]["fixsim"].get("time")
        row["ratios"] = {p: c["time"] / fx_t for p, c in row["cells"].items()
                         if p != "fixsim" and "time" in c and fx_t}
        row["targets"] = _eval_targets([("apytypes", ">=", 1 / 8)], row)
        rows.append(row)
    return rows


# -- import and first call --------------------------------------------------------------------
def _py(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def run_startup(quick: bool) -> list[dict]:
    n = 3 if quick else 7
    env_note = (f"each a fresh `python -c`, minus `python -c pass` run alternately with it; "
                f"median of {n} differences (min in the JSON)")
    mods = [("fixsim", "fixsim"), ("apytypes", "apytypes"), ("fxpmath", "fxpmath"),
            ("numfi", "numfi"), ("numba", "numba")]
    diffs: dict[str, list[float]] = {p: [] for p, _ in mods if p not in _UNAVAILABLE}
    _py("import fixsim")       # warm the file cache
    for _ in range(n):
        for peer in diffs:
            base = _py("pass")
            diffs[peer].append(_py(f"import {dict(mods)[peer]}") - base)
    cells = {}
    for peer, _ in mods:
        if peer in _UNAVAILABLE:
            cells[peer] = {"na": _UNAVAILABLE[peer]}
            continue
        cells[peer] = {"time": float(np.median(diffs[peer])), "min": float(min(diffs[peer])),
                       "reps": n}
    cells["numba"]["note"] = "import numba alone"
    rows = [{"key": "import", "title": "10a. import time (s)", "unit": "s", "cells": cells,
             "checks": {}, "notes": env_note, "ratios": {},
             "targets": [{"target": "fixsim import < 0.5 s",
                          "measured": cells["fixsim"]["time"],
                          "pass": cells["fixsim"]["time"] < 0.5}]}]
    # first fi with numba's cache warm (one untimed process populates it)
    code = ("import time, math; t0 = time.perf_counter(); import fixsim; t1 = time.perf_counter();"
            " fixsim.fi(math.pi, 1, 16, 13); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    firsts, totals = [], []
    for _ in range(n):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True).stdout.split()
        firsts.append(float(out[1]))
        totals.append(float(out[0]) + float(out[1]))
    cells = {"fixsim": {"time": float(np.median(firsts)), "min": float(min(firsts)), "reps": n,
                        "note": f"import + first fi: {np.median(totals):.3f} s (in-process)"}}
    if apy is not None:
        code_a = ("import time, math; import apytypes as apy; t0 = time.perf_counter(); "
                  "apy.APyFixed.from_float(math.pi, int_bits=3, frac_bits=13); "
                  "print(time.perf_counter() - t0)")
        ta = [float(subprocess.run([sys.executable, "-c", code_a], check=True,
                                   capture_output=True, text=True).stdout) for _ in range(n)]
        cells["apytypes"] = {"time": float(np.median(ta)), "min": float(min(ta)), "reps": n}
    rows.append({"key": "first_fi", "title": "10b. first fi(pi, 1, 16, 13) in a new process (s)",
                 "unit": "s", "cells": cells, "checks": {},
                 "notes": "numba cache warm; time of the first call only, after import",
                 "ratios": {},
                 "targets": [{"target": "fixsim first fi < 0.5 s",
                              "measured": cells["fixsim"]["time"],
                              "pass": cells["fixsim"]["time"] < 0.5}]})
    return rows


# -- output -----------------------------------------------------------------------------------
def _fmt_time(cell: dict, unit: str) -> str:
    if cell is None:
        return "–"
    if "na" in cell:
        return "n/a"
    t = cell["time"]
    if unit == "us":
        s = f"{t * 1e6:.3g} µs"
    elif unit == "s":
        s = f"{t:.3f} s" if t >= 0.01 else f"{t * 1e3:.2g} ms"
    else:
        s = f"{t * 1e3:.3g} ms" if t >= 1e-4 else f"{t * 1e6:.3g} µs"
    if "subset" in cell:
        s = "~" + s
    return s


def _fmt_ratio(r):
    if r is None:
        return ""
    return f"{r:.3g}x" if r < 100 else f"{r:.0f}x"


def render(rows: list[dict], meta: dict) -> str:
    out = []
    hdr = ["workload", *PEERS, "apy/fixsim", "fxp/fixsim", "fixsim/numba", "targets"]
    out.append("| " + " | ".join(hdr) + " |")
    out.append("|" + "---|" * len(hdr))
    for r in rows:
        cells = [r["title"]]
        for p in PEERS:
            cells.append(_fmt_time(r["cells"].get(p), r["unit"]))
        for p in ("apytypes", "fxpmath", "numba"):
            cells.append(_fmt_ratio(r.get("ratios", {}).get(p)))
        tg = []
        for t in r.get("targets", []):
            mark = "n/a" if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")
            tg.append(f"{mark} ({t['target']})")
        cells.append("; ".join(tg))
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("Ratios: apy/fixsim and fxp/fixsim are peer time / fixsim time (above 1: fixsim "
               "is faster); fixsim/numba is fixsim time / hand-written numba loop time (the "
               "target is at most 1.5). `~` marks a time extrapolated from a subset (the peer "
               "was too slow for the full size). For the scalar rows the target "
               "'apytypes/fixsim >= 0.125' is 'fixsim within 8x of apytypes'.")
    out.append("")
    out.append("Checks (peer stored integers vs fixsim, before timing):")
    out.append("")
    for r in rows:
        for peer, c in r.get("checks", {}).items():
            status = "ok" if c.get("ok") else "MISMATCH"
            sem = f" [{c['semantics']}]" if c.get("semantics") else ""
            out.append(f"- {r['title'].split('.')[0]}. {peer}: {status}: {c['detail']}{sem}")
    out.append("")
    out.append("Not available (n/a):")
    out.append("")
    seen = set()
    for r in rows:
        for peer, c in r["cells"].items():
            if "na" in c and (peer, c["na"]) not in seen:
                seen.add((peer, c["na"]))
                out.append(f"- {r['title'].split('.')[0]}. {peer}: {c['na']}")
    if FIXSIM_ISSUES:
        out.append("")
        out.append("fixsim problems met while checking:")
        out.append("")
        out.extend(f"- {m}" for m in sorted(FIXSIM_ISSUES))
    extras = [(r, p, c) for r in rows for p, c in r["cells"].items() if p not in PEERS]
    if extras:
        out.append("")
        out.append("Other implementations timed:")
        out.append("")
        for r, p, c in extras:
            out.append(f"- {r['title'].split('.')[0]}. {p}: {_fmt_time(c, r['unit'])} "
                       f"({c.get('note', '')})")
    out.append("")
    out.append("Notes per row:")
    out.append("")
    for r in rows:
        if r.get("notes"):
            out.append(f"- {r['title'].split('.')[0]}. {r['notes']}")
        for p, c in r["cells"].items():
            if c.get("subset"):
                out.append(f"- {r['title'].split('.')[0]}. {p} timed on the first "
                           f"{c['subset']:,} elements and scaled linearly (first call took "
                           f"{c['first_call']:.1f} s at full size).")
    return "\n".join(out)


def _git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", HERE, "status", "--porcelain", "--", "../fixsim"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (f" + uncommitted changes in {len(dirty.splitlines())} fixsim file(s)"
                       if dirty else "")
    except Exception:
        return "unknown"


def machine_info() -> dict:
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break                  # the first processor is enough
                k, _, v = line.partition(":")
                fields[k.strip()] = v.strip()
    except OSError:
        pass
    cpu = fields.get("model name", platform.processor())
    if "cpu family" in fields:
        cpu += f" (family {fields['cpu family']}, model {fields.get('model', '?')}"
        cpu += ", AVX-512)" if "avx512f" in fields.get("flags", "").split() else ")"
    try:
        blas_cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas_build = f"{blas_cfg.get('name')} {blas_cfg.get('version')}"
    except Exception:
        blas_build = "unknown"
    import numba

    info = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "fixsim": fx.__version__,
        "apytypes": getattr(apy, "__version__", None) if apy else None,
        "apytypes_threads": apy.n_threads() if apy and hasattr(apy, "n_threads") else None,
        "fxpmath": getattr(fxpmath, "__version__", None) if fxpmath else None,
        "numfi": _UNAVAILABLE.get("numfi", getattr(_numfi_mod, "__version__", "?")),
        "numpy_blas": blas_build,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS"),
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "git": _git_state(),
    }
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "architecture",
                                                "num_threads")} for d in threadpool_info()]
    except Exception:
        info["blas"] = "threadpoolctl not installed"
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 elements, fewer repeats")
    ap.add_argument("--only", action="append", default=[],
                    help="run rows whose key or title contains NAME (repeatable)")
    ap.add_argument("--json", metavar="PATH", help="write all results as JSON")
    ap.add_argument("-n", type=int, default=None, help="elements per array (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=20240611)
    args = ap.parse_args(argv)
    n = args.n or (100_000 if args.quick else 1_000_000)
    timer = Timer(args.quick)
    meta = machine_info()
    meta["n"] = n
    meta["quick"] = args.quick
    meta["command"] = " ".join(["python", "benchmarks/run.py", *(argv if argv is not None
                                                                   else sys.argv[1:])])

    def wanted(key, title):
        return not args.only or any(s.lower() in key.lower() or s.lower() in title.lower()
                                    for s in args.only)

    print(f"# fixsim benchmarks — {meta['date']}", flush=True)
    print(f"machine: {meta['nproc']} cpus ({meta['cpu']}), python {meta['python']}, numpy "
          f"{meta['numpy']}, numba {meta['numba']}, apytypes {meta['apytypes']} "
          f"({meta['apytypes_threads']} threads), fxpmath {meta['fxpmath']}; n = {n:,}; "
          f"fixsim at {meta['git']}", flush=True)
    la = meta["loadavg_start"]
    if la and la[0] > 0.5:
        print(f"WARNING: load average {la[0]:.2f} at start: other processes share the "
              f"{meta['nproc']} cores, so times (above all the multi-threaded ones: BLAS, "
              "apytypes) are noisy.", flush=True)
    rows = []
    t_start = time.perf_counter()
    for i, w in enumerate(build_workloads()):
        if not wanted(w.key, w.title):
            continue
        t0 = time.perf_counter()
        print(f"  running {w.title} ...", end="", flush=True, file=sys.stderr)
        rows.append(run_workload(w, n, timer, args.seed + i))
        print(f" {time.perf_counter() - t0:.1f} s", flush=True, file=sys.stderr)
    if wanted("scalar", "9. scalar a + b a * b"):
        print("  running scalars ...", end="", flush=True, file=sys.stderr)
        t0 = time.perf_counter()
        rows.extend(run_scalars(args.quick))
        print(f" {time.perf_counter() - t0:.1f} s", flush=True, file=sys.stderr)
    if wanted("import", "10. import first fi startup"):
        print("  running startup ...", end="", flush=True, file=sys.stderr)
        t0 = time.perf_counter()
        rows.extend(run_startup(args.quick))
        print(f" {time.perf_counter() - t0:.1f} s", flush=True, file=sys.stderr)
    meta["elapsed_s"] = time.perf_counter() - t_start
    meta["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1, default=str)
    print()
    print(render(rows, meta))
    print()
    print(f"total benchmark time: {meta['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
