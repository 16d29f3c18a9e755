"""Independent black-box review of exact full-precision matrix products on narrow operands.

Target: ``a @ b``, ``np.matmul(a, b)``, ``fx.matmul(a, b)`` and ``fx.dot(a, b)`` for 2-D ``fi``
operands whose stored integers need at most 16 bits (signed word length <= 16, unsigned word
length <= 15) and products of at least 65536 multiply-adds -- the shapes and types a dedicated
fast path serves -- plus a few wider operands (unsigned 16, 17..24 bits) that take other exact
paths, to pin the 16-bit boundary.

Written without reading the implementation.  Every check compares the stored integers for
exact equality against a reference computed with Python ints (``dtype=object`` matmul of the
stored integers, or a closed form for constant operands), and compares the result numerictype
with MATLAB's full-precision ``mtimes`` rule (reference notes, section 3.5):

    signed = sa or sb,   W = Wa + Wb + ceil(log2 K),   F = Fa + Fb.

Operand values are drawn with numpy from a hypothesis-chosen seed (drawing big arrays element
by element through hypothesis would be far too slow); hypothesis chooses shapes, types,
fraction lengths, value patterns and memory layouts.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim import fi, fimath, numerictype

MIN_MACS = 65536  # the fast path serves products with at least this many multiply-adds
K_SET = (255, 256, 257, 511, 512, 513, 1000)

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------------------------
# reference helpers
# --------------------------------------------------------------------------------------------


def ceil_log2(k: int) -> int:
    """Exact ceil(log2(k)) for k >= 1."""
    return (k - 1).bit_length()


def expected_type(Ta: numerictype, Tb: numerictype, K: int) -> numerictype:
    return numerictype(
        Ta.signed or Tb.signed,
        Ta.word_length + Tb.word_length + ceil_log2(K),
        Ta.fraction_length + Tb.fraction_length,
    )


def as_obj(x) -> np.ndarray:
    """Stored integers as an object array of Python ints (exact, whatever the storage)."""
    arr = np.asarray(x)
    if arr.dtype == object:
        return np.vectorize(int, otypes=[object])(arr) if arr.size else arr
    return arr.astype(object)


def ref_matmul(ai, bi) -> np.ndarray:
    return as_obj(ai) @ as_obj(bi)


def describe_mismatch(got: np.ndarray, exp: np.ndarray, limit: int = 4) -> str:
    if got.shape != exp.shape:
        return f"shape {got.shape} != expected {exp.shape}"
    bad = np.argwhere(got != exp)
    parts = [f"{len(bad)} of {exp.size} elements differ"]
    for idx in bad[:limit]:
        i = tuple(int(v) for v in idx)
        parts.append(f"at {i}: got {got[i]!r}, expected {exp[i]!r}")
    return "; ".join(parts)


def check_result(c, exp_ints: np.ndarray, exp_T: numerictype, what: str = "") -> None:
    """Stored integers exactly equal, numerictype exactly MATLAB's rule."""
    T = c.numerictype
    assert (T.signed, T.word_length, T.fraction_length) == (
        exp_T.signed,
        exp_T.word_length,
        exp_T.fraction_length,
    ), f"{what}: result type {T} != expected {exp_T}"
    assert T == exp_T
    got = as_obj(c.int)
    assert got.shape == exp_ints.shape, f"{what}: {describe_mismatch(got, exp_ints)}"
    assert bool((got == exp_ints).all()), f"{what}: {describe_mismatch(got, exp_ints)}"


def specials(T: numerictype) -> np.ndarray:
    lo, hi = int(T.int_min), int(T.int_max)
    cand = {lo, hi, 0, -1, 1, lo + 1, hi - 1, 255, 256, 257, -129, -128, -127, 127, 128,
            -255, -256, -257, 511, 512, -513}
    for k in range(17):
        cand |= {2**k, 2**k - 1, -(2**k), -(2**k) + 1, -(2**k) - 1}
    return np.array(sorted(v for v in cand if lo <= v <= hi), dtype=np.int64)


FILL_MODES = ("uniform", "specials", "extremes", "const_min", "const_max", "mixed", "sparse",
              "checker")


