"""A short tour of fixsim's numeric core. Every fact it prints is also asserted.

Run it with ``python examples/quickstart.py``.
"""

import math
from fractions import Fraction

import numpy as np

import fixsim as fx
from fixsim import fi, fimath, numerictype


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * (72 - len(title)))


# ---------------------------------------------------------------------------------------------
section("Construct a fi: MATLAB's fi(v, s, w, f)")
a = fi(np.pi, 1, 16, 13)  # signed, 16-bit word, 13 fraction bits
print(f"fi(pi, 1, 16, 13): value {a.data!r}, stored integer {a.int}, type {a.numerictype}")
print(f"  bin {a.bin}  hex {a.hex}  oct {a.oct}")
assert a.int == 25736  # round(pi * 2**13)
assert a.data == 3.1416015625
assert a.bin == "0110010010001000" and a.hex == "6488"
assert str(a.numerictype) == "sfix16_En13"

# ---------------------------------------------------------------------------------------------
section("Types: numerictype and the names it parses")
T = numerictype(True, 16, 12)
print(f"{T!s}: Q format {T.qformat}, HLS {T.hls}, AC {T.ac}")
print(f"  range [{T.min}, {T.max}], LSB {T.eps}, stored integers {T.int_min}..{T.int_max}")
for name in ("sfix16_En12", "Q3.12", "ap_fixed<16,4>", "ac_fixed<16,4,true>"):
    assert numerictype.parse(name) == T, name
assert (T.min, T.max, T.eps) == (-8.0, 8.0 - 2.0**-12, 2.0**-12)
assert (T.int_min, T.int_max) == (-32768, 32767)
print("  'sfix16_En12', 'Q3.12', 'ap_fixed<16,4>' and 'ac_fixed<16,4,true>' are the same type")

# ---------------------------------------------------------------------------------------------
section("MATLAB best precision: leave out the fraction length")
for label, args, expected in [("fi(pi)", (np.pi,), "sfix16_En13"),
                              ("fi(0.1)", (0.1,), "sfix16_En18"),
                              ("fi(pi, 1, 8)", (np.pi, 1, 8), "sfix8_En5"),
                              ("fi(-128)", (-128.0,), "sfix16_En8"),
                              ("fi(16000, 1, 8)", (16000.0, 1, 8), "sfix8_E7")]:
    t = fi(*args).numerictype
    print(f"{label:<16} -> {t}")
    assert str(t) == expected, (label, t)

# ---------------------------------------------------------------------------------------------
section("Rounding modes on exact ties")
ties = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
expected_ties = {
    "nearest": [-2, -1, 0, 1, 2, 3],       # MATLAB's default: ties toward +inf
    "round": [-3, -2, -1, 1, 2, 3],        # ties away from zero
    "convergent": [-2, -2, 0, 0, 2, 2],    # ties to even
    "floor": [-3, -2, -1, 0, 1, 2],        # toward -inf (two's complement truncation)
    "ceil": [-2, -1, 0, 1, 2, 3],          # toward +inf
    "zero": [-2, -1, 0, 0, 1, 2],          # toward zero (MATLAB fix)
}
print(f"{'input':<11}{ties.tolist()}")
for mode, want in expected_ties.items():
    got = fi(ties, 1, 8, 0, rounding=mode).int.tolist()
    print(f"{mode:<11}{got}")
    assert got == want, (mode, got)

# Quantization is exact: the decision is made on the exact binary value of the input, never on
# a rounded intermediate. Rounding "x + 0.5, then floor" in floating point gets this one wrong.
x = 0.49999999999999994  # the largest double below 1/2
naive = int(np.floor(x + 0.5))
exact = int(fi(np.array([x]), 1, 8, 0).int[0])
print(f"nearest({x!r}): fixsim {exact}, float 'floor(x + 0.5)' {naive}")
assert (exact, naive) == (0, 1)

# ---------------------------------------------------------------------------------------------
section("Overflow modes")
v = np.array([-200.0, -128.0, 127.0, 130.0])
expected_overflow = {
    "saturate": [-128, -128, 127, 127],
    "wrap": [56, -128, 127, -126],         # keep the low 8 bits, like the hardware
    "sat_zero": [0, -128, 127, 0],         # out of range gives 0
    "sat_sym": [-127, -127, 127, 127],     # symmetric range: -128 becomes -127 too
    "wrap_sm": [-57, -128, 127, 125],      # ap_fixed's sign-magnitude wrap
}
print(f"{'input':<10}{v.tolist()} into sfix8")
for mode, want in expected_overflow.items():
    got = fi(v, 1, 8, 0, overflow=mode).int.tolist()
    print(f"{mode:<10}{got}")
    assert got == want, (mode, got)

