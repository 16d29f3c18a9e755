"""Bit operations: exact Python-int reference (hypothesis), MATLAB's printed examples, errors.

The reference works on the unsigned W-bit pattern ``v & (2**W - 1)`` of each stored integer and
sign-extends back for signed types; it knows nothing of fixsim's storage (int64, uint64 for
unsigned 64-bit words, Python ints beyond 64 bits).
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, fimath, numerictype
from fixsim._core import _bitops
from fixsim.testing import assert_fi_identical

# -- the reference ------------------------------------------------------------------------------


def pat(v: int, w: int) -> int:
    """Unsigned w-bit two's complement pattern of v."""
    return v & ((1 << w) - 1)


def sext(p: int, w: int, signed: bool) -> int:
    """The stored integer of a w-bit pattern p (sign-extended when signed)."""
    p = pat(p, w)
    return p - (1 << w) if signed and p >> (w - 1) else p


def ints_of(x: fi) -> list[int]:
    return [int(v) for v in np.asarray(x.int).ravel()]


def expected_dtype(T: numerictype):
    if T.word_length <= 63 or (T.word_length == 64 and T.signed):
        return np.dtype(np.int64)
    if T.word_length == 64:
        return np.dtype(np.uint64)
    return np.dtype(object)


def check(result: fi, T: numerictype, expected: list[int], shape=None) -> None:
    """Type, storage dtype, range and stored integers of a result."""
    assert result.numerictype == T
    assert result._int.dtype == expected_dtype(T)
    if shape is not None:
        assert result.shape == shape
    got = ints_of(result)
    assert all(T.int_min <= v <= T.int_max for v in got)
    assert got == expected, (T, got, expected)


def make(vals: list[int], T: numerictype, F: fimath | None = None) -> fi:
    arr = np.empty(len(vals), dtype=object)
    arr[:] = vals
    return fi.from_int(arr, T, F)


# -- strategies -----------------------------------------------------------------------------------

word_lengths = st.one_of(st.sampled_from([1, 8, 63, 64, 65]), st.integers(1, 130))


@st.composite
def types(draw, w=None):
    w = draw(word_lengths) if w is None else w
    return numerictype(draw(st.booleans()), w, draw(st.integers(-8, 140)))


def stored(T: numerictype):
    lo, hi = T.int_min, T.int_max
    edges = sorted({v for v in (lo, lo + 1, -1, 0, 1, hi - 1, hi) if lo <= v <= hi})
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


@st.composite
def fi_arrays(draw, T=None, n=None):
    T = draw(types()) if T is None else T
    n = draw(st.integers(1, 5)) if n is None else n
    vals = draw(st.lists(stored(T), min_size=n, max_size=n))
    return make(vals, T), vals


# -- hypothesis against the reference -------------------------------------------------------------


@given(st.data())
def test_bitand_bitor_bitxor(data):
    a, va = data.draw(fi_arrays())
    T = a.numerictype
    b, vb = data.draw(fi_arrays(T, len(va)))
    w, s = T.word_length, T.signed
    check(fx.bitand(a, b), T, [sext(pat(x, w) & pat(y, w), w, s) for x, y in zip(va, vb, strict=True)])
    check(fx.bitor(a, b), T, [sext(pat(x, w) | pat(y, w), w, s) for x, y in zip(va, vb, strict=True)])
    check(fx.bitxor(a, b), T, [sext(pat(x, w) ^ pat(y, w), w, s) for x, y in zip(va, vb, strict=True)])
    # broadcasting a scalar against the array
    check(fx.bitxor(a, b[0]), T, [sext(pat(x, w) ^ pat(vb[0], w), w, s) for x in va])


@given(fi_arrays())
def test_bitcmp(arg):
    a, va = arg
    T = a.numerictype
    w = T.word_length
    check(fx.bitcmp(a), T, [sext(pat(x, w) ^ ((1 << w) - 1), w, T.signed) for x in va])


