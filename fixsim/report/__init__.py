"""Reports of range proposals, and type exports for hardware designers (``fixsim.report``).

Exports of a :class:`~fixsim.TypeTable` (standard library only)::

    export(T, format, path)    one entry point: 'vhdl', 'systemverilog', 'hls', 'ac', 'c', 'json'
    export_vhdl, export_systemverilog, export_hls, export_c, export_json

Reports of a :class:`fixsim.tool.Proposal` (HTML needs the ``report`` extra: matplotlib,
jinja2; the terminal table needs ``rich`` from the ``cli`` extra)::

    Report                     the report's data: Report.build(proposal, recording,
                               verification, derived) or Report.load(path); renders with
                               to_html, to_json, to_csv, to_markdown, to_terminal, write
"""

from __future__ import annotations

from ._exports import (
    AC_OVERFLOW,
    AC_ROUNDING,
    FORMATS,
    HLS_OVERFLOW,
    HLS_ROUNDING,
    export,
    export_c,
    export_hls,
    export_json,
    export_systemverilog,
    export_vhdl,
)
from ._model import REPORT_SCHEMA, Report

__all__ = ["export", "export_vhdl", "export_systemverilog", "export_hls", "export_c",
           "export_json", "FORMATS", "HLS_ROUNDING", "HLS_OVERFLOW", "AC_ROUNDING",
           "AC_OVERFLOW", "Report", "REPORT_SCHEMA"]
