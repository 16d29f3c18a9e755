"""The report's data: :class:`Report`, built from a proposal (and optionally a recording, a
verification and derived ranges), saved and loaded as versioned JSON.

Everything the renderers show is in :attr:`Report.data`, a JSON-ready dict (schema
``fixsim.Report/1``, documented in docs/report.md), so a saved report re-renders without
re-simulating. The tool's objects are read by duck typing (attribute names documented by
``fixsim.tool``): a proposal is a mapping of entries with ``current``, ``proposed``,
``simulated``, ``range_used``...; a recording maps names to statistics with
``log2_histogram``, ``count``, ``zeros``, ``overflows``...; a verification maps names to
results with ``sqnr_db``, ``overflows``, ``error``...; derived ranges map names to objects
with ``lo``, ``hi``, ``bounded``, ``reason``.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._atomic import parse_json, read_json
from .._core._numerictype import numerictype
from .._core._typetable import TypeTable
from ._exports import write_text_atomic

__all__ = ["Report", "REPORT_SCHEMA", "type_info", "block_of"]

#: The schema tag of :meth:`Report.to_dict` (bumped on incompatible changes).
REPORT_SCHEMA = "fixsim.Report/1"
#: Error samples kept per signal for the verification plots.
MAX_ERROR_SAMPLES = 2048


# -- small helpers ---------------------------------------------------------------------------------
def num(v) -> float | str | None:
    """A JSON-safe number: None stays None, non-finite floats become 'inf', '-inf', 'nan'."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | np.integer):
        return int(v)
    f = float(v)
    return f if math.isfinite(f) else repr(f)


def as_float(v) -> float | None:
    """The inverse of :func:`num` (None stays None)."""
    if v is None:
        return None
    return float(v)


def type_info(t) -> dict | None:
    """A type as the report shows it: its three names, signedness and lengths."""
    if t is None:
        return None
    if isinstance(t, str) and not isinstance(t, numerictype):
        try:
            t = numerictype.parse(t)
        except ValueError:
            return {"name": t, "fixed": False}
    if not isinstance(t, numerictype):
        return {"name": str(t), "fixed": False}
    return {"name": str(t), "q": t.qformat, "hls": t.hls, "fixed": True, "signed": t.signed,
            "word_length": t.word_length, "fraction_length": t.fraction_length,
            "min": num(t.min), "max": num(t.max), "lsb": num(t.eps)}


def block_of(name: str) -> str:
    """The block a signal belongs to: its name's prefix before the first dot ('' if none)."""
    return name.split(".", 1)[0] if "." in name else ""


def _get(obj, *names, default=None):
    for n in names:
        v = getattr(obj, n, None)
        if v is not None:
            return v
    return default


def _lookup(mapping, name: str):
    """``mapping[name]``, or None when *mapping* is None or lacks it."""
    if mapping is None or name not in mapping:
        return None
    return mapping[name]


def _pair(p) -> tuple[float | None, float | None]:
    if p is None:
        return None, None
    return num(p[0]), num(p[1])


def _window(t: dict | None) -> tuple[int, int] | None:
    """The representable magnitude window of a type in log2 units: ``(-F, W - F - s)``.

    A magnitude ``|x|`` is representable (neither underflowing to zero at the LSB nor
    overflowing) when ``2**-F <= |x| < 2**(W - F - s)`` with ``s = 1`` for signed types:
    the log2 bins ``k`` (``2**(k-1) <= |x| < 2**k``) from ``-F + 1`` to ``W - F - s``.
    """
    if not t or not t.get("fixed"):
        return None
    W, F = t["word_length"], t["fraction_length"]
    return -F, W - F - (1 if t["signed"] else 0)


