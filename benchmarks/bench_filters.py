"""Filter benchmarks: a 64-tap FIR and a 4-section DF1 biquad cascade over 1,000,000 samples.

Run ``python benchmarks/bench_filters.py`` (``--quick`` for 100,000 samples). It prints a
markdown table with the best-of-N times and the ratios, after checking that every
implementation produced the same values.

* FIR: 64 taps (``firwin``), data and coefficients 16-bit (s16/15), full-precision products and
  accumulator, output cast to s16/15 (nearest, saturate). fixsim ``FIR``; apytypes
  ``convolve`` of two ``APyFixedArray`` followed by a ``cast`` to s16/15 (RND = ties toward
  +inf, SAT: the same modes); a hand-written numba int64 loop doing the same arithmetic.
* Biquad: ``butter(8, 0.2)`` as 4 sections in direct form I (the gain spread evenly over the
  sections); data s16/15, coefficients s16/13, full-precision products (s32/28) cast to a 40-bit
  accumulator s40/27 (nearest, saturate), every partial sum saturated to 40 bits, each
  section's output cast to s16/15 (nearest, saturate). fixsim ``SOSFilter(form='df1')``
  against a hand-written numba loop doing the same integer arithmetic.

Timing: one warm-up call (compiles), then the best of N ``perf_counter`` runs with the garbage
collector off. Each timed call includes allocating its result; operands are built outside.
"""

from __future__ import annotations

import argparse
import gc
import os
import time

import numba as nb
import numpy as np
from scipy import signal

import fixsim as fx
from fixsim.signal import FIR, SOSFilter


# -- hand-written loops ---------------------------------------------------------------------------
@nb.njit(cache=True, nogil=True)
def fir_hand(x, h, d, W):
    """Exact int64 convolution (history zeros), then ``(acc + 2**(d-1)) >> d`` saturated to
    signed W bits (nearest, ties toward +inf)."""
    n = x.shape[0]
    nt = h.shape[0]
    out = np.empty(n, np.int64)
    half = np.int64(1) << (d - 1)
    hi = (np.int64(1) << (W - 1)) - 1
    lo = -hi - 1
    for i in range(n):
        s = np.int64(0)
        for k in range(nt):
            if i - k >= 0:
                s += h[k] * x[i - k]
        out[i] = min(max((s + half) >> d, lo), hi)
    return out


@nb.njit(cache=True, nogil=True)
def df1_hand(x, b, a, dp, dy):
    """DF1 cascade: products >> dp (nearest) saturated to 40 bits, partial sums saturated to 40
    bits, section output >> dy (nearest) saturated to 16 bits."""
    out = np.empty_like(x)
    L = b.shape[0]
    st = np.zeros((L, 4), np.int64)
    ahi = (np.int64(1) << 39) - 1
    alo = -(np.int64(1) << 39)
    yhi = (np.int64(1) << 15) - 1
    ylo = -(np.int64(1) << 15)
    hp = np.int64(1) << (dp - 1)
    hy = np.int64(1) << (dy - 1)
    for n in range(x.shape[0]):
        u = x[n]
        for s in range(L):
            acc = min(max((b[s, 0] * u + hp) >> dp, alo), ahi)
            acc = min(max(acc + min(max((b[s, 1] * st[s, 0] + hp) >> dp, alo), ahi), alo), ahi)
            acc = min(max(acc + min(max((b[s, 2] * st[s, 1] + hp) >> dp, alo), ahi), alo), ahi)
            acc = min(max(acc - min(max((a[s, 1] * st[s, 2] + hp) >> dp, alo), ahi), alo), ahi)
            acc = min(max(acc - min(max((a[s, 2] * st[s, 3] + hp) >> dp, alo), ahi), alo), ahi)
            y = min(max((acc + hy) >> dy, ylo), yhi)
            st[s, 1] = st[s, 0]
            st[s, 0] = u
            st[s, 3] = st[s, 2]
            st[s, 2] = y
            u = y
        out[n] = u
    return out


# -- timing ---------------------------------------------------------------------------------------
def best_of(fn, reps: int) -> float:
    fn()
    gc.disable()
    try:
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return min(ts)


