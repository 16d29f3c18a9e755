"""fixsim against independent oracles: vectors computed by ac_fixed and ap_fixed.

The vectors (``tests/data/oracle/*.json.gz``, described in ``tests/data/oracle/README.md``)
were produced by two C++ HLS libraries nobody on this project wrote. Every stored integer is
compared with EQUALITY. Where a file flags an output in ``differs_from_exact_model`` (a known
library quirk), fixsim follows the exact rule instead: the test then asserts that fixsim equals
the exact reference of ``tests/_core/reference.py`` there (and differs from the library), and
counts those outputs separately.

Every unflagged output is also checked against the exact reference itself, which validates the
reference that the property tests rely on.
"""

from __future__ import annotations

import functools
import gzip
import json
import pathlib
import struct

import numpy as np
import pytest

import fixsim as fx
from fixsim import fi, fimath, numerictype
from fixsim._core._modes import parse_overflow, parse_rounding

from . import reference as ref

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "oracle"


@functools.cache
def load(name: str) -> dict:
    with gzip.open(DATA / f"{name}.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def nt(t: dict) -> numerictype:
    """A file's type ``{word_length, int_bits, frac_length, signed}`` as a numerictype."""
    assert t["frac_length"] == t["word_length"] - t["int_bits"]
    return numerictype(bool(t["signed"]), t["word_length"], t["frac_length"])


def rt(t: dict) -> tuple:
    """The same type as the reference's ``(signed, W, F)`` tuple."""
    return (bool(t["signed"]), t["word_length"], t["frac_length"])


def modes(result: dict) -> tuple[str, str]:
    """The library's mode names in fixsim's canonical spelling (the parser strips AC_/AP_)."""
    return str(parse_rounding(result["q_mode"])), str(parse_overflow(result["o_mode"]))


def ints(values) -> list[int]:
    return [int(v) for v in values]


def as_list(stored) -> list[int]:
    return [int(v) for v in np.asarray(stored).ravel()]


def first_mismatches(got, want, limit=5):
    return [(k, g, w) for k, (g, w) in enumerate(zip(got, want, strict=True)) if g != w][:limit]


# -- counts of vectors checked (reported by the summary test) ----------------------------------
CHECKED: dict[str, int] = {}
FLAGGED: dict[str, int] = {}


# -- double -> fixed --------------------------------------------------------------------------
@pytest.mark.parametrize("lib", ["ac", "ap"])
def test_quantize_double(lib):
    data = load(f"quantize_double_{lib}")
    n_out = n_flagged = 0
    for g in data["groups"]:
        T = nt(g)
        Tr = rt(g)
        x = np.array([struct.unpack(">d", bytes.fromhex(h))[0] for h in g["inputs"]])
        exact_x = [ref.exact(float(v)) for v in x]
        for res in g["results"]:
            rnd, ovf = modes(res)
            got = as_list(fi(x, T, rounding=rnd, overflow=ovf).int)
            want = ints(res["stored"])
            flagged = set(res.get("differs_from_exact_model", []))
            # the exact reference, for every output
            exp = [ref.quantize(v, Tr, rnd, ovf) for v in exact_x]
            for k in flagged:
                # library quirk (README deviation 1): fixsim follows the exact rule
                assert exp[k] != want[k], (T, rnd, ovf, k)
                want[k] = exp[k]
            assert got == want, (str(T), rnd, ovf, first_mismatches(got, want))
            # the flagged outputs, separately: fixsim gives the exact reference's answer there
            assert [got[k] for k in sorted(flagged)] == [exp[k] for k in sorted(flagged)]
            ref_ok = [exp[k] == want[k] for k in range(len(want))]
            assert all(ref_ok), ("reference disagrees with the library", str(T), rnd, ovf,
                                 first_mismatches(exp, want))
            n_out += len(want)
            n_flagged += len(flagged)
    assert n_out == data["counts"]["outputs"]
    assert n_flagged == data["counts"]["outputs_differing_from_exact_model"]
    CHECKED[f"quantize_double_{lib}"] = n_out
    FLAGGED[f"quantize_double_{lib}"] = n_flagged


def test_quantize_double_deviation_is_the_documented_one():
    """The flagged ac outputs are exactly README deviation 1: AC_SAT_ZERO, signed W = 32."""
    seen = 0
    for g in load("quantize_double_ac")["groups"]:
        for res in g["results"]:
            if res.get("differs_from_exact_model"):
                assert res["o_mode"] == "AC_SAT_ZERO" and g["signed"] and g["word_length"] == 32
                for k in res["differs_from_exact_model"]:
                    # the library gave 0; the exact rule gives the minimum
                    assert int(res["stored"][k]) == 0
                    seen += 1
    assert seen == 114
    for g in load("quantize_double_ap")["groups"]:
        assert not any(r.get("differs_from_exact_model") for r in g["results"])


# -- fixed -> fixed ---------------------------------------------------------------------------
@pytest.mark.parametrize("lib", ["ac", "ap"])
def test_cast_fixed(lib):
    data = load(f"cast_fixed_{lib}")
    n_out = n_flagged = 0
    for g in data["groups"]:
        src, dst = nt(g["src"]), nt(g["dst"])
        srcr, dstr = rt(g["src"]), rt(g["dst"])
        inputs = ints(g["inputs"])
        a = fi.from_int(np.array(inputs, dtype=object), src)
        assert as_list(a.int) == inputs
        for res in g["results"]:
            rnd, ovf = modes(res)
            got = as_list(a.cast(dst, rnd, ovf).int)
            want = ints(res["stored"])
            exp = [ref.requantize(v, srcr, dstr, rnd, ovf) for v in inputs]
            flagged = set(res.get("differs_from_exact_model", []))
            for k in flagged:
                assert exp[k] != want[k]
                want[k] = exp[k]
            assert got == want, (str(src), str(dst), rnd, ovf, first_mismatches(got, want))
            assert exp == want, ("reference", str(src), str(dst), rnd, ovf,
                                 first_mismatches(exp, want))
            n_out += len(want)
            n_flagged += len(flagged)
    assert n_out == data["counts"]["outputs"]
    assert n_flagged == data["counts"]["outputs_differing_from_exact_model"] == 0
    CHECKED[f"cast_fixed_{lib}"] = n_out


# -- full-precision + - * under rules='hls' ---------------------------------------------------
@pytest.mark.parametrize("lib", ["ac", "ap"])
def test_add_sub_mul(lib):
    data = load(f"arith_addsubmul_{lib}")
    n_out = 0
    with fimath(rules="hls"):
        for g in data["groups"]:
            ta, tb = nt(g["a_type"]), nt(g["b_type"])
            tar, tbr = rt(g["a_type"]), rt(g["b_type"])
            # the reference's HLS types agree with the library's decltype
            assert ref.hls_sum_type(tar, tbr) == rt(g["add_type"])
            assert ref.hls_sum_type(tar, tbr, subtract=True) == rt(g["sub_type"])
            assert ref.product_type(tar, tbr) == rt(g["mul_type"])
            cases = [ints(c) for c in g["cases"]]
            a = fi.from_int(np.array([c[0] for c in cases], dtype=object), ta)
            b = fi.from_int(np.array([c[1] for c in cases], dtype=object), tb)
            for op, col, key in ((lambda x, y: x + y, 2, "add_type"),
                                 (lambda x, y: x - y, 3, "sub_type"),
                                 (lambda x, y: x * y, 4, "mul_type")):
                r = op(a, b)
                assert r.numerictype == nt(g[key]), (key, str(ta), str(tb), str(r.numerictype))
                want = [c[col] for c in cases]
                got = as_list(r.int)
                assert got == want, (key, str(ta), str(tb), first_mismatches(got, want))
                n_out += len(want)
    assert n_out == data["counts"]["results"]
    CHECKED[f"arith_addsubmul_{lib}"] = n_out


# -- division under rules='hls' (truncated toward zero) ---------------------------------------
@pytest.mark.parametrize("lib", ["ac", "ap"])
def test_divide(lib):
    data = load(f"div_{lib}")
    n_out = n_flagged = 0
    M = ref.Math(rules="hls")
    with fimath(rules="hls"):
        for g in data["groups"]:
            ta, tb, td = nt(g["a_type"]), nt(g["b_type"]), nt(g["div_type"])
            tar, tbr = rt(g["a_type"]), rt(g["b_type"])
            assert ref.hls_divide_type(tar, tbr) == rt(g["div_type"])
            cases = [ints(c) for c in g["cases"]]
            a = fi.from_int(np.array([c[0] for c in cases], dtype=object), ta)
            b = fi.from_int(np.array([c[1] for c in cases], dtype=object), tb)
            r = a / b
            assert r.numerictype == td
            got = as_list(r.int)
            want = [c[2] for c in cases]
            exp = [ref.rdivide(c[0], tar, c[1], tbr, M).stored for c in cases]
            flagged = set(g.get("differs_from_exact_model", []))
            for k in flagged:
                # ap_fixed quirk (README deviation 2): the most negative dividend over a
                # divisor of stored -1 gives the wrong sign; fixsim gives the exact quotient,
                # which the division type holds
                a_k, b_k = cases[k][0], cases[k][1]
                assert b_k == -1 and a_k == ta.int_min
                assert exp[k] == -want[k]
                want[k] = exp[k]
            assert got == want, (str(ta), str(tb), first_mismatches(got, want))
            assert [got[k] for k in sorted(flagged)] == [exp[k] for k in sorted(flagged)]
            assert exp == want, ("reference", str(ta), str(tb), first_mismatches(exp, want))
            n_out += len(want)
            n_flagged += len(flagged)
    assert n_out == data["counts"]["cases"]
    assert n_flagged == data["counts"]["cases_differing_from_exact_model"]
    assert n_flagged == (10 if lib == "ap" else 0)
    CHECKED[f"div_{lib}"] = n_out
    FLAGGED[f"div_{lib}"] = n_flagged


# -- 16-tap FIR: exact integer convolution, then fi casts -------------------------------------
@pytest.mark.parametrize("lib", ["ac", "ap"])
def test_fir16(lib):
    data = load(f"fir16_{lib}")
    coefs, x = ints(data["coefs"]), ints(data["x"])
    acc = [sum(coefs[k] * x[n - k] for k in range(len(coefs)) if n - k >= 0)
           for n in range(len(x))]
    assert acc == ints(data["acc"])
    # the product type is the full-precision product of data and coefficient types
    assert ref.product_type(rt(data["data_type"]), rt(data["coef_type"])) == \
        rt(data["product_type"])
    acc_fi = fi.from_int(np.array(acc, dtype=np.int64), nt(data["acc_type"]))
    n_out = 0
    for out in data["outputs"]:
        rnd, ovf = modes(out)
        got = as_list(acc_fi.cast(nt(out["type"]), rnd, ovf).int)
        want = ints(out["y"])
        assert got == want, (rnd, ovf, first_mismatches(got, want))
        exp = [ref.requantize(v, rt(data["acc_type"]), rt(out["type"]), rnd, ovf) for v in acc]
        assert exp == want
        n_out += len(want)
    CHECKED[f"fir16_{lib}"] = n_out


def test_summary_of_vectors_checked():
    """Runs last in this file: every oracle output was compared (see the module docstring)."""
    expected = {
        "quantize_double_ac": 284864, "quantize_double_ap": 281099,
        "cast_fixed_ac": 75040, "cast_fixed_ap": 79100,
        "arith_addsubmul_ac": 12240, "arith_addsubmul_ap": 12240,
        "div_ac": 3520, "div_ap": 3520, "fir16_ac": 4000, "fir16_ap": 4000,
    }
    if set(CHECKED) != set(expected):
        pytest.skip("run the whole file to get the summary")
    assert CHECKED == expected
    assert FLAGGED == {"quantize_double_ac": 114, "quantize_double_ap": 0, "div_ac": 0,
                       "div_ap": 10}
    _ = fx  # keep the public import visible for readers


