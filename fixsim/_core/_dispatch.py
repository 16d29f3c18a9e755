"""numpy protocol: ``__array_ufunc__`` and ``__array_function__`` for ``fi``.

Every ufunc of numpy and every overridable numpy function is in exactly one of four sets,
named by qualified name (``'numpy.sum'``, ``'numpy.linalg.norm'``, ``'numpy.fft.fft'``; a
ufunc is ``'numpy.' + ufunc.__name__``):

* ``HANDLED``: computed exactly on stored integers by a fixsim implementation (MATLAB result
  types; see ``_arith`` and ``_reductions``);
* ``PASSTHROUGH``: shape, indexing and ordering functions applied to the stored integers; the
  type and local fimath are unchanged (values are moved, never computed);
* ``CONVERTS``: documented explicit conversions: the function runs on the float64 real-world
  values (``a.data``) and returns floats (statistics such as ``std``, ``median``,
  ``percentile``, ``histogram``; tolerances ``allclose``/``isclose``; text ``array2string``,
  ``savetxt``; ``interp``) or the requested dtype (``astype``);
* ``UNSUPPORTED``: raise ``TypeError`` naming the function and the way out (``a.data`` or
  ``a.int``).

Anything not in a table at run time (a function of a newer numpy) raises as unsupported:
nothing falls back to float silently. ``out=`` is never supported.

Decisions worth knowing:

* ``np.floor``/``np.ceil``/``np.trunc``/``np.fix`` are MATLAB's ``floor``/``ceil``/``fix``;
  ``np.rint``/``np.round``/``np.around`` (ties to even, ``decimals=0`` only) are MATLAB's
  ``convergent``. Fraction length 0; see ``_reductions._int_round`` for the word lengths.
* ``np.sign`` gives a fi of type ``sfix2`` (``ufix1`` for unsigned input); ``isfinite``,
  ``isnan``, ``isinf``, ``signbit``, ``isposinf``, ``isneginf`` give bool arrays.
* Joins (``concatenate``, ``stack``, ``*stack``, ``block``, ``append``, ``insert``,
  ``where``, ``select``, ``choose``) use the smallest type holding every input exactly.
* Comparisons by value (``isin``, ``searchsorted``, ``digitize``, the set functions) convert
  plain numbers exactly (``_reductions.exact_fi``), never by rounding them.
* ``ones_like``/``full_like`` quantize the fill value into the input's type with its fimath
  (as MATLAB's ``ones('like', a)``); ``empty_like`` gives zeros.
* ``cumprod`` is unsupported: the partial products would need types growing with every
  factor (use ``fx.prod`` over slices).
* reductions through ufunc methods: ``np.add.reduce`` (sum), ``np.multiply.reduce`` (prod),
  ``np.maximum.reduce``/``np.minimum.reduce``, ``np.logical_and/or.reduce`` and
  ``np.add.accumulate`` (cumsum); ``ufunc.outer`` for every handled binary ufunc.
"""

from __future__ import annotations

import numpy as np

from . import _arith, _probe
from . import _reductions as _r
from ._convert import as_value_array
from ._fi import fi, make_fi
from ._modes import Overflow, Rounding
from ._numerictype import numerictype
from ._quantize import as_storage, quantize_array, requantize

__all__ = ["HANDLED", "PASSTHROUGH", "CONVERTS", "UNSUPPORTED", "array_ufunc",
           "call_function", "qualified_name"]


def _names(module: str, text: str) -> frozenset[str]:
    return frozenset(f"{module}.{n}" for n in text.split())


# == the classification =========================================================================
HANDLED: frozenset[str] = (
    # ufuncs: arithmetic, comparison, predicates, MATLAB integer rounding, matrix products
    _names("numpy", """
        add subtract multiply divide negative positive absolute fabs square power conjugate
        maximum minimum fmax fmin
        equal not_equal less less_equal greater greater_equal
        logical_and logical_or logical_xor logical_not
        isfinite isnan isinf signbit sign
        floor ceil trunc rint
        matmul vecdot matvec vecmat
    """)
    # reductions and inner products (exact, MATLAB types)
    | _names("numpy", """
        sum nansum cumsum nancumsum cumulative_sum prod nanprod mean nanmean average
        dot vdot inner outer tensordot kron trace convolve correlate polymul polyadd polysub
        diff ediff1d ptp max min amax amin nanmax nanmin argmax argmin nanargmax nanargmin
        sort argsort
    """)
    | _names("numpy.linalg", "matmul vecdot outer tensordot trace multi_dot matrix_power")
    # joins and selections in the union type
    | _names("numpy", """
        concatenate stack hstack vstack dstack column_stack block append insert
        where select choose clip
    """)
    # exact comparisons by value
    | _names("numpy", """
        searchsorted digitize isin intersect1d union1d setdiff1d setxor1d
        array_equal array_equiv
    """)
    # rounding functions and trivially exact ones
    | _names("numpy", """
        round around fix zeros_like empty_like ones_like full_like imag isneginf isposinf
    """)
)

PASSTHROUGH: frozenset[str] = (
    _names("numpy", """
        reshape ravel transpose matrix_transpose squeeze expand_dims broadcast_to
        broadcast_arrays atleast_1d atleast_2d atleast_3d meshgrid
        flip fliplr flipud roll rot90 tile repeat take take_along_axis
        split array_split hsplit vsplit dsplit unstack copy moveaxis swapaxes rollaxis
        diagonal diag diagflat tril triu compress extract delete resize trim_zeros pad
        nan_to_num real real_if_close partition unique unique_values unique_all
        unique_counts unique_inverse
        shape ndim size argpartition lexsort nonzero flatnonzero argwhere count_nonzero
        all any may_share_memory shares_memory iscomplex isreal iscomplexobj isrealobj
        diag_indices_from tril_indices_from triu_indices_from
    """)
    | _names("numpy.linalg", "matrix_transpose diagonal")
    | _names("numpy.lib.stride_tricks", "sliding_window_view")
    | _names("numpy.fft", "fftshift ifftshift")
)

CONVERTS: frozenset[str] = _names("numpy", """
    histogram histogram2d histogramdd histogram_bin_edges
    percentile nanpercentile quantile nanquantile median nanmedian
    std nanstd var nanvar cov corrcoef
    allclose isclose interp
    array2string array_repr array_str savetxt astype
""")