# ---------------------------------------------------------------------------------------------
section("Arithmetic result types (full precision, MATLAB rules)")
a = fi([np.pi], 1, 16, 13)
b = fi([np.e], 1, 16, 13)
results = {
    "a + b": (a + b, "sfix17_En13"),         # one carry bit
    "a * b": (a * b, "sfix32_En26"),         # word and fraction lengths add
    "a / b": (a / b, "sfix16"),              # MATLAB rdivide: max word, fraction 13 - 13 = 0
    "a + 1": (a + 1, "sfix17_En13"),         # a Python number is cast to a's type for +
    "a * 0.1": (a * 0.1, "sfix32_En31"),     # ... and to best precision for * (0.1 -> s16,18)
}
for label, (r, t) in results.items():
    print(f"{label:<8} = {float(r.data[0])!r:<22} {r.numerictype}")
    assert str(r.numerictype) == t, (label, r.numerictype)
assert (a * b).int[0] == 25736 * 22268  # exact: nothing is rounded

q = fx.divide(numerictype(True, 32, 28), a, b)  # MATLAB divide(T, a, b): quotient to type T
print(f"divide(sfix32_En28, a, b) = {float(q.data[0])!r}")
assert q.int[0] == math.floor(Fraction(25736, 22268) * 2**28 + Fraction(1, 2))  # nearest

u = fi([0.5], 0, 4, 4)   # ufix4_En4
s = fi([0.5], 1, 4, 3)   # sfix4_En3
with fimath(rules="hls"):  # ac_fixed/ap_fixed result types inside the block
    hls_sum, hls_div = (u + s).numerictype, (a / b).numerictype
print(f"ufix4_En4 + sfix4_En3: MATLAB {(u + s).numerictype}, HLS {hls_sum}")
print(f"a / b: MATLAB {(a / b).numerictype}, HLS {hls_div}")
assert str((u + s).numerictype) == "sfix7_En4" and str(hls_sum) == "sfix6_En4"
assert str(hls_div) == "sfix30_En13"

F = fimath(product_mode="keep_msb", product_word_length=16)
with F:  # the default fimath for the block (a local fimath on an operand would win)
    p16 = a * b
print(f"a * b with product_mode='keep_msb', product_word_length=16: {p16.numerictype}")
assert str(p16.numerictype) == "sfix16_En10"

# ---------------------------------------------------------------------------------------------
section("Requantize explicitly: cast")
p = a * a  # sfix32_En26, pi**2 ~ 9.87 does not fit sfix16_En12 (range [-8, 8))
c_wrap = p.cast(T, rounding="floor", overflow="wrap")
c_sat = p.cast(T, rounding="floor", overflow="saturate")
print(f"pi**2 into {T}: wrap {float(c_wrap.data[0])!r} (stored {c_wrap.int[0]}), "
      f"saturate {float(c_sat.data[0])!r} (stored {c_sat.int[0]})")
assert c_wrap.int[0] == -25110 and c_sat.int[0] == 32767
raw = fi.from_int([1, -2, 127], "sfix8_En4")  # raw stored integers, no quantization
print(f"fi.from_int([1, -2, 127], 'sfix8_En4') = {raw.data.tolist()}")
assert raw.data.tolist() == [0.0625, -0.125, 7.9375]

# ---------------------------------------------------------------------------------------------
section("Bit strings, as MATLAB prints them")
x = fi([-1.0, 0.9921875], 1, 8, 7)
print(f"bin {x.bin.tolist()}  hex {x.hex.tolist()}  oct {x.oct.tolist()}  "
      f"dec {x.dec.tolist()}  sdec {x.sdec.tolist()}")
assert x.hex.tolist() == ["80", "7f"] and x.oct.tolist() == ["200", "177"]
assert x.dec.tolist() == ["128", "127"] and x.sdec.tolist() == ["-128", "127"]

# ---------------------------------------------------------------------------------------------
section("Count overflows and underflows")
with fx.count_quantization() as counts:
    y = fi([0.5, 3.0, 1e-9, -5.0], 1, 8, 6)  # sfix8_En6 holds [-2, 2) in steps of 1/64
print(f"fi([0.5, 3.0, 1e-9, -5.0], 1, 8, 6) -> {y.data.tolist()}")
print(f"  {counts.overflows} overflows, {counts.underflows} underflow, "
      f"{counts.elements} elements quantized")
assert (counts.overflows, counts.underflows, counts.elements) == (2, 1, 4)

print("\nAll quick-start checks passed.")
