"""The self-contained HTML report: one file, inline CSS and JavaScript, plots as inline
base64 PNG images, no network requests (jinja2 template ``templates/report.html.j2``)."""

from __future__ import annotations

import importlib.resources
import json
import math

from ._plots import error_png, histogram_png
from ._tables import fmt_num

__all__ = ["to_html", "COLUMNS"]

#: The table's columns: (header, sort type).
COLUMNS = [("Signal", "text"), ("Block", "text"), ("Sim min", "num"), ("Sim max", "num"),
           ("Derived min", "num"), ("Derived max", "num"), ("Design range", "num"),
           ("Current type", "num"), ("Proposed type", "num"), ("% range used", "num"),
           ("Overflows", "num"), ("Underflows", "num"), ("SQNR (dB)", "num")]


def _template():
    try:
        import jinja2
    except ImportError:  # pragma: no cover - in the report extra
        raise ImportError("The HTML report needs jinja2: pip install 'fixsim[report]'.") \
            from None
    text = (importlib.resources.files("fixsim.report") / "templates" / "report.html.j2"
            ).read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False)
    return env.from_string(text)


def _v(x) -> str:
    """A sort value for data-v: numbers as repr (exact), None as ''."""
    if x is None:
        return ""
    return x if isinstance(x, str) else repr(float(x)) if isinstance(x, float) else str(x)


def _names(t: dict | None) -> list[str]:
    if not t:
        return ["-"]
    return [t["name"], t["q"], t["hls"]] if t.get("fixed") else [t["name"]]


def _sqnr_text(v) -> str:
    if v is None:
        return ""
    f = float(v)
    return "inf" if math.isinf(f) and f > 0 else f"{f:.1f}"


def to_html(report) -> str:
    """Render *report* as one self-contained HTML page."""
    d = report.data
    rows = []
    for s in d["signals"]:
        est = s["sqnr_db"] is not None and s["sqnr_db_verified"] is None
        design = ("" if s["design_min"] is None
                  else f"[{fmt_num(s['design_min'])}, {fmt_num(s['design_max'])}]")
        cur, prop = s["current"] or {}, s["proposed"] or {}
        rows.append({
            "s": s,
            "risk": bool(s["overflows"]) or s["name"] in d["summary"]["overflow_risk_signals"],
            "current_names": _names(s["current"]), "proposed_names": _names(s["proposed"]),
            "sqnr_estimated": est,
            "v": {"sim_min": _v(s["sim_min"]), "sim_max": _v(s["sim_max"]),
                  "derived_min": _v(s["derived_min"]), "derived_max": _v(s["derived_max"]),
                  "design_min": _v(s["design_min"]), "current": _v(cur.get("word_length")),
                  "proposed": _v(prop.get("word_length")),
                  "percent": _v(s["percent_range_used"]), "overflows": _v(s["overflows"]),
                  "underflows": _v(s["underflows"]), "sqnr": _v(s["sqnr_db"])},
            "t": {"sim_min": fmt_num(s["sim_min"]), "sim_max": fmt_num(s["sim_max"]),
                  "derived_min": fmt_num(s["derived_min"]),
                  "derived_max": fmt_num(s["derived_max"]), "design": design,
                  "percent": fmt_num(s["percent_range_used"], 4),
                  "overflows": fmt_num(s["overflows"]), "underflows": fmt_num(s["underflows"]),
                  "sqnr": ("~" if est else "") + _sqnr_text(s["sqnr_db"]),
                  "range_min": fmt_num(s["range_min"]), "range_max": fmt_num(s["range_max"]),
                  "count": fmt_num(s["count"]),
                  "clip": ("" if s["clip_fraction"] is None
                           else f"{100 * float(s['clip_fraction']):.4g}% of values"),
                  "max_abs_error": fmt_num(s["max_abs_error"])},
            "hist": histogram_png(s),
            "err": error_png(s["name"], s["error"]) if s["verified"] else None,
        })
    outputs = [{"name": o["name"], "sqnr": _sqnr_text(o["sqnr_db"]),
                "max_abs_error": fmt_num(o["max_abs_error"]), "count": o["count"],
                "plot": error_png(o["name"], o["error"])} for o in d["outputs"]]
    s = d["summary"]
    settings = ", ".join(f"{k}={v}" for k, v in d["settings"].items() if v is not None)
    return _template().render(
        d=d, s=s, rows=rows, outputs=outputs, warnings=d["warnings"], columns=COLUMNS,
        settings=settings,
        worst_sqnr=("n/a" if s["worst_sqnr_db"] is None
                    else _sqnr_text(s["worst_sqnr_db"]) + " dB"),
        output_sqnr=_sqnr_text(s["output_sqnr_db"]) + " dB",
        types_json=json.dumps(d["types"], indent=2),
        data_json=markupsafe_json(_embedded(d)))


def _embedded(d: dict) -> dict:
    """The report data embedded in the page (machine-readable), without the error samples."""
    out = dict(d)
    out["signals"] = [{k: v for k, v in s.items() if k != "error"} for s in d["signals"]]
    out["outputs"] = [{k: v for k, v in o.items() if k != "error"} for o in d["outputs"]]
    return out


def markupsafe_json(obj) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` escaped as ``\\u``
    sequences (still the same JSON)."""
    from markupsafe import Markup

    text = json.dumps(obj, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)