UNSUPPORTED: frozenset[str] = (
    # ufuncs with no exact fixed-point definition here
    _names("numpy", """
        sqrt cbrt exp exp2 expm1 log log2 log10 log1p logaddexp logaddexp2
        sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh
        hypot deg2rad rad2deg degrees radians reciprocal float_power
        floor_divide remainder fmod divmod modf frexp ldexp copysign nextafter spacing
        heaviside gcd lcm isnat
        bitwise_and bitwise_or bitwise_xor invert left_shift right_shift bitwise_count
    """)
    # the string ufuncs of numpy.strings / numpy.char (a fi holds numbers, not strings)
    | _names("numpy", """
        isalnum isalpha isdecimal isdigit islower isnumeric isspace istitle isupper str_len
    """)
    # array creation through like= and conversions to ndarray
    | _names("numpy", """
        arange array asanyarray asarray ascontiguousarray asfortranarray require empty eye
        full identity ones zeros tri linspace logspace geomspace fromfunction frombuffer
        fromfile fromiter fromstring loadtxt genfromtxt
    """)
    # in-place modification (use a[index] = v), files, dtypes, dates
    | _names("numpy", """
        copyto fill_diagonal place put put_along_axis putmask save savez savez_compressed
        can_cast common_type min_scalar_type result_type
        busday_count busday_offset is_busday datetime_as_string
    """)
    # floating-point algorithms and the rest
    | _names("numpy", """
        angle apply_along_axis apply_over_axes bincount cross cumprod nancumprod
        cumulative_prod einsum einsum_path gradient i0 ix_ packbits unpackbits piecewise
        poly polyder polydiv polyfit polyint polyval roots sinc sort_complex trapezoid
        unwrap vander ravel_multi_index unravel_index
    """)
    | _names("numpy.linalg", """
        cholesky cond cross det eig eigh eigvals eigvalsh inv lstsq matrix_norm matrix_rank
        norm pinv qr slogdet solve svd svdvals tensorinv tensorsolve vector_norm
    """)
    | _names("numpy.fft", """
        fft fft2 fftn hfft ifft ifft2 ifftn ihfft irfft irfft2 irfftn rfft rfft2 rfftn
    """)
    | _names("numpy.lib.scimath", "arccos arcsin arctanh log log10 log2 logn power sqrt")
    | _names("numpy.polynomial.polynomial", "polygrid2d polyval2d")
    | _names("numpy.char", "equal greater greater_equal less less_equal not_equal")
    | _names("numpy.strings", """
        _join _rsplit _split _splitlines capitalize center decode encode expandtabs ljust
        lower mod multiply partition replace rjust rpartition swapcase title translate upper
        zfill
    """)
    | _names("numpy.lib.recfunctions", """
        append_fields apply_along_fields assign_fields_by_name drop_fields find_duplicates
        join_by merge_arrays rec_append_fields rec_drop_fields rec_join
        recursive_fill_fields rename_fields repack_fields require_fields stack_arrays
        structured_to_unstructured unstructured_to_structured
    """)
)

_WAYS_OUT = ("Convert explicitly: a.data gives the float64 real-world values, a.int the stored "
             "integers.")

#: specific advice for some unsupported functions (by qualified name or module prefix)
_HINTS = {
    "numpy.bitwise_and": "use fx.bitand", "numpy.bitwise_or": "use fx.bitor",
    "numpy.bitwise_xor": "use fx.bitxor", "numpy.invert": "use fx.bitcmp",
    "numpy.left_shift": "use fx.bitshift or fx.bitsll",
    "numpy.right_shift": "use fx.bitshift, fx.bitsra or fx.bitsrl",
    "numpy.floor_divide": "use a / b (MATLAB rdivide) or fx.divide(T, a, b), then fx.floor",
    "numpy.remainder": "no MATLAB-typed mod is implemented",
    "numpy.fmod": "no MATLAB-typed rem is implemented",
    "numpy.reciprocal": "use 1 / a or fx.divide(T, 1, a)",
    "numpy.cumprod": "the partial products would need a type growing with every factor; use "
                     "fx.prod over slices",
    "numpy.nancumprod": "see numpy.cumprod", "numpy.cumulative_prod": "see numpy.cumprod",
    "numpy.copyto": "assign with dst[...] = src (quantized into dst's type)",
    "numpy.put": "assign with a.ravel()[ind] = v, or a[index] = v",
    "numpy.place": "assign with a[mask] = v", "numpy.putmask": "assign with a[mask] = v",
    "numpy.put_along_axis": "assign with a[index] = v",
    "numpy.fill_diagonal": "assign with a[index] = v",
    "numpy.save": "np.save would store float64; save a.int and str(a.numerictype)",
    "numpy.savez": "see numpy.save", "numpy.savez_compressed": "see numpy.save",
    "numpy.einsum": "use fx.dot, fx.matmul or np.tensordot",
    "numpy.asarray": "np.asarray(a) (no like=) gives a.data",
    "numpy.linalg.": "linear algebra runs in floating point",
    "numpy.fft.": "an FFT in floating point; use a.data, or a fixed-point FFT block",
    "numpy.strings.": "string function", "numpy.char.": "string function",
    "numpy.lib.recfunctions.": "structured arrays only",
}
_TRANSCENDENTAL = _names("numpy", """
    sqrt cbrt exp exp2 expm1 log log2 log10 log1p logaddexp logaddexp2 sin cos tan arcsin
    arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh hypot
""")
_CREATION = _names("numpy", """
    arange array asanyarray ascontiguousarray asfortranarray require empty eye full identity
    ones zeros tri linspace logspace geomspace fromfunction frombuffer fromfile fromiter
    fromstring loadtxt genfromtxt
""")


def qualified_name(func) -> str:
    """``'numpy.add'`` for a ufunc, ``module.name`` for a function."""
    if isinstance(func, np.ufunc):
        return f"numpy.{func.__name__}"
    mod = getattr(func, "__module__", None) or "?"
    return f"{mod}.{getattr(func, '__name__', repr(func))}"


def _unsupported(name: str, detail: str | None = None) -> TypeError:
    hint = detail or _HINTS.get(name)
    if hint is None:
        hint = next((v for k, v in _HINTS.items() if k.endswith(".") and name.startswith(k)),
                    None)
    if hint is None and name in _TRANSCENDENTAL:
        hint = "it has no exact fixed-point result (a CORDIC or table block is the hardware way)"
    if hint is None and name in _CREATION:
        hint = "build fixed-point arrays with fi(values, T) instead of like=a"
    reason = f" ({hint})" if hint else ""
    return TypeError(f"{name} is not supported on fi{reason}; it would compute in floating "
                     f"point or lose the fixed-point type. {_WAYS_OUT}")


