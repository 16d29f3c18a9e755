"""The numpy protocol: every ufunc and overridable function classified exactly once, and each
class behaves as documented."""

import importlib

import numpy as np
import pytest
from numpy.testing.overrides import get_overridable_numpy_array_functions

import fixsim as fx
from fixsim import fi, fimath, numerictype
from fixsim._core import _dispatch
from fixsim.testing import assert_fi_identical

# modules whose functions register with __array_function__ only once imported
for _mod in ("numpy.fft", "numpy.linalg", "numpy.strings", "numpy.char", "numpy.polynomial",
             "numpy.lib.recfunctions", "numpy.lib.scimath", "numpy.lib.stride_tricks"):
    try:
        importlib.import_module(_mod)
    except ImportError:  # pragma: no cover - older numpy
        pass

SETS = {"HANDLED": _dispatch.HANDLED, "PASSTHROUGH": _dispatch.PASSTHROUGH,
        "CONVERTS": _dispatch.CONVERTS, "UNSUPPORTED": _dispatch.UNSUPPORTED}


def overridable():
    return sorted(get_overridable_numpy_array_functions(), key=_dispatch.qualified_name)


def all_ufuncs():
    """The ufuncs of numpy's root namespace and of numpy.strings / numpy.char (the string
    ufuncs, classified since the s12 numpy review found them in no set)."""
    spaces = [np] + [getattr(np, m) for m in ("strings", "char") if hasattr(np, m)]
    return sorted({getattr(ns, n) for ns in spaces for n in dir(ns)
                   if isinstance(getattr(ns, n), np.ufunc)}, key=lambda u: u.__name__)


def running_names():
    return ({_dispatch.qualified_name(f) for f in overridable()}
            | {_dispatch.qualified_name(u) for u in all_ufuncs()})


# -- classification ---------------------------------------------------------------------------
def test_sets_are_disjoint():
    labels = list(SETS)
    for i, x in enumerate(labels):
        for y in labels[i + 1:]:
            assert not (SETS[x] & SETS[y]), (x, y, sorted(SETS[x] & SETS[y]))


@pytest.mark.parametrize("func", overridable(), ids=_dispatch.qualified_name)
def test_every_overridable_function_is_classified_once(func):
    name = _dispatch.qualified_name(func)
    assert sum(name in s for s in SETS.values()) == 1, name


@pytest.mark.parametrize("ufunc", all_ufuncs(), ids=lambda u: u.__name__)
def test_every_ufunc_is_classified_once(ufunc):
    name = _dispatch.qualified_name(ufunc)
    assert sum(name in s for s in SETS.values()) == 1, name


def test_no_stale_names():
    """Names classified but absent from this numpy (typos, or functions numpy removed)."""
    if np.lib.NumpyVersion(np.__version__) < "2.3.0":
        pytest.skip("older numpy lacks some classified functions")
    assert sorted(set().union(*SETS.values()) - running_names()) == []


def test_tables_follow_the_sets():
    everything = set().union(*SETS.values())
    assert set(_dispatch.FUNCTIONS) == everything
    print({k: len(v) for k, v in SETS.items()})


def test_unclassified_function_raises():
    def made_up(a):
        return a

    made_up.__module__ = "numpy"
    with pytest.raises(TypeError, match="a.data"):
        _dispatch.call_function(made_up, (fi(1.0),), {})


# -- UNSUPPORTED ------------------------------------------------------------------------------
A = fi([[0.5, -0.25], [1.75, 3.0]], 1, 12, 8)


@pytest.mark.parametrize(
    "func", [f for f in overridable() if _dispatch.qualified_name(f) in _dispatch.UNSUPPORTED]
    + [u for u in all_ufuncs() if _dispatch.qualified_name(u) in _dispatch.UNSUPPORTED],
    ids=_dispatch.qualified_name)
def test_unsupported_raise_typeerror_with_way_out(func):
    name = _dispatch.qualified_name(func)
    with pytest.raises(TypeError, match="a.data") as exc:
        _dispatch.call_function(func, (A,), {})
    assert name in str(exc.value)