@given(st.data())
def test_bitget_bitset(data):
    a, va = data.draw(fi_arrays())
    T = a.numerictype
    w, n = T.word_length, len(va)
    bits = data.draw(st.lists(st.integers(1, w), min_size=n, max_size=n))
    check(fx.bitget(a, bits), numerictype(False, 1, 0),
          [(pat(x, w) >> (b - 1)) & 1 for x, b in zip(va, bits, strict=True)])
    check(fx.bitget(a, bits[0]), numerictype(False, 1, 0),
          [(pat(x, w) >> (bits[0] - 1)) & 1 for x in va])
    check(fx.getlsb(a), numerictype(False, 1, 0), [x & 1 for x in va])
    check(fx.getmsb(a), numerictype(False, 1, 0), [pat(x, w) >> (w - 1) for x in va])
    v = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    exp = [sext(pat(x, w) | (1 << (b - 1)) if on else pat(x, w) & ~(1 << (b - 1)), w, T.signed)
           for x, b, on in zip(va, bits, v, strict=True)]
    check(fx.bitset(a, bits, v), T, exp)
    check(fx.bitset(a, bits[0]), T, [sext(pat(x, w) | (1 << (bits[0] - 1)), w, T.signed)
                                     for x in va])
    # a scalar a with a vector of positions gives one result per position (MATLAB)
    check(fx.bitget(a[0], bits), numerictype(False, 1, 0),
          [(pat(va[0], w) >> (b - 1)) & 1 for b in bits], shape=(n,))


@given(st.data())
def test_bitsliceget_and_reductions(data):
    a, va = data.draw(fi_arrays())
    w = a.word_length
    lidx = data.draw(st.integers(1, w))
    ridx = data.draw(st.integers(1, lidx))
    n = lidx - ridx + 1
    sl = [(pat(x, w) >> (ridx - 1)) & ((1 << n) - 1) for x in va]
    check(fx.bitsliceget(a, lidx, ridx), numerictype(False, n, 0), sl)
    check(fx.bitsliceget(a, lidx), numerictype(False, lidx, 0),
          [pat(x, w) & ((1 << lidx) - 1) for x in va])
    check(fx.bitsliceget(a), numerictype(False, w, 0), [pat(x, w) for x in va])
    U1 = numerictype(False, 1, 0)
    check(fx.bitandreduce(a, lidx, ridx), U1, [int(v == (1 << n) - 1) for v in sl])
    check(fx.bitorreduce(a, lidx, ridx), U1, [int(v != 0) for v in sl])
    check(fx.bitxorreduce(a, lidx, ridx), U1, [bin(v).count("1") % 2 for v in sl])
    check(fx.bitxorreduce(a), U1, [bin(pat(x, w)).count("1") % 2 for x in va])


@given(st.data())
def test_bitconcat_bitreplicate(data):
    a, va = data.draw(fi_arrays())
    b, vb = data.draw(fi_arrays(n=len(va)))
    wa, wb = a.word_length, b.word_length
    check(fx.bitconcat(a, b), numerictype(False, wa + wb, 0),
          [(pat(x, wa) << wb) | pat(y, wb) for x, y in zip(va, vb, strict=True)])
    c, vc = data.draw(fi_arrays(n=1))
    wc = c.word_length
    check(fx.bitconcat(a, b, c[0]), numerictype(False, wa + wb + wc, 0),
          [(((pat(x, wa) << wb) | pat(y, wb)) << wc) | pat(vc[0], wc) for x, y in zip(va, vb, strict=True)])
    acc = 0
    for x in va:
        acc = (acc << wa) | pat(x, wa)
    check(fx.bitconcat(a), numerictype(False, wa * len(va), 0), [acc], shape=())
    k = data.draw(st.integers(1, 4))
    rep = [sum(pat(x, wa) << (wa * i) for i in range(k)) for x in va]
    check(fx.bitreplicate(a, k), numerictype(False, k * wa, 0), rep)


