"""An audio equaliser as a block model, in double and in fixed point from one description.

Three biquads designed with the RBJ "audio EQ cookbook" formulas (low shelf, peaking cut,
high shelf) run in cascade, mixed with a little of the dry signal and clipped:

    x -> pre -> low -> mid -> high -> wet -+-> mix -> clip -> y
      \\--------------------------> dry --/

The flow is the fixed-point tool's: build the model with full-precision types, run it in
double while recording every signal's range, propose 16-, 20- and 24-bit internal data types
(twice as wide products, accumulators and states, with a guard bit; 28-bit coefficients) from
the ranges, rerun in fixed point, and compare (SQNR). A plot of
the frequency responses (designed, quantized coefficients, measured from the fixed-point
model) is written to the output folder (first argument, or a temporary folder).

Run:  python examples/biquad_eq.py [output-folder]
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
from fixsim.signal import Gain, Model, Saturation, SOSFilter, Sum  # noqa: E402

FS = 48_000.0


# -- design: RBJ audio EQ cookbook biquads ------------------------------------------------------
def _section(b, a) -> np.ndarray:
    """One scipy-style SOS row, normalised so that a0 = 1."""
    b, a = np.asarray(b, dtype=float), np.asarray(a, dtype=float)
    return np.concatenate([b / a[0], a / a[0]])


def peaking(f0: float, gain_db: float, q: float) -> np.ndarray:
    A = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / FS
    alpha = np.sin(w0) / (2 * q)
    c = np.cos(w0)
    return _section([1 + alpha * A, -2 * c, 1 - alpha * A], [1 + alpha / A, -2 * c, 1 - alpha / A])


def shelf(f0: float, gain_db: float, kind: str) -> np.ndarray:
    """Low or high shelf with slope S = 1."""
    A = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / FS
    c, s = np.cos(w0), np.sin(w0)
    alpha = s / 2 * np.sqrt(2.0)  # S = 1: sqrt((A + 1/A)(1/S - 1) + 2) = sqrt(2)
    r = 2 * np.sqrt(A) * alpha
    if kind == "low":
        b = [A * ((A + 1) - (A - 1) * c + r), 2 * A * ((A - 1) - (A + 1) * c),
             A * ((A + 1) - (A - 1) * c - r)]
        a = [(A + 1) + (A - 1) * c + r, -2 * ((A - 1) + (A + 1) * c), (A + 1) + (A - 1) * c - r]
    else:
        b = [A * ((A + 1) + (A - 1) * c + r), -2 * A * ((A - 1) + (A + 1) * c),
             A * ((A + 1) + (A - 1) * c - r)]
        a = [(A + 1) - (A - 1) * c + r, 2 * ((A - 1) - (A + 1) * c), (A + 1) - (A - 1) * c - r]
    return _section(b, a)


SECTIONS = {
    "low": shelf(120.0, 6.0, "low"),
    "mid": peaking(1_000.0, -8.0, 1.4),
    "high": shelf(9_000.0, 4.0, "high"),
}
PRE, WET, DRY = 0.25, 0.9, 0.1
COEF_BITS = 28


def build(T: fx.TypeTable | None = None) -> Model:
    """The equaliser as a model; *T* gives every block its types (None: full precision)."""
    m = Model("eq")
    m.input("x")
    m.add(Gain(PRE, name="pre", types=T), "x")  # headroom for the boosts
    src = "pre"
    for name, sos in SECTIONS.items():
        m.add(SOSFilter(sos[None, :], name=name, form="df1", types=T), src)
        src = name
    m.add(Gain(WET, name="wet", types=T), src)
    m.add(Gain(DRY, name="dry", types=T), "pre")
    m.add(Sum("++", name="mix", types=T), ["wet", "dry"])
    m.add(Saturation(-1.0, 1.0, name="clip", types=T), "mix")
    m.output("y", "clip")
    return m


def designed_response(f: np.ndarray) -> np.ndarray:
    """The cascade's response from the double-precision design, dry path included."""
    h = np.ones(f.size, dtype=complex)
    for sos in SECTIONS.values():
        h *= signal.freqz(sos[:3], sos[3:], worN=f, fs=FS)[1]
    return PRE * (WET * h + DRY)


def sqnr_db(ref: np.ndarray, y: np.ndarray) -> float:
    err = np.asarray(y, dtype=float) - ref
    return float(10 * np.log10(np.sum(ref ** 2) / max(np.sum(err ** 2), 1e-300)))


