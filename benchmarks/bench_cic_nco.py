"""CIC decimator and NCO benchmarks: fixsim against a hand-written numba loop (same run, same
data, results checked equal before timing) and against the peers where they can express it.

    python benchmarks/bench_cic_nco.py            # CIC: 10,000,000 samples; NCO: 1,000,000
    python benchmarks/bench_cic_nco.py --quick    # 1,000,000 / 100,000, fewer repeats

Workloads
---------
* CIC decimator R=16, N=5, M=1, 16-bit input (sfix16_En15), Hogenauer growth (36-bit
  registers, full-precision output), wrap arithmetic.
* NCO: 32-bit accumulator, 14 quantized phase bits, quarter-wave table, sfix16_En14 output,
  4 dither bits (fixsim's counter-based dither), sine output.

Peers: apytypes and fxpmath have no CIC or NCO block. A CIC in them is a Python loop over
samples of scalar fixed-point adds (10 adds per input sample), or whole-array ``cumsum`` which
neither provides with wrap at a given width; the script times apytypes' per-sample scalar route
on a short prefix and extrapolates, so the ratio is an honest order of magnitude, and says so.
"""

from __future__ import annotations

import argparse
import platform
import time

import numba as nb
import numpy as np

import fixsim as fx
from fixsim.signal import CICDecimator

try:
    from fixsim.signal import NCO
except ImportError:  # pragma: no cover - the NCO is optional for this script
    NCO = None


# -- hand-written loops ---------------------------------------------------------------------------
@nb.njit(cache=True, nogil=True)
def cic5_hand(x, R, W):
    """CIC decimator N=5, M=1: five integrators in locals, wrap by int64 overflow, sign-extend
    the W-bit output; allocates its output."""
    n_out = (x.shape[0] + R - 1) // R
    out = np.empty(n_out, np.int64)
    i1 = i2 = i3 = i4 = i5 = np.int64(0)
    c1 = c2 = c3 = c4 = c5 = np.int64(0)
    e = 64 - W
    k = 0
    cnt = 0
    for n in range(x.shape[0]):
        i1 += x[n]
        i2 += i1
        i3 += i2
        i4 += i3
        i5 += i4
        if cnt > 0:
            cnt -= 1
        else:
            cnt = R - 1
            v = i5
            d = v - c1
            c1 = v
            v = d
            d = v - c2
            c2 = v
            v = d
            d = v - c3
            c3 = v
            v = d
            d = v - c4
            c4 = v
            v = d
            d = v - c5
            c5 = v
            out[k] = (d << e) >> e
            k += 1
    return out


@nb.njit(cache=True, nogil=True)
def nco_hand(n, inc, off, W, Q, D, seed, table, start):
    """Quarter-wave NCO sine with counter-based (splitmix64) dither; see fixsim.signal.NCO."""
    out = np.empty(n, np.int64)
    mask = (np.int64(1) << W) - 1 if W < 64 else np.int64(-1)
    s = W - Q
    qmask = (np.int64(1) << Q) - 1
    quarter = np.int64(1) << (Q - 2)
    rmask = quarter - 1
    acc = (start * inc) & mask
    for i in range(n):
        z = np.uint64(seed) + np.uint64(start + i + 1) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        d = np.int64(z >> np.uint64(64 - D)) if D > 0 else np.int64(0)
        p = (acc + off + d) & mask
        q = (p >> s) & qmask
        quad = q >> (Q - 2)
        r = q & rmask
        if quad == 0:
            v = table[r]
        elif quad == 1:
            v = table[quarter - r]
        elif quad == 2:
            v = -table[r]
        else:
            v = -table[quarter - r]
        out[i] = v
        acc = (acc + inc) & mask
    return out