@pytest.mark.parametrize("call", [
    lambda: np.sqrt(A), lambda: np.exp(A), lambda: np.linalg.inv(A), lambda: np.fft.fft(A),
    lambda: np.zeros(3, like=A), lambda: np.cumprod(A), lambda: np.bitwise_and(A, A),
    lambda: np.floor_divide(A, A), lambda: np.einsum("ij->i", A), lambda: np.sin(A),
    lambda: np.linalg.norm(A), lambda: np.gradient(A), lambda: np.save("x.npy", A),
])
def test_unsupported_through_numpy(call):
    with pytest.raises(TypeError, match="a.data"):
        call()


def test_out_and_ufunc_options_are_rejected():
    with pytest.raises(TypeError, match="out="):
        np.add(A, A, out=np.empty((2, 2)))
    with pytest.raises(TypeError, match="out="):
        np.sum(A, out=np.empty(()))
    with pytest.raises(TypeError):
        np.add(A, A, where=False)  # (where=True, numpy's default, is accepted)
    with pytest.raises(TypeError, match="reduce"):
        np.subtract.reduce(A)
    with pytest.raises(TypeError):
        np.multiply.accumulate(A)
    with pytest.raises(TypeError):
        np.add.reduceat(A, [0])


# -- PASSTHROUGH ------------------------------------------------------------------------------
B = fi.from_int(np.arange(-12, 12).reshape(2, 3, 4), numerictype(True, 70, 3),
                fimath(rounding="floor"))  # object storage, local fimath


@pytest.mark.parametrize("x", [A, B], ids=["int64", "object"])
@pytest.mark.parametrize("call", [
    lambda x: np.reshape(x, (-1,)), lambda x: np.ravel(x), lambda x: np.transpose(x),
    lambda x: np.squeeze(x[:1]), lambda x: np.expand_dims(x, 0),
    lambda x: np.broadcast_to(x, (2,) + x.shape), lambda x: np.flip(x),
    lambda x: np.fliplr(x), lambda x: np.flipud(x), lambda x: np.roll(x, 1),
    lambda x: np.rot90(x), lambda x: np.tile(x, 2), lambda x: np.repeat(x, 2),
    lambda x: np.take(x, [0, 1]), lambda x: np.take(x, 0), lambda x: np.copy(x),
    lambda x: np.moveaxis(x, 0, -1), lambda x: np.swapaxes(x, 0, 1),
    lambda x: np.diagonal(x), lambda x: np.tril(x), lambda x: np.triu(x),
    lambda x: np.diag(x.ravel()[:3]), lambda x: np.delete(x, 0, axis=0),
    lambda x: np.resize(x, (5,)), lambda x: np.pad(x, 1), lambda x: np.pad(x, 1, "edge"),
    lambda x: np.atleast_3d(x), lambda x: np.partition(x.ravel(), 1),
    lambda x: np.unique(x), lambda x: np.fft.fftshift(x), lambda x: np.matrix_transpose(x),
    lambda x: np.lib.stride_tricks.sliding_window_view(x.ravel(), 2),
    lambda x: np.compress([True, False], x, axis=0), lambda x: np.real(x),
])
def test_passthrough_keeps_type_and_stored_integers(x, call):
    r = call(x)
    assert isinstance(r, fi)
    assert r.numerictype == x.numerictype
    assert r.local_fimath == x.local_fimath
    expected = call(np.asarray(x.int, dtype=object))
    assert r.shape == np.shape(expected)
    assert [int(v) for v in np.ravel(r.int)] == [int(v) for v in np.ravel(expected)]


def test_passthrough_sequences_and_raw_results():
    parts = np.split(A, 2)
    assert all(isinstance(p, fi) and p.numerictype == A.numerictype for p in parts)
    u = np.unique_counts(B)
    assert isinstance(u.values, fi) and list(u.counts) == [1] * 24
    vals, idx = np.unique(A, return_index=True)
    assert isinstance(vals, fi) and list(idx) == [1, 0, 2, 3]
    assert np.shape(A) == (2, 2) and np.ndim(B) == 3 and np.size(B) == 24
    assert np.count_nonzero(B) == 23 and np.any(A) and not np.all(B)
    assert np.argwhere(A < 0).tolist() == [[0, 1]]
    assert list(np.flatnonzero(A)) == [0, 1, 2, 3]
    x, y = np.broadcast_arrays(A, fi([1.0, 2.0], 0, 4, 1))
    assert x.numerictype == A.numerictype and y.numerictype == numerictype(False, 4, 1)
    assert y.shape == (2, 2)
    gx, gy = np.meshgrid(A[0], fi([1, 2, 3], 0, 4, 0))
    assert gx.shape == (3, 2) and gy.numerictype == numerictype(False, 4, 0)
    assert np.lexsort([A[:, 0], A[:, 1]]).tolist() == [0, 1]
    assert not np.iscomplexobj(A) and np.isrealobj(A)