def atomic_savefig(fig, path: str) -> None:
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(out_dir: str) -> None:
    rng = np.random.default_rng(7)
    n = 24_000  # half a second of audio
    t = np.arange(n) / FS
    music = (0.5 * np.sin(2 * np.pi * 110 * t) + 0.3 * np.sin(2 * np.pi * 1_000 * t)
             + 0.2 * np.sin(2 * np.pi * 7_000 * t))
    x = np.clip(0.8 * music / np.max(np.abs(music)) + 0.05 * rng.standard_normal(n), -1, 1)

    # 1. full-precision types for a 16-bit input, and the model's table
    T0 = build().type_table({"x": "sfix16_En15"})
    model = build(T0)
    print(model.table(T0))

    # 2. double-precision reference run, recording every signal's range
    with fx.tool.record() as rec:
        y_double = model.run(x, types=T0.as_double(), frame=4096)["y"]
    print(f"\nrecorded {len(rec.names)} signals: {', '.join(rec.names)}")
    print(f"mix.out in [{rec['mix.out'].min:.3f}, {rec['mix.out'].max:.3f}]")

    # 3. propose types from the ranges: W-bit data, 2W-bit products, accumulators and states
    # (signals the recording does not hold keep their full-precision types)
    # The 16-bit input stays as it is (locked); the low shelf's poles sit close to z = 1,
    # where the sections' rounding noise is amplified most: compare internal widths.
    T0.lock("x")
    wide = (".product", ".acc", ".state")
    results = {}
    for data_bits in (16, 20, 24):
        overrides = {name: {"word_length": 2 * data_bits, "margin": 100} for name in rec.names
                     if name.endswith(wide)}
        # long coefficients: a low shelf at 120 Hz has poles close to z = 1, where 16-bit
        # coefficients would move the response by dB
        overrides.update({name: {"word_length": COEF_BITS} for name in rec.names
                          if name.endswith("coef")})
        P = fx.tool.propose(rec, T0, word_length=data_bits, margin=10,
                            overrides=overrides).types
        fixed_model = build(P)
        y_fixed = fixed_model.run(x, types=P, frame=4096)["y"]
        results[data_bits] = (P, fixed_model, y_fixed)
        print(f"{data_bits}-bit data, {2 * data_bits}-bit accumulators: output "
              f"{y_fixed.numerictype}, SQNR {sqnr_db(y_double, y_fixed.data):.1f} dB")

    P, fixed_model, y_fixed = results[24]
    print("\n24-bit design:")
    print(fixed_model.table(P))

    # 4. frequency responses: designed, quantized coefficients, measured (fixed point)
    f = np.geomspace(20, 20_000, 400)
    h_design = designed_response(f)
    h_coef = np.ones(f.size, dtype=complex)
    for name in SECTIONS:
        h_coef *= fixed_model[name].freqz(f, quantized=True, fs=FS)[1]
    h_coef = PRE * (WET * h_coef + DRY)
    h_16 = np.ones(f.size, dtype=complex)  # MATLAB's default: 16-bit best-precision coefs
    for name, sos in SECTIONS.items():
        h_16 *= SOSFilter(sos[None, :], name=name).freqz(f, quantized=True, fs=FS)[1]
    h_16 = PRE * (WET * h_16 + DRY)
    noise = fx.fi(np.clip(0.25 * rng.standard_normal(1 << 16), -1, 1), P.type_of("x"))
    fixed_model.reset()
    y_noise = fixed_model.run(noise, types=P, frame=8192)["y"].data
    fm, pxy = signal.csd(noise.data, y_noise, fs=FS, nperseg=4096)
    _, pxx = signal.welch(noise.data, fs=FS, nperseg=4096)
    h_meas = pxy / pxx

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.semilogx(f, 20 * np.log10(np.abs(h_design)), label="designed (double)", lw=2)
    ax.semilogx(f, 20 * np.log10(np.abs(h_16)), "-.", label="16-bit coefficients")
    ax.semilogx(f, 20 * np.log10(np.abs(h_coef)), "--", label=f"{COEF_BITS}-bit coefficients")
    keep = fm >= 20
    ax.semilogx(fm[keep], 20 * np.log10(np.abs(h_meas[keep])), ":",
                label="measured, fixed-point model")
    ax.set(xlabel="frequency (Hz)", ylabel="gain (dB)", title="biquad equaliser",
           xlim=(20, 20_000))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out_dir, "biquad_eq_response.png")
    atomic_savefig(fig, path)
    plt.close(fig)
    print(f"\nfrequency response plot: {path}")
    err = np.max(np.abs(20 * np.log10(np.abs(h_coef) / np.abs(h_design))))
    print(f"{COEF_BITS}-bit coefficients change the response by at most {err:.2g} dB")
    err16 = np.max(np.abs(20 * np.log10(np.abs(h_16) / np.abs(h_design))))
    print(f"16-bit coefficients change it by up to {err16:.2f} dB (the low shelf's poles)")


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="biquad_eq_")
    os.makedirs(folder, exist_ok=True)
    main(folder)