# -- the report ------------------------------------------------------------------------------------
class Report:
    """A range-proposal report: per-signal rows, a summary, warnings and verification data.

    Build one with :meth:`build` (from the tool's objects) or :meth:`load` (from saved
    JSON); render it with :meth:`to_html`, :meth:`to_json`, :meth:`to_csv`,
    :meth:`to_markdown`, :meth:`to_terminal`, or all at once with :meth:`write`.

    Attributes
    ----------
    data : dict
        The JSON-ready content (see docs/report.md for the schema).
    """

    def __init__(self, data: Mapping):
        if not isinstance(data, Mapping) or data.get("schema") != REPORT_SCHEMA:
            got = data.get("schema") if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(f"Report: unsupported schema {got!r}; this version of fixsim "
                             f"reads {REPORT_SCHEMA!r}.")
        self.data = dict(data)

    # -- access ---------------------------------------------------------------------------------
    @property
    def signals(self) -> list[dict]:
        """One dict per signal (see docs/report.md)."""
        return self.data["signals"]

    @property
    def summary(self) -> dict:
        return self.data["summary"]

    @property
    def warnings(self) -> list[dict]:
        return self.data["warnings"]

    @property
    def types(self) -> TypeTable:
        """The proposed type table."""
        return TypeTable.from_dict(self.data["types"])

    def __getitem__(self, name: str) -> dict:
        for s in self.signals:
            if s["name"] == name:
                return s
        raise KeyError(f"Report has no signal {name!r}; signals: "
                       f"{', '.join(s['name'] for s in self.signals) or '(none)'}.")

    def __len__(self) -> int:
        return len(self.signals)

    def __repr__(self) -> str:
        s = self.summary
        return (f"<Report {self.data['title']!r}: {s['signals']} signals, "
                f"{s['total_bits_proposed']} bits proposed, {len(self.warnings)} warnings>")

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def build(cls, proposal, recording=None, verification=None, derived=None, *,
              title: str = "fixsim range proposal", current: TypeTable | None = None,
              max_error_samples: int = MAX_ERROR_SAMPLES, notes=()) -> Report:
        """Build a report.

        Parameters
        ----------
        proposal : fixsim.tool.Proposal
            The proposed types (a mapping of entries; ``proposal.types`` is the table).
        recording : fixsim.tool.Recording, optional
            The simulation statistics: log2 histograms, counts, recorded overflows.
        verification : fixsim.tool.Verification, optional
            Fixed (proposed types) against double: overflows, underflows, SQNR, errors.
        derived : mapping, optional
            Derived ranges (``fx.tool.derive``): objects with ``lo``, ``hi``, ``bounded``,
            ``reason``.
        title : str
        current : TypeTable, optional
            The table in use before the proposal, to list its signals that were never
            exercised (not in the proposal).
        max_error_samples : int, default 2048
            Error samples kept per signal for the plots.
        notes : iterable of dict, optional
            Extra warnings ``{'kind': ..., 'signal': name or None, 'message': ...}`` listed
            first (the command line reports skipped steps this way).
        """
        from .. import __version__

        if not isinstance(proposal, Mapping) or not isinstance(getattr(proposal, "types", None),
                                                               TypeTable):
            raise TypeError("Report.build: proposal must be a fixsim.tool.Proposal (a mapping "
                            "of proposed types with a .types table), got "
                            f"{type(proposal).__name__}.")
        for arg, val in (("recording", recording), ("verification", verification),
                         ("derived", derived)):
            if val is not None and (isinstance(val, str | bytes) or not (
                    hasattr(val, "__getitem__") and hasattr(val, "__contains__"))):
                raise TypeError(f"Report.build: {arg} must be a mapping of signal names "
                                f"(a fixsim.tool object), got {type(val).__name__}.")
        if current is not None and not isinstance(current, TypeTable):
            # regression: a str met an AttributeError ('str' object has no attribute 'names')
            raise TypeError(f"Report.build: current must be a fixsim.TypeTable or None, got "
                            f"{type(current).__name__} {current!r}.")
        if not isinstance(max_error_samples, int) or max_error_samples < 0:
            raise ValueError("Report.build: max_error_samples must be an int >= 0, got "
                             f"{max_error_samples!r}.")
        signals = [cls._row(name, proposal[name], recording, verification, derived,
                            max_error_samples) for name in proposal]
        never = []
        names = {s["name"] for s in signals}
        if current is not None:
            never = [n for n in current.names if n not in names]
        outputs = []
        if verification is not None:
            for name, v in (getattr(verification, "outputs", None) or {}).items():
                outputs.append(cls._verified(name, v, max_error_samples))
        data = {
            "schema": REPORT_SCHEMA,
            "title": str(title),
            "generator": f"fixsim {__version__}",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "settings": {k: num(v) if isinstance(v, float) else v
                         for k, v in dict(getattr(proposal, "settings", {}) or {}).items()},
            "has_recording": recording is not None,
            "has_verification": verification is not None,
            "has_derived": derived is not None,
            "signals": signals,
            "never_exercised": never,
            "outputs": outputs,
            "types": proposal.types.to_dict(),
        }
        extra = []
        for n in notes:
            if not isinstance(n, Mapping) or not {"kind", "message"} <= set(n):
                raise ValueError("Report.build: notes must be dicts with 'kind' and 'message' "
                                 f"(and optionally 'signal'), got {n!r}.")
            extra.append({"kind": str(n["kind"]), "signal": n.get("signal"),
                          "message": str(n["message"])})
        data["warnings"] = extra + _warnings(data)
        data["summary"] = _summary(data)
        # plain JSON types throughout (settings may hold anything: written as text)
        return cls(json.loads(json.dumps(data, default=str, allow_nan=False)))

    @staticmethod
    def _verified(name: str, v, max_samples: int) -> dict:
        err = np.asarray(getattr(v, "error", np.zeros(0)), dtype=np.float64).ravel()
        return {"name": name, "count": int(getattr(v, "count", err.size)),
                "overflows": int(getattr(v, "overflows", 0) or 0),
                "underflows": int(getattr(v, "underflows", 0) or 0),
                "max_abs_error": num(getattr(v, "max_abs_error", None)),
                "rms_error": num(getattr(v, "rms_error", None)),
                "sqnr_db": num(getattr(v, "sqnr_db", None)),
                # for plots only: 7 significant digits are plenty
                "error": [num(float(f"{e:.7g}")) for e in err[:max_samples]]}

    @classmethod
    def _row(cls, name, p, recording, verification, derived, max_samples) -> dict:
        cur, prop = type_info(_get(p, "current")), type_info(_get(p, "proposed"))
        sim_min, sim_max = _pair(_get(p, "simulated"))
        ru = _get(p, "range_used")
        row: dict[str, Any] = {
            "name": name, "block": block_of(name),
            "locked": bool(_get(p, "locked", default=False)),
            "source": _get(p, "source"), "policy": _get(p, "policy"),
            "rationale": _get(p, "rationale", default=""),
            "current": cur, "proposed": prop,
            "sim_min": sim_min, "sim_max": sim_max,
            "range_min": None if ru is None else num(float(ru[0])),
            "range_max": None if ru is None else num(float(ru[1])),
            "percent_range_used": num(_get(p, "percent_range_used")),
            "clip_fraction": num(_get(p, "clip_fraction")),
            "overflows_estimated": _get(p, "overflows"),
            "underflows_estimated": _get(p, "underflows"),
            "sqnr_db_estimated": num(_get(p, "sqnr_db")),
        }
        # derived range: from the derived ranges given, else from the proposal entry
        d = _lookup(derived, name)
        if d is not None:
            row.update(derived_min=num(d.lo), derived_max=num(d.hi),
                       derived_bounded=bool(d.bounded), derived_reason=getattr(d, "reason", None))
        else:
            dmin, dmax = _pair(_get(p, "derived"))
            bounded = None if dmin is None else all(
                isinstance(v, float) for v in (dmin, dmax))
            row.update(derived_min=dmin, derived_max=dmax, derived_bounded=bounded,
                       derived_reason=None)
        row["design_min"], row["design_max"] = _pair(_get(p, "design"))
        # recording: histogram and the counts against the type recorded
        s = _lookup(recording, name)
        if s is not None:
            # a signal inside a block recorded as extremes has no histogram (an empty one
            # here; regression: the report raised on such a recording)
            hist = ({} if getattr(s, "detail", None) == "extremes"
                    else dict(getattr(s, "log2_histogram", {}) or {}))
            bins = sorted(int(k) for k in hist)
            row.update(count=int(s.count), zeros=int(getattr(s, "zeros", 0) or 0),
                       nan_count=int(getattr(s, "nan_count", 0) or 0),
                       hist_bins=bins, hist_counts=[int(hist[k]) for k in bins],
                       recorded_type=getattr(s, "numerictype", None),
                       overflows_recorded=int(getattr(s, "overflows", 0) or 0),
                       underflows_recorded=int(getattr(s, "underflows", 0) or 0))
            if row["sim_min"] is None and getattr(s, "min", None) is not None:
                row["sim_min"], row["sim_max"] = num(s.min), num(s.max)
        else:
            row.update(count=None, zeros=None, nan_count=None, hist_bins=[], hist_counts=[],
                       recorded_type=None, overflows_recorded=None, underflows_recorded=None)
        v = _lookup(verification, name)
        if v is not None:
            vv = cls._verified(name, v, max_samples)
            row.update(verified=True, overflows_verified=vv["overflows"],
                       underflows_verified=vv["underflows"], sqnr_db_verified=vv["sqnr_db"],
                       max_abs_error=vv["max_abs_error"], rms_error=vv["rms_error"],
                       error=vv["error"])
        else:
            row.update(verified=False, overflows_verified=None, underflows_verified=None,
                       sqnr_db_verified=None, max_abs_error=None, rms_error=None, error=[])
        # what the table shows: verified numbers when there are, else the estimates
        for key in ("overflows", "underflows", "sqnr_db"):
            verified = row[f"{key}_verified"]
            row[key] = verified if verified is not None else row[f"{key}_estimated"]
        row["current_window"] = _window(cur)
        row["proposed_window"] = _window(prop)
        return row

    # -- JSON -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The report's data (a copy)."""
        return json.loads(json.dumps(self.data))

    @classmethod
    def from_dict(cls, data: Mapping) -> Report:
        return cls(json.loads(json.dumps(data)))

    def to_json(self, **kwargs) -> str:
        """The report as JSON text (keyword arguments go to ``json.dumps``; indent 1)."""
        kwargs.setdefault("indent", 1)
        return json.dumps(self.data, allow_nan=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls(parse_json(text, "Report.from_json"))

    def save(self, path: str | os.PathLike) -> str:
        """Write the JSON atomically; returns the path."""
        return write_text_atomic(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Report:
        """Read a report written by :meth:`save`."""
        return cls(read_json(path, "Report.load"))

    # -- renderers (see _tables.py and _html.py) --------------------------------------------------
    def to_csv(self) -> str:
        """One CSV row per signal (see docs/report.md for the columns)."""
        from ._tables import to_csv

        return to_csv(self)

    def to_markdown(self) -> str:
        """Summary, warnings and the per-signal table as Markdown."""
        from ._tables import to_markdown

        return to_markdown(self)

    def to_terminal(self, console=None, *, width: int | None = None) -> str:
        """Print the summary and the table to a terminal with rich (the ``cli`` extra);
        returns the text printed."""
        from ._tables import to_terminal

        return to_terminal(self, console, width=width)

    def to_html(self) -> str:
        """The self-contained HTML page (the ``report`` extra: matplotlib, jinja2)."""
        from ._html import to_html

        return to_html(self)

    def write(self, folder: str | os.PathLike, formats=("html", "json", "csv", "md"), *,
              stem: str = "report") -> dict[str, str]:
        """Write the report in each format into *folder* (created if missing), atomically;
        returns ``{format: path}``."""
        valid = ("html", "json", "csv", "md")
        if isinstance(formats, str):
            formats = [formats]
        bad = [f for f in formats if f not in valid]
        if bad:
            raise ValueError(f"Report.write: format {bad[0]!r} is not valid; valid: "
                             f"{', '.join(valid)}.")
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        out = {}
        for fmt in formats:
            path = os.path.join(folder, f"{stem}.{fmt}")
            text = {"html": self.to_html, "json": lambda: self.to_json() + "\n",
                    "csv": self.to_csv, "md": self.to_markdown}[fmt]()
            out[fmt] = write_text_atomic(path, text)
        return out


# -- warnings and summary --------------------------------------------------------------------------
def _f(v) -> float | None:
    return None if v is None else float(v)


def _warnings(data: dict) -> list[dict]:
    out: list[dict] = []

    def warn(kind, name, message):
        out.append({"kind": kind, "signal": name, "message": message})

    for n in data["never_exercised"]:
        warn("never_exercised", n, f"{n}: in the type table but never exercised by the "
             "simulation (no recorded values); its type is unchecked.")
    for s in data["signals"]:
        n = s["name"]
        if s["derived_bounded"] is False:
            why = s.get("derived_reason") or "no reason given"
            # what the type rests on instead (regression: a type from a design range was
            # said to rest on the simulated range)
            src = s.get("source")
            if s.get("locked"):
                backs = "its type is locked, checked by no range"
            elif src == "design":
                backs = "the design range backs its type"
            elif src == "override":
                backs = "its type is an override, checked by no range"
            else:
                backs = "only the simulated range backs its type"
            warn("unbounded", n, f"{n}: the derived range is unbounded ({why}); {backs}.")
        if s["count"] is not None and (s["count"] == 0 or s["count"] == s["zeros"]
                                       + (s["nan_count"] or 0)):
            warn("never_exercised", n, f"{n}: recorded only zeros or no finite values; the "
                 "simulation never exercised it.")
        ov = s["overflows"]
        if ov:
            src = "in verification" if s["overflows_verified"] is not None else \
                "estimated on the recorded data"
            warn("saturating", n, f"{n}: {ov} value(s) overflow the proposed type "
                 f"{s['proposed']['name'] if s['proposed'] else '?'} ({src}); they saturate "
                 "or wrap.")
        if s["overflows_recorded"]:
            cur = s["recorded_type"] or (s["current"] or {}).get("name", "?")
            warn("current_saturates", n, f"{n}: {s['overflows_recorded']} value(s) "
                 f"overflowed the current type {cur} during recording.")
        uf = s["underflows"]
        if uf:
            warn("underflow", n, f"{n}: {uf} nonzero value(s) round to zero in the proposed "
                 "type: precision lost to underflow (more fraction bits would keep them).")
        prop = s["proposed"]
        dmin, dmax = _f(s["derived_min"]), _f(s["derived_max"])
        if prop and prop.get("fixed") and s["derived_bounded"] and dmin is not None \
                and (dmin < float(prop["min"]) or dmax > float(prop["max"])):
            warn("derived_exceeds_type", n, f"{n}: the derived worst case [{dmin:.6g}, "
                 f"{dmax:.6g}] exceeds the proposed type's range [{float(prop['min']):.6g}, "
                 f"{float(prop['max']):.6g}]: inputs beyond the simulated ones can overflow.")
    return out


def _summary(data: dict) -> dict:
    sigs = data["signals"]
    fixed_p = [s for s in sigs if s["proposed"] and s["proposed"].get("fixed")]
    fixed_c = [s for s in sigs if s["current"] and s["current"].get("fixed")]
    sq = [(float(s["sqnr_db"]), s["name"]) for s in sigs if s["sqnr_db"] is not None
          and not math.isnan(float(s["sqnr_db"]))]
    worst = min(sq) if sq else None
    risks = sorted({w["signal"] for w in data["warnings"]
                    if w["kind"] in ("saturating", "derived_exceeds_type", "unbounded")})
    outs = data["outputs"]
    return {
        "signals": len(sigs),
        "fixed_signals": len(fixed_p),
        "blocks": len({s["block"] for s in sigs}),
        "total_bits_proposed": sum(s["proposed"]["word_length"] for s in fixed_p),
        "total_bits_current": sum(s["current"]["word_length"] for s in fixed_c),
        "worst_sqnr_db": None if worst is None else num(worst[0]),
        "worst_sqnr_signal": None if worst is None else worst[1],
        "overflow_risks": len(risks),
        "overflow_risk_signals": risks,
        "output_sqnr_db": outs[0]["sqnr_db"] if outs else None,
        "warnings": len(data["warnings"]),
    }
