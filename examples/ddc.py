"""A digital down-converter as a block model: NCO -> mixer -> CIC decimator -> compensating
FIR -> decimate, in double and in fixed point from one description.

A 12-bit ADC samples a 400 kHz carrier at 2.048 MHz. The NCO mixes it to baseband (I and Q
branches), a 4-stage CIC decimates by 16 (to 128 kHz) with Hogenauer pruning, a FIR
compensates the CIC's droop and removes what aliases next, and the last stage keeps every
second sample (64 kHz):

    x -+-> mix_i -> cast_i -> cic_i -> scale_i -> comp_i -> dec_i -> i
       |     ^
       |    lo (NCO, cos/sin)
       |     v
       +-> mix_q -> cast_q -> cic_q -> scale_q -> comp_q -> dec_q -> q

The script lists every signal with its type, runs the model in double and in fixed point,
prints the SNR of the fixed-point baseband against the double one, and writes a spectrum plot
to the output folder (first argument, or a temporary folder).

Run:  python examples/ddc.py [output-folder]
"""

from __future__ import annotations

import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402

import fixsim as fx  # noqa: E402
from fixsim.signal import (  # noqa: E402
    FIR,
    NCO,
    CICDecimator,
    Convert,
    Downsample,
    Gain,
    Model,
    Product,
)

FS = 2.048e6  # ADC rate
FC = 400e3  # carrier
R, N = 16, 4  # CIC decimation and stages
W_ACC = 24  # NCO phase accumulator bits
TONES = ((5e3, 0.4), (-12e3, 0.25))  # baseband tones (offset from the carrier, amplitude)


def compensator(ntaps: int = 31) -> np.ndarray:
    """FIR at FS/R: the inverse of the CIC droop up to 20 kHz, stop band from 32 kHz."""
    fs_low = FS / R
    f = np.linspace(0, fs_low / 2, 65)
    x = np.pi * f / FS
    with np.errstate(invalid="ignore", divide="ignore"):
        droop = np.abs(np.where(f == 0, 1.0, np.sin(R * x) / (R * np.sin(x)))) ** N
    gain = np.where(f <= 20e3, 1 / droop, 0.0)
    gain[(f > 20e3) & (f < 32e3)] = 0.0
    return signal.firwin2(ntaps, f, gain, fs=fs_low)


def build(T: fx.TypeTable | None = None) -> Model:
    """The down-converter; *T* gives every block its types (None: the types written here)."""
    inc = round(FC / FS * 2 ** W_ACC)
    h = compensator()
    m = Model("ddc")
    m.input("x")
    m.add(NCO(inc, accumulator_word_length=W_ACC, quantizer_bits=14, waveform="sincos",
              output_type="sfix16_En14", name="lo", types=T))
    for branch, port in (("i", "lo:1"), ("q", "lo:0")):
        m.add(Product("**", name=f"mix_{branch}", types=T), ["x", port])
        m.add(Convert("sfix18_En16", name=f"cast_{branch}", types=T), f"mix_{branch}")
        # a 20-bit output with Hogenauer pruning (a table that holds the output type gives it)
        cic = f"cic_{branch}"
        if T is None or f"{cic}.out" not in T:
            size = {"output_word_length": 20}
        elif isinstance(T.type_of(f"{cic}.out"), fx.numerictype):
            size = {"pruning": True}
        else:  # 'double'
            size = {}
        m.add(CICDecimator(R, 1, N, name=cic, types=T, **size), f"cast_{branch}")
        # the CIC gain (R M)**N = 2**16 is a shift: an exact power-of-two gain
        m.add(Gain(2.0 ** -16, gain_type="ufix1_En16", name=f"scale_{branch}", types=T),
              f"cic_{branch}")
        m.add(FIR(h, name=f"comp_{branch}", coef_type="sfix16_En15",
                  output_type="sfix18_En16", types=T), f"scale_{branch}")
        m.add(Downsample(2, name=f"dec_{branch}", types=T), f"comp_{branch}")
        m.output(branch, f"dec_{branch}")
    return m


def adc(n: int, seed: int = 3) -> np.ndarray:
    """The passband signal: tones around the carrier plus a little noise, in [-1, 1)."""
    t = np.arange(n) / FS
    x = sum(a * np.cos(2 * np.pi * (FC + f) * t) for f, a in TONES)
    x = x + 0.01 * np.random.default_rng(seed).standard_normal(n)
    return np.clip(x, -1, 1 - 2 ** -11)


def atomic_savefig(fig, path: str) -> None:
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=os.path.dirname(path) or ".")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(out_dir: str) -> None:
    n = 1 << 16  # 32 ms at 2.048 MHz -> 2048 baseband samples
    x = adc(n)
    T = build().type_table({"x": "sfix12_En11"})
    print(build(T).table(T))

    # double precision: every block reads 'double' from the same table
    Td = T.as_double()
    out_d = build(Td).run(x, types=Td, frame=1 << 14)
    z_double = out_d["i"] - 1j * out_d["q"]

    # fixed point: the same model with the fixed types, streamed in frames
    fixed = build(T)
    out_f = fixed.run(x, types=T, frame=1 << 14)
    print(f"\noutput types: i {out_f['i'].numerictype}, q {out_f['q'].numerictype}")
    z_fixed = out_f["i"].data - 1j * out_f["q"].data
    skip = 32  # the filters' start-up
    err = z_fixed[skip:] - z_double[skip:]
    snr = 10 * np.log10(np.sum(np.abs(z_double[skip:]) ** 2) / np.sum(np.abs(err) ** 2))
    print(f"baseband: {z_fixed.size} samples at {FS / R / 2 / 1e3:.0f} kHz; fixed vs double "
          f"SNR {snr:.1f} dB")

    # the tones land where they should
    fs_out = FS / R / 2
    f, pz = signal.welch(z_fixed[skip:], fs=fs_out, nperseg=1024, return_onesided=False)
    f, pz = np.fft.fftshift(f), np.fft.fftshift(pz)
    _, pd = signal.welch(z_double[skip:], fs=fs_out, nperseg=1024, return_onesided=False)
    pd = np.fft.fftshift(pd)
    for f0, _ in TONES:
        k = int(np.argmin(np.abs(f - f0)))
        print(f"tone at {f0 / 1e3:+.0f} kHz: {10 * np.log10(pz[k] / np.median(pz)):.0f} dB "
              "above the median noise level")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(f / 1e3, 10 * np.log10(pd + 1e-30), label="double", lw=2)
    ax.plot(f / 1e3, 10 * np.log10(pz + 1e-30), "--", label="fixed point")
    ax.set(xlabel="frequency (kHz)", ylabel="power spectral density (dB/Hz)",
           title=f"DDC baseband (fixed vs double SNR {snr:.0f} dB)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out_dir, "ddc_spectrum.png")
    atomic_savefig(fig, path)
    plt.close(fig)
    print(f"spectrum plot: {path}")


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="ddc_")
    os.makedirs(folder, exist_ok=True)
    main(folder)
