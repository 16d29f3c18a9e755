"""DSP blocks that run in double and in fixed point from one description (``fixsim.signal``).

Every block names its internal quantizations ``"<name>.<signal>"`` (for the fixed-point tool's
probes), keeps its state across calls (a signal streamed in frames gives the result of one
call), and reports the worst-case output range for an input range.

* :class:`FIR`: FIR in direct, transposed, symmetric and antisymmetric form.
* :class:`FIRDecimator`, :class:`FIRInterpolator`: polyphase decimating and interpolating FIR.
* :class:`SOSFilter` (alias :class:`Biquad`): cascades of second-order sections, direct form I
  and direct form II transposed.
* :class:`CICDecimator`, :class:`CICInterpolator`: CIC filters with Hogenauer register growth,
  wrap arithmetic and (decimator) Hogenauer pruning.
* :class:`NCO`: numerically controlled oscillator (phase accumulator, dither, phase
  quantization, full or quarter-wave sine/cosine table).
* :class:`Gain`, :class:`Sum`, :class:`Product`, :class:`Delay`, :class:`Saturation`,
  :class:`Convert`, :class:`Downsample`, :class:`Upsample`, :class:`Lookup1D` (alias
  :class:`LUT`): small blocks; :class:`Model`: named blocks wired into a block model.
* :func:`cordic_sincos`, :func:`cordic_rotate`, :func:`cordic_atan2`, :func:`cordic_abs`,
  :func:`cordic_gain`: CORDIC rotation and vectoring; :class:`FFT` (and :func:`fft`): radix-2
  FFT with a per-stage scaling schedule.
* :func:`sosfilt`, :func:`lfilter`: scipy.signal's IIR filters, which also take an
  :class:`~fixsim.tool.Interval` (for ``fx.tool.derive``: the output range from the impulse
  response's l1 norm).
"""

from __future__ import annotations

from ._basic import Convert, Delay, Downsample, Gain, Product, Saturation, Sum, Upsample
from ._biquad import Biquad, SOSFilter
from ._cic import CICDecimator, CICInterpolator
from ._cordic import cordic_abs, cordic_atan2, cordic_gain, cordic_rotate, cordic_sincos
from ._fft import FFT, fft
from ._fir import FIR
from ._iir import IIRState, lfilter, sosfilt
from ._lut import LUT, Lookup1D
from ._model import Model
from ._nco import NCO
from ._polyphase import FIRDecimator, FIRInterpolator

__all__ = ["FIR", "SOSFilter", "Biquad", "CICDecimator", "CICInterpolator", "NCO"]
__all__ += ["Gain", "Sum", "Product", "Delay", "Saturation", "Convert", "Downsample", "Upsample",
            "Lookup1D", "LUT", "Model"]
__all__ += ["cordic_sincos", "cordic_rotate", "cordic_atan2", "cordic_abs", "cordic_gain", "FFT",
            "fft"]
__all__ += ["FIRDecimator", "FIRInterpolator", "sosfilt", "lfilter", "IIRState"]
