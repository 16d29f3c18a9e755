"""Tied signals: signals one type must serve (a sincos NCO's ``sin`` and ``cos``) get one
proposed type, the best precision covering the union of their ranges, or the type of a
locked (or overridden) member."""

from __future__ import annotations

import pickle
from fractions import Fraction

import numpy as np
import pytest

import fixsim as fx
from fixsim.tool import Recording

from .test_independent_review_s14 import build_b, run_b

# -- the reproduction: NCO (sincos) -> Product -> Convert -> CICDecimator -> Gain -----------------
# (the chain in which the bug was found: the independent review's chain B)
build, run = build_b, run_b


@pytest.fixture(scope="module")
def mixer():
    rng = np.random.default_rng(12)
    frames = [rng.uniform(-1, 1, 512) for _ in range(3)]
    T = build().type_table({"x": "sfix16_En15"})
    rec = fx.tool.collect(run, frames, T.as_double())
    return frames, T, rec


def best_type(lo: Fraction, hi: Fraction, W: int) -> tuple[bool, int, int]:
    """The best-precision W-bit type covering [lo, hi], by brute force over F (exact)."""
    signed = lo < 0
    for F in range(W + 64, -W - 64, -1):
        q = Fraction(1, 2 ** F) if F >= 0 else Fraction(2 ** -F)
        tmin = -(2 ** (W - 1)) * q if signed else Fraction(0)
        tmax = (2 ** (W - 1 if signed else W) - 1) * q
        if tmin <= lo and hi <= tmax:
            return signed, W, F
    raise AssertionError("no type")


def untied(T: fx.TypeTable) -> fx.TypeTable:
    """The same table (types, locks, modes) without the ties (as JSON gives it back)."""
    return fx.TypeTable.from_json(T.to_json())


def nt(t) -> tuple[bool, int, int]:
    return bool(t.signed), t.word_length, t.fraction_length


def test_model_type_table_declares_the_nco_outputs_tied(mixer):
    _, T, _ = mixer
    assert T.tied == (("lo.sin", "lo.cos"),)
    for t in (T.copy(), T.as_double(), T.override("double"), T.override(None),
              pickle.loads(pickle.dumps(T))):
        assert t.tied == T.tied
    assert pickle.loads(pickle.dumps(T)) == T and T.lock("x").tied == T.tied
    T.unlock("x")
    # JSON keeps the types, not the ties (and equality ignores them)
    assert untied(T) == T and type(untied(T)) is fx.TypeTable


@pytest.mark.parametrize("W", [16, 24])
def test_sincos_nco_sin_and_cos_get_one_type_and_the_proposal_runs(mixer, W):
    """Regression: lo.sin and lo.cos were typed independently (sfix24_En23 / sfix24_En22 at
    24 bits: the cosine reaches 1.0, the sine does not), and the NCO refused the proposed
    table ('one sine table serves both outputs')."""
    frames, T, rec = mixer
    p = fx.tool.propose(rec, T, word_length=W)
    s, c = p["lo.sin"], p["lo.cos"]
    lo = min(Fraction(rec["lo.sin"].min), Fraction(rec["lo.cos"].min))
    hi = max(Fraction(rec["lo.sin"].max), Fraction(rec["lo.cos"].max))
    assert hi == 1  # the cosine reaches exactly 1.0
    assert nt(s.proposed) == nt(c.proposed) == best_type(lo, hi, W) == (True, W, W - 2)
    assert s.range_used == c.range_used == (lo, hi)
    assert "lo.sin, lo.cos" in s.rationale
    assert p.types.type_of("lo.sin") == p.types.type_of("lo.cos") == s.proposed
    # each member's own metrics under the shared type
    assert s.overflows == c.overflows == 0
    assert s.simulated == (rec["lo.sin"].min, rec["lo.sin"].max)
    # the other signals are typed as before (independently)
    alone = fx.tool.propose(rec, untied(T), word_length=W)
    for n in p:
        if n not in ("lo.sin", "lo.cos"):
            assert p[n].proposed == alone[n].proposed, n
    # the proposed table runs, with no overflow
    chk = fx.tool.verify(run, frames, p.types)
    assert chk.overflows == 0
    assert chk["lo.sin"].numerictype == chk["lo.cos"].numerictype == s.proposed
    out = build(p.types).run(frames[0], types=p.types)["y"]
    assert isinstance(out, fx.fi)


