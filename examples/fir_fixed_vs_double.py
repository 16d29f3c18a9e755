"""A 16-tap FIR filter in double precision and in fixed point, and the noise fixed point adds.

The fixed-point datapath is the one an FPGA would build:

* input ``x``: sfix16_En15 (Q0.15), coefficients ``h``: sfix16_En15;
* each product ``h[k] * x[n-k]``: sfix32_En30 (full precision, nothing rounded);
* the accumulator: sfix36_En30 (4 guard bits: a 16-term sum grows ``ceil(log2 16)`` bits),
  so the sum is exact;
* output ``y``: sfix16_En15, rounded to nearest and saturated once, at the end.

Run it with ``python examples/fir_fixed_vs_double.py``.
"""

import numpy as np
from scipy import signal

import fixsim as fx
from fixsim import fi, numerictype

N_TAPS = 16
N = 4000
T_IN = numerictype(True, 16, 15)     # sfix16_En15
T_COEF = numerictype(True, 16, 15)
T_ACC = numerictype(True, 36, 30)    # product sfix32_En30 plus 4 guard bits
T_OUT = numerictype(True, 16, 15)


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of *test* against *reference*, in dB."""
    noise = reference - test
    return 10.0 * np.log10(np.sum(reference**2) / np.sum(noise**2))


# A low-pass filter (cut-off at a quarter of the sample rate) and a test signal: a tone in the
# pass band, one in the stop band, and a little noise, scaled to stay inside [-1, 1).
h = signal.firwin(N_TAPS, 0.25)
rng = np.random.default_rng(2024)
n = np.arange(N)
x = 0.6 * np.sin(2 * np.pi * 0.05 * n) + 0.3 * np.sin(2 * np.pi * 0.4 * n)
x += 0.05 * rng.standard_normal(N)
x = np.clip(x, -1.0, 1.0 - 2.0**-15)

# -- double precision reference -----------------------------------------------------------
y_double = np.convolve(x, h)[N_TAPS - 1:N]       # the outputs with a full window of inputs

# -- fixed point, written out tap by tap as the hardware does it ----------------------------
xq = fi(x, T_IN)                                  # quantize the input (nearest, saturate)
hq = fi(h, T_COEF)
acc = fi.from_int(np.zeros(N - N_TAPS + 1, dtype=np.int64), T_ACC)
for k in range(N_TAPS):
    window = xq[N_TAPS - 1 - k:N - k]             # x[n - k] for every output n
    product = hq[k] * window                      # sfix32_En30, exact
    assert str(product.numerictype) == "sfix32_En30"
    acc = (acc + product).cast(T_ACC)             # the sum fits: this cast never rounds
y_fixed = acc.cast(T_OUT, rounding="nearest", overflow="saturate")

# The accumulator is exact: it equals the integer convolution of the stored integers.
exact = np.convolve(xq.int, hq.int)[N_TAPS - 1:N]  # int64: |sum| < 2**36, no overflow
assert np.array_equal(acc.int, exact)

# fixsim's own convolution (exact stored integers, MATLAB's type rules) gives the same sums.
convolve = getattr(fx, "convolve", None)
if convolve is not None:
    full = convolve(xq, hq)
    print(f"fx.convolve(x, h): type {full.numerictype}")
    assert np.array_equal(full.data[N_TAPS - 1:N], acc.data)

# -- how much noise did fixed point add? --------------------------------------------------
sqnr_input = sqnr_db(x, xq.data)
sqnr_coef = sqnr_db(y_double, np.convolve(x, hq.data)[N_TAPS - 1:N])
sqnr_output = sqnr_db(y_double, y_fixed.data)
print(f"{N_TAPS}-tap FIR, {N} samples. Signal-to-quantization-noise ratios:")
for label, value in [(f"input x as {T_IN}, against x", sqnr_input),
                     (f"double filter with {T_COEF} coefficients, against double", sqnr_coef),
                     (f"fixed-point output {T_OUT}, against double", sqnr_output)]:
    print(f"  {label:<60}{value:6.1f} dB")
print(f"  (accumulator {T_ACC} is exact: checked against an integer convolution)")
max_err_lsb = np.max(np.abs(y_double - y_fixed.data)) / T_OUT.eps
print(f"  largest output error: {max_err_lsb:.2f} LSB of {T_OUT}")

# A 16-bit datapath should be good for roughly 6 dB per bit, less the signal's headroom.
assert sqnr_output > 70.0, sqnr_output
assert max_err_lsb < 4.0, max_err_lsb
print("FIR checks passed.")
