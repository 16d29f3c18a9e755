"""DSP blocks that run in double and in fixed point from one description (``fixsim.signal``).

Every block names its internal quantizations ``"<name>.<signal>"`` (for the fixed-point tool's
probes), keeps its state across calls (a signal streamed in frames gives the result of one
call), and reports the worst-case output range for an input range.

* :class:`FIR`: direct and transposed form FIR.
* :class:`SOSFilter` (alias :class:`Biquad`): cascades of second-order sections, direct form I
  and direct form II transposed.
* :class:`CICDecimator`, :class:`CICInterpolator`: CIC filters with Hogenauer register growth,
  wrap arithmetic and (decimator) Hogenauer pruning.
"""

from __future__ import annotations

from ._biquad import Biquad, SOSFilter
from ._cic import CICDecimator, CICInterpolator
from ._fir import FIR

__all__ = ["FIR", "SOSFilter", "Biquad", "CICDecimator", "CICInterpolator"]