def _reject(name: str, **options) -> None:
    """Raise for numpy options fixsim does not implement (given and not their default)."""
    if options.get("out") is not None:
        raise TypeError(f"{name}: out= is not supported on fi; use the returned fi.")
    bad = sorted(k for k, v in options.items()
                 if k != "out" and v is not None and v is not np._NoValue)
    if bad:
        raise TypeError(f"{name}: argument(s) {', '.join(bad)} are not supported on fi. "
                        f"{_WAYS_OUT}")


def _truth(x):
    return x._int != 0 if isinstance(x, fi) else np.asarray(x)


def _copy(a: fi) -> fi:
    return make_fi(a._int.copy(), a._type, a._fimath)


def _first_fi(*xs) -> fi:
    return next(x for x in xs if isinstance(x, fi))


# == ufuncs ======================================================================================
def _power(a, b):
    if isinstance(a, fi) and not isinstance(b, fi):
        e = np.asarray(b)
        if e.ndim == 0 and e.dtype.kind in "iu" and int(e) >= 1:
            return a ** int(e)
    raise TypeError("numpy.power on fi needs a fi base and a positive integer exponent "
                    f"(repeated multiplication). {_WAYS_OUT}")


def _sign(a: fi) -> fi:
    ints = a._int
    pos = np.asarray(ints > 0, dtype=bool)
    neg = np.asarray(ints < 0, dtype=bool)
    T = numerictype(True, 2, 0) if a.signed else numerictype(False, 1, 0)
    return make_fi(pos.astype(np.int64) - neg.astype(np.int64), T, a._fimath)


def _vecdot(x1, x2, axis=-1):
    x1, x2, F, local = _r._pair_best(x1, x2, "vecdot")
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError("vecdot: operands must have at least one dimension.")
    a = np.moveaxis(x1._int, axis, -1)[..., None, :]
    b = np.moveaxis(x2._int, axis, -1)[..., :, None]
    out, R = _r._matmul_core(a, x1._type, b, x2._type, F, "vecdot")
    return make_fi(out[..., 0, 0], R, local)


def _matvec(x1, x2):
    x1, x2, F, local = _r._pair_best(x1, x2, "matvec")
    out, R = _r._matmul_core(x1._int, x1._type, x2._int[..., :, None], x2._type, F, "matvec")
    return make_fi(out[..., 0], R, local)


def _vecmat(x1, x2):
    x1, x2, F, local = _r._pair_best(x1, x2, "vecmat")
    out, R = _r._matmul_core(x1._int[..., None, :], x1._type, x2._int, x2._type, F, "vecmat")
    return make_fi(out[..., 0, :], R, local)


def _shape_of(x):
    return np.shape(x._int) if isinstance(x, fi) else np.shape(x)


_UFUNC_IMPL = {
    "numpy.add": _arith.add,
    "numpy.subtract": _arith.subtract,
    "numpy.multiply": _arith.multiply,
    "numpy.divide": _arith.rdivide,
    "numpy.negative": _arith.negate,
    "numpy.positive": _copy,
    "numpy.conjugate": _copy,
    "numpy.absolute": _arith.absolute,
    "numpy.fabs": _arith.absolute,
    "numpy.square": lambda a: _arith.multiply(a, a),
    "numpy.power": _power,
    "numpy.maximum": _arith.maximum,
    "numpy.minimum": _arith.minimum,
    "numpy.fmax": _arith.maximum,
    "numpy.fmin": _arith.minimum,
    "numpy.equal": lambda a, b: _arith.compare(a, b, "eq"),
    "numpy.not_equal": lambda a, b: _arith.compare(a, b, "ne"),
    "numpy.less": lambda a, b: _arith.compare(a, b, "lt"),
    "numpy.less_equal": lambda a, b: _arith.compare(a, b, "le"),
    "numpy.greater": lambda a, b: _arith.compare(a, b, "gt"),
    "numpy.greater_equal": lambda a, b: _arith.compare(a, b, "ge"),
    "numpy.logical_and": lambda a, b: np.logical_and(_truth(a), _truth(b)),
    "numpy.logical_or": lambda a, b: np.logical_or(_truth(a), _truth(b)),
    "numpy.logical_xor": lambda a, b: np.logical_xor(_truth(a), _truth(b)),
    "numpy.logical_not": lambda a: np.logical_not(_truth(a)),
    "numpy.isfinite": lambda a: np.ones(_shape_of(a), dtype=bool),
    "numpy.isnan": lambda a: np.zeros(_shape_of(a), dtype=bool),
    "numpy.isinf": lambda a: np.zeros(_shape_of(a), dtype=bool),
    "numpy.signbit": lambda a: np.asarray(a._int < 0, dtype=bool),
    "numpy.sign": _sign,
    "numpy.floor": _r.floor,
    "numpy.ceil": _r.ceil,
    "numpy.trunc": _r.fix,
    "numpy.rint": _r.convergent,
    "numpy.matmul": _r.matmul,
    "numpy.vecdot": _vecdot,
    "numpy.matvec": _matvec,
    "numpy.vecmat": _vecmat,
}

#: ufunc.reduce / ufunc.accumulate: (fixsim function, numpy's default axis)
_REDUCE = {
    "numpy.add": _r.sum, "numpy.multiply": _r.prod,
    "numpy.maximum": _r.max, "numpy.fmax": _r.max,
    "numpy.minimum": _r.min, "numpy.fmin": _r.min,
    "numpy.logical_and": lambda a, axis=None, keepdims=False: np.all(
        a._int != 0, axis=axis, keepdims=keepdims),
    "numpy.logical_or": lambda a, axis=None, keepdims=False: np.any(
        a._int != 0, axis=axis, keepdims=keepdims),
}
_ACCUMULATE = {"numpy.add": _r.cumsum}


_UFUNC_DEFAULTS = {"dtype": None, "signature": None, "casting": "same_kind", "order": "K",
                   "subok": True}


