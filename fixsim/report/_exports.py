"""Type declarations for hardware designers: VHDL, SystemVerilog, HLS C++, C and JSON.

Every exporter takes a :class:`~fixsim.TypeTable` (or anything with a ``.types`` table, such as
a :class:`fixsim.tool.Proposal`) and returns the text; given a *path* it also writes the file
atomically (a temporary file in the same folder, then ``os.replace``).

Only fixed-point entries are declared; ``'double'`` and ``'inherit'`` entries are listed in a
comment. Signal names are turned into legal identifiers (``'fir1.acc'`` -> ``fir1_acc_t``):
characters other than letters, digits and ``_`` become ``_``, runs of ``_`` collapse, a name
that starts with a digit or collides with a reserved word or with another signal's identifier
gets a prefix ``sig_`` or a suffix ``_2``, ``_3``... (the comment above each declaration gives
the original name).

Rounding and overflow modes of an entry are the entry's own, else the table's, else those of
the fimath in force when exporting (``nearest``/``saturate`` by default).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .._atomic import write_atomic
from .._core._fimath import current_fimath
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._typetable import TypeTable

__all__ = ["export", "export_vhdl", "export_systemverilog", "export_hls", "export_c",
           "export_json", "FORMATS", "HLS_ROUNDING", "HLS_OVERFLOW", "AC_ROUNDING",
           "AC_OVERFLOW", "write_text_atomic"]

#: Export format names accepted by :func:`export` (with aliases) and the file suffix of each.
FORMATS = {"vhdl": ".vhd", "systemverilog": ".sv", "hls": ".h", "ac": ".h", "c": ".h",
           "json": ".json"}
_FORMAT_ALIASES = {"vhd": "vhdl", "sv": "systemverilog", "verilog": "systemverilog",
                   "ap_fixed": "hls", "ap": "hls", "hls_ap": "hls", "ac_fixed": "ac",
                   "hls_ac": "ac", "h": "c"}

#: fixsim rounding mode -> ap_fixed quantization mode (modes not listed have no ap_fixed
#: equivalent: ceil, convergent_odd, stochastic).
HLS_ROUNDING = {Rounding.FLOOR: "AP_TRN", Rounding.ZERO: "AP_TRN_ZERO",
                Rounding.NEAREST: "AP_RND", Rounding.ROUND: "AP_RND_INF",
                Rounding.CONVERGENT: "AP_RND_CONV", Rounding.HALF_DOWN: "AP_RND_MIN_INF",
                Rounding.HALF_ZERO: "AP_RND_ZERO"}
#: fixsim overflow mode -> ap_fixed overflow mode (all five have one).
HLS_OVERFLOW = {Overflow.SATURATE: "AP_SAT", Overflow.WRAP: "AP_WRAP",
                Overflow.SAT_ZERO: "AP_SAT_ZERO", Overflow.SAT_SYM: "AP_SAT_SYM",
                Overflow.WRAP_SM: "AP_WRAP_SM"}
#: fixsim rounding mode -> ac_fixed quantization mode (none for ceil and stochastic).
AC_ROUNDING = {Rounding.FLOOR: "AC_TRN", Rounding.ZERO: "AC_TRN_ZERO",
               Rounding.NEAREST: "AC_RND", Rounding.ROUND: "AC_RND_INF",
               Rounding.CONVERGENT: "AC_RND_CONV", Rounding.HALF_DOWN: "AC_RND_MIN_INF",
               Rounding.HALF_ZERO: "AC_RND_ZERO", Rounding.CONVERGENT_ODD: "AC_RND_CONV_ODD"}
#: fixsim overflow mode -> ac_fixed overflow mode (none for wrap_sm).
AC_OVERFLOW = {Overflow.SATURATE: "AC_SAT", Overflow.WRAP: "AC_WRAP",
               Overflow.SAT_ZERO: "AC_SAT_ZERO", Overflow.SAT_SYM: "AC_SAT_SYM"}
# VHDL fixed_pkg: fixed_round is round-half-to-even, fixed_truncate is floor.
_VHDL_ROUNDING = {Rounding.CONVERGENT: "fixed_round", Rounding.FLOOR: "fixed_truncate"}
_VHDL_OVERFLOW = {Overflow.SATURATE: "fixed_saturate", Overflow.WRAP: "fixed_wrap"}

_VHDL_RESERVED = set("""abs access after alias all and architecture array assert assume attribute
begin block body buffer bus case component configuration constant context cover default
disconnect downto else elsif end entity exit fairness file for force function generate generic
group guarded if impure in inertial inout is label library linkage literal loop map mod nand new
next nor not null of on open or others out package parameter port postponed procedure process
property protected pure range record register reject release rem report restrict return rol ror
select sequence severity shared signal sla sll sra srl strong subtype then to transport type
unaffected units until use variable vmode vprop vunit wait when while with xnor xor""".split())
_SV_RESERVED = set("""alias always always_comb always_ff always_latch and assert assign assume
automatic before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell
chandle checker class clocking cmos config const constraint context continue cover covergroup
coverpoint cross deassign default defparam design disable dist do edge else end endcase
endchecker endclass endclocking endconfig endfunction endgenerate endgroup endinterface
endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable
endtask enum event eventually expect export extends extern final first_match for force foreach
forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone ignore_bins
illegal_bins implements implies import incdir include initial inout input inside instance int
integer interconnect interface intersect join join_any join_none large let liblist library
local localparam logic longint macromodule matches medium modport module nand negedge nettype
new nexttime nmos nor noshowcancelled not notif0 notif1 null or output package packed parameter
pmos posedge primitive priority program property protected pull0 pull1 pulldown pullup
pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real
realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran rtranif0 rtranif1
s_always s_eventually s_nexttime s_until s_until_with scalared sequence shortint shortreal
showcancelled signed small soft solve specify specparam static string strong strong0 strong1
struct super supply0 supply1 sync_accept_on sync_reject_on table tagged task this throughout
time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef
union unique unique0 unsigned until until_with untyped use uwire var vectored virtual void wait
wait_order wand weak weak0 weak1 while wildcard wire with within wor xnor xor""".split())
_C_RESERVED = set("""auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static struct
switch typedef union unsigned void volatile while bool true false alignas alignof
class namespace template typename public private protected virtual operator new delete this
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t size_t ptrdiff_t intptr_t
uintptr_t""".split())


# -- helpers ---------------------------------------------------------------------------------------
def write_text_atomic(path: str | os.PathLike, text: str) -> str:
    """Write *text* to *path* atomically (temporary file in the same folder, then
    ``os.replace``); returns the path as a string."""
    if not isinstance(path, str | os.PathLike):  # regression: os.fspath's bare TypeError
        raise TypeError(f"export: path must be a str or os.PathLike, got "
                        f"{type(path).__name__} {path!r}.")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"export: the folder {folder!r} of path {path!r} does not "
                                "exist; create it first.")
    return write_atomic(path, text)


def _table(types, method: str) -> TypeTable:
    if isinstance(types, TypeTable):
        return types
    inner = getattr(types, "types", None)
    if isinstance(inner, TypeTable):
        return inner
    if isinstance(types, Mapping):
        return TypeTable(types)
    raise TypeError(f"{method}: types must be a fixsim.TypeTable, a Proposal (its .types) or a "
                    f"mapping of signal names to types, got {type(types).__name__}.")


@dataclass(frozen=True)
class _Sig:
    """One fixed-point entry, ready to declare."""

    name: str
    ident: str
    type: numerictype
    rounding: Rounding
    overflow: Overflow

    @property
    def msb(self) -> int:
        return self.type.word_length - self.type.fraction_length - 1

    @property
    def lsb(self) -> int:
        return -self.type.fraction_length

    def describe(self) -> str:
        t = self.type
        return (f"{_comment_safe(self.name)}: {t} ({t.qformat}, {t.hls}), range [{_num(t.min)}, "
                f"{_num(t.max)}], lsb 2^{self.lsb}, rounding {self.rounding}, "
                f"overflow {self.overflow}")


def _comment_safe(text: str) -> str:
    """*text* safe inside any comment: no line breaks, no ``*/``."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", text).replace("*/", "*_/")