def test_passthrough_rejects_fi_indices_and_value_computing_pads():
    with pytest.raises(TypeError, match=".int"):
        np.take(A, fi([0, 1], 0, 4, 0))
    with pytest.raises(TypeError):
        np.pad(A, 1, mode="mean")
    with pytest.raises(TypeError):
        np.pad(A, 1, constant_values=1)
    with pytest.raises(TypeError):
        np.pad(A, 1, mode="reflect", reflect_type="odd")


# -- CONVERTS ---------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    np.std, np.var, np.median, np.nanmedian, lambda x: np.percentile(x, 30),
    lambda x: np.quantile(x, 0.3), lambda x: np.histogram(x)[1], np.cov,
    lambda x: np.interp(0.1, [0, 1], x[0]), lambda x: np.isclose(x, 0.5),
])
def test_converts_compute_on_real_world_values(call):
    r = call(A)
    assert not isinstance(r, fi)
    expected = call(A.data)
    assert np.asarray(r).dtype.kind in "fb"
    np.testing.assert_array_equal(r, expected)


def test_converts_text_and_astype(tmp_path):
    assert np.array2string(A) == np.array2string(A.data)
    assert np.array_repr(A) == np.array_repr(A.data)
    assert np.allclose(A, A.data)
    np.savetxt(tmp_path / "a.txt", A)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "a.txt"), A.data)
    assert np.astype(A, np.float64).tolist() == A.data.tolist()
    # integer dtypes as MATLAB int8(a): nearest, ties away from zero, saturating
    x = fi([-2.5, -0.5, 0.5, 1.5, 300.0], 1, 16, 6)
    assert np.astype(x, np.int8).tolist() == [-3, -1, 1, 2, 127]
    assert np.astype(x, np.uint8).tolist() == [0, 0, 1, 2, 255]
    assert np.astype(x, bool).tolist() == [True] * 5


# -- HANDLED ----------------------------------------------------------------------------------
def test_handled_ufuncs_arithmetic_and_comparisons():
    assert_fi_identical(np.add(A, A), A + A)
    assert_fi_identical(np.multiply(A, 2.0), A * 2.0)
    assert_fi_identical(np.negative(A), -A)
    assert_fi_identical(np.abs(A), abs(A))
    assert_fi_identical(np.square(A), A * A)
    assert_fi_identical(np.power(A, 3), A * A * A)
    assert_fi_identical(np.positive(A), A)
    for uf in (np.equal, np.less, np.greater_equal, np.not_equal):
        r = uf(A, 0.5)
        assert isinstance(r, np.ndarray) and r.dtype == bool
        np.testing.assert_array_equal(r, uf(A.data, 0.5))
    assert np.isfinite(A).all() and not np.isnan(A).any() and not np.isinf(B).any()
    np.testing.assert_array_equal(np.signbit(A), A.data < 0)
    s = np.sign(A)
    assert s.numerictype == numerictype(True, 2, 0) and s.data.tolist() == [[1, -1], [1, 1]]
    assert np.sign(fi([0, 2], 0, 4, 0)).numerictype == numerictype(False, 1, 0)
    np.testing.assert_array_equal(np.logical_and(A, [[1, 0], [0, 1]]),
                                  [[True, False], [False, True]])
    np.testing.assert_array_equal(np.logical_not(fi([0, 1], 0, 2, 0)), [True, False])