def fill(rng: np.random.Generator, T: numerictype, shape, mode: str) -> np.ndarray:
    lo, hi = int(T.int_min), int(T.int_max)
    sp = specials(T)
    if mode == "uniform":
        return rng.integers(lo, hi + 1, shape, dtype=np.int64)
    if mode == "specials":
        return rng.choice(sp, shape)
    if mode == "extremes":
        return rng.choice(np.array([lo, hi], dtype=np.int64), shape)
    if mode == "const_min":
        return np.full(shape, lo, dtype=np.int64)
    if mode == "const_max":
        return np.full(shape, hi, dtype=np.int64)
    if mode == "mixed":
        x = rng.integers(lo, hi + 1, shape, dtype=np.int64)
        m = rng.random(shape) < 0.5
        x[m] = rng.choice(sp, int(m.sum()))
        return x
    if mode == "sparse":
        x = np.zeros(shape, dtype=np.int64)
        m = rng.random(shape) < 0.05
        x[m] = rng.choice(np.array([lo, hi], dtype=np.int64), int(m.sum()))
        return x
    if mode == "checker":
        i, j = np.indices(shape)
        return np.where((i + j) % 2 == 0, lo, hi).astype(np.int64)
    raise AssertionError(mode)


# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------


@st.composite
def narrow_type(draw) -> numerictype:
    """A type whose stored integers need at most 16 bits: sfix1..16 or ufix1..15."""
    signed = draw(st.booleans())
    wmax = 16 if signed else 15
    w = draw(st.one_of(st.just(wmax), st.integers(1, wmax)))
    f = draw(st.one_of(st.sampled_from([0, w, w + 7, -3]), st.integers(-40, 60)))
    return numerictype(signed, w, f)


@st.composite
def wide_type(draw) -> numerictype:
    """Just past the boundary: ufix16, ufix16..23, sfix17..24."""
    signed = draw(st.booleans())
    w = draw(st.integers(17, 24) if signed else st.integers(16, 23))
    f = draw(st.integers(-20, 40))
    return numerictype(signed, w, f)


