"""Independent review (s11): bad input to the public API gets a clear error.

The project's standard: "Bad input gets a clear error, naming the argument, the value and what
would be valid. No silent fallback to float, no truncated result without a warning", and the
message names the function or method (apytypes style).

Every case calls a public name (``fixsim``, ``fixsim.signal``, ``fixsim.nn``, ``fixsim.tool``,
``fixsim.report``) with one bad input and checks the exception type and that the message holds
the given fragments (the function or block, the argument, the offending value). Cases where
fixsim misbehaves today are strict xfails whose reason says: the call, what happens, what should
happen, and where the fault probably is.
"""

from __future__ import annotations

import functools
import json
import re

import numpy as np
import pytest

import fixsim as fx
from fixsim import fi, fimath, numerictype
from fixsim import nn as fxnn
from fixsim import report as fxreport
from fixsim import signal as fxs
from fixsim import tool as fxtool


def _pattern(fragments) -> str:
    """A regex that matches when every fragment occurs somewhere in the message."""
    return "(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments)


def case(id_, fn, exc, *fragments, bug=None, fixed=None):
    """One check: ``fn()`` raises ``exc`` with every fragment in its message. *bug*: the
    behaviour is still wrong (a strict xfail saying how); *fixed*: what the regression test
    pins (the review found it; it is fixed since)."""
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(fn, exc, fragments, id=id_, marks=marks)


def check(fn, exc, fragments):
    with pytest.raises(exc, match=_pattern(fragments)):
        fn()


# -- shared inputs (built lazily, so collection stays cheap) ---------------------------------------
T8 = numerictype(True, 8, 4)
SOS = np.array([[0.2, 0.4, 0.2, 1.0, -0.5, 0.2]])


def _a():
    return fi([1.0, -2.0], 1, 16, 8)


def _x16():
    return fi(np.linspace(-0.5, 0.5, 16), 1, 16, 14)


def _gain(x, T):
    return T.y(T.x(x) * 3.0)


@functools.lru_cache(maxsize=1)
def _recording():
    G = fx.TypeTable({"x": "double", "y": "double"})
    return fxtool.collect(_gain, [np.linspace(-1, 1, 50)], G), G


@functools.lru_cache(maxsize=1)
def _proposal():
    rec, G = _recording()
    return fxtool.propose(rec, G, word_length=16), rec


def _net():
    rng = np.random.default_rng(0)
    return fxnn.Sequential([fxnn.Dense(rng.normal(0, 0.3, (4, 3)), np.zeros(3), name="fc"),
                            fxnn.ReLU(name="r")])


def _seq(*layers):
    return fxnn.Sequential(list(layers))