def test_handled_integer_rounding_ufuncs():
    a = fi([-2.5, -1.75, 1.25, 2.5, 15.875], 1, 9, 3)
    assert np.floor(a).numerictype == numerictype(True, 6, 0)
    assert np.floor(a).data.tolist() == [-3, -2, 1, 2, 15]
    assert np.ceil(a).numerictype == numerictype(True, 7, 0)
    assert np.ceil(a).data.tolist() == [-2, -1, 2, 3, 16]
    assert np.trunc(a).data.tolist() == [-2, -1, 1, 2, 15]
    assert_fi_identical(np.fix(a), np.trunc(a))
    assert np.rint(a).data.tolist() == [-2, -2, 1, 2, 16]  # ties to even
    assert_fi_identical(np.round(a), np.rint(a))
    assert_fi_identical(np.around(a), np.rint(a))
    with pytest.raises(TypeError):
        np.round(a, 2)


def test_handled_reductions_match_fixsim():
    assert_fi_identical(np.sum(B, axis=1), fx.sum(B, axis=1))
    assert_fi_identical(np.sum(B, 0, keepdims=True), fx.sum(B, 0, keepdims=True))
    assert_fi_identical(np.add.reduce(B), fx.sum(B, axis=0))
    assert_fi_identical(np.add.reduce(B, axis=None), fx.sum(B))
    assert_fi_identical(np.add.accumulate(A), fx.cumsum(A, axis=0))
    assert_fi_identical(np.multiply.reduce(A, axis=1), fx.prod(A, axis=1))
    assert_fi_identical(np.maximum.reduce(A), fx.max(A, axis=0))
    assert_fi_identical(np.cumsum(A), fx.cumsum(A))
    assert_fi_identical(np.cumulative_sum(A, axis=1), fx.cumsum(A, axis=1))
    c = np.cumulative_sum(A[0], include_initial=True)
    assert c.data.tolist() == [0, 0.5, 0.25]
    assert_fi_identical(np.prod(A), fx.prod(A))
    assert_fi_identical(np.mean(A, axis=0), fx.mean(A, axis=0))
    assert_fi_identical(np.average(A), fx.mean(A))
    assert_fi_identical(np.nansum(A), fx.sum(A))
    assert_fi_identical(np.max(B), fx.max(B))
    assert_fi_identical(np.amin(B, axis=2), fx.min(B, axis=2))
    assert np.argmax(B) == 23 and np.argmin(A) == 1
    assert_fi_identical(np.sort(A, axis=None), fx.sort(A, axis=None))
    assert np.argsort(A.ravel()).tolist() == [1, 0, 2, 3]
    assert_fi_identical(np.diff(A), fx.diff(A))
    assert_fi_identical(np.ptp(A), fx.ptp(A))
    assert_fi_identical(np.trace(A), fx.sum(fi.from_int([A.int[0, 0], A.int[1, 1]],
                                                        A.numerictype)))


def test_handled_products():
    v = fi([0.5, -1.25, 2.0], 1, 10, 4)
    assert_fi_identical(np.dot(A, A), fx.dot(A, A))
    assert_fi_identical(A @ A, fx.matmul(A, A))
    assert_fi_identical(np.matmul(A, A), fx.matmul(A, A))
    assert_fi_identical(np.linalg.matmul(A, A), fx.matmul(A, A))
    assert_fi_identical(np.vdot(v, v), fx.dot(v, v))
    assert_fi_identical(np.inner(v, v), fx.dot(v, v))
    assert_fi_identical(np.vecdot(v, v), fx.dot(v, v))
    assert_fi_identical(np.linalg.vecdot(v, v), fx.dot(v, v))
    assert_fi_identical(np.tensordot(A, A, 1), fx.dot(A, A))
    T3 = fi.from_int(np.arange(24).reshape(2, 3, 4) - 12, numerictype(True, 8, 2))
    for axes in (1, (2, 0), ([2], [0]), ([1, 2], [1, 0]), 0):
        r = np.tensordot(T3, T3[0].T, axes)
        e = np.tensordot(np.asarray(T3.int), np.asarray(T3[0].T.int), axes)
        assert r.shape == e.shape and np.array_equal(np.asarray(r.int), e)
    assert_fi_identical(np.linalg.multi_dot([A, A, A]), fx.dot(fx.dot(A, A), A))
    assert_fi_identical(np.linalg.matrix_power(A, 2), fx.matmul(A, A))
    o = np.outer(v, v)
    assert o.shape == (3, 3) and o.data.tolist() == np.outer(v.data, v.data).tolist()
    k = np.kron(A, A)
    assert k.data.tolist() == np.kron(A.data, A.data).tolist()
    assert_fi_identical(np.convolve(v, v), fx.convolve(v, v))
    assert_fi_identical(np.correlate(v, v, "full"), fx.correlate(v, v, "full"))
    assert_fi_identical(np.polymul(v, v), fx.convolve(v, v))
    assert np.polyadd(v, v[:2]).data.tolist() == [0.5, -0.75, 0.75]
    mv = np.matvec(A, v[:2])
    assert mv.data.tolist() == (A.data @ v.data[:2]).tolist()


