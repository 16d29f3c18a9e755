"""The ``fixsim`` command line (also ``python -m fixsim``).

Commands::

    fixsim demo [--example ddc|eq|mlp] [--out DIR]    the whole flow on a bundled example
    fixsim propose MODULE:FUNCTION --inputs FILE ...  the whole flow on your algorithm
    fixsim propose MODEL.onnx --calib FILE ...        ... on your network (and its accuracy)
    fixsim report FILE.json [--out DIR]               re-render a saved report, proposal or
                                                      recording without re-simulating
    fixsim verify MODULE:FUNCTION --inputs FILE --types TYPES.json
    fixsim export TYPES.json --format vhdl ...        type declarations from a type table
    fixsim tour                                       a short bit-exact tour of fi

Exit codes: 0 success, 1 failure (bad data, a failed verification, an error in the
algorithm), 2 usage (unknown options, missing arguments). ``--help`` works everywhere.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Callable
from types import SimpleNamespace

__all__ = ["main", "CLIError"]

REPORT_FORMATS = ("html", "json", "csv", "md")
DATA_FORMATS = ("data",)  # recording.json, proposal.json, derived.json
EXPORT_FORMATS = ("vhdl", "systemverilog", "hls", "ac", "c", "types")
ALL_FORMATS = REPORT_FORMATS + EXPORT_FORMATS + DATA_FORMATS
DEFAULT_FORMATS = ("html", "json", "csv", "md", "vhdl", "systemverilog", "hls", "c", "types",
                   "data")


class CLIError(Exception):
    """A failure the command line reports as ``fixsim: error: ...`` with exit code 1."""


class _UsageError(Exception):
    """Bad usage found after parsing (exit code 2)."""


# -- output --------------------------------------------------------------------------------------
def _console(args):
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is in the cli extra
        return None
    width = getattr(args, "width", None)
    if width is None and not sys.stdout.isatty():
        width = 150  # a file or a pipe: wide enough for the table
    return Console(width=width, soft_wrap=False, highlight=False)


def _say(args, text: str) -> None:
    if getattr(args, "quiet", False):
        return
    print(text, flush=True)


def _progress(args) -> bool:
    p = getattr(args, "progress", None)
    return sys.stderr.isatty() if p is None else p


# -- argument helpers ----------------------------------------------------------------------------
def _formats(text: str | None) -> tuple[list[str], list[str], bool]:
    """Split ``--format html,vhdl,...`` into report formats, export formats and whether to
    save the data (recording, proposal, derived ranges)."""
    if text is None:
        chosen = list(DEFAULT_FORMATS)
    else:
        chosen = [f.strip().lower() for f in text.split(",") if f.strip()]
        aliases = {"sv": "systemverilog", "verilog": "systemverilog", "vhd": "vhdl",
                   "markdown": "md", "ap_fixed": "hls", "ac_fixed": "ac", "type-json": "types",
                   "all": None}
        out = []
        for f in chosen:
            f = aliases.get(f, f)
            if f is None:
                out += [g for g in ALL_FORMATS if g != "ac"]
            elif f not in ALL_FORMATS:
                raise _UsageError(f"--format: {f!r} is not a format; valid: "
                                  f"{', '.join(ALL_FORMATS)} (comma-separated), or 'all'.")
            else:
                out.append(f)
        chosen = list(dict.fromkeys(out))
    report = [f for f in chosen if f in REPORT_FORMATS]
    exports = ["json" if f == "types" else f for f in chosen if f in EXPORT_FORMATS]
    return report, exports, "data" in chosen


def _positive_int(option: str) -> Callable[[str], int]:
    """An argparse type: an integer >= 1, else a usage error naming *option* and the value
    (regression: ``fixsim demo --frames 0`` ran and failed in propose with a message about
    an empty recording)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option} must be an integer >= 1, got {text!r}")
        return value

    parse.__name__ = "positive integer"
    return parse


def _load_target(target: str) -> Callable:
    """``module:function``, ``path/to/file.py:function`` or a saved model file (``Model.save``)
    -> the callable or the model."""
    if ":" not in target and os.path.isfile(target) and not target.endswith(".py"):
        from .signal import Model

        try:
            return Model.load(target)
        except (ValueError, OSError) as exc:
            raise CLIError(f"TARGET {target!r}: {exc}") from None
    if ":" not in target:
        raise _UsageError(f"TARGET {target!r} must be 'module:function', "
                          "'path/to/file.py:function' or a model file saved with "
                          "fixsim.signal.Model.save.")
    mod_name, _, attr = target.rpartition(":")
    if not mod_name or not attr:
        raise _UsageError(f"TARGET {target!r} must be 'module:function' or "
                          "'path/to/file.py:function'.")
    module = _import(mod_name)
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CLIError(f"{mod_name!r} has no attribute {attr!r} (from TARGET "
                           f"{target!r}).") from None
    return obj