@st.composite
def big_shape(draw):
    """(M, K, N) with M*K*N >= 65536; ragged sizes, M or N equal to 1."""
    K = draw(st.one_of(st.sampled_from(K_SET),
                       st.integers(1, 1500).map(lambda k: k | 1),  # odd K
                       st.integers(1, 3000)))
    need = -(-MIN_MACS // K)  # M*N must reach this
    kind = draw(st.sampled_from(["M1", "N1", "ragged", "ragged"]))
    if kind == "M1":
        M = 1
        N = draw(st.integers(need, need + 70))
    elif kind == "N1":
        N = 1
        M = draw(st.integers(need, need + 70))
    else:
        M = draw(st.integers(2, 150))
        nmin = max(1, -(-need // M))
        N = draw(st.integers(nmin, nmin + 40))
    assert M * K * N >= MIN_MACS
    return M, K, N


# --------------------------------------------------------------------------------------------
# 1. random shapes x random narrow types x value patterns
# --------------------------------------------------------------------------------------------


def _check_random_product(shape, Ta, Tb, ma, mb, seed):
    """Operands of types Ta, Tb filled by patterns ma, mb from *seed*: check their product."""
    M, K, N = shape
    rng = np.random.default_rng(seed)
    ai = fill(rng, Ta, (M, K), ma)
    bi = fill(rng, Tb, (K, N), mb)
    c = fi.from_int(ai, Ta) @ fi.from_int(bi, Tb)
    check_result(c, ref_matmul(ai, bi), expected_type(Ta, Tb, K),
                 f"{Ta} ({ma}) @ {Tb} ({mb}), shapes {(M, K)} @ {(K, N)}")


@settings(max_examples=400, **SETTINGS)
@given(shape=big_shape(), Ta=narrow_type(), Tb=narrow_type(),
       ma=st.sampled_from(FILL_MODES), mb=st.sampled_from(FILL_MODES),
       seed=st.integers(0, 2**32 - 1))
def test_narrow_matmul_exact(shape, Ta, Tb, ma, mb, seed):
    _check_random_product(shape, Ta, Tb, ma, mb, seed)


# --------------------------------------------------------------------------------------------
# 2. every signedness/word-length pair, extreme operands
# --------------------------------------------------------------------------------------------

NARROW_WIDTHS = [(True, w) for w in range(1, 17)] + [(False, w) for w in range(1, 16)]


@pytest.mark.parametrize("sa", [True, False], ids=["sa", "ua"])
@pytest.mark.parametrize("sb", [True, False], ids=["sb", "ub"])
def test_every_type_pair_extremes(sa, sb):
    """All (Wa, Wb) for this signedness pair: constant min*min, min*max, max*max fills (closed
    form reference), and a random extremes/specials fill (object reference)."""
    rng = np.random.default_rng(1234 + 2 * sa + sb)
    shapes = [(5, 1000, 17), (1, 257, 256), (256, 257, 1), (7, 513, 19), (13, 511, 11),
              (3, 255, 87), (11, 256, 24)]
    count = 0
    for wa in range(1, 17 if sa else 16):
        for wb in range(1, 17 if sb else 16):
            Ta = numerictype(sa, wa, (wa * 7 + wb) % 45 - 15)
            Tb = numerictype(sb, wb, (wb * 5 + wa) % 41 - 12)
            M, K, N = shapes[(wa + 3 * wb) % len(shapes)]
            assert M * K * N >= MIN_MACS
            eT = expected_type(Ta, Tb, K)
            for va in {int(Ta.int_min), int(Ta.int_max)}:
                for vb in {int(Tb.int_min), int(Tb.int_max)}:
                    a = fi.from_int(np.full((M, K), va, dtype=np.int64), Ta)
                    b = fi.from_int(np.full((K, N), vb, dtype=np.int64), Tb)
                    exp = np.full((M, N), K * va * vb, dtype=object)
                    check_result(a @ b, exp, eT, f"const {va} ({Ta}) @ const {vb} ({Tb}), K={K}")
                    count += 1
            ai = fill(rng, Ta, (M, K), "extremes" if (wa + wb) % 2 else "mixed")
            bi = fill(rng, Tb, (K, N), "specials" if (wa + wb) % 3 else "extremes")
            check_result(fi.from_int(ai, Ta) @ fi.from_int(bi, Tb), ref_matmul(ai, bi), eT,
                         f"random {Ta} @ {Tb}, shapes {(M, K)} @ {(K, N)}")
            count += 1
    assert count > 0


# --------------------------------------------------------------------------------------------
# 3. the hardest case: whole operands at the extremes, large K
# --------------------------------------------------------------------------------------------

S16 = numerictype(True, 16, 0)
U15 = numerictype(False, 15, 0)


@pytest.mark.parametrize("M,K,N", [
    (64, 1000, 33), (7, 513, 31), (6, 10923, 1), (1, 10923, 6), (1, 65536, 1),
    (1, 65537, 1), (2, 32768, 1), (1, 32769, 2), (1, 131073, 1), (3, 87382, 1),
    (256, 1, 256), (65536, 1, 1), (1, 1, 65536), (300, 2, 300), (181, 3, 121),
    (100, 7, 100), (40, 33, 50),
])
@pytest.mark.parametrize("Ta,Tb", [(S16, S16), (S16, U15), (U15, S16), (U15, U15),
                                   (numerictype(True, 15, 3), numerictype(True, 16, -2)),
                                   (numerictype(True, 8, 0), numerictype(True, 16, 0))],
                         ids=str)
def test_constant_extreme_operands(M, K, N, Ta, Tb):
    eT = expected_type(Ta, Tb, K)
    lo_a, hi_a, lo_b, hi_b = int(Ta.int_min), int(Ta.int_max), int(Tb.int_min), int(Tb.int_max)
    for va, vb in [(lo_a, hi_b), (hi_a, lo_b), (lo_a, lo_b), (hi_a, hi_b), (-1 if Ta.signed else 1, lo_b)]:
        a = fi.from_int(np.full((M, K), va, dtype=np.int64), Ta)
        b = fi.from_int(np.full((K, N), vb, dtype=np.int64), Tb)
        check_result(a @ b, np.full((M, N), K * va * vb, dtype=object), eT,
                     f"const {va} ({Ta}) @ const {vb} ({Tb}), shapes {(M, K)} @ {(K, N)}")


def test_sum_beyond_float64_mantissa():
    """1 x K @ K x 1 with K = 2**23 + 2**19 + 1 and near-extreme odd products: the exact sum is an odd
    integer above 2**53, so any float64 (or narrower) accumulation would be caught."""
    K = 2**23 + 2**19 + 1
    ai = np.full((1, K), 32767, dtype=np.int64)
    ai[0, ::3] = 32765
    bi = np.full((K, 1), -32767, dtype=np.int64)
    bi[::5, 0] = -32768
    exp = int(np.dot(ai[0].astype(object), bi[:, 0].astype(object)))
    if exp % 2 == 0:  # make it odd: changes the sum by bi[1] = -32767 (odd)
        ai[0, 1] -= 1
        exp -= int(bi[1, 0])
    assert int(np.dot(ai[0].astype(object), bi[:, 0].astype(object))) == exp
    assert 2**53 < abs(exp) < 2**54 and exp % 2 != 0  # not representable as a float64
    c = fi.from_int(ai, S16) @ fi.from_int(bi, S16)
    check_result(c, np.array([[exp]], dtype=object), expected_type(S16, S16, K), f"K={K}")
    del ai, bi, c


def test_product_count_threshold_neighbourhood():
    """Just below, at and just above 65536 multiply-adds give exact results with the same rule."""
    rng = np.random.default_rng(7)
    for M, K, N in [(1, 65535, 1), (1, 65536, 1), (3, 21845, 1), (4, 16384, 1), (16, 64, 64),
                    (15, 64, 68), (17, 63, 61), (2, 128, 256), (2, 128, 255)]:
        for Ta, Tb in [(S16, S16), (U15, S16)]:
            ai = fill(rng, Ta, (M, K), "extremes")
            bi = fill(rng, Tb, (K, N), "extremes")
            check_result(fi.from_int(ai, Ta) @ fi.from_int(bi, Tb), ref_matmul(ai, bi),
                         expected_type(Ta, Tb, K), f"{(M, K, N)} {Ta} @ {Tb}")


# --------------------------------------------------------------------------------------------
# 4. non-contiguous operands
# --------------------------------------------------------------------------------------------


def make_view(rng, T, rows, cols, layout):
    """Return (fi view, matching numpy view of stored ints) with shape (rows, cols)."""
    if layout == "c":
        base = fill(rng, T, (rows, cols), "mixed")
        return fi.from_int(base, T), base
    if layout == "T":
        base = fill(rng, T, (cols, rows), "mixed")
        return fi.from_int(base, T).T, base.T
    if layout == "np_transpose":
        base = fill(rng, T, (cols, rows), "mixed")
        return np.transpose(fi.from_int(base, T)), base.T
    if layout == "step":
        base = fill(rng, T, (2 * rows + 1, 3 * cols), "mixed")
        return fi.from_int(base, T)[1::2, ::3], base[1::2, ::3]
    if layout == "neg":
        base = fill(rng, T, (rows, 2 * cols), "mixed")
        return fi.from_int(base, T)[::-1, ::-2], base[::-1, ::-2]
    if layout == "T_step":
        base = fill(rng, T, (3 * cols, 2 * rows), "mixed")
        return fi.from_int(base, T).T[::2, ::3], base.T[::2, ::3]
    if layout == "fortran":
        base = np.asfortranarray(fill(rng, T, (rows, cols), "mixed"))
        return fi.from_int(base, T), base
    raise AssertionError(layout)


LAYOUTS = ("c", "T", "np_transpose", "step", "neg", "T_step", "fortran")


@settings(max_examples=150, **SETTINGS)
@given(shape=big_shape(), Ta=narrow_type(), Tb=narrow_type(),
       la=st.sampled_from(LAYOUTS), lb=st.sampled_from(LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_noncontiguous_operands(shape, Ta, Tb, la, lb, seed):
    M, K, N = shape
    rng = np.random.default_rng(seed)
    a, ai = make_view(rng, Ta, M, K, la)
    b, bi = make_view(rng, Tb, K, N, lb)
    assert a.shape == (M, K) and b.shape == (K, N)
    assert bool((as_obj(a.int) == as_obj(ai)).all()) and bool((as_obj(b.int) == as_obj(bi)).all())
    check_result(a @ b, ref_matmul(ai, bi), expected_type(Ta, Tb, K),
                 f"{Ta} [{la}] @ {Tb} [{lb}], shapes {(M, K)} @ {(K, N)}")


def test_aliased_operands():
    """The same buffer on both sides (a @ a.T, a.T @ a)."""
    rng = np.random.default_rng(11)
    for T in (S16, U15, numerictype(True, 9, 4)):
        ai = fill(rng, T, (70, 1001), "extremes")
        a = fi.from_int(ai, T)
        check_result(a @ a.T, ref_matmul(ai, ai.T), expected_type(T, T, 1001), f"a@a.T {T}")
        bi = fill(rng, T, (513, 130), "mixed")
        b = fi.from_int(bi, T)
        check_result(b.T @ b, ref_matmul(bi.T, bi), expected_type(T, T, 513), f"b.T@b {T}")


# --------------------------------------------------------------------------------------------
# 5. all spellings agree
# --------------------------------------------------------------------------------------------


@settings(max_examples=60, **SETTINGS)
@given(shape=big_shape(), Ta=narrow_type(), Tb=narrow_type(),
       la=st.sampled_from(LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_all_spellings_identical(shape, Ta, Tb, la, seed):
    M, K, N = shape
    rng = np.random.default_rng(seed)
    a, ai = make_view(rng, Ta, M, K, la)
    bi = fill(rng, Tb, (K, N), "extremes")
    b = fi.from_int(bi, Tb)
    exp = ref_matmul(ai, bi)
    eT = expected_type(Ta, Tb, K)
    spellings = {
        "a @ b": lambda: a @ b,
        "np.matmul": lambda: np.matmul(a, b),
        "fx.matmul": lambda: fx.matmul(a, b),
        "fx.dot": lambda: fx.dot(a, b),
        "np.dot": lambda: np.dot(a, b),
    }
    for name, fn in spellings.items():
        c = fn()
        assert isinstance(c, fi), name
        check_result(c, exp, eT, f"{name}: {Ta} @ {Tb}, {(M, K)} @ {(K, N)}")


# --------------------------------------------------------------------------------------------
# 6. no aliasing of results, no mutation of inputs, no stale caching
# --------------------------------------------------------------------------------------------


def test_results_and_inputs_are_independent():
    rng = np.random.default_rng(5)
    ai = fill(rng, S16, (64, 1024), "uniform")
    bi = fill(rng, S16, (1024, 64), "uniform")
    a, b = fi.from_int(ai.copy(), S16), fi.from_int(bi.copy(), S16)
    c1 = a @ b
    snap = as_obj(c1.int).copy()
    bi2 = -bi - 1
    c2 = a @ fi.from_int(bi2, S16)
    check_result(c2, ref_matmul(ai, bi2), expected_type(S16, S16, 1024), "second product")
    assert bool((as_obj(c1.int) == snap).all()), "an earlier result changed after a later product"
    assert bool((as_obj(a.int) == as_obj(ai)).all()) and bool((as_obj(b.int) == as_obj(bi)).all())
    # in-place change of an operand after a product must be seen by the next product
    b[3, 5] = -5.0
    bi3 = bi.copy()
    bi3[3, 5] = -5
    check_result(a @ b, ref_matmul(ai, bi3), expected_type(S16, S16, 1024), "after setitem")
    # fresh operands of the same shape (likely reusing freed memory) give fresh results
    for i in range(4):
        x = fill(rng, S16, (1024, 64), FILL_MODES[i])
        bb = fi.from_int(x, S16)
        check_result(a @ bb, ref_matmul(ai, x), expected_type(S16, S16, 1024), f"reuse {i}")
        del bb


def test_non_full_fimath_is_not_full_precision():
    """Under a non-full sum mode the result must follow that mode, not the full-precision rule.
    Chosen so the expected value does not depend on the summation order: keep_lsb + wrap is
    exact modulo 2**W; keep_lsb + saturate on all-positive products clamps at the max."""
    rng = np.random.default_rng(9)
    Ta, Tb = numerictype(True, 16, 2), numerictype(True, 16, 1)
    ai = fill(rng, Ta, (64, 1025), "uniform")
    bi = fill(rng, Tb, (1025, 64), "uniform")
    exact = ref_matmul(ai, bi)
    a, b = fi.from_int(ai, Ta), fi.from_int(bi, Tb)

    def wrap(v, w):
        m = v % (1 << w)
        return m - (1 << w) if m >= (1 << (w - 1)) else m

    with fimath(sum_mode="keep_lsb", sum_word_length=32, overflow="wrap"):
        c = a @ b
    check_result(c, np.vectorize(lambda v: wrap(v, 32), otypes=[object])(exact),
                 numerictype(True, 32, 3), "keep_lsb 32 wrap")
    with fimath(sum_mode="keep_lsb", sum_word_length=64):
        c = a @ b
    check_result(c, exact, numerictype(True, 64, 3), "keep_lsb 64")

    U = numerictype(False, 15, 1)
    pi = np.abs(ai) // 2 + 1
    qi = np.abs(bi) // 2 + 1
    F = fimath(sum_mode="keep_lsb", sum_word_length=36, overflow="saturate")
    c = fi.from_int(pi, U).setfimath(F) @ fi.from_int(qi, U)
    ep = ref_matmul(pi, qi)
    assert bool((ep > 2**36 - 1).any())
    check_result(c, np.minimum(ep, 2**36 - 1), numerictype(False, 36, 2), "keep_lsb 36 sat")
    # a local fimath with full modes does not change the result
    c = fi.from_int(ai, Ta).setfimath(fimath(rounding="floor", overflow="wrap")) @ b
    check_result(c, exact, expected_type(Ta, Tb, 1025), "local full fimath")


# --------------------------------------------------------------------------------------------
# 7. threads
# --------------------------------------------------------------------------------------------

THREAD_SHAPES = [(1, 65536, 1), (300, 257, 7), (7, 1000, 61), (257, 511, 1), (37, 513, 41),
                 (1, 256, 300), (64, 1000, 33)]


def _product_job(seed: int):
    """One random narrow product; returns None or a description of the mismatch."""
    r = np.random.default_rng(seed)
    sa, sb = bool(seed % 2), bool((seed // 2) % 2)
    Ta = numerictype(sa, 16 if sa else 15, int(r.integers(-10, 30)))
    wb = int(r.integers(1, 17 if sb else 16))
    Tb = numerictype(sb, wb, int(r.integers(-10, 30)))
    M, K, N = THREAD_SHAPES[seed % len(THREAD_SHAPES)]
    ai = fill(r, Ta, (M, K), FILL_MODES[seed % len(FILL_MODES)])
    bi = fill(r, Tb, (K, N), FILL_MODES[(seed // 3) % len(FILL_MODES)])
    c = fi.from_int(ai, Ta) @ fi.from_int(bi, Tb)
    exp, eT = ref_matmul(ai, bi), expected_type(Ta, Tb, K)
    got = as_obj(c.int)
    T = c.numerictype
    if (T.signed, T.word_length, T.fraction_length) != (eT.signed, eT.word_length, eT.fraction_length):
        return f"seed {seed}: type {T} != {eT}"
    if got.shape != exp.shape or not bool((got == exp).all()):
        return f"seed {seed}: {Ta} @ {Tb} {(M, K, N)}: {describe_mismatch(got, exp)}"
    return None


def test_two_threads_at_once():
    barrier = threading.Barrier(2)

    def run(seed):
        if seed < 2:
            barrier.wait(timeout=60)  # make the first two products start together
        return _product_job(seed)

    with ThreadPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(run, range(40)))
    errors = [r for r in results if r is not None]
    assert not errors, errors


def test_concurrent_first_use_in_fresh_process():
    """Two threads doing the very first narrow products of a fresh interpreter at once."""
    script = textwrap.dedent("""
        import threading, numpy as np
        from concurrent.futures import ThreadPoolExecutor
        from fixsim import fi, numerictype
        bar = threading.Barrier(2)
        def job(seed):
            r = np.random.default_rng(seed)
            T = numerictype(bool(seed % 2), 16 if seed % 2 else 15, seed)
            M, K, N = [(1, 65536, 1), (300, 257, 7)][seed % 2]
            ai = r.integers(T.int_min, T.int_max + 1, (M, K))
            bi = r.integers(-32768, 32768, (K, N))
            a, b = fi.from_int(ai, T), fi.from_int(bi, numerictype(True, 16, 0))
            bar.wait(timeout=60)
            c = a @ b
            return bool((np.asarray(c.int).astype(object) == ai.astype(object) @ bi.astype(object)).all())
        with ThreadPoolExecutor(2) as ex:
            res = list(ex.map(job, [0, 1]))
        print("OK" if all(res) else "MISMATCH %r" % (res,))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK"), proc.stdout + proc.stderr[-3000:]


# --------------------------------------------------------------------------------------------
# 8. fork
# --------------------------------------------------------------------------------------------


def test_fork_child_after_parent_product():
    # the parent does such products first (and in a worker thread too)
    assert _product_job(0) is None
    with ThreadPoolExecutor(max_workers=1) as ex:
        assert ex.submit(_product_job, 1).result() is None
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        results = pool.map_async(_product_job, range(100, 108)).get(timeout=120)
    errors = [r for r in results if r is not None]
    assert not errors, errors
    # the parent still works after its children are gone
    assert _product_job(2) is None


def test_fork_while_another_thread_is_multiplying():
    """A child forked while another parent thread is inside a narrow product must not inherit
    a held lock / busy thread pool: its own narrow products finish and are exact.  (Hung at
    08712f8 in 8 of 8 forks; fixed by cd68ea0 during this review.)"""
    r = np.random.default_rng(1)
    A = fi.from_int(r.integers(-32768, 32768, (200, 1000)), S16)
    B = fi.from_int(r.integers(-32768, 32768, (1000, 200)), S16)
    A @ B
    stop = threading.Event()

    def background():
        while not stop.is_set():
            A @ B

    t = threading.Thread(target=background, daemon=True)
    t.start()
    time.sleep(0.3)  # let the background thread get busy
    results = []
    try:
        ctx = multiprocessing.get_context("fork")
        for seed in range(200, 203):
            pool = ctx.Pool(1)
            try:
                results += pool.map_async(_product_job, [seed]).get(timeout=20)
            finally:
                pool.terminate()
                pool.join()
    finally:
        stop.set()
        t.join(timeout=60)
    assert results == [None, None, None]


# --------------------------------------------------------------------------------------------
# 9. just past the 16-bit boundary (other exact paths)
# --------------------------------------------------------------------------------------------


@settings(max_examples=80, **SETTINGS)
@given(shape=big_shape(), Ta=st.one_of(wide_type(), narrow_type()), Tb=wide_type(),
       ma=st.sampled_from(FILL_MODES), mb=st.sampled_from(FILL_MODES),
       swap=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_wider_operands_exact(shape, Ta, Tb, ma, mb, swap, seed):
    if swap:
        Ta, Tb = Tb, Ta
    _check_random_product(shape, Ta, Tb, ma, mb, seed)


@pytest.mark.parametrize("Ta,Tb", [
    (numerictype(False, 16, 0), numerictype(False, 16, 0)),
    (numerictype(False, 16, 3), numerictype(True, 16, -1)),
    (numerictype(True, 16, 0), numerictype(False, 16, 0)),
    (numerictype(True, 17, 0), numerictype(True, 17, 0)),
    (numerictype(True, 17, 0), numerictype(True, 16, 0)),
    (numerictype(False, 15, 0), numerictype(True, 17, 0)),
    (numerictype(True, 24, 5), numerictype(False, 23, -3)),
    (numerictype(True, 24, 0), numerictype(True, 24, 0)),
], ids=str)
@pytest.mark.parametrize("M,K,N", [(66, 1000, 33), (1, 65537, 1), (7, 513, 31), (257, 511, 1)])
def test_boundary_types_constant_extremes(Ta, Tb, M, K, N):
    eT = expected_type(Ta, Tb, K)
    for va in (int(Ta.int_min), int(Ta.int_max)):
        for vb in (int(Tb.int_min), int(Tb.int_max)):
            a = fi.from_int(np.full((M, K), va, dtype=np.int64), Ta)
            b = fi.from_int(np.full((K, N), vb, dtype=np.int64), Tb)
            check_result(a @ b, np.full((M, N), K * va * vb, dtype=object), eT,
                         f"const {va} ({Ta}) @ const {vb} ({Tb}), {(M, K, N)}")