def _onnx_model(op="Relu", inputs=("x",), attrs=None):
    from onnx import TensorProto, helper

    X = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])
    Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])
    node = helper.make_node(op, list(inputs), ["y"], name="n0", **(attrs or {}))
    graph = helper.make_graph([node], "g", [X], [Y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _model_gain():
    m = fxs.Model("m")
    m.input("x")
    m.add(fxs.Gain(0.5, name="g"), "x")
    m.output("y", "g")
    return m


def _model_sum():
    m = fxs.Model("m")
    m.input("x")
    m.input("u")
    m.add(fxs.Sum("++", name="s"), ["x", "u"])
    m.output("y", "s")
    return m


def _model_cycle():
    m = fxs.Model("loop")
    m.input("x")
    m.add(fxs.Sum("++", name="acc"), ["x", "z1"])
    m.add(fxs.Delay(1, name="z1"), "acc")
    m.output("y", "acc")
    return m.check()


def _model_dup():
    m = fxs.Model("m")
    m.input("x")
    m.add(fxs.Gain(0.5, name="g"), "x")
    m.add(fxs.Gain(0.5, name="g"), "x")


def _model_unknown_source():
    m = fxs.Model("m")
    m.input("x")
    m.add(fxs.Gain(0.5, name="g"), "nope")
    m.output("y", "g")
    return m.check()


def _model_bad_port():
    m = fxs.Model("m")
    m.input("x")
    m.add(fxs.Gain(0.5, name="g"), "x")
    m.add(fxs.Gain(0.5, name="h"), "g:3")      # Gain has one output
    m.output("y", "h")
    return m.check()


def _model_int_source():
    m = fxs.Model("m")
    m.input("x")
    m.add(fxs.Gain(0.5, name="g"), 5)


def _local_fimath_clash():
    return fi([1.0], 1, 16, 13, rounding="floor") + fi([1.0], 1, 16, 13, rounding="ceil")


# =================================================================================================
# numeric core: numerictype, fi, fimath, cast, arithmetic, bit operations
# =================================================================================================
_LOC_SEED = ("fixsim/_core/_quantize.py stochastic_words / set_stochastic_seed pass the seed "
             "straight to numpy.random.default_rng")

CORE = [
    case("nt-word-0", lambda: numerictype(True, 0, 0), ValueError, "numerictype", "word_length=0", "1..65535"),
    case("nt-word-65536", lambda: numerictype(True, 65536, 0), ValueError, "word_length=65536", "1..65535"),
    case("nt-word-8.5", lambda: numerictype(True, 8.5, 0), ValueError, "word_length", "8.5"),
    case("nt-word-bool", lambda: numerictype(True, True, 0), TypeError, "word_length", "True"),
    case("nt-frac-inf", lambda: numerictype(True, 8, float("inf")), ValueError, "fraction_length", "inf"),
    case("nt-signed-yes", lambda: numerictype("yes", 8, 0), ValueError, "signed", "'yes'"),
    case("nt-parse-garbage", lambda: numerictype.parse("banana"), ValueError, "numerictype.parse", "'banana'"),
    case("nt-contains-str", lambda: T8.contains("x"), (TypeError, ValueError), "contains", "'x'",
         fixed="numerictype(1,8,4).contains('x') raises a bare 'Invalid literal for Fraction: 'x'' "
             "that names neither contains nor the argument; expected TypeError "
             "'numerictype.contains: value must be a number, got str 'x''. "
             "Location: fixsim/_core/_numerictype.py contains() calls Fraction(value) unguarded."),
    case("fi-word-70000", lambda: fi(1.0, 1, 70000, 0), ValueError, "word_length=70000"),
    case("fi-rounding-name", lambda: fi(1.0, 1, 8, 0, rounding="bogus"), ValueError, "rounding='bogus'", "convergent"),
    case("fi-value-str", lambda: fi("abc", 1, 8, 0), TypeError, "fi:", "not numeric"),
    case("fi-value-nan", lambda: fi(np.nan, 1, 8, 0), ValueError, "fi:", "NaN", "nonfinite='matlab'"),
    case("fi-nonfinite-name", lambda: fi(1.0, 1, 8, 0, nonfinite="bogus"), ValueError, "nonfinite='bogus'", "'matlab'"),
    case("fi-seed-str", lambda: fi(0.3, 1, 8, 0, rounding="stochastic", seed="x"), TypeError, "seed", "'x'",
         fixed="fi(0.3, 1, 8, 0, rounding='stochastic', seed='x') raises numpy's 'SeedSequence "
             "expects int or sequence of ints for entropy not x'; expected a TypeError naming "
             f"fi, the argument seed and 'x' (seed=-1 likewise gives a bare 'expected non-negative "
             f"integer'). Location: {_LOC_SEED}."),
    case("set-stochastic-seed-str", lambda: fx.set_stochastic_seed("x"), TypeError, "set_stochastic_seed", "'x'",
         fixed="fx.set_stochastic_seed('x') raises numpy's SeedSequence TypeError, which names "
             f"neither set_stochastic_seed nor the seed. Location: {_LOC_SEED}."),
    case("from-int-range", lambda: fi.from_int([1000], T8), ValueError, "fi.from_int", "1000", "-128..127"),
    case("cast-T-int", lambda: _a().cast(5), TypeError, "fi.cast", "5"),
    case("cast-T-unparsable", lambda: _a().cast("bogus"), ValueError, "cast", "'bogus'",
         fixed="a.cast('bogus') raises 'numerictype.parse: cannot parse 'bogus'...' which does not "
             "name fi.cast (a.cast(5) does: 'fi.cast: expected a numerictype...'); expected "
             "'fi.cast: ...'. Location: fixsim/_core/_fi.py cast() lets numerictype.parse's "
             "error through unwrapped."),
    case("fimath-product-mode", lambda: fimath(product_mode="x"), ValueError, "fimath", "product_mode='x'", "keep_msb"),
    case("fimath-rounding-names-fimath", lambda: fimath(rounding="x"), ValueError, "fimath", "rounding='x'",
         fixed="fimath(rounding='x') says only \"rounding='x' is not a known rounding mode...\" "
             "without naming fimath (fimath(product_mode='x') does say 'fimath: ...'); the same "
             "context-free message comes from fi(), cast(), TypeTable() and every block. "
             "Location: fixsim/_core/_modes.py parse_rounding/parse_overflow take no caller name."),
    case("add-None", lambda: _a() + None, TypeError, "add", "None"),
    case("local-fimath-clash", _local_fimath_clash, ValueError, "add", "local fimaths"),
    case("add-shape-mismatch", lambda: _a() + fi([1.0, 2.0, 3.0], 1, 16, 8), ValueError, "add", "(2,)", "(3,)",
         fixed="fi([1,-2]) + fi([1,2,3]) raises numpy's raw 'operands could not be broadcast "
             "together with shapes (2,) (3,)', naming no operation; expected 'add: the operand "
             "shapes (2,) and (3,) do not broadcast'. The comparisons (a < b) do the same. "
             "Location: fixsim/_core/_arith.py "
             "(binary ops broadcast the stored integers without a guard)."),
    case("np-sqrt", lambda: np.sqrt(_a()), TypeError, "numpy.sqrt", "a.data"),
    case("mean-empty", lambda: fx.mean(fi([], 1, 8, 4)), ValueError, "mean", "empty"),
    case("max-empty", lambda: fx.max(fi([], 1, 8, 4)), ValueError, "max:", "empty",
         fixed="fx.max(fi([], 1, 8, 4)) raises numpy's 'zero-size array to reduction operation "
             "maximum which has no identity'; fx.mean/fx.prod say 'mean: the mean over an "
             "empty axis is undefined'. Expected 'max: ... empty ...'. fx.min and fx.ptp "
             "behave the same. Location: "
             "fixsim/_core/_reductions.py max/min/ptp call numpy on the stored ints unguarded."),
    case("bitget-range", lambda: fx.bitget(fi([1.0], 1, 8, 4), 9), ValueError, "bitget", "bit=9", "1..8"),
]


@pytest.mark.parametrize("fn, exc, fragments", CORE)
def test_core(fn, exc, fragments):
    check(fn, exc, fragments)


# Regression (fixed): numerictype(1,8,4).contains(float('inf')) raises OverflowError 'cannot
# convert Infinity to integer ratio' (and contains(nan) a bare ValueError from Fraction); an
# infinite value is simply not representable: expected False (or a ValueError naming contains).
# Location: fixsim/_core/_numerictype.py contains().
def test_numerictype_contains_nonfinite():
    for v in (float("inf"), float("nan")):
        try:
            got = T8.contains(v)
        except ValueError as exc:
            assert "contains" in str(exc)
        else:
            assert got is False


# =================================================================================================
# TypeTable: construction, lookup, JSON
# =================================================================================================
def _tt():
    return fx.TypeTable({"x": "sfix16_En14", "y": "double"})


def _schema(**extra):
    return json.dumps({"schema": "fixsim.TypeTable/1", "signals": {"x": "sfix8"}, **extra})


TABLE = [
    case("type-unparsable", lambda: fx.TypeTable({"x": "banana"}), ValueError, "TypeTable", "signal 'x'", "'banana'"),
    case("lookup-unknown", lambda: _tt()["z"], KeyError, "no signal 'z'", "'x'"),
    case("cast-nan", lambda: _tt().x(np.nan), ValueError, "TypeTable['x']", "NaN"),
    case("override-mode", lambda: _tt().override("bogus"), ValueError, "TypeTable.override", "'bogus'", "scaled_double"),
    case("update-not-mapping", lambda: _tt().update([1, 2]), TypeError, "TypeTable.update", "list",
         fixed="TypeTable.update([1, 2]) raises AttributeError \"'list' object has no attribute "
             "'items'\"; expected TypeError 'TypeTable.update: types must be a mapping..., got "
             "list'. Location: fixsim/_core/_typetable.py update() calls types.items() unchecked."),
    case("json-not-json", lambda: fx.TypeTable.from_json("{not json"), ValueError, "TypeTable.from_json",
         fixed="TypeTable.from_json('{not json') raises a bare json.JSONDecodeError 'Expecting "
             "property name...' that does not name TypeTable.from_json (Report.load wraps the "
             "same error: 'Report.load: ... is not JSON'); from_json(None) likewise gives json's bare "
             "'the JSON object must be str...'. Location: "
             "fixsim/_core/_typetable.py from_json()."),
    case("json-overrides-list", lambda: fx.TypeTable.from_json(_schema(overrides=["x"])), (TypeError, ValueError), "overrides", "list",
         fixed="TypeTable.from_json with \"overrides\": [\"x\"] raises AttributeError \"'list' "
             "object has no attribute 'items'\"; expected a TypeError/ValueError naming "
             "overrides and what it must be. Location: fixsim/_core/_typetable.py from_dict()."),
]


@pytest.mark.parametrize("fn, exc, fragments", TABLE)
def test_type_table(fn, exc, fragments):
    check(fn, exc, fragments)


# =================================================================================================
# fixsim.signal blocks
# =================================================================================================
_LOC_KIND = ("fixsim/signal/_block.py signal_kind(): np.asarray(x).astype(np.float64) turns None "
             "into NaN and lets the str conversion error through")
_LOC_ASTYPE = "fixsim/signal/_block.py as_type() returns numerictype.parse(value) unwrapped"
_LOC_TABLE = ("the block stores types= without signal/_basic.py _check_table(); the small "
              "blocks, CIC and NCO do check")
_LOC_NAME = ("the block does str(name) without the check the small blocks and Model do "
             "(fixsim/signal/_basic.py:242, fixsim/signal/_model.py _check_name)")

SIGNAL = [
    case("fir-empty", lambda: fxs.FIR([]), ValueError, "FIR 'fir'", "coefs", "(0,)"),
    case("fir-form", lambda: fxs.FIR([0.5], form="bogus"), ValueError, "FIR 'fir'", "form='bogus'", "'transposed'"),
    case("fir-coef-type-int", lambda: fxs.FIR([0.5], coef_type=16), TypeError, "FIR 'fir'", "coef_type", "16"),
    case("gain-nan", lambda: fxs.Gain(np.nan), ValueError, "Gain 'gain'", "nan"),
    case("sum-signs", lambda: fxs.Sum("+*"), ValueError, "Sum 'sum'", "'+*'"),
    case("sum-lengths", lambda: fxs.Sum("++")(_x16(), _x16()[:3]), ValueError, "Sum 'sum'", "[16, 3]"),
    case("saturation-order", lambda: fxs.Saturation(1.0, -1.0), ValueError, "Saturation", "lower=1.0", "upper=-1.0"),
    case("cic-factor", lambda: fxs.CICDecimator(0), ValueError, "CICDecimator 'cic'", "decimation_factor", "0"),
    case("fft-n", lambda: fxs.FFT(6), ValueError, "FFT 'fft'", "power of two", "6"),
    case("cordic-niters", lambda: fxs.cordic_sincos(fi([0.5], 1, 16, 13), 0), ValueError, "cordic_sincos", "niters", "0"),
    # -- misbehaviour ----------------------------------------------------------------------------
    case("fir-coef-str", lambda: fxs.FIR(["a"]), (TypeError, ValueError), "FIR 'fir'", "coefs", "'a'",
         fixed="FIR(['a']) raises numpy's bare 'could not convert string to float: 'a'' naming "
             "neither FIR nor coefs; expected 'FIR 'fir': coefs must be real numbers, got ...'. "
             "FIR([1j, 0.5]) likewise raises a bare float() TypeError about complex. Location: "
             "fixsim/signal/_fir.py __init__ converts coefs with np.asarray(float)."),
    case("gain-str", lambda: fxs.Gain("a"), (TypeError, ValueError), "Gain 'gain'", "gain", "'a'",
         fixed="Gain('a') raises a bare 'could not convert string to float: 'a''; Gain(nan) gives "
             "'Gain 'gain': gain must be one finite number, got nan'. Saturation('a', 1.0) and "
             "Delay(2, initial='a') raise the same bare error. Location: "
             "fixsim/signal/_basic.py:465 np.asarray(gain, dtype=np.float64) before the check."),
    case("saturation-None", lambda: fxs.Saturation(None, 1.0), TypeError, "Saturation", "lower", "None",
         fixed="Saturation(None, 1.0) raises a bare \"float() argument must be a string or a real "
             "number, not 'NoneType'\". Location: fixsim/signal/_basic.py Saturation.__init__."),
    case("fir-types-dict", lambda: fxs.FIR([0.5], types={"fir.coef": "sfix8_En7"}), TypeError, "FIR 'fir'", "types", "dict",
         fixed="FIR([0.5], types={'fir.coef': 'sfix8_En7'}) raises AttributeError \"'dict' object "
             f"has no attribute 'type_of'\"; expected TypeError naming types. SOSFilter, FIRDecimator, "
             f"FIRInterpolator and cordic_* (types={{}}) fail the same way. {_LOC_TABLE}."),
    case("fft-types-dict", lambda: fxs.FFT(8, types={}), TypeError, "FFT 'fft'", "types", "dict",
         fixed="FFT(8, types={}) raises AttributeError \"'dict' object has no attribute 'names'\"; "
             f"expected TypeError naming types. {_LOC_TABLE} (fixsim/signal/_fft.py:112)."),
    case("fir-name-empty", lambda: fxs.FIR([0.5], name=""), ValueError, "name", "''",
         fixed="FIR([0.5], name='') is accepted and records signals '.coef', '.in', '.acc', "
             "'.out', names TypeTable itself rejects; Gain/Sum/Delay/Lookup1D/Model raise "
             f"'name must be a non-empty string'. SOSFilter, CICDecimator/Interpolator, FFT and "
             f"FIRDecimator/Interpolator accept name='' too. Location: {_LOC_NAME} "
             "(fixsim/signal/_fir.py:157)."),
    case("nco-name-empty", lambda: fxs.NCO(5, name=""), ValueError, "name", "''",
         fixed=f"NCO(5, name='') is accepted. Location: {_LOC_NAME}."),
    case("fir-coef-type-unparsable", lambda: fxs.FIR([0.5], coef_type="bogus"), ValueError, "FIR 'fir'", "coef_type", "'bogus'",
         fixed="FIR([0.5], coef_type='bogus') raises only 'numerictype.parse: cannot parse "
             "'bogus'...', naming neither the block nor coef_type (coef_type=16 gives 'FIR 'fir': "
             f"coef_type must be ...'). Gain(gain_type=), CICDecimator(input_type=), "
             f"NCO(output_type=), FFT(twiddle_type=) and cordic_*(data_type=) are the same. "
             f"Location: {_LOC_ASTYPE}."),
    case("convert-type-unparsable", lambda: fxs.Convert("bogus"), ValueError, "Convert 'convert'", "output_type", "'bogus'",
         fixed=f"Convert('bogus'): bare numerictype.parse error. Location: {_LOC_ASTYPE}."),
    case("fir-call-None", lambda: fxs.FIR([0.5, 0.2])(None), TypeError, "FIR 'fir'", "None",
         fixed="FIR([0.5, 0.2])(None) returns array([nan]): None is silently a NaN sample. "
             f"Expected TypeError naming the block and None. SOSFilter, Saturation, Lookup1D, "
             f"Convert, Downsample and CICDecimator do the same. Location: {_LOC_KIND}."),
    case("gain-call-None", lambda: fxs.Gain(0.5)(None), TypeError, "Gain 'gain'", "None",
         fixed=f"Gain(0.5)(None) returns array([nan]). Location: {_LOC_KIND}."),
    case("sum-call-None", lambda: fxs.Sum("++")(None, None), TypeError, "Sum 'sum'", "None",
         fixed=f"Sum('++')(None, None) returns array([nan]). Location: {_LOC_KIND}."),
    case("fir-call-str", lambda: fxs.FIR([0.5, 0.2])("abc"), TypeError, "FIR 'fir'", "str",
         fixed="FIR(h)('abc') raises numpy's bare 'could not convert string to float' (a "
             f"ValueError) naming no block. Location: {_LOC_KIND}."),
    case("fft-call-str", lambda: fxs.FFT(8)(np.array(["a"] * 8)), TypeError, "FFT 'fft'",
         fixed="FFT(8)(array of 8 str) raises numpy's \"ufunc 'isfinite' not supported for the "
             "input types\", naming no block. Location: fixsim/signal/_fft.py input conversion."),
    case("fft-wide-word", lambda: fxs.FFT(8)(fi(np.linspace(-0.5, 0.5, 8), 1, 80, 70)), ValueError, "FFT 'fft'", "80",
         fixed="FFT(8)(fi(..., 1, 80, 70)) raises a bare OverflowError 'Python int too large to "
             "convert to C long'. Word lengths up to 65535 are valid; a block that runs on int64 "
             "must say so, as SOSFilter ('needs types of at most 63 bits') and cordic ('at most "
             "62 bits') do. Location: fixsim/signal/_fft.py fixed path, failing in "
             "fixsim/signal/_cordic.py:201 quantize_proxies (np.asarray(..., dtype=np.int64) of the "
             "wide twiddle stored integers)."),
    case("worst-case-nan", lambda: fxs.Gain(0.5).worst_case_output_range(np.nan, 1), ValueError, "Gain 'gain'", "nan",
         fixed="Gain(0.5).worst_case_output_range(nan, 1) says only 'expected a finite bound, got "
             "nan.', naming no block or argument; worst_case_output_range('a', 1) gives a bare "
             "'Invalid literal for Fraction'. Location: fixsim/signal/_basic.py:215 _frac()."),
    case("fir-worst-case-nan", lambda: fxs.FIR([0.5, -0.25]).worst_case_output_range(np.nan, 1), ValueError, "FIR 'fir'", "nan",
         fixed="FIR(h).worst_case_output_range(nan, 1) raises a bare 'cannot convert NaN to integer "
             "ratio' from Fraction. Location: fixsim/signal/_fir.py worst_case_output_range."),
    case("cordic-gain-negative", lambda: fxs.cordic_gain(-3), ValueError, "cordic_gain", "niters", "-3",
         fixed="cordic_gain(-3) returns 1 (and cordic_gain(2.5) returns 1.58...), while "
             "cordic_sincos rejects niters that are not positive integers. Expected ValueError "
             "'cordic_gain: niters must be a positive integer, got -3'. Location: "
             "fixsim/signal/_cordic.py cordic_gain()."),
]


@pytest.mark.parametrize("fn, exc, fragments", SIGNAL)
def test_signal_blocks(fn, exc, fragments):
    check(fn, exc, fragments)


# -- Model wiring ----------------------------------------------------------------------------------
MODEL = [
    case("duplicate-block", _model_dup, ValueError, "Model", "'g'", "already used"),
    case("unknown-source", _model_unknown_source, ValueError, "block 'g'", "'nope'", "'x'"),
    case("cycle", _model_cycle, ValueError, "Model 'loop'", "cycle", "acc -> z1 -> acc"),
    case("run-unknown-input", lambda: _model_gain().run({"x": np.ones(4), "zz": np.ones(4)}), ValueError, "Model.run", "'zz'"),
    case("add-int-source", _model_int_source, TypeError, "Model.add", "5",
         fixed="Model.add(Gain(...), 5) raises a bare \"'int' object is not iterable\"; expected "
             "TypeError 'Model.add: a source is a name or a list of names, got int 5'. "
             "Location: fixsim/signal/_model.py add()."),
    case("check-bad-port", _model_bad_port, ValueError, "'g:3'",
         bug="model.check() returns ['g', 'h'] for a block reading 'g:3' from the one-output "
             "Gain 'g'; the error ('block 'g' has one output') only appears at model.run(). "
             "check() validates unknown sources and cycles, so it should validate ports too. "
             "Location: fixsim/signal/_model.py check() vs the port resolution in run(). (Left "
             "open: blocks declare no output count; a block's outputs are known when it runs.)"),
    case("signals-unknown-input", lambda: _model_gain().signals({"x": "sfix8_En4", "zz": "sfix8"}), ValueError, "'zz'",
         fixed="model.signals({'x': 'sfix8_En4', 'zz': 'sfix8'}) silently ignores the unknown "
             "input 'zz' (and so does type_table()), while model.run rejects unknown input names. "
             "Location: fixsim/signal/_model.py signals()."),
    case("signals-bad-type", lambda: _model_gain().signals({"x": "bogus"}), ValueError, "Model", "'x'", "'bogus'",
         fixed="model.signals({'x': 'bogus'}) raises only 'numerictype.parse: cannot parse "
             "'bogus'...', naming neither Model.signals nor the input 'x'. Location: "
             "fixsim/signal/_model.py signals()."),
    case("run-None", lambda: _model_gain().run(None), TypeError, "None",
         fixed="model.run(None) returns {'y': array([nan])}: None becomes a NaN sample. "
             f"Location: {_LOC_KIND} (via the block), Model.run does not check its inputs."),
]


@pytest.mark.parametrize("fn, exc, fragments", MODEL)
def test_model(fn, exc, fragments):
    check(fn, exc, fragments)


# =================================================================================================
# fixsim.nn
# =================================================================================================
_X4 = np.ones((2, 4))
_IMG = np.ones((1, 1, 6, 6))
_W = np.ones((2, 1, 3, 3))
_LOC_BUILDER = ("fixsim/nn/_builder.py layer constructors store their arguments unchecked; "
                "the run path (fixsim/nn/_network.py, _shapes.py) does not check them either")

NN = [
    case("input-features", lambda: _net()(np.ones((2, 5))), ValueError, "layer 'fc'", "(2, 5)", "(N, 4)"),
    case("types-dict", lambda: _net()(_X4, types={"a": 1}), TypeError, "Network.run", "types", "dict"),
    case("runtime-name", lambda: _net()(_X4, runtime="bogus"), ValueError, "runtime='bogus'", "'onnxruntime'"),
    case("quantize-linear-scale", lambda: fxnn.quantize_linear(np.ones(3), 0.0), ValueError, "quantize_linear", "scale", "0.0"),
    case("load-onnx-bytes", lambda: fxnn.load_onnx(b"garbage"), ValueError, "load_onnx", "not a serialized ONNX model"),
    case("load-onnx-operator", lambda: fxnn.load_onnx(_onnx_model("Elu")), fxnn.UnsupportedOperatorError, "'Elu'", "'n0'", "Gemm"),
    # -- misbehaviour ----------------------------------------------------------------------------
    case("input-str", lambda: _net()(np.array([["a"] * 4])), TypeError, "input 'x'", "<U1",
         fixed="net(array of str) raises numpy's UFuncTypeError \"ufunc 'matmul' did not contain a "
             "loop with signature matching types\", naming neither the network nor its input. "
             "Expected TypeError 'Network ...: input 'x' has dtype <U1; valid: real numbers'. "
             "Location: fixsim/nn/_network.py Network.run input checks."),
    case("input-complex", lambda: _net()(np.ones((2, 4)) * 1j), TypeError, "input 'x'", "complex",
         fixed="net(complex array) returns a complex128 result silently (onnxruntime refuses a "
             "complex tensor for a float input); expected TypeError naming input 'x'. Location: "
             "fixsim/nn/_network.py Network.run input checks."),
    case("dense-weight-str", lambda: _seq(fxnn.Dense("abc", name="d"))(_X4), (TypeError, ValueError), "Dense 'd'", "weight",
         fixed="Dense('abc') is accepted and running it raises a bare 'could not convert string to "
             f"float: 'abc''. Location: {_LOC_BUILDER}."),
    case("conv-stride-0", lambda: _seq(fxnn.Conv(_W, stride=0, name="c"))(_IMG), ValueError, "Conv 'c'", "stride", "0",
         fixed="Conv(w, stride=0) runs into numpy's 'slice step cannot be zero'; stride=-1 gets "
             "'Conv 'c': stride must be a non-negative int' (0 must be refused as well: a positive "
             f"int). dilation=0 fails the same way. Location: {_LOC_BUILDER}."),
    case("conv-stride-fraction", lambda: _seq(fxnn.Conv(_W, stride=1.5, name="c"))(_IMG), ValueError, "Conv 'c'", "stride", "1.5",
         fixed="Conv(w, stride=1.5) is accepted and runs (output as for some integer stride). "
             f"Expected ValueError naming stride 1.5. Location: {_LOC_BUILDER}."),
    case("conv-groups-0", lambda: _seq(fxnn.Conv(_W, groups=0, name="c"))(_IMG), ValueError, "Conv 'c'", "groups", "0",
         fixed="Conv(w, groups=0) runs into a bare ZeroDivisionError 'integer modulo by zero'. "
             f"Location: {_LOC_BUILDER}."),
    case("maxpool-kernel-0", lambda: _seq(fxnn.MaxPool(0, name="p"))(_IMG), ValueError, "'p'", "kernel", "0",
         fixed="MaxPool(0) runs into a bare ZeroDivisionError; MaxPool(-2) gets a proper "
             f"'kernel must be ...' message. MaxPool(2, stride=0) (ZeroDivisionError) and AvgPool(0) "
             f"('slice step cannot be zero') likewise. Location: {_LOC_BUILDER}."),
    case("leaky-relu-nan", lambda: _seq(fxnn.LeakyReLU(np.nan, name="l"))(-_X4), ValueError, "LeakyReLU", "alpha", "nan",
         fixed="LeakyReLU(nan) is accepted and the network silently returns NaN for every "
             f"negative input (LeakyReLU('a') runs into a bare float conversion error). "
             f"Location: {_LOC_BUILDER}."),
    case("clip-order", lambda: _seq(fxnn.Clip(6.0, 0.0, name="c"))(_X4), ValueError, "Clip", "lo", "6.0",
         fixed="Clip(6.0, 0.0) (lo > hi) is accepted and maps every value to 0 silently. "
             f"Clip(nan, 1.0) gives all-NaN output. Location: {_LOC_BUILDER}."),
    case("batchnorm-negative-var", lambda: _seq(fxnn.BatchNorm(np.ones(2), np.zeros(2), np.zeros(2), -np.ones(2), name="b"))(np.ones((1, 2, 3, 3))), ValueError, "BatchNorm", "var",
         fixed="BatchNorm with var=-1 is accepted; running gives NaN outputs with only a numpy "
             f"RuntimeWarning from sqrt. Location: {_LOC_BUILDER} (_network.py:407)."),
    case("batchnorm-lengths", lambda: _seq(fxnn.BatchNorm(np.ones(2), np.zeros(3), np.zeros(2), np.ones(2), name="b"))(np.ones((1, 2, 3, 3))), ValueError, "BatchNorm", "beta", "3",
         fixed="BatchNorm with gamma of 2 and beta of 3 values runs into numpy's raw broadcast "
             f"error. Location: {_LOC_BUILDER}."),
    case("softmax-axis", lambda: _seq(fxnn.Softmax(5, name="s"))(_X4), ValueError, "Softmax", "axis", "5",
         fixed="Softmax(5) on a 2-D input raises numpy's bare AxisError 'axis 5 is out of bounds "
             f"for array of dimension 2', naming no layer. Location: {_LOC_BUILDER}."),
    case("quantize-linear-zero-point", lambda: fxnn.quantize_linear(np.ones(3), 0.1, 300), ValueError, "quantize_linear", "zero_point", "300",
         fixed="quantize_linear(x, 0.1, zero_point=300) for int8 returns [127, 127, 127]: an "
             "out-of-range zero point (ONNX requires it to be of the output type) is used "
             "silently. Location: fixsim/nn/_requant.py quantize_linear _channels(zero_point)."),
    case("dequantize-linear-scale-0", lambda: fxnn.dequantize_linear(np.ones(3, dtype=np.int8), 0.0), ValueError, "dequantize_linear", "scale", "0.0",
         fixed="dequantize_linear(q, scale=0.0) returns zeros; quantize_linear refuses scale 0 "
             "('scale must be finite and > 0'). Location: fixsim/nn/_requant.py "
             "dequantize_linear()."),
    case("dequantize-linear-float-q", lambda: fxnn.dequantize_linear(np.ones(3) * 0.5, 0.1), TypeError, "dequantize_linear", "q", "float64",
         fixed="dequantize_linear([0.5, 0.5, 0.5], 0.1) truncates q to 0 silently "
             "(np.asarray(q, dtype=np.int64)); requantize refuses a float acc ('acc must be an "
             "integer array'). Location: fixsim/nn/_requant.py dequantize_linear()."),
    case("requantize-scale-negative", lambda: fxnn.requantize(np.ones(3, dtype=np.int32), -0.1, runtime="onnxruntime"), ValueError, "requantize", "scale", "-0.1",
         fixed="requantize(acc, scale=-0.1, runtime='onnxruntime') returns [0, 0, 0] (scale=0.0 "
             "too); expected ValueError naming scale. Location: fixsim/nn/_requant.py "
             "requantize()."),
    case("calculate-qparams-order", lambda: fxnn.calculate_qparams(1.0, -1.0), ValueError, "calculate_qparams", "1.0", "-1.0",
         fixed="calculate_qparams(1.0, -1.0) returns (1.19e-07, -128) silently (PyTorch asserts "
             "min <= max); calculate_qparams(nan, 1.0) returns (nan, -2**63) with only a "
             "RuntimeWarning. Location: fixsim/nn/_observers.py:28 calculate_qparams()."),
    case("percentile-observer-bins", lambda: fxnn.PercentileObserver(99, bins=0), ValueError, "PercentileObserver", "bins", "0",
         fixed="PercentileObserver(99, bins=0) is accepted (percentile is checked, bins is not). "
             "Location: fixsim/nn/_observers.py PercentileObserver.__init__."),
    case("histogram-observer-bits", lambda: fxnn.HistogramObserver(bits=0), ValueError, "HistogramObserver", "bits", "0",
         fixed="HistogramObserver(bits=0) (and bins=0) is accepted. Location: "
             "fixsim/nn/_observers.py HistogramObserver.__init__."),
    case("quantize-batch-size", lambda: fxnn.quantize(_net(), np.ones((4, 4)), batch_size=0), ValueError, "quantize", "batch_size", "0",
         fixed="nn.quantize(net, x, batch_size=0) raises a bare 'range() arg 3 must not be zero'; "
             "nn.verify says 'verify: batch_size must be >= 1, got 0'. Location: "
             "fixsim/nn/_ptq.py quantize()."),
    case("sqnr-shapes", lambda: fxnn.sqnr(np.ones(4), np.ones(5)), ValueError, "sqnr", "(4,)", "(5,)",
         fixed="nn.sqnr(ones(4), ones(5)) raises numpy's raw broadcast error naming no function. "
             "Location: fixsim/nn/_metrics.py sqnr()."),
    case("accuracy-empty", lambda: fxnn.accuracy(np.ones((0, 3)), np.ones(0)), ValueError, "accuracy", "empty",
         fixed="nn.accuracy on 0 samples returns nan with numpy's 'Mean of empty slice' "
             "RuntimeWarning. Location: fixsim/nn/_metrics.py accuracy()."),
    case("derive-ranges-order", lambda: fxnn.derive_ranges(_net(), 1.0, -1.0, shape=(1, 4)), ValueError, "derive_ranges", "1.0", "-1.0",
         fixed="nn.derive_ranges(net, 1.0, -1.0) says 'need lo <= hi (no NaN)' without the values. "
             "Location: fixsim/nn/_derive.py derive_ranges()."),
    case("load-onnx-undefined-input", lambda: fxnn.load_onnx(_onnx_model("Add", ("x", "nothere")))(_X4), ValueError, "'nothere'", "n0",
         fixed="load_onnx accepts a graph whose node 'n0' reads the undefined tensor 'nothere'; "
             "running it raises a bare KeyError 'nothere'. Expected a ValueError at load naming "
             "the node and the tensor. Location: fixsim/nn/_onnx.py load_onnx()."),
    case("load-onnx-attribute", lambda: fxnn.load_onnx(_onnx_model("LeakyRelu", attrs={"alpha": "abc"}))(_X4), ValueError, "n0", "alpha",
         fixed="load_onnx accepts LeakyRelu alpha='abc' (a string attribute); running it raises a "
             "bare 'could not convert string to float'. Location: fixsim/nn/_onnx.py "
             "attribute reading."),
]


@pytest.mark.parametrize("fn, exc, fragments", NN)
def test_nn(fn, exc, fragments):
    check(fn, exc, fragments)


# Regression (fixed): nn.load_onnx(path of a corrupt file) raises google.protobuf DecodeError
# 'Error parsing message with type onnx.ModelProto' (not a ValueError, no path, no load_onnx);
# the same bytes passed directly get 'load_onnx: the 7 bytes given are not a serialized ONNX
# model'. Location: fixsim/nn/_onnx.py load_onnx() path branch.
def test_load_onnx_corrupt_file(tmp_path):
    p = tmp_path / "garbage.onnx"
    p.write_bytes(b"not an onnx file at all \x00\x01")
    with pytest.raises(ValueError, match=_pattern(["load_onnx", "garbage.onnx"])):
        fxnn.load_onnx(str(p))


# Regression (fixed): nn.load_onnx(path of an empty file) returns Network 'network' (0 layers)
# silently; expected ValueError 'load_onnx: ... is not an ONNX model (0 bytes)'. Location:
# fixsim/nn/_onnx.py load_onnx().
def test_load_onnx_empty_file(tmp_path):
    p = tmp_path / "empty.onnx"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match=_pattern(["load_onnx", "empty.onnx"])):
        fxnn.load_onnx(str(p))


def test_load_onnx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=_pattern(["load_onnx", "nope.onnx"])):
        fxnn.load_onnx(str(tmp_path / "nope.onnx"))