def _is_ufunc_default(key: str, value) -> bool:
    """Whether ufunc keyword *key* has numpy's default value (``where=True`` included)."""
    if key == "where":
        return value is True or (isinstance(value, np.bool_ | bool) and bool(value))
    return key in _UFUNC_DEFAULTS and (value is None if _UFUNC_DEFAULTS[key] is None
                                       else isinstance(value, type(_UFUNC_DEFAULTS[key]))
                                       and value == _UFUNC_DEFAULTS[key])


def array_ufunc(ufunc, method, inputs, kwargs):
    """Dispatch a ufunc call with fi operands (``fi.__array_ufunc__``)."""
    name = qualified_name(ufunc)
    out = kwargs.pop("out", None)
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise TypeError(f"{name}: out= is not supported on fi; use the returned value.")
    if method == "__call__":
        impl = _UFUNC_IMPL.get(name)
        if impl is None:
            raise _unsupported(name)
        # numpy's own defaults change nothing (regression: np.add(a, b, dtype=None) raised)
        kwargs = {k: v for k, v in kwargs.items() if not _is_ufunc_default(k, v)}
        if kwargs:
            raise TypeError(f"{name}: keyword argument(s) {sorted(kwargs)} are not supported "
                            f"on fi. {_WAYS_OUT}")
        return impl(*inputs)
    if method in ("reduce", "accumulate"):
        table = _REDUCE if method == "reduce" else _ACCUMULATE
        impl = table.get(name)
        (a,) = inputs
        if impl is None or not isinstance(a, fi):
            raise TypeError(f"{name}.{method} is not supported on fi; supported: "
                            f"{', '.join(sorted(n[6:] for n in table))}.{method}. "
                            f"{_WAYS_OUT}")
        axis = kwargs.pop("axis", 0)
        keepdims = kwargs.pop("keepdims", False)
        _reject(f"{name}.{method}", **kwargs)
        if method == "accumulate":
            if keepdims:
                raise TypeError(f"{name}.accumulate: keepdims is not valid.")
            return impl(a, axis=axis if a.ndim else None)
        return impl(a, axis=axis, keepdims=keepdims)
    if method == "outer":
        impl = _UFUNC_IMPL.get(name)
        if impl is None or ufunc.nin != 2:
            raise _unsupported(f"{name}.outer")
        if kwargs:
            raise TypeError(f"{name}.outer: keyword argument(s) {sorted(kwargs)} are not "
                            "supported on fi.")
        a, b = inputs
        nb_ = np.ndim(b._int if isinstance(b, fi) else b)
        expand = (slice(None),) * np.ndim(a._int if isinstance(a, fi) else a) + (None,) * nb_
        a = a[expand] if isinstance(a, fi) else np.asarray(a)[expand]
        return impl(a, b)
    raise TypeError(f"{name}.{method} is not supported on fi. {_WAYS_OUT}")


# == handled functions (numpy signatures -> fixsim) ==============================================
def _np_sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _reject("numpy.sum", dtype=dtype, out=out, initial=initial, where=where)
    return _r.sum(a, axis, keepdims=bool(keepdims))


def _np_cumsum(a, axis=None, dtype=None, out=None):
    _reject("numpy.cumsum", dtype=dtype, out=out)
    return _r.cumsum(a, axis)


def _np_cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    _reject("numpy.cumulative_sum", dtype=dtype, out=out)
    if axis is None:
        if x.ndim > 1:
            raise ValueError("cumulative_sum: axis must be given for arrays with more than "
                             "one dimension.")
        axis = 0
    c = _r.cumsum(x, axis)
    if include_initial:
        ax = axis % c.ndim
        shape = list(c.shape)
        shape[ax] = 1
        zero = _r._zeros(tuple(shape), c._type)
        c = make_fi(np.concatenate([zero, c._int], axis=ax), c._type, c._fimath)
    return c


def _np_prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _reject("numpy.prod", dtype=dtype, out=out, initial=initial, where=where)
    return _r.prod(a, axis, keepdims=bool(keepdims))


def _np_mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    _reject("numpy.mean", dtype=dtype, out=out, where=where)
    return _r.mean(a, axis, keepdims=bool(keepdims))


def _np_average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    if weights is not None or returned:
        raise TypeError("numpy.average on fi: weights and returned are not supported; use "
                        "fx.sum(w * a) / fx.sum(w) or fx.mean.")
    return _r.mean(a, axis, keepdims=bool(keepdims))


def _np_dot(a, b, out=None):
    _reject("numpy.dot", out=out)
    return _r.dot(a, b)


def _np_vdot(a, b, /):
    a, b, F, local = _r._pair_best(a, b, "vdot")
    if a.size != b.size:
        raise ValueError("vdot: vectors have different lengths.")
    return _r.dot(a.ravel(), b.ravel())


