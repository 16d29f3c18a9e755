"""Type exports are checked by the tools hardware designers use: GHDL (VHDL-2008 fixed_pkg),
Verilator's lint (SystemVerilog), gcc (C, with a program whose conversions are compared with an
exact Fraction reference written here) and g++ against stand-in ap_fixed/ac_fixed headers."""

from __future__ import annotations

import json
import math
import os
import subprocess
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fixsim as fx
from fixsim.report import (
    export,
    export_c,
    export_hls,
    export_json,
    export_systemverilog,
    export_vhdl,
)

GHDL, VERILATOR, GCC, GXX = "/usr/bin/ghdl", "/usr/bin/verilator", "/usr/bin/gcc", "/usr/bin/g++"

ROUNDINGS_C = ["floor", "ceil", "zero", "nearest", "round", "convergent", "half_down",
               "half_zero", "convergent_odd"]
OVERFLOWS_C = ["saturate", "wrap", "sat_zero", "sat_sym"]

# a table with awkward names and every kind of scaling
AWKWARD = {
    "fir1.acc": "sfix16_En12",                    # the example of the issue
    "x": "ufix8_En3",                             # unsigned
    "3rd.stage": "sfix8_E2",                      # leading digit, negative fraction length
    "signal": "sfix8_En10",                       # a VHDL keyword, fraction length > word
    "a.b": "sfix12_En4", "a_b": "sfix12_En5",     # the same identifier after sanitising
    "A_B": "ufix4",                               # VHDL is case-insensitive
    "int8": "sfix8_En7",                          # a C type name once suffixed
    "wide.acc": "sfix64_En40",
    "u64": "ufix64_En10",
    "one": "sfix1",
    "y": "double", "z": "inherit",
}


TOP_SV = "module top;\n  import fixsim_types::*;\nendmodule\n"


def lint_sv(d):
    """Verilator lints a package through a module that imports it."""
    (d / "top.sv").write_text(TOP_SV)
    run([VERILATOR, "--lint-only", "-Wall", "fixsim_types.sv", "top.sv"], d)


def run(cmd, cwd):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def _msb_lsb(spec):
    t = fx.numerictype.parse(spec)
    return t.word_length - t.fraction_length - 1, -t.fraction_length


# -- VHDL -----------------------------------------------------------------------------------------
def _vhdl_testbench(T, idents):
    """A testbench asserting every subtype's index range, then the names used in the package."""
    checks = []
    for name, ident in idents.items():
        msb, lsb = _msb_lsb(str(T.type_of(name)))
        checks.append(f"    assert {ident}_t'high = {msb} and {ident}_t'low = {lsb} "
                      f"report \"{ident}_t has the wrong range\" severity failure;")
    return ("library ieee;\nuse ieee.fixed_pkg.all;\nuse work.fixsim_types.all;\n"
            "entity tb is end entity;\narchitecture a of tb is\nbegin\n  process\n  begin\n"
            + "\n".join(checks)
            + "\n    report \"ALL OK\";\n    wait;\n  end process;\nend architecture;\n")


def _idents(text, keyword_re):
    import re
    return dict(re.findall(keyword_re, text))