def test_handled_joins_and_selection():
    C = fi([[1, 2]], 0, 4, 0)
    j = np.concatenate([A, C])
    assert j.numerictype == numerictype(True, 13, 8)
    assert j.data.tolist() == A.data.tolist() + [[1, 2]]
    for f in (np.vstack, np.hstack, np.column_stack, np.dstack):
        r = f([A, A])
        assert r.numerictype == A.numerictype and r.data.tolist() == f([A.data, A.data]).tolist()
    assert np.stack([A, A]).shape == (2, 2, 2)
    assert np.block([[A, A], [A, A]]).data.tolist() == np.block([[A.data] * 2] * 2).tolist()
    assert np.append(A, C).data.tolist() == [0.5, -0.25, 1.75, 3, 1, 2]
    assert np.insert(A.ravel(), 1, C.ravel()).data.tolist() == [0.5, 1, 2, -0.25, 1.75, 3]
    w = np.where(A > 0, A, C)
    assert w.data.tolist() == [[0.5, 2], [1.75, 3]]
    assert [x.tolist() for x in np.where(A < 0)] == [[0], [1]]
    s = np.select([A > 1, A < 0], [A, C], default=0)
    assert s.data.tolist() == [[0, 2], [1.75, 3]]
    assert np.choose([1, 0], [A[0], C[0]]).data.tolist() == [1, -0.25]
    c = np.clip(A, 0.3, 1.1)
    assert c.numerictype == A.numerictype and c.data.tolist() == [[0.5, 0.30078125],
                                                                  [1.09765625, 1.09765625]]
    assert np.clip(A, max=1).data.tolist() == [[0.5, -0.25], [1, 1]]


def test_handled_exact_value_comparisons():
    a = fi([0.25, 0.5, 0.75, 1.0], 0, 8, 6)
    # 0.3 lies between grid points: exact comparison, not a rounded one
    assert np.searchsorted(a, 0.3) == 1 and np.searchsorted(a, 0.5, side="right") == 2
    assert np.searchsorted(a, [0.25, 2.0]).tolist() == [0, 4]
    assert np.digitize(0.6, a) == 2 and np.digitize(fi(0.5, 0, 4, 2), a, right=True) == 1
    assert np.isin(a, [0.5, 0.3, 1]).tolist() == [False, True, False, True]
    assert np.isin(fi([0.296875], 0, 8, 6), [0.3]).tolist() == [False]
    assert np.intersect1d(a, fi([0.5, 3.0], 0, 4, 1)).data.tolist() == [0.5]
    assert np.union1d(a, [2]).data.tolist() == [0.25, 0.5, 0.75, 1.0, 2.0]
    assert np.setdiff1d(a, [0.5]).data.tolist() == [0.25, 0.75, 1.0]
    assert np.array_equal(a, [0.25, 0.5, 0.75, 1.0])
    assert not np.array_equal(a, [0.25, 0.5, 0.75, 1.0000001])
    assert np.array_equiv(fi([1, 1], 0, 2, 0), 1)
    with pytest.raises(ValueError):
        np.isin(a, [np.nan])


def test_handled_like_functions():
    z = np.zeros_like(A)
    assert z.numerictype == A.numerictype and not z.data.any()
    assert_fi_identical(np.empty_like(A), z)
    o = np.ones_like(fi([0.5], 1, 8, 7))
    assert o.data.tolist() == [127 / 128]  # 1 saturates into s8,7 (MATLAB ones('like'))
    f = np.full_like(A, 0.1)
    assert f.numerictype == A.numerictype and f.data.tolist() == [[26 / 256] * 2] * 2
    assert np.zeros_like(A, dtype=float).dtype == np.float64
    assert_fi_identical(np.imag(A), z)
    assert not np.isposinf(A).any() and not np.isneginf(A).any()