def _np_inner(a, b, /):
    a, b, F, local = _r._pair_best(a, b, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return _arith.multiply(a, b)
    return _r._tensordot(a, b, [-1], [-1], F, local, "inner")


def _ravel(x):
    return x.ravel() if isinstance(x, fi) else np.ravel(np.asarray(x))


def _np_outer(a, b, out=None):
    _reject("numpy.outer", out=out)
    return _arith.multiply(_ravel(a)[:, None], _ravel(b)[None, :])


def _np_linalg_outer(x1, x2, /):
    if np.ndim(x1._int if isinstance(x1, fi) else x1) != 1 or \
            np.ndim(x2._int if isinstance(x2, fi) else x2) != 1:
        raise ValueError("linalg.outer: operands must be 1-D.")
    return _np_outer(x1, x2)


def _np_tensordot(a, b, axes=2):
    a, b, F, local = _r._pair_best(a, b, "tensordot")
    if np.ndim(axes) == 0:
        n = int(axes)
        na = list(range(a.ndim - n, a.ndim))
        nb_ = list(range(n))
    else:
        xa, xb = axes
        na = list(xa) if np.iterable(xa) else [xa]
        nb_ = list(xb) if np.iterable(xb) else [xb]
    if len(na) != len(nb_):
        raise ValueError("tensordot: shape-mismatch for sum.")
    return _r._tensordot(a, b, na, nb_, F, local, "tensordot")


def _np_linalg_tensordot(x1, x2, /, *, axes=2):
    return _np_tensordot(x1, x2, axes)


def _np_multi_dot(arrays, *, out=None):
    _reject("numpy.linalg.multi_dot", out=out)
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays.")
    acc = arrays[0]
    for x in arrays[1:]:  # left to right, as MATLAB evaluates A*B*C
        acc = _r.dot(acc, x)
    return acc


def _np_matrix_power(a, n):
    n = int(n)
    if n < 1:
        raise TypeError("linalg.matrix_power on fi needs n >= 1 (the identity and the inverse "
                        f"have no natural fixed-point type). {_WAYS_OUT}")
    acc = a
    for _ in range(n - 1):
        acc = _r.matmul(acc, a)
    return acc


def _np_kron(a, b):
    F, _ = _arith.resolve_fimath((a, b), "kron")
    a = a if isinstance(a, fi) else _arith.to_fi_operand(a, b, F, "best", "kron")
    b = b if isinstance(b, fi) else _arith.to_fi_operand(b, a, F, "best", "kron")
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    ai = a.reshape(tuple(x for s in sa for x in (s, 1)))
    bi = b.reshape(tuple(x for s in sb for x in (1, s)))
    p = _arith.multiply(ai, bi)
    return p.reshape(tuple(x * y for x, y in zip(sa, sb, strict=True)))


def _trace(a, offset, axis1, axis2):
    a = _r._as_fi(a, "trace")
    d = make_fi(np.diagonal(a._int, offset, axis1, axis2), a._type, a._fimath)
    return _r.sum(d, axis=-1)


def _np_trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _reject("numpy.trace", dtype=dtype, out=out)
    return _trace(a, offset, axis1, axis2)


def _np_linalg_trace(x, /, *, offset=0, dtype=None):
    _reject("numpy.linalg.trace", dtype=dtype)
    return _trace(x, offset, -2, -1)


def _np_linalg_vecdot(x1, x2, /, *, axis=-1):
    return _vecdot(x1, x2, axis)


def _np_convolve(a, v, mode="full"):
    return _r.convolve(a, v, mode)


def _np_correlate(a, v, mode="valid"):
    return _r.correlate(a, v, mode)


def _np_polymul(a1, a2):
    return _r.convolve(a1, a2)


def _poly_pad(a1, a2, method):
    F, _ = _arith.resolve_fimath((a1, a2), method)
    a1 = a1 if isinstance(a1, fi) else _arith.to_fi_operand(a1, a2, F, "same", method)
    a2 = a2 if isinstance(a2, fi) else _arith.to_fi_operand(a2, a1, F, "same", method)
    a1, a2 = a1.ravel(), a2.ravel()
    n = max(a1.size, a2.size)

    def pad(x):
        if x.size == n:
            return x
        z = np.zeros(n - x.size, dtype=x._int.dtype)
        return make_fi(np.concatenate([z, x._int]), x._type, x._fimath)

    return pad(a1), pad(a2)


def _np_polyadd(a1, a2):
    return _arith.add(*_poly_pad(a1, a2, "polyadd"))


def _np_polysub(a1, a2):
    return _arith.subtract(*_poly_pad(a1, a2, "polysub"))


def _np_concatenate(arrays, axis=0, out=None, *, dtype=None, casting=None):
    _reject("numpy.concatenate", out=out, dtype=dtype)
    return _r.concatenate(arrays, axis)


def _np_stack(arrays, axis=0, out=None, *, dtype=None, casting=None):
    _reject("numpy.stack", out=out, dtype=dtype)
    return _r.stack(arrays, axis)


def _joined(np_func, name):
    def impl(tup, *args, dtype=None, casting=None, **kwargs):
        _reject(f"numpy.{name}", dtype=dtype)
        ints, R, local = _r._join_operands(tup, name)
        return make_fi(np_func(ints, *args, **kwargs), R, local)
    return impl


def _leaves(x, out):
    if isinstance(x, list):
        for y in x:
            _leaves(y, out)
    else:
        out.append(x)
    return out


def _rebuild(x, it):
    if isinstance(x, list):
        return [_rebuild(y, it) for y in x]
    return next(it)


def _np_block(arrays):
    leaves = _leaves(arrays, [])
    ints, R, local = _r._join_operands(leaves, "block")
    return make_fi(np.block(_rebuild(arrays, iter(ints))), R, local)


def _np_append(arr, values, axis=None):
    (ia, iv), R, local = _r._join_operands([arr, values], "append")
    return make_fi(np.append(ia, iv, axis=axis), R, local)


def _np_insert(arr, obj, values, axis=None):
    if isinstance(obj, fi):
        raise TypeError("numpy.insert: the index argument must be integers, not a fi.")
    (ia, iv), R, local = _r._join_operands([arr, values], "insert")
    return make_fi(np.insert(ia, obj, iv, axis=axis), R, local)


def _np_where(condition, *xy):
    return _r.where(condition, *xy)


def _np_select(condlist, choicelist, default=0):
    conds = [_r._cond(c) for c in condlist]
    choices = list(choicelist)
    if not any(isinstance(c, fi) for c in choices):
        return np.select(conds, choices, default)
    ints, R, local = _r._join_operands(choices + [default], "select")
    return make_fi(np.select(conds, ints[:-1], ints[-1]), R, local)


def _np_choose(a, choices, out=None, mode="raise"):
    _reject("numpy.choose", out=out)
    if isinstance(a, fi):
        raise TypeError("numpy.choose: the index array must be integers, not a fi (use .int).")
    ints, R, local = _r._join_operands(list(choices), "choose")
    return make_fi(np.choose(a, ints, mode=mode), R, local)


def _np_clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):  # noqa: A002
    _reject("numpy.clip", out=out, **kwargs)
    lo = a_min if a_min is not None and a_min is not np._NoValue else min
    hi = a_max if a_max is not None and a_max is not np._NoValue else max
    lo = None if lo is np._NoValue else lo
    hi = None if hi is np._NoValue else hi
    return _r.clip(a, lo, hi)


def _np_diff(a, n=1, axis=-1, prepend=None, append=None):
    _reject("numpy.diff", prepend=prepend, append=append)
    return _r.diff(a, n, axis)


def _np_ediff1d(ary, to_end=None, to_begin=None):
    _reject("numpy.ediff1d", to_end=to_end, to_begin=to_begin)
    return _r.diff(_r._as_fi(ary, "ediff1d").ravel())