# Regression (fixed): nn.load_tflite(b'garbage...') raises struct.error 'unpack_from requires a
# buffer of at least 1651663211 bytes...'; expected ValueError 'load_tflite: ... not a TFLite
# flatbuffer'. Location: fixsim/nn/_tflite.py load_tflite() flatbuffer parsing.
def test_load_tflite_garbage():
    with pytest.raises(ValueError, match="load_tflite"):
        fxnn.load_tflite(b"garbage bytes here 1234567890")


# =================================================================================================
# fixsim.tool
# =================================================================================================
def _propose(**kw):
    rec, G = _recording()
    return fxtool.propose(rec, G, **kw)


def _refine(**kw):
    rec, G = _recording()
    return fxtool.refine(_gain, (-1, 1), rec, G, **kw)


def _frames():
    return [np.linspace(-1, 1, 50)]


_TF = fx.TypeTable({"x": "sfix16_En14", "y": "sfix16_En12"})
_TD = fx.TypeTable({"x": "double", "y": "double"})

TOOL = [
    case("collect-workers", lambda: fxtool.collect(_gain, _frames(), _TD, workers=0), ValueError, "collect", "workers", "0"),
    case("propose-word-0", lambda: _propose(word_length=0), ValueError, "propose", "word_length", "0"),
    case("propose-margin-nan", lambda: _propose(margin=float("nan")), ValueError, "propose", "margin", "nan"),
    case("propose-policy", lambda: _propose(policy="bogus"), ValueError, "propose", "'bogus'", "'kl'"),
    case("verify-max-samples", lambda: fxtool.verify(_gain, _frames(), _TF, max_samples=-1), ValueError, "verify", "max_samples", "-1"),
    case("derive-order", lambda: fxtool.derive(_gain, (1, -1), _TD), ValueError, "derive", "lo=1.0", "hi=-1.0"),
    case("refine-option", lambda: _refine(word_length=16, bogus=1), TypeError, "refine", "'bogus'"),
    case("propose-overrides-list", lambda: _propose(overrides=["x"]), TypeError, "propose", "overrides", "list",
         fixed="propose(rec, T, overrides=['x']) raises a bare 'dictionary update sequence element "
             "#0 has length 1; 2 is required'; expected TypeError 'propose: overrides must be a "
             "mapping of signal names to dicts, got list'. Location: fixsim/tool/_propose.py."),
]


