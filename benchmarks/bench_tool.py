"""The fixed-point tool's recording overhead, and its statistics kernel against baselines.

Usage::

    python benchmarks/bench_tool.py            # 2**18 samples in frames of 4096
    python benchmarks/bench_tool.py --quick    # 2**16 samples, fewer repeats

Part 1 times each simulation plain, with a listener that does nothing but takes what the
recorder takes (stored integers, the blocks' internal signals as extremes: what the probes
themselves cost once anyone listens: the type tables' overflow counting, the blocks' counting
and folding; none of it is the recorder's), and inside ``with fx.tool.record():`` at both
levels (``detail='full'``, the default, and ``detail='ranges'``, no sums) and with
``internals='values'`` (the blocks' internal signals summarised value by value, like every
other signal), and prints the overheads ``t / plain - 1`` (the target is at most 30%) and the
recorder's own cost per recorded value, ``(recorded - listener only) / values``. Examples:
a 32-tap FIR and a 4th-order biquad cascade written with type-table casts (``np.convolve`` /
``scipy.signal.sosfilt``), in double (``T.as_double()``) and in fixed point, and, when the
blocks accept ``types=``, ``fixsim.signal.FIR`` and ``SOSFilter`` in fixed point; then the
repository's DSP examples as written (``examples/biquad_eq.py`` on n/4 samples,
``examples/ddc.py`` on n ADC samples), in double and in fixed point.

Part 2 times the fused statistics kernel alone (``SignalStats.update`` on 2**20 values: exact
sums, fine histogram, min/max, zeros, whole-number flag) against a hand-written numba loop
computing only min, max, a float sum and a float sum of squares (not exact, no histogram), and
against the numpy calls giving the same inexact quantities plus a 64-bin ``np.histogram``.
The peers (apytypes, fxpmath, numfi) have no range recording, so there is nothing of theirs to
time here. Best of N ``perf_counter`` runs after a warm-up.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import os
import time

import numba as nb
import numpy as np
import scipy.signal as ss

import fixsim as fx
from fixsim._core._typetable import signal_listening
from fixsim.tool import SignalStats, record


def best(fn, repeat: int) -> float:
    fn()
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return min(times)


def interleaved(fns, repeat: int) -> list[float]:
    """Best time of each function over *repeat* rounds, the functions alternating."""
    for fn in fns:
        fn()
    best_t = [float("inf")] * len(fns)
    gc.disable()
    try:
        for _ in range(repeat):
            for i, fn in enumerate(fns):
                t0 = time.perf_counter()
                fn()
                best_t[i] = min(best_t[i], time.perf_counter() - t0)
    finally:
        gc.enable()
    return best_t


def typetable_examples(x: np.ndarray, frame: int):
    h = ss.firwin(32, 0.2)
    sos = ss.butter(4, 0.1, output="sos")
    frames = [x[i:i + frame] for i in range(0, x.size, frame)]
    Tfir = fx.TypeTable({"x": "sfix16_En14", "fir.acc": "sfix40_En30", "fir.y": "sfix16_En14"})
    Tiir = fx.TypeTable({"x": "sfix16_En14", "iir.y": "sfix24_En18", "out": "sfix16_En13"})

    def fir(T):
        def run():
            for f in frames:
                xq = T.x(f)
                acc = T["fir.acc"](np.convolve(np.asarray(xq, dtype=np.float64), h)[:f.size])
                T["fir.y"](acc)
        return run

    def iir(T):
        def run():
            zi = np.zeros((sos.shape[0], 2))
            for f in frames:
                xq = T.x(f)
                y, zi = ss.sosfilt(sos, np.asarray(xq, dtype=np.float64), zi=zi)
                T.out(T["iir.y"](y) * 0.5)
        return run

    yield "FIR 32 taps, TypeTable + np.convolve, double", fir(Tfir.as_double()), 3
    yield "FIR 32 taps, TypeTable + np.convolve, fixed", fir(Tfir), 3
    yield "biquad x2, TypeTable + sosfilt, double", iir(Tiir.as_double()), 3
    yield "biquad x2, TypeTable + sosfilt, fixed", iir(Tiir), 3

    from fixsim.signal import FIR, SOSFilter

    if "types" in inspect.signature(FIR.__init__).parameters:
        xq = fx.fi(x, 1, 16, 14)
        fq = [xq[i:i + frame] for i in range(0, x.size, frame)]
        Tb = fx.TypeTable({"fir.in": "sfix16_En14", "fir.product": "sfix32_En30",
                           "fir.acc": "sfix40_En30", "fir.out": "sfix16_En14"})
        blk = FIR(h, name="fir", types=Tb)

        def fir_block():
            blk.reset()
            for f in fq:
                blk(f)
        yield "fixsim.signal.FIR (types=), fixed", fir_block, None
        if "types" in inspect.signature(SOSFilter.__init__).parameters:
            sblk = SOSFilter(sos, name="sos", types=fx.TypeTable({}))

            def sos_block():
                sblk.reset()
                for f in fq:
                    sblk(f)
            yield "fixsim.signal.SOSFilter (types=), fixed", sos_block, None
    else:
        print("(fixsim.signal.FIR has no types= yet: block rows skipped)")


def example_models(n: int):
    """The repository's two DSP examples as written (``examples/biquad_eq.py``: a three-band
    biquad equaliser model; ``examples/ddc.py``: NCO, mixers, pruned CICs, compensating FIRs),
    each run in double (how the examples record) and in fixed point, frame by frame."""
    import importlib.util
    import sys

    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")

    def load(name):
        spec = importlib.util.spec_from_file_location(f"_bench_{name}",
                                                      os.path.join(here, f"{name}.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod

    try:
        eq, ddc = load("biquad_eq"), load("ddc")
    except Exception as exc:  # an example being changed in the tree: report, go on
        print(f"(examples not loaded: {type(exc).__name__}: {exc})")
        return
    x = np.clip(0.3 * np.random.default_rng(7).standard_normal(n), -1, 1)
    T = eq.build().type_table({"x": "sfix16_En15"})
    m, Td = eq.build(T), T.as_double()
    yield "examples/biquad_eq.py model, double", lambda: m.run(x, types=Td, frame=4096), None
    yield "examples/biquad_eq.py model, fixed", lambda: m.run(x, types=T, frame=4096), None
    xa = ddc.adc(4 * n)
    T = ddc.build().type_table({"x": "sfix12_En11"})
    md, mf, Td = ddc.build(T.as_double()), ddc.build(T), T.as_double()
    yield "examples/ddc.py model, double", lambda: md.run(xa, types=Td, frame=1 << 14), None
    yield "examples/ddc.py model, fixed", lambda: mf.run(xa, types=T, frame=1 << 14), None


def _nothing(event) -> None:
    """A listener that does nothing, taking what the recorder takes."""


_nothing.reads_stored = True
_nothing.takes_extremes = True


@nb.njit(cache=True)
def _plain_loop(x):
    mn = np.inf
    mx = -np.inf
    s = 0.0
    q = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        mn = min(mn, v)
        mx = max(mx, v)
        s += v
        q += v * v
    return mn, mx, s, q


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 1 << (16 if args.quick else 18)
    repeat = 5 if args.quick else 15
    frame = 4096
    print(f"load average {os.getloadavg()[0]:.2f}; {n} samples in frames of {frame}\n")
    x = np.random.default_rng(0).uniform(-1, 1, n)
    print("| simulation | plain (ms) | probes only | full | ranges | internals='values' | "
          "recorder ns/value (full, ranges) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = list(typetable_examples(x, frame)) + list(example_models(n // 4))
    for title, run, _ in rows:
        holder = {}

        def listened(run=run):
            with signal_listening(_nothing):
                run()

        def recorded(run=run, holder=holder):
            with record() as rec:
                run()
            holder["rec"] = rec

        def ranges(run=run):
            with record(detail="ranges"):
                run()

        def values(run=run):
            with record(internals="values"):
                run()

        try:
            # interleaved, best of `repeat` rounds: load changes hit all alike
            plain, lis, full, rng, val = interleaved([run, listened, recorded, ranges, values],
                                                     repeat)
        except Exception as exc:  # a block being changed in the tree: report, go on
            print(f"| {title} | failed: {type(exc).__name__}: {exc} | | | | | |")
            continue
        values = sum(s.count for _, s in holder["rec"].items())

        def pct(t, plain=plain):
            return f"{100 * (t / plain - 1):+.0f}%"

        print(f"| {title} | {plain * 1e3:.2f} | {pct(lis)} | {pct(full)} | {pct(rng)} | "
              f"{pct(val)} | {(full - lis) / values * 1e9:.2f}, "
              f"{(rng - lis) / values * 1e9:.2f} |")

    print("\n| statistics of 2**20 float64 values | time (ms) | ns/value | vs fixsim |")
    print("|---|---:|---:|---:|")
    y = np.random.default_rng(1).standard_normal(1 << 20)
    t_fx = best(lambda: SignalStats().update(y), repeat)
    t_rg = best(lambda: SignalStats(detail="ranges").update(y), repeat)
    t_nb = best(lambda: _plain_loop(y), repeat)
    t_np = best(lambda: (y.min(), y.max(), y.sum(), np.dot(y, y), np.histogram(y, 64)), repeat)
    for name, t in (("fixsim SignalStats.update (exact, fused kernel)", t_fx),
                    ("fixsim SignalStats(detail='ranges').update (no sums)", t_rg),
                    ("plain numba loop: min, max, float sum, sum of squares", t_nb),
                    ("numpy: min, max, sum, dot, histogram(64)", t_np)):
        print(f"| {name} | {t * 1e3:.2f} | {t / y.size * 1e9:.2f} | {t / t_fx:.2f} |")


if __name__ == "__main__":
    main()