def _minmax(f, name):
    def impl(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        _reject(name, out=out, initial=initial, where=where)
        return f(a, axis, keepdims=bool(keepdims))
    return impl


def _np_ptp(a, axis=None, out=None, keepdims=False):
    _reject("numpy.ptp", out=out)
    return _r.ptp(a, axis, keepdims=bool(keepdims))


def _argminmax(f, name):
    def impl(a, axis=None, out=None, *, keepdims=False):
        _reject(name, out=out)
        return f(a, axis, keepdims=bool(keepdims))
    return impl


def _np_sort(a, axis=-1, kind=None, order=None, *, stable=None):
    _reject("numpy.sort", order=order)
    return _r.sort(a, axis, kind=kind, stable=stable)


def _np_argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    _reject("numpy.argsort", order=order)
    return _r.argsort(a, axis, kind=kind, stable=stable)


def _np_searchsorted(a, v, side="left", sorter=None):
    (ia, iv), _ = _r.exact_union([a, v], "searchsorted")
    return np.searchsorted(ia, iv, side=side, sorter=sorter)


def _np_digitize(x, bins, right=False):
    (ix, ib), _ = _r.exact_union([x, bins], "digitize")
    if ib.ndim != 1:
        raise ValueError("digitize: bins must be 1-dimensional.")
    # compared, not subtracted (regression: np.diff wrapped in int64 for a 64-bit common
    # type, so increasing bins read as decreasing or not monotonic)
    up = bool(np.all(ib[1:] >= ib[:-1]))
    down = bool(np.all(ib[1:] <= ib[:-1]))
    side = "left" if right else "right"
    if up:
        return np.searchsorted(ib, ix, side=side)
    if down:
        return len(ib) - np.searchsorted(ib[::-1], ix, side=side)
    raise ValueError("digitize: bins must be monotonically increasing or decreasing.")


def _np_isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    (ie, it), _ = _r.exact_union([element, test_elements], "isin")
    return np.isin(ie, it, assume_unique=assume_unique, invert=invert, kind=kind)


def _set_op(np_func, name):
    def impl(ar1, ar2, *args, **kwargs):
        (i1, i2), R = _r.exact_union([ar1, ar2], name)
        F, local = _arith.resolve_fimath((ar1, ar2), name)
        res = np_func(i1, i2, *args, **kwargs)
        if isinstance(res, tuple):
            return (make_fi(res[0], R, local),) + tuple(res[1:])
        return make_fi(res, R, local)
    return impl


def _np_array_equal(a1, a2, equal_nan=False):
    s1, s2 = _shape_of(a1), _shape_of(a2)
    if s1 != s2:
        return False
    return bool(np.all(_arith.compare(a1, a2, "eq")))


def _np_array_equiv(a1, a2):
    try:
        np.broadcast_shapes(_shape_of(a1), _shape_of(a2))
    except ValueError:
        return False
    return bool(np.all(_arith.compare(a1, a2, "eq")))


def _np_round(a, decimals=0, out=None):
    _reject("numpy.round", out=out)
    if decimals != 0:
        raise TypeError("numpy.round on fi: only decimals=0 is supported (decimal digits are "
                        "not binary places); use a.cast(T) to round to a binary fraction "
                        "length.")
    return _r.convergent(a)


def _np_fix(x, out=None):
    _reject("numpy.fix", out=out)
    return _r.fix(x)


def _like_shape(a, shape):
    return a.shape if shape is None else (tuple(shape) if np.iterable(shape) else (shape,))


def _np_zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    shape = _like_shape(a, shape)
    if dtype is not None:
        return np.zeros(shape, dtype=dtype)
    return make_fi(_r._zeros(shape, a._type), a._type, a._fimath)


def _np_full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *,
                  device=None):
    if not isinstance(a, fi):
        raise TypeError("numpy.full_like: a fi fill value for a numpy array would be converted "
                        f"to float. {_WAYS_OUT}")
    shape = _like_shape(a, shape)
    if dtype is not None:
        fv = fill_value.data if isinstance(fill_value, fi) else fill_value
        return np.full(shape, fv, dtype=dtype)
    T, F = a._type, a.fimath
    if isinstance(fill_value, fi):
        ints, o, u = requantize(fill_value._int, fill_value._type, T, F.rounding, F.overflow,
                                None, "full_like")
        _probe.report(T, ints.size, o, u, "full_like")
    else:
        ints = quantize_array(as_value_array(fill_value, "full_like"), T, F.rounding,
                              F.overflow, "raise", None, "full_like", "full_like")
    out = _r._zeros(shape, T)
    out[...] = ints
    return make_fi(out, T, a._fimath)


def _np_ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return _np_full_like(a, 1, dtype=dtype, shape=shape)


def _np_imag(val):
    return make_fi(_r._zeros(val.shape, val._type), val._type, val._fimath)


def _np_isinf_side(x, out=None):
    _reject("numpy.isposinf", out=out)
    return np.zeros(_shape_of(x), dtype=bool)