def ref_shift(v: int, k: int, T: numerictype, overflow: str) -> tuple[int, bool]:
    """``floor(v * 2**k)`` into T under an overflow mode: (stored integer, overflowed)."""
    n = v << k if k >= 0 else v >> -k
    if T.int_min <= n <= T.int_max:
        return n, False
    if overflow == "saturate":
        return (T.int_max if n > 0 else T.int_min), True
    if overflow == "sat_zero":
        return 0, True
    return sext(pat(n, T.word_length), T.word_length, T.signed), True


@given(st.data())
def test_bitshift(data):
    a0, va = data.draw(fi_arrays())
    T = a0.numerictype
    w = T.word_length
    overflow = data.draw(st.sampled_from(["saturate", "wrap", "sat_zero"]))
    a = a0.setfimath(fimath(overflow=overflow, rounding="nearest"))  # rounding is ignored
    k = data.draw(st.one_of(st.integers(-w - 3, w + 3), st.sampled_from([-10**6, 10**6])))
    exp = [ref_shift(x, k, T, overflow) for x in va]
    with fx.count_quantization() as counts:
        out = fx.bitshift(a, k)
    check(out, T, [e[0] for e in exp])
    assert out.local_fimath == a.local_fimath
    assert counts.overflows == sum(e[1] for e in exp)
    assert [e.operation for e in counts.events] == ["bitshift"]


@given(st.data())
def test_logical_shifts_and_rotations(data):
    a0, va = data.draw(fi_arrays())
    F = fimath(overflow="saturate")
    a = a0.setfimath(F)
    T = a.numerictype
    w, s = T.word_length, T.signed
    mask = (1 << w) - 1
    k = data.draw(st.integers(0, 2 * w + 2))
    with fx.count_quantization() as counts:
        check(fx.bitsll(a, k), T, [sext((pat(x, w) << k) & mask, w, s) for x in va])
        check(fx.bitsrl(a, k), T, [sext(pat(x, w) >> k, w, s) for x in va])
        check(fx.bitsra(a, k), T, [x >> k for x in va])
        r = k % w
        rol = [sext(((pat(x, w) << r) | (pat(x, w) >> (w - r))) & mask, w, s) for x in va]
        ror = [sext(((pat(x, w) >> r) | (pat(x, w) << (w - r))) & mask, w, s) for x in va]
        check(fx.bitrol(a, k), T, rol)
        check(fx.bitror(a, k), T, ror)
    assert counts.operations == 0  # these ignore the fimath: no quantization, no counts
    assert fx.bitsll(a, k).local_fimath == F


@given(st.data())
def test_reinterpretcast(data):
    a, va = data.draw(fi_arrays())
    w = a.word_length
    T2 = data.draw(types(w))
    check(fx.reinterpretcast(a, T2), T2, [sext(pat(x, w), w, T2.signed) for x in va])
    back = fx.reinterpretcast(fx.reinterpretcast(a, T2), a.numerictype)
    assert_fi_identical(back, a)
    assert list(fx.reinterpretcast(a, T2).bin) == list(a.bin)


# -- edge cases by hand ---------------------------------------------------------------------------