# -- timing ---------------------------------------------------------------------------------------
def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_cic = 1_000_000 if args.quick else 10_000_000
    n_nco = 100_000 if args.quick else 1_000_000
    reps = 3 if args.quick else 5
    rows = []

    # ---- CIC ----
    R, M, N = 16, 1, 5
    T = fx.numerictype(True, 16, 15)
    rng = np.random.default_rng(1)
    xi = rng.integers(T.int_min, T.int_max + 1, n_cic).astype(np.int64)
    x = fx.fi.from_int(xi, T)
    cic = CICDecimator(R, M, N)
    W = cic.register_word_length(T)

    def run_fixsim():
        cic.reset()
        return cic(x)

    got = run_fixsim()
    hand = cic5_hand(xi, R, W)
    assert np.array_equal(np.asarray(got.int), hand), "fixsim and the hand loop disagree"
    t_fx = best_of(run_fixsim, reps)
    t_hand = best_of(lambda: cic5_hand(xi, R, W), reps)
    rows.append((f"CIC decimator R={R} N={N} M={M}, {n_cic:,} samples, s16 -> s{W}",
                 t_fx, "numba hand loop", t_hand))

    # apytypes: no CIC; per-sample scalar route on a prefix, extrapolated
    try:
        import apytypes as apy

        m = 20_000
        fmt = dict(int_bits=W - 15, frac_bits=15)

        def apy_cic(vals):
            integ = [apy.APyFixed(0, **fmt) for _ in range(N)]
            comb = [apy.APyFixed(0, **fmt) for _ in range(N)]
            out = []
            for n, v in enumerate(vals):
                u = apy.APyFixed(int(v) & ((1 << 16) - 1), int_bits=1, frac_bits=15)
                u = u.cast(**fmt)
                for j in range(N):
                    integ[j] = (integ[j] + u).cast(**fmt, overflow=apy.OverflowMode.WRAP)
                    u = integ[j]
                if n % R == 0:
                    for j in range(N):
                        d = (u - comb[j]).cast(**fmt, overflow=apy.OverflowMode.WRAP)
                        comb[j] = u
                        u = d
                    out.append(u)
            return out

        ref = apy_cic(xi[:m])
        want = np.asarray(got.int)[: len(ref)]
        ok = all(float(a) == float(b) * 2.0 ** -15 for a, b in zip(ref, want, strict=True))
        t0 = time.perf_counter()
        apy_cic(xi[:m])
        t_apy = (time.perf_counter() - t0) * n_cic / m
        rows.append((f"  vs apytypes scalar loop (extrapolated from {m:,}; "
                     f"{'equal' if ok else 'MISMATCH'})", t_fx, "apytypes", t_apy))
    except Exception as exc:  # noqa: BLE001 - report why the peer is missing
        rows.append((f"  apytypes: n/a ({type(exc).__name__}: {exc})", t_fx, "apytypes", None))

    # fxpmath: no CIC either; a per-sample loop of Fxp adds wrapped into the register format
    try:
        from fxpmath import Fxp

        m = 400

        def fxp_cic(vals):
            fmt = dict(signed=True, n_word=W, n_frac=15, overflow="wrap")
            integ = [Fxp(0, **fmt) for _ in range(N)]
            comb = [Fxp(0, **fmt) for _ in range(N)]
            out = []
            for n, v in enumerate(vals):
                u = Fxp(int(v) * 2.0 ** -15, True, 16, 15)
                for j in range(N):
                    integ[j] = Fxp(None, **fmt).set_val(integ[j] + u)
                    u = integ[j]
                if n % R == 0:
                    for j in range(N):
                        d = Fxp(None, **fmt).set_val(u - comb[j])
                        comb[j] = u
                        u = d
                    out.append(u)
            return out

        ref = fxp_cic(xi[:m])
        want = np.asarray(got.int)[: len(ref)]
        ok = all(int(a.val) == int(b) for a, b in zip(ref, want, strict=True))
        t0 = time.perf_counter()
        fxp_cic(xi[:m])
        t_fxp = (time.perf_counter() - t0) * n_cic / m
        rows.append((f"  vs fxpmath scalar loop (extrapolated from {m:,}; "
                     f"{'equal' if ok else 'MISMATCH'})", t_fx, "fxpmath", t_fxp))
    except Exception as exc:  # noqa: BLE001 - report why the peer is missing
        rows.append((f"  fxpmath: n/a ({type(exc).__name__}: {exc})", t_fx, "fxpmath", None))

    # ---- NCO ----
    if NCO is not None:
        nco = NCO(0x12345679, accumulator_word_length=32, quantizer_bits=14, dither_bits=4,
                  seed=7, lut="quarter", waveform="sin", output_type="sfix16_En14")

        def run_nco():
            nco.reset()
            return nco(n_nco)

        got = run_nco()
        table = np.asarray(nco.table.int, dtype=np.int64)
        hand = nco_hand(n_nco, 0x12345679, 0, 32, 14, 4, 7, table, 0)
        assert np.array_equal(np.asarray(got.int), hand), "NCO and the hand loop disagree"
        t_fx = best_of(run_nco, reps)
        t_hand = best_of(lambda: nco_hand(n_nco, 0x12345679, 0, 32, 14, 4, 7, table, 0), reps)
        rows.append((f"NCO sin, 32-bit acc, 14-bit phase, quarter LUT, {n_nco:,} samples",
                     t_fx, "numba hand loop", t_hand))

    print(f"machine: {platform.processor() or platform.machine()}, numba {nb.__version__}\n")
    print("| workload | fixsim (ms) | peer | peer (ms) | fixsim / peer |")
    print("|---|---:|---|---:|---:|")
    for title, tf, peer, tp in rows:
        if tp is None:
            print(f"| {title} | {tf * 1e3:.1f} | {peer} | n/a | n/a |")
        else:
            print(f"| {title} | {tf * 1e3:.1f} | {peer} | {tp * 1e3:.1f} | {tf / tp:.3g} |")
    print("\nfixsim / peer: fixsim's time over the peer's (below 1: fixsim is faster). The "
          "apytypes and fxpmath rows are per-sample Python loops over their scalar types (they "
          "have no CIC or cumulative sum with wrap), timed on a prefix and extrapolated.")


if __name__ == "__main__":
    main()