_FUNC_IMPL = {
    "numpy.sum": _np_sum, "numpy.nansum": _np_sum,
    "numpy.cumsum": _np_cumsum, "numpy.nancumsum": _np_cumsum,
    "numpy.cumulative_sum": _np_cumulative_sum,
    "numpy.prod": _np_prod, "numpy.nanprod": _np_prod,
    "numpy.mean": _np_mean, "numpy.nanmean": _np_mean, "numpy.average": _np_average,
    "numpy.dot": _np_dot, "numpy.vdot": _np_vdot, "numpy.inner": _np_inner,
    "numpy.outer": _np_outer, "numpy.linalg.outer": _np_linalg_outer,
    "numpy.tensordot": _np_tensordot, "numpy.linalg.tensordot": _np_linalg_tensordot,
    "numpy.linalg.matmul": _r.matmul, "numpy.linalg.vecdot": _np_linalg_vecdot,
    "numpy.linalg.multi_dot": _np_multi_dot, "numpy.linalg.matrix_power": _np_matrix_power,
    "numpy.kron": _np_kron, "numpy.trace": _np_trace, "numpy.linalg.trace": _np_linalg_trace,
    "numpy.convolve": _np_convolve, "numpy.correlate": _np_correlate,
    "numpy.polymul": _np_polymul, "numpy.polyadd": _np_polyadd, "numpy.polysub": _np_polysub,
    "numpy.diff": _np_diff, "numpy.ediff1d": _np_ediff1d, "numpy.ptp": _np_ptp,
    "numpy.max": _minmax(_r.max, "numpy.max"), "numpy.amax": _minmax(_r.max, "numpy.amax"),
    "numpy.nanmax": _minmax(_r.max, "numpy.nanmax"),
    "numpy.min": _minmax(_r.min, "numpy.min"), "numpy.amin": _minmax(_r.min, "numpy.amin"),
    "numpy.nanmin": _minmax(_r.min, "numpy.nanmin"),
    "numpy.argmax": _argminmax(_r.argmax, "numpy.argmax"),
    "numpy.nanargmax": _argminmax(_r.argmax, "numpy.nanargmax"),
    "numpy.argmin": _argminmax(_r.argmin, "numpy.argmin"),
    "numpy.nanargmin": _argminmax(_r.argmin, "numpy.nanargmin"),
    "numpy.sort": _np_sort, "numpy.argsort": _np_argsort,
    "numpy.concatenate": _np_concatenate, "numpy.stack": _np_stack,
    "numpy.hstack": _joined(np.hstack, "hstack"), "numpy.vstack": _joined(np.vstack, "vstack"),
    "numpy.dstack": _joined(np.dstack, "dstack"),
    "numpy.column_stack": _joined(np.column_stack, "column_stack"),
    "numpy.block": _np_block, "numpy.append": _np_append, "numpy.insert": _np_insert,
    "numpy.where": _np_where, "numpy.select": _np_select, "numpy.choose": _np_choose,
    "numpy.clip": _np_clip,
    "numpy.searchsorted": _np_searchsorted, "numpy.digitize": _np_digitize,
    "numpy.isin": _np_isin,
    "numpy.intersect1d": _set_op(np.intersect1d, "intersect1d"),
    "numpy.union1d": _set_op(np.union1d, "union1d"),
    "numpy.setdiff1d": _set_op(np.setdiff1d, "setdiff1d"),
    "numpy.setxor1d": _set_op(np.setxor1d, "setxor1d"),
    "numpy.array_equal": _np_array_equal, "numpy.array_equiv": _np_array_equiv,
    "numpy.round": _np_round, "numpy.around": _np_round, "numpy.fix": _np_fix,
    "numpy.zeros_like": _np_zeros_like, "numpy.empty_like": _np_zeros_like,
    "numpy.ones_like": _np_ones_like, "numpy.full_like": _np_full_like,
    "numpy.imag": _np_imag, "numpy.isposinf": _np_isinf_side, "numpy.isneginf": _np_isinf_side,
}


# == passthrough =================================================================================
# spec: (positions of the data arguments, how to wrap the result)
#   'same'   the result array holds stored integers of the (single) data argument's type
#   'seq'    a list/tuple of such arrays
#   'first'  an array, or a tuple whose first item is such an array (np.unique)
#   'values' a named tuple whose ``values`` field is such an array (np.unique_all ...)
#   'each'   every positional argument is data with its own type; one result per argument
#   'raw'    the result is not made of values (indices, shapes, booleans): returned as is
_SAME = """
    reshape ravel transpose matrix_transpose squeeze expand_dims broadcast_to flip fliplr
    flipud roll rot90 tile repeat take take_along_axis copy moveaxis swapaxes rollaxis
    diagonal diag diagflat tril triu delete resize trim_zeros pad nan_to_num real
    real_if_close partition
"""
_PASSTHROUGH_SPEC: dict[str, tuple[tuple[int, ...], str]] = {
    **{n: ((0,), "same") for n in _names("numpy", _SAME)},
    "numpy.compress": ((1,), "same"), "numpy.extract": ((1,), "same"),
    "numpy.linalg.matrix_transpose": ((0,), "same"), "numpy.linalg.diagonal": ((0,), "same"),
    "numpy.lib.stride_tricks.sliding_window_view": ((0,), "same"),
    "numpy.fft.fftshift": ((0,), "same"), "numpy.fft.ifftshift": ((0,), "same"),
    **{n: ((0,), "seq") for n in _names("numpy", "split array_split hsplit vsplit dsplit "
                                                 "unstack")},
    "numpy.unique": ((0,), "first"), "numpy.unique_values": ((0,), "same"),
    **{n: ((0,), "values") for n in _names("numpy", "unique_all unique_counts "
                                                    "unique_inverse")},
    **{n: ((), "each") for n in _names("numpy", "broadcast_arrays atleast_1d atleast_2d "
                                                "atleast_3d meshgrid")},
    **{n: ((0,), "raw") for n in _names("numpy", """
        shape ndim size argpartition lexsort nonzero flatnonzero argwhere count_nonzero all any
        iscomplex isreal iscomplexobj isrealobj diag_indices_from tril_indices_from
        triu_indices_from
    """)},
    "numpy.may_share_memory": ((0, 1), "raw"), "numpy.shares_memory": ((0, 1), "raw"),
}

_PAD_MODES = ("constant", "edge", "wrap", "reflect", "symmetric", "maximum", "minimum")


def _check_pad(args, kwargs):
    mode = args[2] if len(args) > 2 else kwargs.get("mode", "constant")
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise TypeError(f"numpy.pad on fi: mode={mode!r} would compute new values; valid "
                        f"modes: {', '.join(_PAD_MODES)}. {_WAYS_OUT}")
    if mode == "constant" and np.any(np.asarray(kwargs.get("constant_values", 0)) != 0):
        raise TypeError("numpy.pad on fi: only constant_values=0 is supported; concatenate a "
                        "fi of the padding value instead (fx.concatenate).")
    if kwargs.get("reflect_type", "even") != "even":
        raise TypeError("numpy.pad on fi: reflect_type='odd' computes new values; use 'even'.")


_CHECKS = {"numpy.pad": _check_pad}


def _strip(x, name, allowed: bool):
    """Replace fi by stored integers (one level into lists/tuples); returns (value, fis)."""
    if isinstance(x, fi):
        if not allowed:
            raise TypeError(f"{name}: a fi is only supported as the array argument; pass .int "
                            "for indices, counts or shapes.")
        return x._int, [x]
    if isinstance(x, list | tuple) and any(isinstance(y, fi) for y in x):
        if not allowed:
            raise TypeError(f"{name}: a fi is only supported as the array argument.")
        return type(x)(y._int if isinstance(y, fi) else y for y in x), \
            [y for y in x if isinstance(y, fi)]
    return x, []