def test_without_the_tie_the_table_does_not_run(mixer):
    """The plain table (no ties) still types them independently; the NCO's error says how
    to tie them."""
    _, T, rec = mixer
    rec = Recording.from_dict(rec.to_dict())
    rec.tied = []  # the recording reports the tie too (SignalEvent.tied): drop it here
    p = fx.tool.propose(rec, untied(T), word_length=24)
    assert p["lo.sin"].proposed != p["lo.cos"].proposed
    with pytest.raises(ValueError, match=r"tied=\[\('lo.sin', 'lo.cos'\)\]"):
        build(p.types)
    q = fx.tool.propose(rec, untied(T), word_length=24, tied=[("lo.sin", "lo.cos")])
    assert q["lo.sin"].proposed == q["lo.cos"].proposed == fx.numerictype(True, 24, 22)
    build(q.types)


def test_margin_applies_to_the_union(mixer):
    _, T, rec = mixer
    p = fx.tool.propose(rec, T, word_length=16, margin=50)
    lo = min(Fraction(rec["lo.sin"].min), Fraction(rec["lo.cos"].min)) * Fraction(3, 2)
    hi = max(Fraction(rec["lo.sin"].max), Fraction(rec["lo.cos"].max)) * Fraction(3, 2)
    assert p["lo.sin"].range_used == p["lo.cos"].range_used == (lo, hi)
    assert nt(p["lo.sin"].proposed) == nt(p["lo.cos"].proposed) == best_type(lo, hi, 16)


@pytest.mark.parametrize("locked", ["lo.sin", "lo.cos"])
def test_a_locked_member_fixes_the_type_of_the_group(mixer, locked):
    frames, T0, rec = mixer
    other = "lo.cos" if locked == "lo.sin" else "lo.sin"
    T = T0.copy()
    T[locked] = "sfix20_En17"
    T.lock(locked)
    p = fx.tool.propose(rec, T, word_length=24)
    assert p[locked].locked and str(p[locked].proposed) == "sfix20_En17"
    assert not p[other].locked and str(p[other].proposed) == "sfix20_En17"
    assert f"tied to {locked} (locked)" in p[other].rationale
    assert p.types.type_of(other) == p.types.type_of(locked)
    assert fx.tool.verify(run, frames, p.types).overflows == 0


def test_a_locked_type_that_does_not_cover_the_other_member_says_so(mixer):
    _, T0, rec = mixer
    T = T0.copy()
    T["lo.sin"] = "sfix16_En15"  # holds the sine, not the cosine's 1.0
    T.lock("lo.sin")
    p = fx.tool.propose(rec, T, word_length=16)
    cos = p["lo.cos"]
    assert str(cos.proposed) == "sfix16_En15"
    assert "does not cover" in cos.rationale and cos.overflows >= 1
    build(p.types)  # runs (the cosine saturates)


def test_members_locked_to_different_types_are_an_error_naming_both(mixer):
    _, T0, rec = mixer
    T = T0.copy()
    T.update({"lo.sin": "sfix16_En14", "lo.cos": "sfix18_En16"})
    T.lock("lo.sin", "lo.cos")
    with pytest.raises(ValueError, match=r"'lo.sin' is locked to sfix16_En14 and 'lo.cos' is "
                                         r"locked to sfix18_En16"):
        fx.tool.propose(rec, T, word_length=16)
    T.update({"lo.cos": "sfix16_En14"}, force=True)  # the same type: fine
    p = fx.tool.propose(rec, T, word_length=16)
    assert p["lo.sin"].locked and p["lo.cos"].locked