def test_vhdl_package_analyses_and_subtypes_have_the_right_ranges(tmp_path):
    T = fx.TypeTable(AWKWARD, rounding="convergent")
    path = tmp_path / "fixsim_types.vhd"
    text = export_vhdl(T, path)
    assert path.read_text() == text
    assert "subtype fir1_acc_t is sfixed(3 downto -12);" in text
    assert "subtype x_t is ufixed(4 downto -3);" in text
    # each declaration follows a comment naming the signal: map signal -> identifier
    lines = text.splitlines()
    idents = {}
    for i, line in enumerate(lines):
        if line.strip().startswith("subtype "):
            name = lines[i - 1].strip()[3:].split(": ")[0]
            idents[name] = line.split()[1][:-2]
    fixed = [n for n in AWKWARD if AWKWARD[n] not in ("double", "inherit")]
    assert sorted(idents) == sorted(fixed)
    assert len({v.lower() for v in idents.values()}) == len(idents)  # distinct in VHDL
    (tmp_path / "tb.vhd").write_text(_vhdl_testbench(T, idents))
    run([GHDL, "-a", "--std=08", "fixsim_types.vhd"], tmp_path)
    run([GHDL, "-a", "--std=08", "tb.vhd"], tmp_path)
    run([GHDL, "-e", "--std=08", "tb"], tmp_path)
    out = subprocess.run([GHDL, "-r", "--std=08", "tb"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "ALL OK" in out.stdout + out.stderr, out.stdout + out.stderr


def test_vhdl_modes_map_to_fixed_pkg_styles_or_say_there_is_none():
    T = fx.TypeTable({"a": {"type": "sfix8_En4", "rounding": "convergent", "overflow": "wrap"},
                      "b": {"type": "sfix8_En4", "rounding": "floor", "overflow": "saturate"},
                      "c": {"type": "sfix8_En4", "rounding": "nearest", "overflow": "sat_sym"}})
    text = export_vhdl(T)
    assert "constant a_round : fixed_round_style_type := fixed_round;" in text
    assert "constant a_overflow : fixed_overflow_style_type := fixed_wrap;" in text
    assert "constant b_round : fixed_round_style_type := fixed_truncate;" in text
    assert "constant b_overflow : fixed_overflow_style_type := fixed_saturate;" in text
    assert "c_round" not in text and "c_overflow" not in text
    assert "rounding nearest: no fixed_pkg equivalent" in text
    assert "overflow sat_sym: no fixed_pkg equivalent" in text


type_specs = st.builds(lambda s, w, f: str(fx.numerictype(s, w, min(f, 3 * w))),
                       st.booleans(), st.integers(1, 96), st.integers(-20, 100))
names = st.from_regex(r"[A-Za-z0-9_]{1,6}(\.[A-Za-z0-9_]{1,6}){0,2}", fullmatch=True)
tables = st.dictionaries(names, type_specs, min_size=1, max_size=6)


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables)
def test_random_tables_analyse_in_ghdl_and_lint_in_verilator(tmp_path_factory, table):
    d = tmp_path_factory.mktemp("hdl")
    T = fx.TypeTable(table)
    export_vhdl(T, d / "fixsim_types.vhd")
    run([GHDL, "-a", "--std=08", "fixsim_types.vhd"], d)
    export_systemverilog(T, d / "fixsim_types.sv")
    lint_sv(d)


# -- SystemVerilog --------------------------------------------------------------------------------
def test_systemverilog_package_lints_and_widths_are_right(tmp_path):
    T = fx.TypeTable(AWKWARD)
    text = export_systemverilog(T, tmp_path / "fixsim_types.sv")
    assert "typedef logic signed [15:0] fir1_acc_t;" in text
    assert "localparam int FIR1_ACC_FL = 12;" in text
    assert "typedef logic [7:0] x_t;" in text
    lint_sv(tmp_path)
    # a module checking each typedef's width and signedness at elaboration time
    import re
    decls = re.findall(r"typedef logic (signed )?\[(\d+):0\] (\w+);", text)
    comments = re.findall(r"// (\S+): [su]fix", text)
    assert len(decls) == len(comments)
    checks = []
    for (sgn, _, ident), name in zip(decls, comments, strict=True):
        t = fx.numerictype.parse(AWKWARD[name])
        checks.append(f"  if ($bits({ident}) != {t.word_length}) begin : g_{ident}\n"
                      f"    $error(\"{ident} width\");\n  end")
        assert bool(sgn) == t.signed, name
    mod = ("module check;\n  import fixsim_types::*;\n" + "\n".join(checks)
           + "\nendmodule\n")
    (tmp_path / "check.sv").write_text(mod)
    run([VERILATOR, "--lint-only", "-Wall", "-Wno-UNUSEDPARAM", "fixsim_types.sv", "check.sv",
         "--top-module", "check"], tmp_path)
    # the check itself fails on a wrong width (so it is not vacuous)
    (tmp_path / "bad.sv").write_text(
        "module bad;\n  import fixsim_types::*;\n"
        "  if ($bits(fir1_acc_t) != 15) begin : g_bad\n    $error(\"width\");\n  end\n"
        "endmodule\n")
    out = subprocess.run([VERILATOR, "--lint-only", "-Wall", "fixsim_types.sv", "bad.sv",
                          "--top-module", "bad"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode != 0


# -- C --------------------------------------------------------------------------------------------
def ref_from_double(x: float, signed: bool, W: int, F: int, rounding: str, overflow: str) -> int:
    """The exact conversion a C helper must make (Fractions; NaN -> 0; +-inf saturates)."""
    lo, hi = (-(1 << (W - 1)), (1 << (W - 1)) - 1) if signed else (0, (1 << W) - 1)
    if math.isnan(x):
        return 0
    if math.isinf(x):
        if overflow in ("wrap", "sat_zero"):
            return 0
        if overflow == "sat_sym" and signed:
            return hi if x > 0 else -hi
        return hi if x > 0 else lo
    y = Fraction(x) * Fraction(2) ** F
    f = math.floor(y)
    d = y - f
    half = Fraction(1, 2)
    up = {"floor": False, "ceil": d > 0, "zero": d > 0 and y < 0, "nearest": d >= half,
          "round": d > half or (d == half and y > 0),
          "convergent": d > half or (d == half and f % 2 == 1),
          "half_down": d > half, "half_zero": d > half or (d == half and y < 0),
          "convergent_odd": d > half or (d == half and f % 2 == 0)}[rounding]
    q = f + 1 if up else f
    if lo <= q <= hi:
        if overflow == "sat_sym" and signed and q == lo:
            return -hi
        return q
    if overflow == "saturate":
        return lo if q < lo else hi
    if overflow == "sat_sym":
        return (-hi if signed else lo) if q < lo else hi
    if overflow == "sat_zero":
        return 0
    r = (q - lo) % (1 << W) + lo  # wrap
    return r


def _c_program(header: str, ident: str, values: list[float], signed: bool) -> str:
    fmt = "%lld" if signed else "%llu"
    cast = "long long" if signed else "unsigned long long"
    vals = ", ".join(v.hex() if math.isfinite(v) else
                     ("NAN" if math.isnan(v) else ("INFINITY" if v > 0 else "-INFINITY"))
                     for v in values)
    return (f'#include <stdio.h>\n#include "{header}"\n'
            f"static const double xs[] = {{{vals}}};\n"
            "int main(void) {\n"
            "  unsigned i;\n"
            "  for (i = 0; i < sizeof xs / sizeof xs[0]; i++)\n"
            f'    printf("{fmt}\\n", ({cast}){ident}_from_double(xs[i]));\n'
            "  return 0;\n}\n")


def _compile_run(tmp, src, name="prog"):
    (tmp / f"{name}.c").write_text(src)
    run([GCC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", name, f"{name}.c", "-lm"], tmp)
    return run([f"./{name}"], tmp).split()


def _values_for(t: fx.numerictype, extra: list[float]) -> list[float]:
    """Ties and near-ties at the LSB around zero and both bounds, the bounds, beyond them."""
    eps = Fraction(2) ** -t.fraction_length
    out = []
    for base in (0, t.exact_min, t.exact_max, -t.exact_max):
        for k in (-3, -2, -1, 0, 1, 2, 3):
            for frac in (Fraction(0), Fraction(1, 2), Fraction(1, 4), Fraction(3, 4)):
                v = float(base + (k + frac) * eps)
                out.append(v)
                out.append(math.nextafter(v, math.inf))
                out.append(math.nextafter(v, -math.inf))
    out += [0.0, -0.0, math.inf, -math.inf, math.nan, 1e300, -1e300, 5e-324]
    return out + extra


c_types = st.builds(lambda s, w, f: fx.numerictype(s, w, f), st.booleans(), st.integers(1, 64),
                    st.integers(-10, 70))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(c_types, st.sampled_from(ROUNDINGS_C), st.sampled_from(OVERFLOWS_C),
       st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=20))
def test_c_helpers_convert_exactly_like_the_reference(tmp_path_factory, t, rounding, overflow,
                                                       extra):
    d = tmp_path_factory.mktemp("c")
    T = fx.TypeTable({"sig.x": {"type": t, "rounding": rounding, "overflow": overflow}})
    export_c(T, d / "types.h")
    values = _values_for(t, extra)
    got = [int(v) for v in _compile_run(d, _c_program("types.h", "sig_x", values, t.signed))]
    want = [ref_from_double(v, t.signed, t.word_length, t.fraction_length, rounding, overflow)
            for v in values]
    bad = [(v, g, w) for v, g, w in zip(values, got, want, strict=True) if g != w]
    assert not bad, f"{t} {rounding}/{overflow}: (value, C, reference) {bad[:5]}"


def test_c_header_macros_sat_and_to_double(tmp_path):
    T = fx.TypeTable(AWKWARD)
    text = export_c(T, tmp_path / "fixsim_types.h")
    assert "typedef int16_t fir1_acc_t;" in text and "#define FIR1_ACC_FL 12" in text
    assert "typedef uint8_t x_t;" in text
    src = ('#include <stdio.h>\n#include "fixsim_types.h"\n'
           "int main(void) {\n"
           '  printf("%d %d %d\\n", FIR1_ACC_WL, FIR1_ACC_FL, (int)FIR1_ACC_SCALE);\n'
           '  printf("%d %d\\n", (int)fir1_acc_sat(40000), (int)fir1_acc_sat(-40000));\n'
           '  printf("%d %d %d\\n", (int)fir1_acc_sat(-5), (int)x_sat(300), (int)x_sat(-5));\n'
           '  printf("%.17g\\n", fir1_acc_to_double(-32768));\n'
           '  printf("%lld %llu\\n", (long long)WIDE_ACC_INT_MIN, '
           "(unsigned long long)U64_INT_MAX);\n"
           "  return 0;\n}\n")
    out = _compile_run(tmp_path, src, "macros")
    assert out == ["16", "12", "4096", "32767", "-32768", "-5", "255", "0", "-8",
                   str(-(1 << 63)), str((1 << 64) - 1)]


def test_c_rejects_words_wider_than_64_bits_and_modes_without_helpers():
    with pytest.raises(ValueError, match=r"'big'.*word length 65.*export_hls"):
        export_c(fx.TypeTable({"big": "sfix65_En3"}))
    with pytest.raises(ValueError, match="'s'.*stochastic"):
        export_c(fx.TypeTable({"s": {"type": "sfix8", "rounding": "stochastic"}}))
    with pytest.raises(ValueError, match="'w'.*wrap_sm"):
        export_c(fx.TypeTable({"w": {"type": "sfix8", "overflow": "wrap_sm"}}))


# -- HLS ------------------------------------------------------------------------------------------
AP_STANDIN = """\
#ifndef AP_FIXED_STANDIN
#define AP_FIXED_STANDIN
enum ap_q_mode { AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV, AP_TRN,
                 AP_TRN_ZERO };
enum ap_o_mode { AP_SAT, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP, AP_WRAP_SM };
template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
struct ap_fixed { static_assert(W >= 1 && W <= 1024, "width"); };
template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
struct ap_ufixed { static_assert(W >= 1 && W <= 1024, "width"); };
#endif
"""
AC_STANDIN = """\
#ifndef AC_FIXED_STANDIN
#define AC_FIXED_STANDIN
enum ac_q_mode { AC_TRN, AC_RND, AC_TRN_ZERO, AC_RND_ZERO, AC_RND_INF, AC_RND_MIN_INF,
                 AC_RND_CONV, AC_RND_CONV_ODD };
enum ac_o_mode { AC_WRAP, AC_SAT, AC_SAT_ZERO, AC_SAT_SYM };
template <int W, int I, bool S = true, ac_q_mode Q = AC_TRN, ac_o_mode O = AC_WRAP>
struct ac_fixed { static_assert(W >= 1, "width"); };
#endif
"""

HLS_Q = {"floor": "AP_TRN", "zero": "AP_TRN_ZERO", "nearest": "AP_RND", "round": "AP_RND_INF",
         "convergent": "AP_RND_CONV", "half_down": "AP_RND_MIN_INF", "half_zero": "AP_RND_ZERO"}
HLS_O = {"saturate": "AP_SAT", "wrap": "AP_WRAP", "sat_zero": "AP_SAT_ZERO",
         "sat_sym": "AP_SAT_SYM", "wrap_sm": "AP_WRAP_SM"}


@pytest.mark.parametrize("flavor", ["ap", "ac"])
def test_hls_header_compiles_against_a_stand_in_and_carries_the_modes(tmp_path, flavor):
    (tmp_path / "ap_fixed.h").write_text(AP_STANDIN)
    (tmp_path / "ac_fixed.h").write_text(AC_STANDIN)
    entries = {}
    i = 0
    for r in HLS_Q:
        for o in HLS_O:
            if flavor == "ac" and o == "wrap_sm":
                continue
            entries[f"blk{i}.sig"] = {"type": fx.numerictype(i % 2 == 0, 4 + i, i - 10),
                                      "rounding": r, "overflow": o}
            i += 1
    T = fx.TypeTable(entries)
    export_hls(T, tmp_path / "types.h", flavor=flavor)
    asserts = []
    for k, (name, e) in enumerate(entries.items()):
        t = e["type"]
        ident = name.replace(".", "_") + "_t"
        W, IL = t.word_length, t.word_length - t.fraction_length
        q, o = HLS_Q[e["rounding"]], HLS_O[e["overflow"]]
        if flavor == "ap":
            want = f"{'ap_fixed' if t.signed else 'ap_ufixed'}<{W}, {IL}, {q}, {o}>"
        else:
            want = (f"ac_fixed<{W}, {IL}, {'true' if t.signed else 'false'}, "
                    f"{q.replace('AP_', 'AC_')}, {o.replace('AP_', 'AC_')}>")
        asserts.append(f"static_assert(std::is_same<{ident}, {want}>::value, \"{k}\");")
    src = ('#include <type_traits>\n#include "types.h"\n' + "\n".join(asserts) + "\n")
    (tmp_path / "check.cpp").write_text(src)
    run([GXX, "-std=c++11", "-fsyntax-only", "-Wall", "-Werror", "-I.", "check.cpp"], tmp_path)
    # not vacuous: a wrong expectation fails
    (tmp_path / "bad.cpp").write_text(src.replace(asserts[0], asserts[0].replace("<", "<1")))
    bad = subprocess.run([GXX, "-std=c++11", "-fsyntax-only", "-I.", "bad.cpp"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode != 0


def test_hls_modes_without_an_equivalent_are_errors_naming_the_signal():
    with pytest.raises(ValueError, match=r"'c'.*'ceil'.*ap_fixed"):
        export_hls(fx.TypeTable({"c": {"type": "sfix8", "rounding": "ceil"}}))
    with pytest.raises(ValueError, match=r"'o'.*'convergent_odd'"):
        export_hls(fx.TypeTable({"o": {"type": "sfix8", "rounding": "convergent_odd"}}))
    assert "AC_RND_CONV_ODD" in export_hls(
        fx.TypeTable({"o": {"type": "sfix8", "rounding": "convergent_odd"}}), flavor="ac")
    with pytest.raises(ValueError, match=r"'w'.*'wrap_sm'.*ac_fixed"):
        export_hls(fx.TypeTable({"w": {"type": "sfix8", "overflow": "wrap_sm"}}), flavor="ac")
    with pytest.raises(ValueError, match="flavor='xilinx'"):
        export_hls(fx.TypeTable({"a": "sfix8"}), flavor="xilinx")


# -- JSON, dispatch, files ------------------------------------------------------------------------
def test_json_loads_back_into_the_same_table(tmp_path):
    T = fx.TypeTable({**AWKWARD, "m": {"type": "sfix8_En2", "rounding": "floor"}},
                     overflow="wrap", locked=["x"])
    text = export_json(T, tmp_path / "types.json")
    assert fx.TypeTable.from_json(text) == T
    assert fx.TypeTable.from_json((tmp_path / "types.json").read_text()) == T
    assert json.loads(text)["signals"]["fir1.acc"] == "sfix16_En12"


def test_export_dispatch_aliases_and_errors(tmp_path):
    T = fx.TypeTable({"a": "sfix8_En4"})
    assert export(T, "sv") == export_systemverilog(T)
    assert export(T, "VHDL") == export_vhdl(T)
    assert export(T, "ac_fixed") == export_hls(T, flavor="ac")
    assert export(T, "c", guard="MY_H") == export_c(T, guard="MY_H")
    with pytest.raises(ValueError, match=r"format='pdf'.*vhdl"):
        export(T, "pdf")
    with pytest.raises(ValueError, match=r"package='my pkg'"):
        export_vhdl(T, package="my pkg")
    with pytest.raises(ValueError, match=r"guard='1x'"):
        export_c(T, guard="1x")
    with pytest.raises(TypeError, match="TypeTable"):
        export_vhdl(42)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_vhdl(T, tmp_path / "nope" / "x.vhd")


def test_files_are_written_atomically_without_leftovers(tmp_path):
    T = fx.TypeTable({"a": "sfix8_En4"})
    p = tmp_path / "t.sv"
    p.write_text("old")
    export(T, "sv", p)
    assert p.read_text() == export_systemverilog(T)
    assert os.listdir(tmp_path) == ["t.sv"]


def test_a_proposal_exports_its_proposed_types():
    T = fx.TypeTable({"x": "double"})
    with fx.tool.record() as rec:
        T.x([-8.0, 0.5, 8.0])
    p = fx.tool.propose(rec, T, word_length=16, margin=50)
    assert "subtype x_t is sfixed(4 downto -11);" in export_vhdl(p)


def test_comments_cannot_be_broken_by_signal_names(tmp_path):
    T = fx.TypeTable({"a*/b": "sfix8_En4", "c\nd": "sfix8_En4"})
    text = export_c(T, tmp_path / "t.h")
    assert "*/b" not in text and "c\nd" not in text
    (tmp_path / "m.c").write_text('#include "t.h"\nint main(void) { return 0; }\n')
    run([GCC, "-std=c99", "-Wall", "-Werror", "-c", "m.c"], tmp_path)