@pytest.mark.parametrize("w", [1, 8, 63, 64, 65, 130])
@pytest.mark.parametrize("signed", [True, False])
def test_extremes_and_shapes(w, signed):
    T = numerictype(signed, w, 0)
    vals = sorted({T.int_min, T.int_min + 1, 0, T.int_max})
    a = make(vals, T).reshape(len(vals), 1)
    mask = (1 << w) - 1
    c = fx.bitcmp(a)
    assert c.shape == a.shape
    check(c, T, [sext(pat(x, w) ^ mask, w, signed) for x in vals])
    # 0-d in, 0-d out (numpy turns 0-d results into scalars; the fi must hold an array)
    s = a[0, 0]
    for out in (fx.bitcmp(s), fx.bitsll(s, 1), fx.bitsra(s, 1), fx.bitrol(s, 1),
                fx.bitshift(s, 1), fx.bitget(s, w), fx.bitsliceget(s), fx.bitxorreduce(s),
                fx.reinterpretcast(s, numerictype(not signed, w, 3)), fx.bitand(s, s),
                fx.bitconcat(s, s), fx.bitreplicate(s, 2)):
        assert out.shape == () and isinstance(out._int, np.ndarray)
    # the most negative value: its MSB is the only bit set
    if signed:
        check(fx.bitget(make([T.int_min], T), list(range(1, w + 1))),
              numerictype(False, 1, 0), [0] * (w - 1) + [1])
        check(fx.bitsra(make([T.int_min], T), w + 5), T, [-1])


def test_empty_arrays():
    a = fi.from_int(np.zeros(0, dtype=np.int64), numerictype(True, 70, 0))
    assert fx.bitcmp(a).shape == (0,)
    assert fx.bitand(a, a).shape == (0,)
    assert fx.bitsliceget(a, 5, 2).shape == (0,)


def test_numpy_integer_inputs():
    # MATLAB's built-in integers: int8 is sfix8
    r = fx.reinterpretcast(np.array([-1, 5], dtype=np.int8), numerictype(False, 8, 0))
    check(r, numerictype(False, 8, 0), [255, 5])
    check(fx.bitsll(np.int8(16), 2), numerictype(True, 8, 0), [64])
    check(fx.bitsll(np.int8(16), fi(2)), numerictype(True, 8, 0), [64])
    check(fx.bitsra(np.int8(64), 2), numerictype(True, 8, 0), [16])
    check(fx.bitsrl(np.uint8(64), 2), numerictype(False, 8, 0), [16])
    check(fx.bitsra(np.int8(64), fi(2)), numerictype(True, 8, 0), [16])
    u = np.array([2**64 - 1, 1], dtype=np.uint64)
    check(fx.bitcmp(u), numerictype(False, 64, 0), [0, 2**64 - 2])


def test_local_fimath_rules():
    F = fimath(overflow="wrap")
    T = numerictype(True, 8, 4)
    a = fi.from_int([1, 2], T, F)
    b = fi.from_int([3, 3], T)
    assert fx.bitand(a, b).local_fimath == F
    assert fx.bitand(b, b).local_fimath is None
    with pytest.raises(ValueError, match="bitor: the operands have different local fimaths"):
        fx.bitor(a, b.setfimath(fimath(overflow="saturate")))
    # bitshift follows the fimath in force: the local one, else the current default
    with fimath(overflow="wrap"):
        assert fx.bitshift(fi(3, 1, 16, 0), 14).bin == "1100000000000000"
    assert fx.bitshift(fi(3, 1, 16, 0), 14).bin == "0111111111111111"


# -- MATLAB's printed examples --------------------------------------------------------------------


def test_matlab_bitshift_table():
    """``a = fi(3,1,16,0); for k=0:16, disp(bin(bitshift(a,k)))``, saturate and wrap."""
    a = fi(3, 1, 16, 0)
    saturate = [format(3 << k, "016b") for k in range(14)] + ["0111111111111111"] * 3
    assert [fx.bitshift(a, k).bin for k in range(17)] == saturate
    aw = fi(3, 1, 16, 0, overflow="wrap")
    printed = [format(3 << k, "016b") for k in range(12)]  # rows 00-11 as printed
    got = [fx.bitshift(aw, k).bin for k in range(17)]
    assert got[:12] == printed
    assert got[12:] == ["0011000000000000", "0110000000000000", "1100000000000000",
                        "1000000000000000", "0000000000000000"]
    # k < 0 floors: sign bits enter on the left
    assert fx.bitshift(fi(-3, 1, 16, 0), -1).int == -2
    assert fx.bitshift(fi(3, 1, 16, 0), -1).int == 1


