"""Report plots (matplotlib, Agg backend), returned as inline ``data:image/png;base64`` URIs.

* :func:`histogram_png`: a signal's log2-magnitude histogram (bin ``k`` counts
  ``2**(k-1) <= |x| < 2**k``; zeros apart) with the current and the proposed types'
  representable windows drawn over it: magnitudes from ``2**-F`` (one LSB; smaller nonzero
  values round to zero or lose relative precision) up to ``2**(W-F-s)`` (``s = 1`` when
  signed; larger ones overflow).
* :func:`error_png`: a verified signal's error ``fixed - double`` over time and its spectrum
  (Hann-windowed periodogram, dB relative to the signal's full scale of 1).
"""

from __future__ import annotations

import base64
import io

import numpy as np

__all__ = ["histogram_png", "error_png"]

_CURRENT = "#9e9e9e"
_PROPOSED = "#1f6fd1"
_BARS = "#e07b39"


def _pyplot():
    """matplotlib's Figure class; figures are drawn on an Agg canvas (no pyplot, no GUI
    backend, whatever backend the user has selected)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - in the report extra
        raise ImportError("fixsim.report plots need matplotlib: pip install "
                          "'fixsim[report]'.") from None
    return Figure


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def histogram_png(signal: dict) -> str:
    """The histogram plot of one report signal row."""
    Figure = _pyplot()
    fig = Figure(figsize=(5.2, 2.2))
    ax = fig.add_subplot(1, 1, 1)
    bins, counts = signal.get("hist_bins") or [], signal.get("hist_counts") or []
    windows = [w for w in (signal.get("current_window"), signal.get("proposed_window")) if w]
    edges = [b for b in bins] + [b - 1 for b in bins] + [x for w in windows for x in w]
    lo, hi = (min(edges) - 1, max(edges) + 1) if edges else (-8, 8)
    total = sum(counts) + (signal.get("zeros") or 0)
    if counts:
        pct = 100.0 * np.asarray(counts, dtype=float) / max(total, 1)
        ax.bar(np.asarray(bins) - 0.5, pct, width=0.9, color=_BARS, label="values",
               zorder=3)
    top = ax.get_ylim()[1] if counts else 1.0
    for w, color, label, y0 in ((signal.get("current_window"), _CURRENT, "current", 0.0),
                                (signal.get("proposed_window"), _PROPOSED, "proposed", 0.0)):
        if not w:
            continue
        ax.axvspan(w[0], w[1], ymin=y0, ymax=1.0, color=color, alpha=0.15, zorder=1)
        ax.axvline(w[0], color=color, lw=1.5, ls="--", zorder=2)
        ax.axvline(w[1], color=color, lw=1.5, ls="-", zorder=2, label=f"{label} type")
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, top * 1.05 if counts else 1.0)
    ax.set_xlabel("log2 |x|  (bits: LSB at the dashed line, overflow past the solid one)",
                  fontsize=7)
    ax.set_ylabel("% of values", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    title = signal["name"]
    if signal.get("zeros"):
        title += f"  ({signal['zeros']} zeros not shown)"
    if not counts:
        title += "  (no nonzero values recorded)"
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6, loc="upper left", framealpha=0.8)
    # fixed margins: tight_layout would cost a second draw (most of the plot's time)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.2, top=0.88)
    return _png(fig)


def error_png(name: str, error: list) -> str:
    """Error over time and error spectrum of a verified signal."""
    Figure = _pyplot()
    e = np.asarray([float(v) for v in error], dtype=np.float64)
    fig = Figure(figsize=(7.0, 2.2))
    ax1 = fig.add_subplot(1, 2, 1)
    ax2 = fig.add_subplot(1, 2, 2)
    ax1.plot(np.arange(e.size), e, lw=0.7, color=_PROPOSED)
    ax1.set_title(f"{name}: error (fixed - double)", fontsize=8)
    ax1.set_xlabel("sample", fontsize=7)
    ax1.tick_params(labelsize=7)
    ax1.grid(alpha=0.3)
    if e.size >= 8 and np.any(e != 0):
        w = np.hanning(e.size)
        spec = np.abs(np.fft.rfft(e * w)) ** 2 / np.sum(w ** 2)
        f = np.fft.rfftfreq(e.size)
        floor = np.max(spec) * 1e-15 + 1e-300
        ax2.plot(f, 10 * np.log10(spec + floor), lw=0.7, color=_BARS)
    else:
        ax2.text(0.5, 0.5, "no error" if e.size else "no samples", ha="center",
                 va="center", transform=ax2.transAxes, fontsize=8)
    ax2.set_title("error spectrum", fontsize=8)
    ax2.set_xlabel("frequency (cycles/sample)", fontsize=7)
    ax2.set_ylabel("dB", fontsize=7)
    ax2.tick_params(labelsize=7)
    ax2.grid(alpha=0.3)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.88, wspace=0.28)
    return _png(fig)