def _import(mod_name: str):
    if mod_name.endswith(".py") or os.sep in mod_name or "/" in mod_name:
        path = os.path.abspath(mod_name)
        if not os.path.isfile(path):
            raise CLIError(f"TARGET file {mod_name!r} does not exist.")
        name = "_fixsim_target_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like python -m: the current folder is importable
    try:
        return importlib.import_module(mod_name)
    except ModuleNotFoundError as exc:
        if exc.name and mod_name.startswith(exc.name):
            raise CLIError(f"cannot import module {mod_name!r}: {exc}. Run from the folder "
                           "that holds it, or give a file path (path/to/file.py:function).") \
                from None
        raise


def _load_inputs(path: str) -> list:
    """Frames from ``.npy`` (1-D: one frame; N-D: rows are frames) or ``.npz`` (each array a
    frame, in file order)."""
    import numpy as np

    if not os.path.isfile(path):
        raise CLIError(f"--inputs: file {path!r} does not exist.")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            a = np.load(path, allow_pickle=False)
            return [a] if a.ndim <= 1 else list(a)
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as z:
                frames = [z[k] for k in z.files]
            if not frames:
                raise CLIError(f"--inputs: {path!r} holds no arrays.")
            return frames
    except (ValueError, OSError) as exc:
        raise CLIError(f"--inputs: cannot read {path!r}: {exc}") from None
    raise CLIError(f"--inputs: {path!r} must be a .npy or .npz file (numpy.save / "
                   "numpy.savez), got extension {ext!r}.")