def _wrap(res, src: fi, name: str):
    dt = src._int.dtype
    if isinstance(res, np.ndarray) and res.dtype != dt:
        raise TypeError(f"{name}: unexpected result dtype {res.dtype} (internal error).")
    if dt.kind == "O" and name in _FILLS:
        # new elements from numpy (pad's zeros) are numpy ints: Python ints, as every
        # element of a wide fi (regression: arithmetic on a padded wide fi overflowed)
        return make_fi(as_storage(np.asarray(res, dtype=object), src._type), src._type,
                       src._fimath)
    return make_fi(_r._as_dtype(res, dt), src._type, src._fimath)


#: passthrough functions that add elements of their own (not moved from the input)
_FILLS = frozenset({"numpy.pad"})


def _make_passthrough(name: str, positions: tuple[int, ...], kind: str):
    check = _CHECKS.get(name)

    def impl(func, args, kwargs):
        if "out" in kwargs and kwargs["out"] is not None:
            raise TypeError(f"{name}: out= is not supported on fi; use the returned value.")
        if check is not None:
            check(args, kwargs)
        if kind == "each":
            srcs = list(args)
            new = [a._int if isinstance(a, fi) else a for a in args]
            for k, v in kwargs.items():
                if isinstance(v, fi):
                    raise TypeError(f"{name}: {k}= must not be a fi.")
            res = func(*new, **kwargs)
            if isinstance(res, list | tuple):
                out = [_wrap(r, s, name) if isinstance(s, fi) else r
                       for r, s in zip(res, srcs, strict=True)]
                return type(res)(out) if isinstance(res, tuple) else out
            return _wrap(res, srcs[0], name) if isinstance(srcs[0], fi) else res
        new = list(args)
        found: list[fi] = []
        for i, v in enumerate(new):
            new[i], fis = _strip(v, name, i in positions)
            found += fis
        kw = {}
        for k, v in kwargs.items():
            kw[k], fis = _strip(v, name, False)
        if not found:
            raise TypeError(f"{name}: a fi is only supported as the array argument; pass .int "
                            "for indices, counts or shapes.")
        res = func(*new, **kw)
        if kind == "raw":
            return res
        src = found[0]
        if kind == "same":
            return _wrap(res, src, name)
        if kind == "seq":
            out = [_wrap(r, src, name) for r in res]
            return tuple(out) if isinstance(res, tuple) else out
        if kind == "first":
            if isinstance(res, tuple):
                return (_wrap(res[0], src, name),) + tuple(res[1:])
            return _wrap(res, src, name)
        return res._replace(values=_wrap(res.values, src, name))  # 'values'

    return impl


# == converts ====================================================================================
def _to_data(x):
    if isinstance(x, fi):
        return x.data if x.ndim else np.asarray(x.data)
    if isinstance(x, list | tuple) and any(isinstance(y, fi) for y in x):
        return type(x)(_to_data(y) for y in x)
    return x


def _converts(func, args, kwargs):
    return func(*[_to_data(a) for a in args], **{k: _to_data(v) for k, v in kwargs.items()})


def as_integer_dtype(x: fi, dt: np.dtype) -> np.ndarray:
    """*x* as an integer (or bool) numpy array: MATLAB's ``int8(a)`` etc. (round to nearest,
    ties away from zero, saturate; exact); bool is ``a != 0``."""
    if dt.kind == "b":
        return np.asarray(x._int != 0, dtype=bool)
    T = numerictype(dt.kind == "i", dt.itemsize * 8, 0)
    ints, _, _ = requantize(x._int, x._type, T, Rounding.ROUND, Overflow.SATURATE, None,
                            "astype")
    return np.asarray(ints).astype(dt)


def _np_astype(func, args, kwargs):
    """``np.astype(a, dtype)``: floats from the real-world values; integers as MATLAB's
    ``int8(a)`` etc. (round to nearest, ties away from zero, saturate; exact); bool is
    ``a != 0``; object gives exact Fractions."""
    x, dtype, *rest = args
    kwargs = dict(kwargs)
    if not isinstance(x, fi):
        return _converts(func, args, kwargs)
    dt = np.dtype(dtype)
    if dt.kind in "fc":
        return np.asarray(x.data).astype(dt)
    if dt.kind in "iub":
        return as_integer_dtype(x, dt)
    if dt.kind == "O":
        return np.asarray(x.exact(), dtype=object)
    raise TypeError(f"numpy.astype on fi: dtype {dt} is not supported. {_WAYS_OUT}")


# == the tables ==================================================================================
def _wrap_call(f):
    return lambda func, args, kwargs: f(*args, **kwargs)


def _unsupported_impl(name):
    def impl(func, args, kwargs):
        raise _unsupported(name)
    return impl


def _build_table() -> dict:
    sets = {"HANDLED": HANDLED, "PASSTHROUGH": PASSTHROUGH, "CONVERTS": CONVERTS,
            "UNSUPPORTED": UNSUPPORTED}
    seen: dict[str, str] = {}
    for label, names in sets.items():
        for n in names:
            if n in seen:
                raise RuntimeError(f"fixsim._dispatch: {n} is in both {seen[n]} and {label}")
            seen[n] = label
    impls = {**_UFUNC_IMPL, **_FUNC_IMPL}
    table = {}
    for n in HANDLED:
        table[n] = _wrap_call(impls[n])
    for n in PASSTHROUGH:
        positions, kind = _PASSTHROUGH_SPEC[n]
        table[n] = _make_passthrough(n, positions, kind)
    for n in CONVERTS:
        table[n] = _np_astype if n == "numpy.astype" else _converts
    for n in UNSUPPORTED:
        table[n] = _unsupported_impl(n)
    extra = (set(impls) - HANDLED) | (set(_PASSTHROUGH_SPEC) - PASSTHROUGH)
    if extra:
        raise RuntimeError(f"fixsim._dispatch: implementations without a set: {sorted(extra)}")
    return table


#: qualified name -> implementation ``impl(func, args, kwargs)``
FUNCTIONS: dict = _build_table()
_BY_OBJECT: dict = {}


def call_function(func, args, kwargs):
    """Dispatch a numpy function call with fi arguments (``fi.__array_function__``).

    Also called directly for ufuncs (``fi.__matmul__`` passes ``np.matmul``).
    """
    impl = _BY_OBJECT.get(func)
    if impl is None:
        name = qualified_name(func)
        impl = FUNCTIONS.get(name)
        if impl is None:
            raise _unsupported(name, "not classified by fixsim for this numpy version")
        try:
            _BY_OBJECT[func] = impl
        except TypeError:  # pragma: no cover - unhashable callables
            pass
    return impl(func, args, kwargs)
