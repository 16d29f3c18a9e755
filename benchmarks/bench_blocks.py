"""Small blocks and the lookup table, timed against apytypes and hand-written numba loops in one
run, after checking that every implementation gives the same stored integers.

Rows (1,000,000 samples of s16/15 data unless -n is given):

1. Gain 0.3 (s16 best-precision parameter) -> s16/14 nearest/saturate: fixsim ``Gain``,
   apytypes (multiply by an APyFixed, then ``cast``), a numba loop.
2. Sum '+-' -> s16/14 nearest/saturate: fixsim ``Sum``, apytypes (subtract, ``cast``), numba.
3. Lookup1D, linear, 16 breakpoints evenly spaced by 2**12 LSBs (the shift path), s16/14 table
   and output, nearest/saturate: fixsim ``Lookup1D``, a numba loop (apytypes has no table).
4. Lookup1D with uneven breakpoints (the exact division path), fixsim only.

Run:  python benchmarks/bench_blocks.py [-n SAMPLES]
"""

from __future__ import annotations

import argparse
import time

import apytypes as apy
import numba as nb
import numpy as np

from fixsim import fi
from fixsim.signal import Gain, Lookup1D, Sum


@nb.njit(cache=True)
def _round_sat(v, d, lo, hi):
    """``v / 2**d`` rounded to nearest (ties up), saturated to [lo, hi]."""
    q = (v + (np.int64(1) << (d - 1))) >> d if d > 0 else v << -d
    return lo if q < lo else (hi if q > hi else q)


@nb.njit(cache=True)
def gain_loop(x, g, d, out):
    for k in range(x.size):
        out[k] = _round_sat(x[k] * g, d, -32768, 32767)


@nb.njit(cache=True)
def sub_loop(a, b, d, out):
    for k in range(a.size):
        out[k] = _round_sat(a[k] - b[k], d, -32768, 32767)


@nb.njit(cache=True)
def lut_loop(x, b0, shift, t, out):
    n = t.size
    b_hi = b0 + ((n - 1) << shift)
    for k in range(x.size):
        v = min(max(x[k], b0), b_hi)
        rel = v - b0
        i = min(rel >> shift, n - 2)
        num = (t[i] << shift) + (t[i + 1] - t[i]) * (rel - (i << shift))
        out[k] = _round_sat(num, shift, -32768, 32767)


def apy_stored(r) -> np.ndarray:
    bits = r.bits
    u = np.asarray(r.to_bits(numpy=True)).astype(np.uint64).view(np.int64)
    return (u << (64 - bits)) >> (64 - bits)


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
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, rep = args.n, args.repeat
    rng = np.random.default_rng(0)
    x = fi(rng.uniform(-1, 1, n), 1, 16, 15)
    y = fi(rng.uniform(-1, 1, n), 1, 16, 15)
    xi, yi = np.array(x.int, dtype=np.int64), np.array(y.int, dtype=np.int64)
    ax = apy.APyFixedArray(xi, int_bits=1, frac_bits=15)
    ay = apy.APyFixedArray(yi, int_bits=1, frac_bits=15)
    QM, OV = apy.QuantizationMode, apy.OverflowMode
    out = np.empty(n, dtype=np.int64)
    rows = []

    # 1. Gain
    g = Gain(0.3, name="g", output_type="sfix16_En14")
    gq = g.quantized_gain
    gi, gf = int(gq.int[0]), gq.fraction_length
    ag = apy.APyFixed(gi, int_bits=16 - gf, frac_bits=gf)
    ref = g(x).int
    apy_g = (ax * ag).cast(int_bits=2, frac_bits=14, quantization=QM.RND, overflow=OV.SAT)
    gain_loop(xi, gi, 15 + gf - 14, out)
    assert np.array_equal(apy_stored(apy_g), ref) and np.array_equal(out, ref)
    rows.append(("1. Gain 0.3 -> s16/14", best(lambda: g(x), rep),
                 best(lambda: (ax * ag).cast(int_bits=2, frac_bits=14, quantization=QM.RND,
                                             overflow=OV.SAT), rep),
                 best(lambda: gain_loop(xi, gi, 15 + gf - 14, out), rep)))

    # 2. Sum
    s = Sum("+-", name="s", output_type="sfix16_En14")
    ref = s(x, y).int
    sub_loop(xi, yi, 1, out)
    apy_s = (ax - ay).cast(int_bits=2, frac_bits=14, quantization=QM.RND, overflow=OV.SAT)
    assert np.array_equal(apy_stored(apy_s), ref) and np.array_equal(out, ref)
    rows.append(("2. Sum '+-' -> s16/14", best(lambda: s(x, y), rep),
                 best(lambda: (ax - ay).cast(int_bits=2, frac_bits=14, quantization=QM.RND,
                                             overflow=OV.SAT), rep),
                 best(lambda: sub_loop(xi, yi, 1, out), rep)))

    # 3. LUT, power-of-two spacing
    bp = np.arange(-1, 0.876, 0.125)  # 0.125 = 2**12 LSBs of s16/15
    lut = Lookup1D(bp, np.sin(np.pi * bp), name="lut", table_type="sfix16_En14",
                   output_type="sfix16_En14")
    assert lut.is_power_of_two_spaced("sfix16_En15")
    ref = lut(x).int
    tq = np.asarray(lut.quantized_table.int, dtype=np.int64)
    b0 = int(lut.quantized_breakpoints("sfix16_En15")[0])
    lut_loop(xi, b0, 12, tq, out)
    assert np.array_equal(out, ref)
    rows.append(("3. Lookup1D linear, 2**k spacing", best(lambda: lut(x), rep), None,
                 best(lambda: lut_loop(xi, b0, 12, tq, out), rep)))

    # 4. LUT, uneven breakpoints
    bpu = np.linspace(-1, 1, 17) ** 3
    lut_u = Lookup1D(bpu, np.sin(np.pi * bpu), name="lutu", table_type="sfix16_En14",
                     output_type="sfix16_En14")
    rows.append(("4. Lookup1D linear, uneven breakpoints", best(lambda: lut_u(x), rep), None,
                 None))

    print(f"\n{n:,} samples, best of {rep} (ms); ratios are time / fixsim's\n")
    print("| workload | fixsim | apytypes | numba loop | fixsim / numba |")
    print("|---|---|---|---|---|")
    for name, t_fx, t_apy, t_nb in rows:
        apy_txt = "n/a" if t_apy is None else f"{t_apy * 1e3:.2f} ({t_apy / t_fx:.1f}x)"
        nb_txt = "n/a" if t_nb is None else f"{t_nb * 1e3:.2f}"
        ratio = "n/a" if t_nb is None else f"{t_fx / t_nb:.1f}"
        print(f"| {name} | {t_fx * 1e3:.2f} | {apy_txt} | {nb_txt} | {ratio} |")


if __name__ == "__main__":
    main()