def _load_table(spec: str, what: str):
    """A TypeTable from a JSON file or ``module:NAME``."""
    from ._core._typetable import TypeTable

    if os.path.isfile(spec):
        try:
            with open(spec, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as exc:
            raise CLIError(f"{what}: cannot read {spec!r}: {exc}") from None
        if isinstance(data, dict) and data.get("schema") is None and "signals" not in data:
            # a plain {name: type} mapping is accepted too
            try:
                return TypeTable(data)
            except (TypeError, ValueError) as exc:
                raise CLIError(f"{what}: {spec!r}: {exc}") from None
        try:
            return TypeTable.from_dict(data)
        except (TypeError, ValueError, KeyError) as exc:
            raise CLIError(f"{what}: {spec!r} is not a type table: {exc}") from None
    if ":" in spec and not spec.lower().endswith(".json"):
        obj = _load_target(spec)
        if not isinstance(obj, TypeTable):
            raise CLIError(f"{what}: {spec!r} is a {type(obj).__name__}, not a TypeTable.")
        return obj.copy()
    raise CLIError(f"{what}: {spec!r} is neither an existing JSON file nor 'module:NAME'.")


def _default_table(fn, target: str):
    from ._core._typetable import TypeTable

    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    for name in ("T", "TYPES", "types"):
        t = getattr(module, name, None)
        if isinstance(t, TypeTable):
            return t.copy()
    found = sorted(k for k, v in vars(module).items() if isinstance(v, TypeTable)) \
        if module is not None else []
    if len(found) == 1:
        return getattr(module, found[0]).copy()
    several = (f" (the module has several: {', '.join(found)}; name one with "
               "--types module:NAME)" if found else "")
    raise _UsageError(f"no type table for {target!r}{several}: pass --types TYPES.json (or "
                      "module:NAME), or define a TypeTable named T in the module.")


def _apply_locks(T, spec: str | None):
    if spec is None:
        return T
    locks = _load_table(spec, "--locks")
    for name in locks.names:
        T.update({name: locks.entry(name)}, force=True)
        T.lock(name)
    return T


def _design(spec: str | None):
    if spec is None:
        return None
    try:
        with open(spec, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        raise CLIError(f"--design: cannot read {spec!r}: {exc}") from None
    if not isinstance(data, dict) or not all(
            isinstance(v, list | tuple) and len(v) == 2 for v in data.values()):
        raise CLIError(f"--design: {spec!r} must hold {{\"signal\": [min, max], ...}}.")
    return {k: (float(v[0]), float(v[1])) for k, v in data.items()}


def _run_flow(args, fn, inputs, T, title, input_range, overrides, design=None):
    from ._demo import run_flow

    report_formats, export_formats, save_data = _formats(args.format)
    source = args.source
    if source is None:
        source = "union" if input_range is not None else "simulation"
    if input_range is None and source in ("derived", "union"):
        raise _UsageError(f"--source {source} needs --input-range LO HI (the design range "
                          "of the input, for static range analysis).")
    if source == "design" and not design:
        raise _UsageError("--source design needs --design RANGES.json.")
    return run_flow(fn, inputs, T, args.out, title=title, word_length=args.word_length,
                    fraction_length=args.fraction_length, margin=args.margin,
                    policy=args.policy, percentile=args.percentile, source=source,
                    design=design,
                    input_range=input_range, overrides=overrides,
                    verify=not args.no_verify, progress=_progress(args),
                    report_formats=report_formats, export_formats=export_formats,
                    save_data=save_data, log=lambda s: _say(args, s))


def _finish(args, result) -> int:
    if not args.quiet:
        result.report.to_terminal(_console(args))
    _say(args, "")
    for key, path in result.files.items():  # the output paths, even with --quiet
        print(f"  {key:<16} {path}")
    html = result.files.get("report.html")
    if html:
        print(f"\nReport: {os.path.abspath(html)}")
        _say(args, f"Open it in a browser: file://{os.path.abspath(html)}")
    failures = getattr(result, "failures", None) or []
    for f in failures:
        print(f"fixsim {args.command}: error: {f['step']} failed: {f['error']}",
              file=sys.stderr)
    return 1 if failures else 0


# -- commands ------------------------------------------------------------------------------------
def _cmd_demo(args) -> int:
    from ._demo import EXAMPLES, NETWORK_EXAMPLES

    if args.example in NETWORK_EXAMPLES:
        return _cmd_demo_network(args)
    ex = EXAMPLES[args.example]
    out = args.out or os.path.join(os.getcwd(), f"fixsim-demo-{ex.name}")
    args.out = out
    _say(args, f"fixsim demo: {ex.title}\nwriting to {os.path.abspath(out)}")
    inputs = ex.inputs(frames=args.frames)
    result = _run_flow(args, ex.fn, inputs, ex.types(), ex.title,
                       args.input_range or ex.input_range, ex.overrides)
    return _finish(args, result)


# -- networks ------------------------------------------------------------------------------------
def _load_samples(path: str, what: str):
    """Samples (first axis) and labels or None from ``.npy`` or ``.npz`` (``'x'``/``'y'``,
    else every array concatenated along the first axis)."""
    import numpy as np

    if not os.path.isfile(path):
        raise CLIError(f"{what}: file {path!r} does not exist.")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            x, y = np.load(path, allow_pickle=False), None
        elif ext == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if not z.files:
                    raise CLIError(f"{what}: {path!r} holds no arrays.")
                if "x" in z.files:
                    x = z["x"]
                    y = z["y"] if "y" in z.files else None
                else:
                    x, y = np.concatenate([z[k] for k in z.files]), None
        else:
            raise CLIError(f"{what}: {path!r} must be a .npy or .npz file (numpy.save / "
                           f"numpy.savez), got extension {ext!r}.")
    except (ValueError, OSError) as exc:
        raise CLIError(f"{what}: cannot read {path!r}: {exc}") from None
    if x.ndim < 2 or len(x) == 0:
        raise CLIError(f"{what}: {path!r} must hold samples along the first axis (at least "
                       f"2-D), got shape {x.shape}.")
    if y is not None and (y.ndim != 1 or len(y) != len(x)):
        raise CLIError(f"{what}: labels 'y' in {path!r} must be one class per sample "
                       f"({len(x)}), got shape {y.shape}.")
    return x, y


def _runtimes(text: str) -> list[str]:
    from .nn import RUNTIMES

    out = [r.strip() for r in text.split(",") if r.strip()]
    bad = [r for r in out if r not in RUNTIMES + ("tflite-reference",)]
    if bad or not out:
        raise _UsageError(f"--runtimes: {', '.join(map(repr, bad)) or 'nothing'} is not "
                          f"valid; valid (comma-separated): {', '.join(RUNTIMES)}, "
                          "tflite-reference.")
    return out


def _run_network(args, net, calib, x_test, y_test, title, input_range):
    from ._demo import run_network_flow

    report_formats, export_formats, save_data = _formats(args.format)
    source = args.source or ("union" if input_range is not None else "simulation")
    if input_range is None and source in ("derived", "union"):
        raise _UsageError(f"--source {source} needs --input-range LO HI (the design range "
                          "of the input, for static range analysis).")
    if source == "design":
        raise _UsageError("--source design is not available for networks; valid: "
                          "simulation, derived, union.")
    result = run_network_flow(
        net, calib, args.out, x_test=x_test, y_test=y_test, title=title,
        word_length=args.word_length or (None if args.fraction_length is not None else 16),
        fraction_length=args.fraction_length, margin=args.margin, policy=args.policy,
        percentile=args.percentile, source=source, input_range=input_range,
        verify=not args.no_verify, progress=_progress(args), observer=args.observer,
        runtimes=_runtimes(args.runtimes), report_formats=report_formats,
        export_formats=export_formats, save_data=save_data, log=lambda s: _say(args, s))
    _say(args, "")
    _say(args, result.accuracy.to_markdown())
    return _finish(args, result)


def _cmd_demo_network(args) -> int:
    from ._demo import NETWORK_EXAMPLES, _write_bytes, digits_mlp
    from .nn import load_onnx

    title = NETWORK_EXAMPLES[args.example]
    out = args.out or os.path.join(os.getcwd(), f"fixsim-demo-{args.example}")
    args.out = out
    os.makedirs(out, exist_ok=True)
    _say(args, f"fixsim demo: {title}\nwriting to {os.path.abspath(out)}")
    _say(args, "training the MLP on scikit-learn's digits ...")
    model, calib, x_test, y_test = digits_mlp()
    path = os.path.join(out, "digits_mlp.onnx")
    _write_bytes(path, model.SerializeToString())
    args.observer, args.runtimes = "histogram", "onnxruntime,tflite,pytorch-fbgemm"
    rc = _run_network(args, load_onnx(path), calib, x_test, y_test, title,
                      args.input_range or (0.0, 1.0))
    print(f"  {'model':<16} {path}")
    return rc


def _cmd_propose_network(args) -> int:
    from .nn import load_onnx

    if args.inputs and args.calib:
        raise _UsageError("give the calibration samples once: --calib (or --inputs).")
    spec = args.calib or args.inputs
    if not spec:
        raise _UsageError("an ONNX model TARGET needs --calib FILE (calibration samples).")
    for flag in ("types", "design", "overrides", "locks"):
        if getattr(args, flag, None):
            raise _UsageError(f"--{flag} is not available for an ONNX model TARGET.")
    if not os.path.isfile(args.target):
        raise CLIError(f"TARGET: file {args.target!r} does not exist.")
    calib, labels = _load_samples(spec, "--calib")
    x_test, y_test = (_load_samples(args.test, "--test") if args.test else (calib, labels))
    if args.test and y_test is None:
        raise CLIError(f"--test: {args.test!r} needs labels: an array 'y' next to 'x'.")
    try:
        net = load_onnx(args.target)
    except Exception as exc:  # noqa: BLE001 - a bad model is the user's data
        raise CLIError(f"TARGET {args.target!r}: {exc}") from None
    if net.quantized:
        raise CLIError(f"TARGET {args.target!r} is already quantized; give the float model.")
    args.out = args.out or os.path.join(os.getcwd(), "fixsim-report")
    title = args.title or f"Range proposal for {os.path.basename(args.target)}"
    return _run_network(args, net, calib, x_test, y_test, title, args.input_range)


def _is_model(obj) -> bool:
    from .signal import Model

    return isinstance(obj, Model)


class _ModelRunner:
    """A block model as an algorithm ``fn(frame, T)``: each frame starts from reset state
    (frames are independent, so recording and verification see the same computation), and
    the model's outputs are returned in order."""

    def __init__(self, model):
        self.model = model

    def __call__(self, x, T):
        self.model.reset()
        out = self.model.run(x, types=T)
        return tuple(out.values()) if len(out) > 1 else next(iter(out.values()))


def _algorithm(args):
    """The TARGET as ``(fn, default_table)``: a function, or a fixsim.signal.Model."""
    obj = _load_target(args.target)
    if _is_model(obj):
        try:
            T = obj.type_table(args.input_type)
        except (TypeError, ValueError) as exc:
            raise CLIError(f"--input-type {args.input_type!r}: {exc}") from None
        return _ModelRunner(obj), T
    if not callable(obj):
        raise CLIError(f"TARGET {args.target!r} is a {type(obj).__name__}, not a function "
                       "or a fixsim.signal.Model.")
    return obj, None


def _cmd_propose(args) -> int:
    if args.target.lower().endswith(".onnx"):
        return _cmd_propose_network(args)
    if not args.inputs:
        raise _UsageError("the following arguments are required: --inputs/-i (for an ONNX "
                          "model TARGET: --calib).")
    fn, model_table = _algorithm(args)
    inputs = _load_inputs(args.inputs)
    if args.types:
        T = _load_table(args.types, "--types")
    else:
        T = model_table if model_table is not None else _default_table(fn, args.target)
    T = _apply_locks(T, args.locks)
    design = _design(args.design)
    overrides = None
    if args.overrides:
        try:
            with open(args.overrides, encoding="utf-8") as f:
                overrides = json.load(f)
        except (OSError, json.JSONDecodeError) as exc:
            raise CLIError(f"--overrides: cannot read {args.overrides!r}: {exc}") from None
    args.out = args.out or os.path.join(os.getcwd(), "fixsim-report")
    title = args.title or f"Range proposal for {args.target}"
    result = _run_flow(args, fn, inputs, T, title, args.input_range, overrides, design)
    return _finish(args, result)


def _cmd_report(args) -> int:
    from .report import Report

    path = args.file
    if not os.path.isfile(path):
        raise CLIError(f"report: file {path!r} does not exist.")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        raise CLIError(f"report: cannot read {path!r} as JSON: {exc}") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    report_formats, export_formats, save_data = _formats(args.format)
    data_objects: dict = {}
    if schema == "fixsim.Report/1":
        if save_data:
            # regression: 'data' was accepted and silently ignored
            raise _UsageError("--format: 'data' (recording.json, proposal.json, derived.json) "
                              f"needs a recording or a proposal as input; {path!r} is a saved "
                              "report, which holds neither.")
        report = Report(data)
        types = report.types
    elif schema in ("fixsim.Proposal/1", "fixsim.Recording/1"):
        from . import tool

        rec = None
        if schema == "fixsim.Proposal/1":
            proposal = tool.Proposal.from_dict(data)
            if args.recording:
                rec = tool.Recording.load(args.recording)
        else:
            rec = tool.Recording.from_dict(data)
            T = _load_table(args.types, "--types") if args.types else None
            T = _apply_locks(T, args.locks) if T is not None else None
            proposal = tool.propose(rec, T, word_length=args.word_length,
                                    fraction_length=args.fraction_length, margin=args.margin,
                                    policy=args.policy, percentile=args.percentile)
        derived = None
        if args.derived:
            from .tool._derive import DerivedRanges

            derived = DerivedRanges.load(args.derived)
        report = Report.build(proposal, rec, None, derived,
                              title=args.title or f"Range proposal ({os.path.basename(path)})")
        types = proposal.types
        data_objects = {"recording": rec, "proposal": proposal, "derived": derived}
    else:
        raise CLIError(f"report: {path!r} has schema {schema!r}; expected a saved report "
                       "(fixsim.Report/1, report.json), a proposal (fixsim.Proposal/1) or a "
                       "recording (fixsim.Recording/1).")
    from ._demo import EXPORT_FILES
    from .report import export

    out = args.out or os.path.dirname(os.path.abspath(path))
    os.makedirs(out, exist_ok=True)
    stem = "report"
    if schema == "fixsim.Report/1" and os.path.abspath(out) == os.path.dirname(
            os.path.abspath(path)) and os.path.basename(path) == "report.json":
        report_formats = [f for f in report_formats if f != "json"]  # don't rewrite the input
    files = {f"report.{k}": v for k, v in report.write(out, report_formats, stem=stem).items()}
    if save_data:  # as `fixsim propose` saves them; the input file itself is not rewritten
        for key, obj in data_objects.items():
            p = os.path.join(out, f"{key}.json")
            if obj is not None and os.path.abspath(p) != os.path.abspath(path):
                obj.save(p)
                files[key] = p
    for fmt in export_formats:
        p = os.path.join(out, EXPORT_FILES[fmt])
        export(types, fmt, p)
        files["types" if fmt == "json" else fmt] = p
    return _finish(args, SimpleNamespace(report=report, files=files))


def _cmd_verify(args) -> int:
    from . import tool

    fn, _ = _algorithm(args)
    inputs = _load_inputs(args.inputs)
    T = _load_table(args.types, "--types")
    v = tool.verify(fn, inputs, T, progress=_progress(args))
    console = _console(args)
    rows = v.to_rows()
    if console is not None and not args.quiet:
        from rich.table import Table

        table = Table(title=f"verify {args.target}: fixed against double")
        for c in ("signal", "type", "values", "overflows", "underflows", "max |error|",
                  "SQNR dB"):
            table.add_column(c, justify="left" if c in ("signal", "type") else "right")
        for r in rows:
            table.add_row(r["name"], r["numerictype"] or r["kind"], str(r["count"]),
                          str(r["overflows"]), str(r["underflows"]),
                          f"{r['max_abs_error']:.4g}", f"{r['sqnr_db']:.2f}",
                          style="red" if r["overflows"] else None)
        console.print(table)
    if args.json:
        from .report._exports import write_text_atomic

        write_text_atomic(args.json, json.dumps(
            {"schema": "fixsim.VerificationRows/1", "rows": rows}, indent=1,
            default=lambda o: repr(o)) + "\n")
        _say(args, f"rows written to {args.json}")
    failures = []
    if v.overflows and not args.allow_overflow:
        bad = [r["name"] for r in rows if r["overflows"]]
        failures.append(f"{v.overflows} overflow(s) in {', '.join(bad)}")
    if args.min_sqnr is not None:
        low = [r["name"] for r in rows if r["sqnr_db"] < args.min_sqnr]
        if low:
            failures.append(f"SQNR below {args.min_sqnr} dB in {', '.join(low)}")
    if failures:
        raise CLIError("verification failed: " + "; ".join(failures) + ".")
    _say(args, f"verification passed ({len(v)} signals, {len(v.outputs)} output(s)).")
    return 0


def _cmd_export(args) -> int:
    from ._demo import EXPORT_FILES
    from .report import export

    T = _load_table(args.types, "TYPES")
    _, exports, _ = _formats(args.format or "vhdl,systemverilog,hls,c")
    out = args.out or os.getcwd()
    os.makedirs(out, exist_ok=True)
    for fmt in exports:
        p = os.path.join(out, EXPORT_FILES[fmt])
        export(T, fmt, p)
        print(f"  {fmt:<14} {p}")
    return 0


def _cmd_tour(_args) -> int:
    import numpy as np

    import fixsim as fx
    from fixsim import fi, numerictype

    a = fi(np.pi, 1, 16, 13)
    print(f"fi(pi, 1, 16, 13)       -> {a.data!r}  stored {a.int}  bin {a.bin}  ({a.numerictype})")
    p = a * a
    print(f"a * a (full precision)  -> {p.data!r}  ({p.numerictype})")
    T = numerictype(True, 16, 12)
    for rounding, overflow in (("nearest", "saturate"), ("floor", "wrap")):
        c = p.cast(T, rounding=rounding, overflow=overflow)
        print(f"cast to {T} {rounding}/{overflow:<8} -> {c.data!r}  stored {c.int}")
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    print(f"ties {x.tolist()}")
    for mode in ("nearest", "round", "convergent", "floor", "ceil", "zero"):
        print(f"  {mode:<10} -> {fi(x, 1, 8, 0, rounding=mode).int.tolist()}")
    with fx.count_quantization() as counts:
        fi(np.linspace(-3, 3, 13), 1, 8, 6)
    print(f"quantizing linspace(-3, 3, 13) to sfix8_En6: {counts.overflows} overflows")
    return 0


# -- the parser ----------------------------------------------------------------------------------
def _range_arg(parser):
    parser.add_argument("--input-range", nargs=2, type=float, metavar=("LO", "HI"),
                        help="design range of the input, for derived ranges (static "
                             "analysis with fx.tool.derive)")


def _proposal_args(parser, *, with_source=True):
    g = parser.add_argument_group("proposal")
    g.add_argument("--word-length", "-w", type=int, default=None, metavar="W",
                   help="word length of the proposed types (default 16; with "
                        "--fraction-length: that exact type)")
    g.add_argument("--fraction-length", "-f", type=int, default=None, metavar="F",
                   help="fraction length of the proposed types (the smallest covering word "
                        "length is proposed)")
    g.add_argument("--margin", "-m", type=float, default=0.0, metavar="PCT",
                   help="safety margin in percent (MATLAB's: 50 turns [-8, 8] into "
                        "[-12, 12]); default 0")
    g.add_argument("--policy", "-p", choices=("minmax", "percentile", "mse", "kl"),
                   default="minmax", help="clipping policy (default minmax)")
    g.add_argument("--percentile", type=float, default=99.99,
                   help="the percentile kept by --policy percentile (default 99.99)")
    if with_source:
        g.add_argument("--source", choices=("simulation", "derived", "union", "design"),
                       default=None, help="range source (default: union when --input-range "
                                          "is given, else simulation)")
    g.add_argument("--locks", metavar="TYPES.json",
                   help="a JSON type table whose signals keep exactly these types (locked)")


def _output_args(parser, default_out: str):
    g = parser.add_argument_group("output")
    g.add_argument("--out", "-o", metavar="DIR", default=None,
                   help=f"output folder (created; default {default_out})")
    g.add_argument("--format", "--formats", dest="format", metavar="LIST", default=None,
                   help="comma-separated formats: report " + ", ".join(REPORT_FORMATS)
                        + "; exports " + ", ".join(EXPORT_FORMATS)
                        + " ('types' is the JSON type table); 'data' (recording.json, "
                          "proposal.json, derived.json); 'all'. Default: all but ac")
    g.add_argument("--title", default=None, help="report title")


def _common(parser):
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only errors and the output paths")
    parser.add_argument("--progress", dest="progress", action="store_true", default=None,
                        help="show progress bars (default: when stderr is a terminal)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--width", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--traceback", action="store_true",
                        help="on an error, print the full Python traceback")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from fixsim import __version__

    parser = argparse.ArgumentParser(
        prog="fixsim", description="Bit-accurate fixed-point simulation: propose fixed-point "
        "types for an algorithm from simulated and derived ranges, verify them against double, "
        "and write a report and type declarations (VHDL, SystemVerilog, HLS C++, C).",
        epilog="Exit codes: 0 success, 1 failure, 2 usage. 'fixsim COMMAND --help' for more.")
    parser.add_argument("--version", action="version", version=f"fixsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="run the whole flow on a bundled example and write a report",
                       description="Record, derive, propose, verify, report and export on a "
                       "bundled example; prints where the report is.")
    p.add_argument("--example", "-e", choices=("ddc", "eq", "mlp"), default="ddc",
                   help="ddc: digital down-converter (NCO, CIC, FIR); eq: three-band FIR "
                        "equaliser; mlp: a digits MLP trained on the spot, exported to "
                        "ONNX, in fixed point (16 and 8 bits) and int8, with its accuracy "
                        "(default ddc)")
    p.add_argument("--frames", type=_positive_int("--frames"), default=8,
                   help="input frames to simulate (8)")
    _range_arg(p)
    _proposal_args(p)
    p.add_argument("--no-verify", action="store_true", help="skip the verification")
    _output_args(p, "./fixsim-demo-EXAMPLE")
    _common(p)
    p.set_defaults(func=_cmd_demo, word_length=None, source=None)

    p = sub.add_parser("propose", help="propose types for your algorithm (module:function)",
                       description="Run MODULE:FUNCTION(x, T) on every input frame, record "
                       "each named signal, propose types, verify them against double and "
                       "write the report and type exports.")
    p.add_argument("target", metavar="TARGET",
                   help="the algorithm: 'package.module:function' or 'file.py:function', "
                        "called as function(frame, T); or 'module:NAME' naming a "
                        "fixsim.signal.Model (run on each frame from reset state), or the path "
                        "of a model saved with Model.save; or a "
                        "float ONNX network 'model.onnx' (with --calib)")
    p.add_argument("--input-type", default="sfix16_En15", metavar="TYPE",
                   help="for a Model TARGET without --types: the input type its "
                        "full-precision starting table is built from (default sfix16_En15)")
    p.add_argument("--inputs", "-i", metavar="FILE",
                   help=".npy (1-D: one frame; N-D: rows are frames) or .npz (each array a "
                        "frame); required unless TARGET is an ONNX model")
    g = p.add_argument_group("networks (TARGET model.onnx)")
    g.add_argument("--calib", metavar="FILE",
                   help="calibration samples: .npy (first axis: samples) or .npz (array 'x', "
                        "else every array, concatenated; an array 'y' gives labels)")
    g.add_argument("--test", metavar="FILE.npz",
                   help="a labelled set (arrays 'x' and 'y') for top-1 accuracy (default: "
                        "the calibration set if it has labels)")
    g.add_argument("--observer", default="minmax",
                   choices=("minmax", "moving_average", "percentile", "histogram", "entropy"),
                   help="calibration observer of the int8 quantization (minmax)")
    g.add_argument("--runtimes", default="onnxruntime", metavar="LIST",
                   help="int8 runtimes to compare, comma-separated (onnxruntime)")
    p.add_argument("--types", "-t", metavar="TYPES.json|module:NAME",
                   help="the starting type table (default: a TypeTable named T in the "
                        "target's module)")
    p.add_argument("--design", metavar="RANGES.json",
                   help="design ranges {\"signal\": [min, max]}: they take precedence")
    p.add_argument("--overrides", metavar="OVERRIDES.json",
                   help="per-signal proposal settings {\"signal\": {\"word_length\": 32}}")
    _range_arg(p)
    _proposal_args(p)
    p.add_argument("--no-verify", action="store_true", help="skip the verification")
    _output_args(p, "./fixsim-report")
    _common(p)
    p.set_defaults(func=_cmd_propose)

    p = sub.add_parser("report", help="re-render a saved report, proposal or recording",
                       description="Re-render from saved data without re-simulating: a "
                       "report.json (fixsim.Report/1), a saved Proposal (with --recording for "
                       "histograms) or a saved Recording (proposes first, with the proposal "
                       "options).")
    p.add_argument("file", metavar="FILE.json")
    p.add_argument("--recording", metavar="RECORDING.json",
                   help="the recording of a saved proposal (histograms)")
    p.add_argument("--derived", metavar="DERIVED.json", help="saved derived ranges")
    p.add_argument("--types", "-t", metavar="TYPES.json",
                   help="the table in use, for a saved recording")
    _proposal_args(p, with_source=False)
    _output_args(p, "the input file's folder")
    _common(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("verify", help="run fixed against double and check the result",
                       description="Run MODULE:FUNCTION(x, T) with the fixed types and in "
                       "double on every input frame and compare each signal. Fails (exit 1) "
                       "on overflows (unless --allow-overflow) or on an SQNR below "
                       "--min-sqnr.")
    p.add_argument("target", metavar="TARGET",
                   help="'module:function', 'file.py:function' or 'module:NAME' of a "
                        "fixsim.signal.Model")
    p.add_argument("--inputs", "-i", required=True, metavar="FILE")
    p.set_defaults(input_type="sfix16_En15")
    p.add_argument("--types", "-t", required=True, metavar="TYPES.json|module:NAME",
                   help="the fixed-point type table to verify")
    p.add_argument("--min-sqnr", type=float, default=None, metavar="DB",
                   help="fail when a signal's SQNR is below this")
    p.add_argument("--allow-overflow", action="store_true",
                   help="do not fail on overflows")
    p.add_argument("--json", metavar="FILE", help="write the per-signal rows as JSON")
    _common(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("export", help="type declarations from a JSON type table",
                       description="Write VHDL, SystemVerilog, HLS C++ or C declarations of "
                       "a type table (types.json, TypeTable.to_json).")
    p.add_argument("types", metavar="TYPES.json")
    p.add_argument("--format", "--formats", dest="format", metavar="LIST", default=None,
                   help="comma-separated: " + ", ".join(EXPORT_FORMATS)
                        + " (default vhdl,systemverilog,hls,c)")
    p.add_argument("--out", "-o", metavar="DIR", default=None,
                   help="output folder (default: the current folder)")
    _common(p)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("tour", help="a short bit-exact tour of fi",
                       description="Print a few fi results (rounding ties, casts, overflow "
                       "counts).")
    p.set_defaults(func=_cmd_tour)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return int(exc.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except _UsageError as exc:
        print(f"fixsim {args.command}: usage error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fixsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the command line reports every failure
        if getattr(args, "traceback", False):
            traceback.print_exc()
        kind = "" if isinstance(exc, CLIError) else f"{type(exc).__name__}: "
        print(f"fixsim {args.command}: error: {kind}{exc}", file=sys.stderr)
        if not isinstance(exc, CLIError) and not getattr(args, "traceback", False):
            print("(run with --traceback for the full Python traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