def test_matlab_bitget():
    assert fx.bitget(fi(85, 0, 8, 0), 4).int == 0
    a = fi([[2, 3, 4], [6, 8, 2], [3, 5, 1]], 0, 4, 0)
    c = fx.bitget(a, fi(2))
    assert c.int.tolist() == [[1, 1, 0], [1, 0, 1], [1, 0, 0]]
    assert str(c.numerictype) == "ufix1"
    a = fi([86, 6, 53, 8, 1], 0, 16, 4)
    assert fx.bitget(a, [1, 2, 5, 7, 4]).int.tolist() == [0, 0, 1, 0, 0]
    p = fi(np.pi)
    assert p.bin == "0110010010001000"
    assert fx.bitget(p, fi([15, 3, 8, 2])).int.tolist() == [1, 0, 1, 0]


def test_matlab_bitset():
    assert fx.bitset(fi(5, 0, 4, 0), 4).bin == "1101"
    c = fx.bitset(fi([0, 1, 8, 2, 4], 0, 4, 0), 2, 1)
    assert c.bin.tolist() == ["0010", "0011", "1010", "0010", "0110"]
    assert fx.bitset(fi(5, 0, 4, 0), fi(2), 1).bin == "0111"
    c = fx.bitset(fi(np.pi), fi([15, 3, 8, 2]))
    assert c.bin.tolist() == ["0110010010001000", "0110010010001100", "0110010010001000",
                              "0110010010001010"]
    assert c.numerictype == numerictype(True, 16, 13)
    assert fx.bitset(fi(5, 0, 4, 0), 1, 0).bin == "0100"
    assert fx.bitset(fi(5, 0, 4, 0), 2, 7).bin == "0111"  # any nonzero sets the bit


def test_matlab_bitsliceget():
    a = fi(85, 0, 8, 0)
    assert fx.bitsliceget(a).bin == "01010101"
    assert fx.bitsliceget(a, 6).bin == "010101"
    c = fx.bitsliceget(a, fi(6), fi(2))
    assert c.bin == "01010" and c.numerictype == numerictype(False, 5, 0)
    m = fi([[2, 3, 4], [6, 8, 2], [3, 5, 1]], 0, 4, 0)
    assert fx.bitsliceget(m, 4, 2).bin.tolist() == [["001", "001", "010"],
                                                     ["011", "100", "001"],
                                                     ["001", "010", "000"]]
    # MATLAB Answers 226225: x = fi(-0.12835,true,16,10); bitsliceget(x,9,2) -> 190
    x = fi(-0.12835, 1, 16, 10)
    assert x.bin == "1111111101111101"
    y = fx.bitsliceget(x, 9, 2)
    assert y.int == 190 and y.bin == "10111110" and y.numerictype == numerictype(False, 8, 0)
    # MATLAB Answers 225109: the 6 MSBs by slicing equal a wrap/floor cast
    a = fi(-5.0625, 1, 8, 4)
    assert a.bin == "10101111"
    b = fx.bitsliceget(a, 8, 3)
    assert b.bin == a.cast(numerictype(True, 6, 2), "floor", "wrap").bin == "101011"


def test_matlab_bitconcat():
    y = fx.bitconcat(fi([1, 2, 5, 7], 0, 4, 0))
    assert y.int == 4695 and y.bin == "0001001001010111"
    assert y.numerictype == numerictype(False, 16, 0)
    y = fx.bitconcat(fi(5, 0, 4, 0), fi(10, 0, 4, 0))
    assert y.int == 90 and y.bin == "01011010" and y.numerictype == numerictype(False, 8, 0)
    y = fx.bitconcat(fi([1, 2, 5, 7], 0, 4, 0), fi([7, 4, 3, 1], 0, 4, 0))
    assert y.int.tolist() == [23, 36, 83, 113]
    assert_fi_identical(fx.bitconcat([fi([1, 2, 5, 7], 0, 4, 0), fi([7, 4, 3, 1], 0, 4, 0)]), y)
    assert y.bin.tolist() == ["00010111", "00100100", "01010011", "01110001"]
    # sign and scaling are ignored: only the bits count
    y = fx.bitconcat(fi(-1, 1, 4, 2), fi(0.5, 0, 3, 1))  # stored -4 (1100) and 1 (001)
    assert y.bin == "1100001" and y.numerictype == numerictype(False, 7, 0)