def _num(v: float) -> str:
    return repr(v) if not math.isfinite(v) or abs(v) < 1e15 else f"{v:.17g}"


def _identifier(name: str, reserved: set[str], taken: set[str], fold_case: bool) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    base = re.sub(r"_+", "_", base).strip("_") or "sig"
    if base[0].isdigit():
        base = "sig_" + base
    if (base.lower() if fold_case else base) in reserved or \
            (base + "_t").lower() in reserved:
        base = "sig_" + base
    ident, k = base, 2
    key = (lambda s: s.lower()) if fold_case else (lambda s: s)
    while key(ident) in taken:
        ident = f"{base}_{k}"
        k += 1
    taken.add(key(ident))
    return ident


def _signals(T: TypeTable, reserved: set[str], fold_case: bool
             ) -> tuple[list[_Sig], list[tuple[str, str]]]:
    """The fixed entries with identifiers and resolved modes, and the skipped ones."""
    F = current_fimath()
    taken: set[str] = set()
    out: list[_Sig] = []
    skipped: list[tuple[str, str]] = []
    for name in T.names:
        e = T.entry(name)
        if not isinstance(e.type, numerictype):
            skipped.append((name, str(e.type)))
            continue
        # the enums are IntEnums whose first member is 0: test for None, not truth
        r = next(m for m in (e.rounding, T.rounding, F.rounding) if m is not None)
        o = next(m for m in (e.overflow, T.overflow, F.overflow) if m is not None)
        out.append(_Sig(name, _identifier(name, reserved, taken, fold_case), e.type, r, o))
    return out, skipped