@pytest.mark.parametrize("fn, exc, fragments", TOOL)
def test_tool(fn, exc, fragments):
    check(fn, exc, fragments)


# Regression (fixed): fx.tool.Recording.load(file holding '{bad') raises a bare
# json.JSONDecodeError naming neither Recording.load nor the file; Report.load does it right
# ('Report.load: ... is not JSON'). Location: fixsim/tool/_record.py:313 Recording.load.
def test_recording_load_not_json(tmp_path):
    p = tmp_path / "rec.json"
    p.write_text("{bad")
    with pytest.raises(ValueError, match=_pattern(["Recording.load", "rec.json"])):
        fxtool.Recording.load(str(p))


# Regression (fixed): fx.tool.Proposal.load(file holding '{bad') raises a bare
# json.JSONDecodeError naming neither Proposal.load nor the file. Location:
# fixsim/tool/_propose.py:305 Proposal.load.
def test_proposal_load_not_json(tmp_path):
    p = tmp_path / "proposal.json"
    p.write_text("{bad")
    with pytest.raises(ValueError, match=_pattern(["Proposal.load", "proposal.json"])):
        fxtool.Proposal.load(str(p))


def test_recording_load_wrong_schema(tmp_path):
    p = tmp_path / "rec.json"
    p.write_text('{"schema": "x"}')
    with pytest.raises(ValueError, match=_pattern(["Recording", "'x'", "fixsim.Recording/1"])):
        fxtool.Recording.load(str(p))