def test_matlab_reinterpretcast():
    a = fi([-1, np.pi / 4], 1, 8, 7)
    assert a.bin.tolist() == ["10000000", "01100101"]
    c = fx.reinterpretcast(a, numerictype(0, 8, 0))
    assert c.int.tolist() == [128, 101]
    assert c.numerictype == numerictype(False, 8, 0)
    assert c.bin.tolist() == ["10000000", "01100101"]
    assert fx.reinterpretcast(a, "ufix8").int.tolist() == [128, 101]


def test_matlab_logical_shifts_and_rotations():
    a = fi(10, 0, 4, 0)
    assert a.bin == "1010"
    assert fx.bitsll(a, 1).bin == "0100" and fx.bitsll(a, 2).bin == "1000"
    assert fx.bitsrl(fi(-8, 1, 4, 0), 1).bin == "0100"
    assert fx.bitsra(fi(-8, 1, 4, 0), 1).bin == "1100"
    assert fx.bitrol(a, 1).bin == "0101" and fx.bitrol(a, 2).bin == "1010"
    assert fx.bitrol(a, fi(1)).bin == "0101"
    v = fi([1, 2, 5, 7], 0, 4, 0)
    assert fx.bitrol(v, 1).bin.tolist() == ["0010", "0100", "1010", "1110"]
    b = fi(5, 0, 4, 0)
    assert fx.bitror(b, 1).bin == "1010" and fx.bitror(b, 2).bin == "0101"
    assert fx.bitror(v, fi(1)).bin.tolist() == ["1000", "0001", "1010", "1011"]


def test_matlab_reductions():
    a = fi(73, 0, 8, 0)
    assert a.bin == "01001001"
    assert fx.bitandreduce(a).int == 0 and fx.bitorreduce(a).int == 1
    assert str(fx.bitandreduce(a).numerictype) == "ufix1"
    v = fi([12, 4, 8, 15], 0, 8, 0)
    assert fx.bitandreduce(v, fi(4)).int.tolist() == [0, 0, 0, 1]
    assert fx.bitorreduce(v, fi(4)).int.tolist() == [1, 1, 1, 1]


def test_matlab_bitreplicate_and_lsb_msb():
    y = fx.bitreplicate(fi(-0.5, 1, 3, 1), 2)  # bits 111 -> 111111 (sign, scaling ignored)
    assert y.bin == "111111" and y.numerictype == numerictype(False, 6, 0)
    assert fx.getmsb(fi(-1, 1, 8, 0)).int == 1 and fx.getlsb(fi(2, 1, 8, 0)).int == 0


# -- errors ---------------------------------------------------------------------------------------


def test_error_different_types():
    a = fi(1, 1, 16, 8)
    b = fi(1, 1, 16, 9)
    with pytest.raises(ValueError, match=r"bitand: the numerictypes of a \(sfix16_En8\) and b "
                                         r"\(sfix16_En9\) must be identical"):
        fx.bitand(a, b)
    with pytest.raises(ValueError, match="bitxor"):
        fx.bitxor(a, fi(1, 0, 16, 8))
    with pytest.raises(TypeError, match="bitand: b must be a fi"):
        fx.bitand(a, 1.0)
    with pytest.raises(ValueError, match=r"bitor: shapes do not match \(a \(2,\), b \(3,\)\)"):
        fx.bitor(fi([1, 2], 1, 8, 0), fi([1, 2, 3], 1, 8, 0))


