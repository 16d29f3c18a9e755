"""Static range analysis cost: ``fx.tool.derive`` and Interval products against baselines.

Usage::

    python benchmarks/bench_derive.py            # 4096-sample frames, 784x128 layer
    python benchmarks/bench_derive.py --quick    # fewer repeats

Rows (best of N ``perf_counter`` runs after a warm-up):

* ``derive`` of a 32-tap FIR written with type-table casts and ``np.convolve``, against one
  double run of the same algorithm (``T.as_double()``) on a frame of the same length;
* ``Interval`` convolution and a dense layer (a point weight matrix times an interval vector)
  against the same float64 numpy call, against a plain numpy interval computation that rounds
  every bound outward unconditionally (``np.nextafter``, not exact), and against a hand-written
  numba loop doing the same unconditional outward rounding.

fixsim's Interval rounds *exactly* outward (error-free transformations decide whether a bound
moves); that costs several numpy passes per term, which the ratios show. The peers (apytypes,
fxpmath, numfi) have no interval arithmetic or range derivation, so there is nothing of theirs
to time here.
"""

from __future__ import annotations

import argparse
import gc
import time

import numba as nb
import numpy as np

import fixsim as fx
from fixsim.tool import Interval


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


@nb.njit(cache=True)
def _conv_naive(xlo, xhi, h):  # pragma: no cover - benchmark baseline
    n, m = xlo.size, h.size
    lo = np.zeros(n + m - 1)
    hi = np.zeros(n + m - 1)
    for i in range(n + m - 1):
        a = 0.0
        b = 0.0
        for k in range(m):
            j = i - k
            if 0 <= j < n:
                if h[k] >= 0:
                    a = np.nextafter(a + np.nextafter(h[k] * xlo[j], -np.inf), -np.inf)
                    b = np.nextafter(b + np.nextafter(h[k] * xhi[j], np.inf), np.inf)
                else:
                    a = np.nextafter(a + np.nextafter(h[k] * xhi[j], -np.inf), -np.inf)
                    b = np.nextafter(b + np.nextafter(h[k] * xlo[j], np.inf), np.inf)
        lo[i] = a
        hi[i] = b
    return lo, hi


def _conv_numpy_naive(xlo, xhi, h):
    pos, neg = np.maximum(h, 0), np.minimum(h, 0)
    lo = np.convolve(xlo, pos) + np.convolve(xhi, neg)
    hi = np.convolve(xhi, pos) + np.convolve(xlo, neg)
    m = h.size  # a crude a-priori widening, sound but never exact
    err = (np.convolve(np.maximum(np.abs(xlo), np.abs(xhi)), np.abs(h)) * m * 2.0 ** -52)
    return np.nextafter(lo - err, -np.inf), np.nextafter(hi + err, np.inf)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeat = 3 if args.quick else 7
    n = 4096
    rng = np.random.default_rng(0)
    h = rng.normal(size=32) / 8
    T = fx.TypeTable({"x": "sfix16_En14", "acc": "sfix40_En30", "y": "sfix16_En12"})

    def fir(x, T):
        return T.y(T.acc(np.convolve(T.x(x), h)))

    x = rng.uniform(-1, 1, n)
    Td = T.as_double()
    t_derive = best(lambda: fx.tool.derive(fir, (-1, 1), Td, shape=n), repeat)
    t_double = best(lambda: fir(x, Td), repeat)
    print(f"derive, 32-tap FIR, {n} samples: {t_derive * 1e3:8.2f} ms   "
          f"double run {t_double * 1e3:7.3f} ms   ratio {t_derive / t_double:8.1f}")

    xi = Interval.full(n, -1, 1)
    xlo, xhi = xi.lo, xi.hi
    t_iv = best(lambda: np.convolve(xi, h), repeat)
    t_f = best(lambda: np.convolve(x, h), repeat)
    t_np = best(lambda: _conv_numpy_naive(xlo, xhi, h), repeat)
    t_nb = best(lambda: _conv_naive(xlo, xhi, h), repeat)
    print(f"convolve {n} x 32: Interval {t_iv * 1e3:8.2f} ms   float {t_f * 1e3:7.3f} ms "
          f"(x{t_iv / t_f:.0f})   naive numpy interval {t_np * 1e3:7.3f} ms "
          f"(x{t_iv / t_np:.0f})   naive numba loop {t_nb * 1e3:7.3f} ms (x{t_iv / t_nb:.0f})")

    W = rng.normal(size=(128, 784)) / 28
    v = Interval.full(784, -1, 1)
    vf = rng.uniform(-1, 1, 784)
    t_iv = best(lambda: W @ v, repeat)
    t_f = best(lambda: W @ vf, repeat)
    print(f"dense 128x784 @ interval vector: Interval {t_iv * 1e3:8.2f} ms   float "
          f"{t_f * 1e3:7.3f} ms (x{t_iv / t_f:.0f})")


if __name__ == "__main__":
    main()