def _check_package(package: str, reserved: set[str], method: str) -> str:
    if not isinstance(package, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", package) \
            or "__" in package or package.endswith("_") or package.lower() in reserved:
        raise ValueError(f"{method}: package={package!r} is not a legal name; use letters, "
                         "digits and single underscores, starting with a letter "
                         "(e.g. 'fixsim_types').")
    return package


def _finish(text: str, path) -> str:
    if path is not None:
        write_text_atomic(path, text)
    return text


def _header(comment: str, T: TypeTable, skipped) -> list[str]:
    from .. import __version__

    lines = [f"{comment} Fixed-point types generated by fixsim {__version__}.",
             f"{comment} {len(T)} signal(s) in the type table."]
    for name, kind in skipped:
        lines.append(f"{comment} {_comment_safe(name)}: {kind} (not fixed point; no "
                     "declaration)")
    return lines


# -- VHDL ------------------------------------------------------------------------------------------
def export_vhdl(types, path: str | os.PathLike | None = None, *,
                package: str = "fixsim_types") -> str:
    """A VHDL-2008 package of IEEE ``fixed_pkg`` subtypes, one per fixed-point signal.

    ``sfix16_En12`` becomes ``sfixed(3 downto -12)`` (unsigned types ``ufixed``): the index
    of the most significant bit is ``word_length - fraction_length - 1``, of the least
    ``-fraction_length``. Where ``fixed_pkg`` has the signal's modes (``fixed_round`` is
    round-half-to-even, fixsim's ``convergent``; ``fixed_truncate`` is ``floor``;
    ``fixed_saturate``/``fixed_wrap``), constants ``<name>_round`` and ``<name>_overflow``
    give them for ``resize``; otherwise the comment says there is no ``fixed_pkg``
    equivalent.

    Parameters
    ----------
    types : TypeTable or Proposal or mapping
    path : path-like, optional
        Write the package there (atomically).
    package : str, default 'fixsim_types'
        The package name.

    Returns
    -------
    str
        The VHDL source.
    """
    T = _table(types, "export_vhdl")
    package = _check_package(package, _VHDL_RESERVED, "export_vhdl")
    sigs, skipped = _signals(T, _VHDL_RESERVED, fold_case=True)
    lines = _header("--", T, skipped)
    lines += ["library ieee;", "use ieee.fixed_float_types.all;", "use ieee.fixed_pkg.all;",
              "", f"package {package} is"]
    for s in sigs:
        kind = "sfixed" if s.type.signed else "ufixed"
        lines.append(f"  -- {s.describe()}")
        lines.append(f"  subtype {s.ident}_t is {kind}({s.msb} downto {s.lsb});")
        r, o = _VHDL_ROUNDING.get(s.rounding), _VHDL_OVERFLOW.get(s.overflow)
        if r is not None:
            lines.append(f"  constant {s.ident}_round : fixed_round_style_type := {r};")
        else:
            lines.append(f"  -- rounding {s.rounding}: no fixed_pkg equivalent "
                         "(fixed_pkg has fixed_round = convergent, fixed_truncate = floor)")
        if o is not None:
            lines.append(f"  constant {s.ident}_overflow : fixed_overflow_style_type := {o};")
        else:
            lines.append(f"  -- overflow {s.overflow}: no fixed_pkg equivalent "
                         "(fixed_pkg has fixed_saturate and fixed_wrap)")
    lines += [f"end package {package};", ""]
    return _finish("\n".join(lines), path)


# -- SystemVerilog ---------------------------------------------------------------------------------
def export_systemverilog(types, path: str | os.PathLike | None = None, *,
                         package: str = "fixsim_types") -> str:
    """A SystemVerilog package: a ``typedef logic [signed] [W-1:0] <name>_t`` per signal,
    with ``localparam int <NAME>_WL`` (word length) and ``<NAME>_FL`` (fraction length: the
    real value is the stored integer times ``2**-FL``).

    Parameters
    ----------
    types : TypeTable or Proposal or mapping
    path : path-like, optional
        Write the package there (atomically). Verilator's lint expects the file to be named
        after the package (``fixsim_types.sv``).
    package : str, default 'fixsim_types'

    Returns
    -------
    str
    """
    T = _table(types, "export_systemverilog")
    package = _check_package(package, _SV_RESERVED, "export_systemverilog")
    sigs, skipped = _signals(T, _SV_RESERVED, fold_case=False)
    upper_taken: set[str] = set()
    lines = _header("//", T, skipped)
    lines += [f"package {package};"]
    for s in sigs:
        W = s.type.word_length
        sign = "signed " if s.type.signed else ""
        up = _identifier(s.ident.upper(), {w.upper() for w in _SV_RESERVED}, upper_taken,
                         fold_case=False)
        lines.append(f"  // {s.describe()}")
        lines.append(f"  typedef logic {sign}[{W - 1}:0] {s.ident}_t;")
        lines.append(f"  localparam int {up}_WL = {W};")
        lines.append(f"  localparam int {up}_FL = {s.type.fraction_length};")
    lines += [f"endpackage : {package}", ""]
    return _finish("\n".join(lines), path)


# -- HLS C++ ---------------------------------------------------------------------------------------
def export_hls(types, path: str | os.PathLike | None = None, *, flavor: str = "ap",
               guard: str = "FIXSIM_TYPES_H") -> str:
    """An HLS C++ header of ``ap_fixed`` (Vitis HLS) or ``ac_fixed`` (Algorithmic C)
    typedefs carrying each signal's rounding and overflow modes.

    ``sfix16_En12`` with convergent rounding and saturation becomes
    ``typedef ap_fixed<16, 4, AP_RND_CONV, AP_SAT> name_t;`` (``ac_fixed<16, 4, true,
    AC_RND_CONV, AC_SAT>``). Mode mappings: :data:`HLS_ROUNDING`, :data:`HLS_OVERFLOW`,
    :data:`AC_ROUNDING`, :data:`AC_OVERFLOW`. Modes without an equivalent (``ceil`` and
    ``stochastic`` in both; ``convergent_odd`` in ap_fixed; ``wrap_sm`` in ac_fixed) raise
    a ValueError naming the signal: give the signal a mode that has one.

    Parameters
    ----------
    types : TypeTable or Proposal or mapping
    path : path-like, optional
    flavor : {'ap', 'ac'}, default 'ap'
    guard : str, default 'FIXSIM_TYPES_H'
        The include-guard macro.

    Returns
    -------
    str
    """
    if flavor not in ("ap", "ac"):
        raise ValueError(f"export_hls: flavor={flavor!r} is not valid; valid: 'ap' "
                         "(ap_fixed, Vitis HLS) or 'ac' (ac_fixed, Algorithmic C).")
    guard = _check_guard(guard, "export_hls")
    T = _table(types, "export_hls")
    sigs, skipped = _signals(T, _C_RESERVED, fold_case=False)
    rmap, omap = (HLS_ROUNDING, HLS_OVERFLOW) if flavor == "ap" else (AC_ROUNDING, AC_OVERFLOW)
    lib = "ap_fixed" if flavor == "ap" else "ac_fixed"
    lines = _header("//", T, skipped)
    lines += [f"#ifndef {guard}", f"#define {guard}", "", f"#include <{lib}.h>", ""]
    for s in sigs:
        r, o = rmap.get(s.rounding), omap.get(s.overflow)
        for mode, m, valid in ((s.rounding, r, rmap), (s.overflow, o, omap)):
            if m is None:
                raise ValueError(
                    f"export_hls: signal {s.name!r} uses {type(mode).__name__.lower()} mode "
                    f"{str(mode)!r}, which {lib} does not have; valid for {lib}: "
                    f"{', '.join(str(k) for k in valid)}. Set the signal's mode in the type "
                    "table (T[name] = {'type': ..., 'rounding': ..., 'overflow': ...}).")
        t = s.type
        if flavor == "ap":
            base = "ap_fixed" if t.signed else "ap_ufixed"
            decl = f"{base}<{t.word_length}, {t.integer_length}, {r}, {o}>"
        else:
            sg = "true" if t.signed else "false"
            decl = f"ac_fixed<{t.word_length}, {t.integer_length}, {sg}, {r}, {o}>"
        lines.append(f"// {s.describe()}")
        if flavor == "ap" and not 0 <= t.integer_length <= t.word_length:
            lines.append(f"// note: integer length {t.integer_length} is outside 0..W; "
                         "check that your ap_fixed version accepts it (ac_fixed does)")
        if flavor == "ap" and t.word_length > 1024:
            lines.append("// note: wider than ap_fixed's default limit of 1024 bits; define "
                         "AP_INT_MAX_W before including ap_fixed.h")
        lines.append(f"typedef {decl} {s.ident}_t;")
    lines += ["", f"#endif  // {guard}", ""]
    return _finish("\n".join(lines), path)


def _check_guard(guard: str, method: str) -> str:
    if not isinstance(guard, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", guard):
        raise ValueError(f"{method}: guard={guard!r} is not a legal C macro name.")
    return guard


# -- C ---------------------------------------------------------------------------------------------
# f = floor(y); gt, eq: the fraction y - f is above / exactly one half; nz: it is nonzero.
# These decide whether to take f + 1.
_C_ROUND = {
    Rounding.FLOOR: "0",
    Rounding.CEIL: "nz",
    Rounding.ZERO: "nz && y < 0.0",
    Rounding.NEAREST: "gt || eq",
    Rounding.ROUND: "gt || (eq && y > 0.0)",
    Rounding.CONVERGENT: "gt || (eq && fmod(f, 2.0) != 0.0)",
    Rounding.HALF_DOWN: "gt",
    Rounding.HALF_ZERO: "gt || (eq && y < 0.0)",
    Rounding.CONVERGENT_ODD: "gt || (eq && fmod(f, 2.0) == 0.0)",
}

def _c_storage(t: numerictype, name: str) -> tuple[str, int]:
    W = t.word_length
    for bits in (8, 16, 32, 64):
        if W <= bits:
            return (f"int{bits}_t" if t.signed else f"uint{bits}_t"), bits
    raise ValueError(f"export_c: signal {name!r} has type {t} with word length {W}, wider than "
                     "the widest stdint type (64 bits); C has no integer type for it. Export "
                     "it with export_hls (ap_fixed/ac_fixed have any width) or change its type.")


def _c_hex(v: float) -> str:
    return float(v).hex()


def export_c(types, path: str | os.PathLike | None = None, *,
             guard: str = "FIXSIM_TYPES_H") -> str:
    """A C99 header with ``stdint`` storage types, Q-format macros and conversion helpers.

    For a signal ``fir1.acc`` of type ``sfix16_En12`` it declares::

        typedef int16_t fir1_acc_t;          /* the smallest stdint type holding the word */
        #define FIR1_ACC_WL 16               /* word length */
        #define FIR1_ACC_FL 12               /* fraction bits: value = stored * 2^-FL */
        #define FIR1_ACC_SCALE 0x1p+12       /* 2^FL as a double */
        #define FIR1_ACC_INT_MIN (-32768)    /* stored-integer bounds */
        #define FIR1_ACC_INT_MAX 32767
        static inline fir1_acc_t fir1_acc_from_double(double x);  /* quantize */
        static inline double fir1_acc_to_double(fir1_acc_t q);    /* exact for WL <= 53 */
        static inline fir1_acc_t fir1_acc_sat(int64_t v);         /* clamp a wider integer */

    (``<name>_sat`` takes an ``int64_t``, also for unsigned types, whose negative values
    clamp to 0; a 64-bit unsigned type takes a ``uint64_t``.)

    ``<name>_from_double`` rounds with the signal's rounding mode (decided exactly on
    ``x * 2^FL``) and applies its overflow mode:
    ``saturate``, ``sat_sym``, ``sat_zero`` or ``wrap`` (two's complement modulo 2^WL). NaN
    gives 0; +-inf saturates under the saturating modes and gives 0 under ``wrap``.
    ``stochastic`` rounding and ``wrap_sm`` overflow have no C helper and raise a ValueError
    naming the signal. Word lengths above 64 bits have no stdint type and raise a ValueError
    (use :func:`export_hls`). Programs using the helpers link the maths library (``-lm``).

    Parameters
    ----------
    types : TypeTable or Proposal or mapping
    path : path-like, optional
    guard : str, default 'FIXSIM_TYPES_H'

    Returns
    -------
    str
    """
    guard = _check_guard(guard, "export_c")
    T = _table(types, "export_c")
    sigs, skipped = _signals(T, _C_RESERVED, fold_case=False)
    upper_taken: set[str] = set()
    lines = ["/*"] + [" *" + line[2:] for line in _header("//", T, skipped)] + [" */"]
    lines += [f"#ifndef {guard}", f"#define {guard}", "", "#include <math.h>",
              "#include <stdint.h>", ""]
    for s in sigs:
        t = s.type
        ctype, bits = _c_storage(t, s.name)
        if s.rounding not in _C_ROUND:
            raise ValueError(f"export_c: signal {s.name!r} uses rounding 'stochastic', which "
                             "has no deterministic C helper; set another rounding mode for it.")
        if s.overflow == Overflow.WRAP_SM:
            raise ValueError(f"export_c: signal {s.name!r} uses overflow 'wrap_sm', which has "
                             "no C helper; valid: saturate, sat_sym, sat_zero, wrap.")
        up = _identifier(s.ident.upper(), {w.upper() for w in _C_RESERVED}, upper_taken,
                         fold_case=False)
        W, FL = t.word_length, t.fraction_length
        imin, imax = t.int_min, t.int_max
        lit_min = (f"({imin + 1}LL - 1)" if bits == 64 and t.signed
                   else f"({imin})" if t.signed else "0")
        suffix = "ULL" if bits == 64 and not t.signed else ("LL" if bits == 64 else "")
        # stored bounds as exact doubles: the lowest value, and the first one above int_max
        lo_real = f"-0x1p{W - 1}" if t.signed else "0.0"
        hi_excl = f"0x1p{W - 1 if t.signed else W}"
        id_ = s.ident
        lines.append(f"/* {s.describe()} */")
        lines.append(f"typedef {ctype} {id_}_t;")
        lines.append(f"#define {up}_WL {W}")
        lines.append(f"#define {up}_FL {FL}")
        lines.append(f"#define {up}_SCALE {_c_hex(math.ldexp(1.0, FL))}")
        lines.append(f"#define {up}_INT_MIN {lit_min}")
        lines.append(f"#define {up}_INT_MAX {imax}{suffix}")
        wide = "int64_t" if t.signed else "uint64_t"
        # saturate a wider integer
        if t.signed:
            sat_body = (f"return (v < {up}_INT_MIN) ? ({id_}_t){up}_INT_MIN : "
                        f"(v > {up}_INT_MAX) ? ({id_}_t){up}_INT_MAX : ({id_}_t)v;")
            lines.append(f"static inline {id_}_t {id_}_sat(int64_t v) {{ {sat_body} }}")
        elif W < 64:  # a signed wider integer: negative values clamp to 0
            sat_body = (f"return (v < 0) ? ({id_}_t)0 : (v > (int64_t){up}_INT_MAX) ? "
                        f"({id_}_t){up}_INT_MAX : ({id_}_t)v;")
            lines.append(f"static inline {id_}_t {id_}_sat(int64_t v) {{ {sat_body} }}")
        else:  # uint64_t holds every value of the type: nothing to clamp from above
            lines.append(f"static inline {id_}_t {id_}_sat(uint64_t v) {{ return v; }}")
        lines.append(f"static inline double {id_}_to_double({id_}_t q) "
                     f"{{ return ldexp((double)q, -{up}_FL); }}")
        # quantize a double
        # |y| - floor(|y|) is exact (y - floor(y) is not for -1 < y < 0); the fraction of y
        # is that of |y| mirrored, so the comparisons with 1/2 are made on |y|'s
        body = [f"static inline {id_}_t {id_}_from_double(double x) {{",
                "  double y, a, fa, da, f;",
                "  int e, gt, eq, nz;",
                "  if (x != x) return 0;  /* NaN */",
                "  (void)frexp(x, &e);  /* finite x: |x| < 2^e */",
                "  /* y = x * 2^FL; where that is below 2^-3 any value in (0, 1/2) decides alike,",
                "     and a fixed one avoids ldexp's inexact subnormal results */",
                f"  y = (x != 0.0 && x - x == 0.0 && e + {up}_FL < -2) ? copysign(0.25, x)",
                f"                                                 : ldexp(x, {up}_FL);",
                "  a = fabs(y);",
                "  fa = floor(a);",
                "  da = a - fa;",
                "  if (y >= 0.0) { f = fa; gt = da > 0.5; eq = da == 0.5; nz = da > 0.0; }",
                "  else if (da == 0.0) { f = -fa; gt = eq = nz = 0; }",
                "  else { f = -fa - 1.0; gt = da < 0.5; eq = da == 0.5; nz = 1; }",
                "  (void)gt; (void)eq; (void)nz;",
                f"  if ({_C_ROUND[s.rounding]}) f += 1.0;",
                ]
        ov = s.overflow
        if ov == Overflow.WRAP:
            mask = "0xFFFFFFFFFFFFFFFFULL" if W == 64 else f"((1ULL << {W}) - 1ULL)"
            body += ["  if (f - f != 0.0) return 0;  /* +-inf */",
                     f"  f = fmod(f, 0x1p{W});  /* exact; |f| < 2^{W} */",
                     "  {",
                     "    uint64_t u = (f < 0.0) ? (uint64_t)0 - (uint64_t)(-f) : (uint64_t)f;",
                     f"    u &= {mask};"]
            if t.signed and W < 64:
                body += [f"    if (u >> {W - 1}) u |= ~{mask};"]
            body += [f"    return ({id_}_t)({wide})u;", "  }", "}"]
        else:
            if ov == Overflow.SAT_ZERO:
                low, high = "0", "0"
            elif ov == Overflow.SAT_SYM and t.signed:
                low, high = f"-{up}_INT_MAX", f"{up}_INT_MAX"
            else:
                low, high = f"{up}_INT_MIN", f"{up}_INT_MAX"
            body += [f"  if (f < {lo_real}) return ({id_}_t)({low});",
                     f"  if (f >= {hi_excl}) return ({id_}_t)({high});"]
            if ov == Overflow.SAT_SYM and t.signed:
                body += [f"  if (f == {lo_real}) return ({id_}_t)({low});"]
            body += [f"  return ({id_}_t)({wide})f;", "}"]
        lines += body
        lines.append("")
    lines += [f"#endif  /* {guard} */", ""]
    return _finish("\n".join(lines), path)


# -- JSON ------------------------------------------------------------------------------------------
def export_json(types, path: str | os.PathLike | None = None) -> str:
    """The type table as JSON (:meth:`fixsim.TypeTable.to_json`), which
    :meth:`fixsim.TypeTable.from_json` reads back: entries, modes, locks and overrides."""
    T = _table(types, "export_json")
    return _finish(T.to_json() + "\n", path)


# -- one entry point -------------------------------------------------------------------------------
def export(types, format: str, path: str | os.PathLike | None = None, **options) -> str:
    """Export a type table in one of :data:`FORMATS` (``'vhdl'``, ``'systemverilog'``,
    ``'hls'`` (ap_fixed), ``'ac'`` (ac_fixed), ``'c'``, ``'json'``; aliases ``'sv'``,
    ``'vhd'``, ``'ap_fixed'``, ``'ac_fixed'``).

    Keyword options go to the format's exporter (``package=``, ``guard=``). Returns the text;
    writes it atomically to *path* when given.

    Examples
    --------
    >>> import fixsim as fx
    >>> from fixsim.report import export
    >>> T = fx.TypeTable({'fir1.acc': 'sfix16_En12'}, rounding='convergent')
    >>> print([l for l in export(T, 'vhdl').splitlines() if 'subtype' in l][0])
      subtype fir1_acc_t is sfixed(3 downto -12);
    """
    if not isinstance(format, str):
        raise TypeError(f"export: format must be a str, got {type(format).__name__}.")
    key = format.strip().lower()
    key = _FORMAT_ALIASES.get(key, key)
    if key not in FORMATS:
        raise ValueError(f"export: format={format!r} is not known; valid: "
                         f"{', '.join(FORMATS)} (aliases: {', '.join(_FORMAT_ALIASES)}).")
    if key == "vhdl":
        return export_vhdl(types, path, **options)
    if key == "systemverilog":
        return export_systemverilog(types, path, **options)
    if key == "hls":
        return export_hls(types, path, flavor="ap", **options)
    if key == "ac":
        return export_hls(types, path, flavor="ac", **options)
    if key == "c":
        return export_c(types, path, **options)
    return export_json(types, path, **options)