# =================================================================================================
# fixsim.report
# =================================================================================================
_TEXPORT = fx.TypeTable({"fir1.x": "sfix16_En15", "g.y": "ufix8_En4", "d": "double"})


def _build(*args, **kw):
    prop, rec = _proposal()
    return fxreport.Report.build(prop, *args, **kw)


REPORT = [
    case("export-format", lambda: fxreport.export(_TEXPORT, "bogus"), ValueError, "export", "format='bogus'", "vhdl"),
    case("export-vhdl-package", lambda: fxreport.export_vhdl(_TEXPORT, package="1 bad name"), ValueError, "export_vhdl", "package='1 bad name'"),
    case("report-build-None", lambda: fxreport.Report.build(None), TypeError, "Report.build", "proposal", "NoneType"),
    case("export-path-int", lambda: fxreport.export_vhdl(_TEXPORT, 5), TypeError, "export", "path", "5",
         fixed="export_vhdl(T, 5) raises os.fspath's bare 'expected str, bytes or os.PathLike "
             "object, not int', naming neither the exporter nor path. Location: "
             "fixsim/report/_exports.py write_text_atomic()."),
    case("report-build-recording-str", lambda: _build("x"), TypeError, "Report.build", "recording", "str",
         fixed="Report.build(proposal, 'x') raises a bare \"string indices must be integers, not "
             "'str'\": the guard accepts any object with __getitem__ and __contains__, a str "
             "included (verification='x' likewise). Location: fixsim/report/_model.py:202."),
    case("report-build-current-str", lambda: _build(current="x"), TypeError, "Report.build", "current", "str",
         fixed="Report.build(proposal, current='x') raises AttributeError \"'str' object has no "
             "attribute 'names'\"; expected TypeError 'current must be a TypeTable'. Location: "
             "fixsim/report/_model.py Report.build."),
]


@pytest.mark.parametrize("fn, exc, fragments", REPORT)
def test_report(fn, exc, fragments):
    check(fn, exc, fragments)


def test_report_load_not_json(tmp_path):
    p = tmp_path / "report.json"
    p.write_text("{x")
    with pytest.raises(ValueError, match=_pattern(["Report.load", "report.json", "not JSON"])):
        fxreport.Report.load(str(p))