def test_an_override_type_fixes_the_group_and_clashes_with_a_lock(mixer):
    _, T0, rec = mixer
    p = fx.tool.propose(rec, T0, word_length=16, overrides={"lo.cos": "sfix18_En16"})
    assert str(p["lo.sin"].proposed) == str(p["lo.cos"].proposed) == "sfix18_En16"
    assert "tied to lo.cos (overridden)" in p["lo.sin"].rationale
    T = T0.copy().lock("lo.sin")
    with pytest.raises(ValueError, match=r"'lo.sin' is locked to .* and 'lo.cos' is "
                                         r"overridden to sfix18_En16"):
        fx.tool.propose(rec, T, word_length=16, overrides={"lo.cos": "sfix18_En16"})


def test_members_whose_own_settings_differ_are_an_error(mixer):
    _, T, rec = mixer
    with pytest.raises(ValueError, match=r"tied signals 'lo.sin', 'lo.cos' must share one "
                                         r"type.*'lo.sin' sfix12_En10, 'lo.cos' sfix16_En14"):
        fx.tool.propose(rec, T, word_length=16, overrides={"lo.sin": {"word_length": 12}})


# -- tied= on a plain table ---------------------------------------------------------------------

def two(x, T):
    return T.a(x), T.b(np.round(3 * x))


@pytest.fixture(scope="module")
def plain():
    T = fx.TypeTable({"a": "double", "b": "double"})
    rec = fx.tool.collect(two, [np.array([-0.3, 0.25, 0.7])], T)
    return T, rec


def test_tied_argument_on_a_plain_table(plain):
    T, rec = plain
    alone = fx.tool.propose(rec, T, word_length=8)
    assert str(alone["a"].proposed) == "sfix8_En7" and str(alone["b"].proposed) == "sfix8"
    p = fx.tool.propose(rec, T, word_length=8, tied=[("a", "b")])
    # union [-1, 2]; b is whole, a is not, so the union is not whole: F from the range
    assert nt(p["a"].proposed) == nt(p["b"].proposed) == best_type(Fraction(-1), Fraction(2), 8)
    assert p.types.type_of("a") == p.types.type_of("b")
    # overlapping groups merge; a group of one changes nothing
    q = fx.tool.propose(rec, T, word_length=8, tied=[("a",), ("b", "a"), ("a", "b")])
    assert q == p


def test_tied_members_that_are_all_whole_keep_the_whole_number_rule():
    T = fx.TypeTable({"a": "double", "b": "double"})
    rec = fx.tool.collect(lambda x, T: (T.a(x), T.b(2 * x)), [np.array([1.0, -3.0, 5.0])], T)
    p = fx.tool.propose(rec, T, word_length=8, tied=[("a", "b")])
    assert str(p["a"].proposed) == str(p["b"].proposed) == "sfix8"


def test_tied_argument_errors(plain):
    T, rec = plain
    with pytest.raises(KeyError, match="tied names signal 'c'"):
        fx.tool.propose(rec, T, tied=[("a", "c")])
    for bad in ("ab", [("a", 1)], ["ab"], 5):
        with pytest.raises(TypeError, match="tied must be a list of groups"):
            fx.tool.propose(rec, T, tied=bad)


def test_a_tied_member_without_a_range_takes_the_group_type(plain):
    T0, rec = plain
    T = T0.copy()
    T["c"] = "double"  # in the table, never recorded
    p = fx.tool.propose(rec, T, word_length=8, tied=[("a", "c")])
    assert "c" not in p and p.types.type_of("c") == p["a"].proposed


def test_refine_keeps_the_ties():
    """refine passes tied= through to every round (and a Model table's ties with it)."""
    def fn(x, T):
        return T.a(x), T.b(x * 3)

    T = fx.TypeTable({"x": "double", "a": "double", "b": "double"})
    d = fx.tool.derive(fn, (-1, 1), T, shape=4)
    p = fx.tool.refine(fn, (-1, 1), d, T, word_length=12, shape=4, tied=[("a", "b")])
    assert p["a"].proposed == p["b"].proposed == fx.numerictype(True, 12, 9)
