"""1024-point fixed-point FFT over 1,000 frames: fixsim.signal.FFT against a hand-written numba
loop doing the same integer arithmetic, and numpy.fft in double for reference, in one run.

Usage::

    python benchmarks/bench_fft.py               # 1,000 frames of 1024 points
    python benchmarks/bench_fft.py --frames 200 --repeat 3

Workload: complex input sfix16_En15, twiddles sfix16_En14, data type sfix16_En15, scaling
schedule 1 at every stage (each butterfly output divided by two), radix-2 decimation in time.
Two mode pairs: nearest/saturate and floor/wrap. The numba baseline hard-codes the type and the
modes (no mode dispatch, no overflow counters, no bit reversal outside the frame loop) and
allocates its output; fixsim's time includes the bit reversal, the casts' dispatch on mode codes,
overflow counting and building the two output fi. Before timing, the stored integers of both are
compared exactly. Prints a Markdown table (times are the best of ``--repeat`` runs after a
warm-up call, so numba compilation is excluded).
"""

from __future__ import annotations

import argparse
import platform
import time

import numba as nb
import numpy as np

from fixsim import fi, numerictype
from fixsim.signal._fft import FFT

N = 1024
T_DATA = numerictype(True, 16, 15)
T_TW = numerictype(True, 16, 14)


@nb.njit(cache=True)
def _bitrev(N):
    L = 0
    while (1 << L) < N:
        L += 1
    rev = np.zeros(N, dtype=np.int64)
    for k in range(N):
        r = 0
        for b in range(L):
            r |= ((k >> b) & 1) << (L - 1 - b)
        rev[k] = r
    return rev


@nb.njit(cache=True)
def hand_fft(xr, xi, wr, wi, nearest_sat):
    """Radix-2 DIT, scaled by 2 at every stage, 16-bit data (F=15), 16-bit twiddles (F=14):
    ``(a << 14 +- b W) >> 15`` with round-half-up and saturation, or floor and wrap."""
    frames, n = xr.shape
    rev = _bitrev(n)
    outr = np.empty_like(xr)
    outi = np.empty_like(xi)
    lo = -32768
    hi = 32767
    for f in range(frames):
        for k in range(n):
            outr[f, k] = xr[f, rev[k]]
            outi[f, k] = xi[f, rev[k]]
        h = 1
        while h < n:
            step = n // (2 * h)
            for start in range(0, n, 2 * h):
                for j in range(h):
                    k = j * step
                    a = start + j
                    b = a + h
                    br = outr[f, b]
                    bi = outi[f, b]
                    tr = br * wr[k] - bi * wi[k]
                    ti = br * wi[k] + bi * wr[k]
                    ar = outr[f, a] << 14
                    ai = outi[f, a] << 14
                    v0 = ar + tr
                    v1 = ai + ti
                    v2 = ar - tr
                    v3 = ai - ti
                    if nearest_sat:
                        v0 = (v0 + 16384) >> 15
                        v1 = (v1 + 16384) >> 15
                        v2 = (v2 + 16384) >> 15
                        v3 = (v3 + 16384) >> 15
                        v0 = lo if v0 < lo else (hi if v0 > hi else v0)
                        v1 = lo if v1 < lo else (hi if v1 > hi else v1)
                        v2 = lo if v2 < lo else (hi if v2 > hi else v2)
                        v3 = lo if v3 < lo else (hi if v3 > hi else v3)
                    else:
                        v0 = ((((v0 >> 15) + 32768) & 65535) - 32768)
                        v1 = ((((v1 >> 15) + 32768) & 65535) - 32768)
                        v2 = ((((v2 >> 15) + 32768) & 65535) - 32768)
                        v3 = ((((v3 >> 15) + 32768) & 65535) - 32768)
                    outr[f, a] = v0
                    outi[f, a] = v1
                    outr[f, b] = v2
                    outi[f, b] = v3
            h *= 2
    return outr, outi


def best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    xr = fi(rng.uniform(-0.7, 0.7, (args.frames, N)), T_DATA)
    xi = fi(rng.uniform(-0.7, 0.7, (args.frames, N)), T_DATA)
    xc = xr.data + 1j * xi.data
    rows = []
    for rounding, overflow in (("nearest", "saturate"), ("floor", "wrap")):
        f = FFT(N, scaling="all", twiddle_type=T_TW, data_type=T_DATA, rounding=rounding,
                overflow=overflow)
        plan = f._plan(T_DATA)
        wr = np.asarray(plan["wr"], dtype=np.int64)
        wi = np.asarray(plan["wi"], dtype=np.int64)
        ir = np.ascontiguousarray(xr.int)
        ii = np.ascontiguousarray(xi.int)
        ns = rounding == "nearest"
        yr, yi = f((xr, xi))
        hr, hi_ = hand_fft(ir, ii, wr, wi, ns)
        same = np.array_equal(yr.int, hr) and np.array_equal(yi.int, hi_)
        t_fixsim = best(lambda f=f: f((xr, xi)), args.repeat)
        t_numba = best(lambda a=(ir, ii, wr, wi, ns): hand_fft(*a), args.repeat)
        rows.append((f"{rounding}/{overflow}", t_fixsim, t_numba, same))
    t_np = best(lambda: np.fft.fft(xc, axis=-1) / N, args.repeat)
    err = np.abs((yr.data + 1j * yi.data) - np.fft.fft(xc, axis=-1) / N).max()

    print(f"# 1024-point FFT, {args.frames} frames (complex sfix16_En15, twiddles sfix16_En14, "
          "scaling 1 at every stage)\n")
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"numba {nb.__version__}; best of {args.repeat}\n")
    print("| modes | fixsim FFT (ms) | hand numba loop (ms) | fixsim / numba | numpy.fft double "
          "(ms) | fixsim / numpy | bit-identical |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for modes, tf, tn, same in rows:
        print(f"| {modes} | {tf * 1e3:.1f} | {tn * 1e3:.1f} | {tf / tn:.2f} | {t_np * 1e3:.1f} | "
              f"{tf / t_np:.1f} | {'yes' if same else 'NO'} |")
    print(f"\nmax |fixed - double| of the floor/wrap run: {err:.2e} "
          f"({err / T_DATA.eps:.1f} LSB of sfix16_En15)")


if __name__ == "__main__":
    main()
