"""Gain's and a two-input Sum's one-pass fixed-point path (``_fastq.combine_kernel``).

``Gain`` multiplies and casts in one compiled pass whenever the products fit int64 (a
listener gets the products built on the side). A two-input ``Sum`` with a full-precision
accumulator shifts, adds or subtracts and casts in one pass while nobody listens for signal
values; while the fixed-point tool listens it takes the general path (it reports the values
that arrive at each cast). Both ways must give the same stored integers and the same
quantization events (names, sizes, overflow and underflow counts, in the same order), and
the stored integers must be those of an exact ``Fraction`` reference.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fixsim import fi, numerictype
from fixsim._core import _probe
from fixsim._core._typetable import signal_listening
from fixsim.signal import Gain, Sum

from .._core import reference as ref

ROUNDINGS = [r for r in ref.ROUNDINGS if r != "stochastic"]


def _events(fn):
    """What *fn* returns, and the quantization events it reports (as tuples)."""
    got = []
    with _probe.listening(got.append):
        out = fn()
    return out, [(e.name, str(e.numerictype), e.size, e.overflows, e.underflows) for e in got]


def _both_paths(fn):
    """``(fused, general)``: *fn*'s stored integers and events without a signal listener, and
    with one (which makes the blocks take the general path)."""
    fn()  # the first call quantizes a Gain's parameter (one more event): not compared
    fused = _events(fn)
    with signal_listening(lambda event: None):
        general = _events(fn)
    return fused, general


def _input(rng, T, n):
    lo, hi = (-(1 << (T.word_length - 1)), (1 << (T.word_length - 1)) - 1) if T.signed else \
        (0, (1 << T.word_length) - 1)
    ints = rng.integers(lo, hi, n, endpoint=True)
    ints[:2] = [lo, hi]
    return fi.from_int(ints, T)


def _exact_cast(values, T, rounding, overflow):
    return [ref.quantize_counted(v, (T.signed, T.word_length, T.fraction_length), rounding,
                                 overflow)[0] for v in values]


def _exact(x):
    return [Fraction(int(v)) * ref.pow2(-x.numerictype.fraction_length) for v in x.int]


types = st.builds(lambda s, w, f: numerictype(s, w, f), st.booleans(), st.integers(2, 24),
                  st.integers(-8, 30))
modes = st.tuples(st.sampled_from(ROUNDINGS), st.sampled_from(ref.OVERFLOWS))


@settings(max_examples=60, deadline=None)
@given(types, types, st.floats(-4, 4, allow_nan=False), modes, st.integers(0, 2**32 - 1))
def test_gain_fused_equals_general_and_exact(Tx, Ty, g, m, seed):
    rounding, overflow = m
    if overflow == "wrap_sm" and not (Tx.signed and Ty.signed):
        return  # refused: wrap_sm needs signed types
    x = _input(np.random.default_rng(seed), Tx, 50)
    blk = Gain(g, name="g", output_type=Ty, rounding=rounding, overflow=overflow)
    (y1, e1), (y2, e2) = _both_paths(lambda: blk(x))
    assert y1.numerictype == y2.numerictype == Ty
    assert y1.int.tolist() == y2.int.tolist()
    assert e1 == e2
    k = _exact(blk.quantized_gain)[0]
    assert y1.int.tolist() == _exact_cast([k * v for v in _exact(x)], Ty, rounding, overflow)


@settings(max_examples=60, deadline=None)
@given(types, types, types, st.sampled_from(["++", "+-", "-+"]), modes,
       st.integers(0, 2**32 - 1))
def test_sum_fused_equals_general_and_exact(Ta, Tb, Ty, signs, m, seed):
    rounding, overflow = m
    if overflow == "wrap_sm" and not (Ta.signed and Tb.signed and Ty.signed):
        return  # refused: wrap_sm needs signed types
    rng = np.random.default_rng(seed)
    a, b = _input(rng, Ta, 50), _input(rng, Tb, 50)
    blk = Sum(signs, name="s", output_type=Ty, rounding=rounding, overflow=overflow)
    (y1, e1), (y2, e2) = _both_paths(lambda: blk(a, b))
    assert y1.int.tolist() == y2.int.tolist()
    assert e1 == e2
    sa, sb = (1 if c == "+" else -1 for c in signs)
    exact = [sa * u + sb * v for u, v in zip(_exact(a), _exact(b), strict=True)]
    assert y1.int.tolist() == _exact_cast(exact, Ty, rounding, overflow)


def test_sum_fused_full_precision_output():
    # no output type: the full-precision sum itself (FLOOR/WRAP, nothing moves)
    T = numerictype(True, 16, 15)
    x = fi.from_int(np.array([-32768, 32767, 1, -1, 0], dtype=np.int64), T)
    y = fi.from_int(np.array([32767, -32768, -1, 1, 0], dtype=np.int64), T)
    (z1, e1), (z2, e2) = _both_paths(lambda: Sum("+-", name="s")(x, y))
    assert z1.numerictype == z2.numerictype
    assert z1.int.tolist() == z2.int.tolist() == [-65535, 65535, 2, -2, 0]
    assert e1 == e2


def test_sum_takes_one_pass_without_listeners_only(monkeypatch):
    import fixsim.signal._basic as basic

    calls = []
    product, combined = basic.cast_product_counted, basic.cast_combined_counted

    def spy_product(*args, **kwargs):
        calls.append(basic._fq.MUL)
        return product(*args, **kwargs)

    def spy_combined(*args, **kwargs):
        calls.append(args[2])  # the operation
        return combined(*args, **kwargs)

    monkeypatch.setattr(basic, "cast_product_counted", spy_product)
    monkeypatch.setattr(basic, "cast_combined_counted", spy_combined)
    T = numerictype(True, 16, 15)
    x = _input(np.random.default_rng(1), T, 100)
    g = Gain(0.3, name="g", output_type="sfix16_En14")
    s = Sum("+-", name="s", output_type="sfix16_En14")
    g(x)
    s(x, x)
    assert calls == [basic._fq.MUL, basic._fq.SUB]
    with signal_listening(lambda event: None):
        g(x)
        s(x, x)
    assert calls == [basic._fq.MUL, basic._fq.SUB, basic._fq.MUL]  # Sum: the general path
