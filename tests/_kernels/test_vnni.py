"""The AVX-512 VNNI matrix product of 16-bit integers is exact (``fixsim._kernels._vnni``).

Each product is checked against numpy's object-dtype matmul of Python ints (exact by
construction), on shapes that cut tiles (6 rows x 32 columns) and blocks of ``k`` (256)
everywhere, and on the operands that reach the limb-sum bounds the module's proof relies on.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixsim._kernels import _vnni as kv

pytestmark = pytest.mark.skipif(
    not kv.available(), reason="this CPU (numba's target) has no AVX-512 VNNI: the kernel "
    "cannot run; fx.matmul takes float64 BLAS instead (tests/_core/test_reductions.py)")

LO, HI = -(1 << 15), (1 << 15) - 1


def exact(a, b):
    return a.astype(object) @ b.astype(object)


def test_usable_on_a_vnni_cpu():
    # the self-test at first use passes wherever the instruction exists
    assert kv.usable()


@st.composite
def operands(draw):
    m = draw(st.integers(1, 3 * kv.MR + 1))
    k = draw(st.sampled_from([1, 2, 3, kv.KC - 1, kv.KC, kv.KC + 1, 2 * kv.KC + 3])
             | st.integers(1, 600))
    n = draw(st.integers(1, 2 * kv.NR + 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["uniform", "extreme", "small"]))
    if kind == "uniform":
        a = rng.integers(LO, HI + 1, (m, k))
        b = rng.integers(LO, HI + 1, (k, n))
    elif kind == "extreme":
        a = rng.choice([LO, HI, LO + 1, -1, 0, 255, 256, -256], (m, k))
        b = rng.choice([LO, HI, LO + 255, -1, 0, 255, 256, -129], (k, n))
    else:
        a = rng.integers(-3, 4, (m, k))
        b = rng.integers(-300, 300, (k, n))
    return a.astype(np.int64), b.astype(np.int64)


@given(operands())
def test_matches_exact_product(ab):
    a, b = ab
    r = kv.matmul_s16(a, b)
    assert r.dtype == np.int64 and r.shape == (a.shape[0], b.shape[1])
    assert (r == exact(a, b)).all()


@pytest.mark.parametrize("k", [255, 256, 257, 511, 512, 513])
@pytest.mark.parametrize("av, bv", [
    (LO, HI),        # a * lo-limb = -32768 * 255 on every term: the most negative low sum
    (HI, HI),        # the most positive low sum
    (LO, LO),        # high limb -128, low 0: the largest high sum, 2**30 per block
    (LO, LO + 255),  # high limb -128, low limb 255
])
def test_limb_sums_at_their_bounds(k, av, bv):
    """A block of 256 values of k keeps both limb sums inside int32 even at the extremes;
    longer k is split into blocks (this pins the bound, KC = 256, that the proof needs)."""
    a = np.full((kv.MR + 1, k), av, dtype=np.int64)
    b = np.full((k, kv.NR + 1), bv, dtype=np.int64)
    r = kv.matmul_s16(a, b)
    assert (r == k * av * bv).all()


def test_non_contiguous_operands():
    rng = np.random.default_rng(7)
    a = rng.integers(LO, HI + 1, (40, 70))
    b = rng.integers(LO, HI + 1, (50, 70))
    assert (kv.matmul_s16(a[::2].T.T, b.T) == exact(a[::2], b.T)).all()
    assert (kv.matmul_s16(a.T[:, 3:9], a[3:9]) == exact(a.T[:, 3:9], a[3:9])).all()


def _child_product(ab):
    a, b = ab
    return kv.matmul_s16(a, b)


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="no fork start method on this platform")
def test_forked_child_after_the_thread_pool_started():
    """Regression: GNU OpenMP cannot run in a process forked after it started, and numba
    terminated such children ('fork() called from a process already using GNU OpenMP'), so
    collect(workers=N) hung once the parent had multiplied; a forked child now multiplies in
    its own thread."""
    import multiprocessing

    rng = np.random.default_rng(11)
    a = rng.integers(LO, HI + 1, (70, 300))
    b = rng.integers(LO, HI + 1, (300, 90))
    assert (kv.matmul_s16(a, b) == exact(a, b)).all()  # the pool starts here
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map_async(_child_product, [(a, b), (b.T, a.T)]).get(timeout=120)
    assert (results[0] == exact(a, b)).all()
    assert (results[1] == exact(b.T, a.T)).all()


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="no fork start method on this platform")
def test_fork_while_another_thread_multiplies():
    """Regression: the lock that keeps two threads out of the threaded kernel at once was
    inherited locked by a child forked while another thread held it, and the child's first
    product waited for it forever; the child now gets a fresh lock and its own thread."""
    import multiprocessing
    import threading

    rng = np.random.default_rng(12)
    a = rng.integers(LO, HI + 1, (64, 512))
    b = rng.integers(LO, HI + 1, (512, 64))
    stop = threading.Event()

    def background():
        while not stop.is_set():
            kv.matmul_s16(a, b)

    t = threading.Thread(target=background)
    t.start()
    try:
        ctx = multiprocessing.get_context("fork")
        for _ in range(5):
            with ctx.Pool(1) as pool:
                (r,) = pool.map_async(_child_product, [(a, b)]).get(timeout=60)
            assert (r == exact(a, b)).all()
    finally:
        stop.set()
        t.join()
