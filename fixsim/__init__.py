"""fixsim: bit-accurate fixed-point simulation for Python (numpy + numba).

The public namespace::

    from fixsim import fi, numerictype, fimath
    import fixsim as fx
"""

from __future__ import annotations

from . import testing, tool
from ._core import _bitops, _interop, _reductions
from ._core._arith import divide
from ._core._bitops import *  # noqa: F403  (bit operations: bitand, bitshift, ...)
from ._core._fi import fi
from ._core._fimath import current_fimath, fimath
from ._core._modes import Overflow, Rounding
from ._core._numerictype import numerictype
from ._core._probe import count_quantization
from ._core._quantize import set_stochastic_seed
from ._core._reductions import *  # noqa: F403  (sum, cumsum, prod, mean, dot, ...)
from ._core._typetable import TypeTable

fi.from_fxp = staticmethod(_interop.from_fxp)
fi.to_fxp = _interop.to_fxp  # a.to_fxp() and fi.to_fxp(a)

__version__ = "0.1.0"


def __getattr__(name: str):
    # fixsim.signal pulls in scipy.signal (about a second): import it on first use
    if name == "signal":
        import importlib

        return importlib.import_module(".signal", __name__)
    if name == "nn":  # fixsim.nn: networks (imports onnx only when a model is loaded)
        import importlib

        return importlib.import_module(".nn", __name__)
    if name == "report":  # fixsim.report: reports and hardware type exports
        import importlib

        return importlib.import_module(".report", __name__)
    raise AttributeError(f"module 'fixsim' has no attribute {name!r}")

__all__ = [
    "fi", "numerictype", "fimath", "Rounding", "Overflow", "current_fimath", "divide",
    "count_quantization", "set_stochastic_seed", "testing", "TypeTable", "tool",
    "__version__",
    *_bitops.__all__, *_reductions.__all__,
]