def test_error_reinterpretcast_word_length():
    with pytest.raises(ValueError, match=r"reinterpretcast: the word length of T \(ufix16, 16 "
                                         r"bits\) must equal that of a \(sfix8_En7, 8 bits\)"):
        fx.reinterpretcast(fi(0.5, 1, 8, 7), numerictype(False, 16, 0))
    with pytest.raises(ValueError, match="reinterpretcast: .* 16 bits"):
        fx.reinterpretcast(np.int16(3), "ufix8")
    with pytest.raises(TypeError, match="reinterpretcast: a must be a fi"):
        fx.reinterpretcast(3, "ufix8")


@pytest.mark.parametrize("bad", [0, 17, -1])
def test_error_bad_bit_index(bad):
    a = fi(np.pi)
    with pytest.raises(ValueError, match=rf"bitget: bit={bad} is out of range; valid: 1\.\.16"):
        fx.bitget(a, bad)
    with pytest.raises(ValueError, match=rf"bitset: bit={bad} is out of range; valid: 1\.\.16"):
        fx.bitset(a, bad)
    with pytest.raises(ValueError, match=rf"bitget: bit\[1\]={bad} is out of range"):
        fx.bitget(a, [1, bad])


def test_error_bad_index_kinds():
    a = fi(np.pi)
    with pytest.raises(ValueError, match=r"bitget: bit=1\.5 is not a whole number"):
        fx.bitget(a, 1.5)
    with pytest.raises(ValueError, match=r"bitget: bit=0\.5 is not a whole number"):
        fx.bitget(a, fi(0.5))  # a fi position must have an integral value
    with pytest.raises(TypeError, match="bitget: bit must be an integer, got bool"):
        fx.bitget(a, True)
    with pytest.raises(TypeError, match="bitsll: k must be an integer"):
        fx.bitsll(a, "2")
    with pytest.raises(ValueError, match=r"bitsll: k must be a scalar integer"):
        fx.bitsll(a, [1, 2])
    with pytest.raises(ValueError, match="bitset: v contains NaN"):
        fx.bitset(a, 1, np.nan)


def test_error_slices():
    a = fi(85, 0, 8, 0)
    with pytest.raises(ValueError, match=r"bitsliceget: lidx=9 is out of range; valid: 1\.\.8"):
        fx.bitsliceget(a, 9)
    with pytest.raises(ValueError, match=r"bitsliceget: ridx=5 is out of range; valid: 1\.\.4"):
        fx.bitsliceget(a, 4, 5)
    with pytest.raises(ValueError, match="bitandreduce: ridx=0 is out of range"):
        fx.bitandreduce(a, 4, 0)
    with pytest.raises(ValueError, match=r"bitconcat: the result would have 65536 bits"):
        fx.bitconcat(fi.from_int(0, numerictype(False, 65535, 0)), fi(1, 0, 1, 0))
    with pytest.raises(ValueError, match="bitconcat: a is empty"):
        fx.bitconcat(fi([], 0, 8, 0))
    with pytest.raises(ValueError, match=r"bitreplicate: n=0 is out of range; valid: 1\.\.8191"):
        fx.bitreplicate(a, 0)


@pytest.mark.parametrize("fn", [fx.bitsll, fx.bitsrl, fx.bitsra, fx.bitrol, fx.bitror])
def test_error_negative_shift(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: k=-1 is out of range; valid: an "
                                         r"integer k >= 0"):
        fn(fi(1, 1, 8, 0), -1)


def test_bitshift_accepts_any_integer():
    a = fi(-3, 1, 70, 0, overflow="wrap")
    assert fx.bitshift(a, 10**9).int == 0
    assert fx.bitshift(a, -(10**9)).int == -1
    with pytest.raises(ValueError, match=r"bitshift: k=0\.5 is not a whole number"):
        fx.bitshift(a, 0.5)


def test_docstring_examples():
    result = doctest.testmod(_bitops, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