def bench_fir(n: int, reps: int) -> list[tuple[str, float, str]]:
    import apytypes as apy

    rng = np.random.default_rng(0)
    h = fx.fi(signal.firwin(64, 0.2), 1, 16, 15)
    x = fx.fi(rng.uniform(-1, 1, n), 1, 16, 15)
    f = FIR(h, output_type="sfix16_En15", rounding="nearest", overflow="saturate")

    def run_fixsim():
        f.reset()
        return f(x)

    xa = apy.APyFixedArray.from_float(x.data, int_bits=1, frac_bits=15)
    ha = apy.APyFixedArray.from_float(h.data, int_bits=1, frac_bits=15)

    def run_apy():
        return apy.convolve(xa, ha).cast(int_bits=1, frac_bits=15,
                                         quantization=apy.QuantizationMode.RND,
                                         overflow=apy.OverflowMode.SAT)

    xi, hi = x.int.astype(np.int64), h.int.astype(np.int64)

    def run_hand():
        return fir_hand(xi, hi, 15, 16)

    y = run_fixsim().int
    ya = np.asarray(run_apy().to_numpy())[:n]
    yh = run_hand()
    checks = (f"apytypes {'ok' if np.array_equal(ya * 2.0 ** 15, y) else 'MISMATCH'}, "
              f"numba {'ok' if np.array_equal(yh, y) else 'MISMATCH'}")
    return [("fixsim FIR", best_of(run_fixsim, reps), checks),
            ("apytypes convolve + cast", best_of(run_apy, reps), ""),
            ("numba hand loop", best_of(run_hand, reps), "")]


def bench_biquad(n: int, reps: int) -> list[tuple[str, float, str]]:
    sos = signal.butter(8, 0.2, output="sos")
    g = np.prod(sos[:, 0]) ** (1 / sos.shape[0])  # spread the gain evenly over the sections
    sos[:, :3] = sos[:, :3] / sos[:, :1] * g
    rng = np.random.default_rng(1)
    x = fx.fi(rng.uniform(-0.9, 0.9, n), 1, 16, 15)
    f = SOSFilter(sos, form="df1", coef_type="sfix16_En13", product_type="sfix32_En28",
                  acc_type="sfix40_En27", section_type="sfix16_En15",
                  rounding="nearest", overflow="saturate")

    def run_fixsim():
        f.reset()
        return f(x)

    b = np.ascontiguousarray(np.round(sos[:, :3] * 2 ** 13).astype(np.int64))
    a = np.zeros((sos.shape[0], 3), np.int64)
    a[:, 1:] = np.round(sos[:, 4:] * 2 ** 13).astype(np.int64)
    xi = x.int.astype(np.int64)

    def run_hand():
        return df1_hand(xi, b, a, 1, 12)

    y = run_fixsim().int
    ok = np.array_equal(f._b64, b) and np.array_equal(run_hand(), y)
    return [("fixsim SOSFilter df1", best_of(run_fixsim, reps),
             f"numba {'ok' if ok else 'MISMATCH'}"),
            ("numba hand loop", best_of(run_hand, reps), "")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 samples, fewer repeats")
    ap.add_argument("-n", type=int, default=None, help="samples (default 1,000,000)")
    args = ap.parse_args()
    n = args.n or (100_000 if args.quick else 1_000_000)
    reps = 3 if args.quick else 7
    load = os.getloadavg()[0]
    print(f"samples: {n:,}; best of {reps}; load average {load:.2f}"
          + ("  (WARNING: machine busy, ratios are noisy)" if load > 0.5 else ""))
    print()
    print("| workload | implementation | time (ms) | ratio | checks |")
    print("|---|---|---:|---|---|")
    fir = bench_fir(n, reps)
    t0 = fir[0][1]
    for name, t, chk in fir:
        ratio = "" if name.startswith("fixsim") else (
            f"{name.split()[0]}/fixsim = {t / t0:.2f}" if "apytypes" in name
            else f"fixsim/numba = {t0 / t:.2f}")
        print(f"| FIR 64 taps, s16 | {name} | {t * 1e3:.1f} | {ratio} | {chk} |")
    bq = bench_biquad(n, reps)
    t0 = bq[0][1]
    for name, t, chk in bq:
        ratio = "" if name.startswith("fixsim") else f"fixsim/numba = {t0 / t:.2f}"
        print(f"| biquad DF1 4 sections, s16, 40-bit acc | {name} | {t * 1e3:.1f} | {ratio} | "
              f"{chk} |")
    print()
    print("Targets: FIR apytypes/fixsim >= 3; biquad fixsim/numba <= 2.")


if __name__ == "__main__":
    main()
