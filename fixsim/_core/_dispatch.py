"""numpy protocol: ``__array_ufunc__`` and ``__array_function__`` for ``fi``.

Every ufunc and every overridable numpy function is in exactly one of four sets:

* ``HANDLED``: computed exactly on stored integers (a fixsim implementation);
* ``PASSTHROUGH``: shape/indexing functions applied to the stored integers, type unchanged;
* ``CONVERTS``: documented explicit conversions to float64 real-world values;
* ``UNSUPPORTED``: raise ``TypeError`` naming the function and the way out (``a.data``).
"""

from __future__ import annotations

import numpy as np

from . import _arith
from ._fi import fi

HANDLED_UFUNCS = {
    np.add: _arith.add,
    np.subtract: _arith.subtract,
    np.multiply: _arith.multiply,
    np.true_divide: _arith.rdivide,
    np.negative: _arith.negate,
    np.positive: lambda a: a,
    np.absolute: _arith.absolute,
    np.maximum: _arith.maximum,
    np.minimum: _arith.minimum,
    np.equal: lambda a, b: _arith.compare(a, b, "eq"),
    np.not_equal: lambda a, b: _arith.compare(a, b, "ne"),
    np.less: lambda a, b: _arith.compare(a, b, "lt"),
    np.less_equal: lambda a, b: _arith.compare(a, b, "le"),
    np.greater: lambda a, b: _arith.compare(a, b, "gt"),
    np.greater_equal: lambda a, b: _arith.compare(a, b, "ge"),
}

FUNCTIONS: dict = {}


def _unsupported(name: str) -> TypeError:
    return TypeError(
        f"numpy.{name} is not supported on fi (it would compute in floating point). "
        "Convert explicitly with a.data (float64 real-world values) or a.int (stored "
        "integers) if that is what you want.")


def array_ufunc(ufunc, method, inputs, kwargs):
    """Dispatch a ufunc call with fi operands."""
    if method != "__call__" or kwargs.get("out") is not None:
        raise _unsupported(f"{ufunc.__name__}.{method}" if method != "__call__"
                           else f"{ufunc.__name__}(out=...)")
    impl = HANDLED_UFUNCS.get(ufunc)
    if impl is None:
        raise _unsupported(ufunc.__name__)
    if kwargs:
        raise TypeError(f"numpy.{ufunc.__name__}: keyword arguments {sorted(kwargs)} are not "
                        "supported on fi.")
    return impl(*inputs)


def call_function(func, args, kwargs):
    """Dispatch a numpy function call with fi arguments."""
    impl = FUNCTIONS.get(func)
    if impl is None:
        raise _unsupported(getattr(func, "__name__", str(func)))
    return impl(*args, **kwargs)


_ = fi
