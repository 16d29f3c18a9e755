"""TypeTable: named casts, probes, overrides, locks, lookup errors and JSON."""

from __future__ import annotations

import doctest
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fixsim
from fixsim import fi, fimath, numerictype
from fixsim._core import _probe
from fixsim._core import _typetable as tt
from fixsim._core._typetable import SignalEvent, TypeTable, UnknownSignalError, signal_listening
from fixsim.testing import assert_fi_identical


def _events():
    seen: list[SignalEvent] = []
    return seen, signal_listening(seen.append)


def test_entries_parse_every_type_form():
    T = TypeTable({"a": "sfix16_En14", "b": "Q3.12", "c": "ap_fixed<16,4>",
                   "d": numerictype(0, 8, 8), "e": "double", "f": "inherit",
                   "fir1.acc": {"type": "sfix40_En28", "rounding": "floor"}})
    assert T.type_of("a") == numerictype(1, 16, 14)
    assert T.type_of("b") == numerictype(1, 16, 12) == T.type_of("c")
    assert T.type_of("d") == numerictype(0, 8, 8)
    assert T.type_of("e") == "double" and T.type_of("f") == "inherit"
    assert T.entry("fir1.acc").rounding == fixsim.Rounding.FLOOR
    assert T.names == ["a", "b", "c", "d", "e", "f", "fir1.acc"]
    assert list(T) == T.names and len(T) == 7 and "fir1.acc" in T and "fir1" not in T


def test_bad_entries_name_the_signal():
    with pytest.raises(ValueError, match=r"signal 'x': numerictype.parse: cannot parse "
                                         r"'sfix16_Q'"):
        TypeTable({"x": "sfix16_Q"})
    with pytest.raises(TypeError, match=r"signal 'x': expected a numerictype"):
        TypeTable({"x": 3})
    with pytest.raises(ValueError, match=r"invalid signal name 'a\.\.b'"):
        TypeTable({"a..b": "double"})


def test_float_input_is_quantized_exactly_with_nearest_saturate():
    T = TypeTable({"x": "sfix8_En4"})
    x = np.array([0.03125, -0.03125, 100.0, 0.1])  # ties go up (nearest); 100 saturates
    assert_fi_identical(T.x(x), fi(x, 1, 8, 4))
    assert T.x(x).local_fimath is None
    assert_fi_identical(T.x(0.1), fi(0.1, 1, 8, 4))
    assert_fi_identical(T.x([1, 2]), fi([1, 2], 1, 8, 4))


def test_fi_input_is_cast_and_same_type_passes():
    T = TypeTable({"x": "sfix8_En2"})
    a = fi([0.3, -1.7], 1, 16, 10)
    assert_fi_identical(T.x(a), a.cast("sfix8_En2"))
    b = fi([0.25], 1, 8, 2)
    assert T.x(b) is b


def test_modes_table_entry_and_fimath_in_force():
    x = np.array([0.7, -0.7])
    T = TypeTable({"x": "sfix8", "y": {"type": "sfix8", "rounding": "zero"}}, rounding="floor")
    assert T.x(x).int.tolist() == [0, -1]
    assert T.y(x).int.tolist() == [0, 0]
    U = TypeTable({"x": "sfix8"})
    with fimath(rounding="ceil"):
        assert U.x(x).int.tolist() == [1, 0]
        assert U.x(fi(x, 1, 16, 8)).int.tolist() == [1, 0]
    assert U.x(fi(x, 1, 16, 8, rounding="floor")).int.tolist() == [0, -1]  # local fimath


def test_double_and_inherit():
    T = TypeTable({"d": "double", "i": "inherit"})
    a = fi([0.5, -0.25], 1, 8, 4)
    out = T.d(a)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert out.tolist() == [0.5, -0.25]
    assert T.i(a) is a
    assert T.i(0.1) == 0.1 and isinstance(T.i(0.1), float)
    assert T.d(3).dtype == np.float64


def test_as_double_same_names_float_behaviour_still_probed():
    T = TypeTable({"x": "sfix8_En4", "fir1.acc": "sfix16_En8"}, locked=["x"])
    D = T.as_double()
    assert D.names == T.names and all(D.type_of(n) == "double" for n in D)
    assert D.locked == T.locked
    seen, listen = _events()
    with listen:
        y = D["fir1.acc"](D.x(np.array([0.1, 100.0])))
    assert y.tolist() == [0.1, 100.0]
    assert [(e.name, e.mode, e.numerictype) for e in seen] == [
        ("x", "double", None), ("fir1.acc", "double", None)]


def test_probe_reports_name_values_type_and_counts():
    T = TypeTable({"x": "sfix8_En4"})
    seen, listen = _events()
    x = np.array([0.5, 9.0, -20.0, 0.01, 0.0])
    with listen:
        out = T.x(x)
    (e,) = seen
    assert e.name == "x" and e.mode == "fixed" and e.numerictype == numerictype(1, 8, 4)
    assert e.values.tolist() == x.tolist()  # the values arriving, not the saturated ones
    assert e.output is out
    assert (e.overflows, e.underflows) == (2, 1)


def test_probe_counts_fi_cast_and_names_quantization_events():
    T = TypeTable({"acc": "sfix8_En0"})
    seen, listen = _events()
    a = fi([1000.0, 0.25, 3.0], 1, 16, 2)
    with _probe.count_quantization() as c, listen:
        T.acc(a)
    assert (seen[0].overflows, seen[0].underflows) == (1, 1)
    assert [ev.name for ev in c.events] == ["acc"]


def test_signal_listener_alone_counts_through_a_thread_local_sink():
    """With only signal listeners, a fixed cast counts through this thread's sink instead of
    a quantization listener: fi inputs (a deferred product among them) count, other threads'
    casts do not add to it, and the sink is reset after an error."""
    import threading

    T = TypeTable({"acc": "sfix8_En0"})
    seen, listen = _events()
    a = fi([1000.0, 0.25, 3.0], 1, 16, 2)
    big = fi(np.full(5000, 100.0), 1, 16, 2)
    with listen:
        T.acc(a)
        T.acc(big * big)  # 10000 per element: every one overflows sfix8_En0
    assert [(e.overflows, e.underflows) for e in seen] == [(1, 1), (5000, 0)]
    assert not _probe.active()  # the sink is gone once the cast returned

    results = {}

    def worker(k):
        got, lis = _events()
        x = np.concatenate([np.full(k, 500.0), np.full(3000, 0.1)])  # k overflow, 3000 under
        with lis:
            for _ in range(20):
                T.acc(x)
        results[k] = {(e.overflows, e.underflows) for e in got}

    threads = [threading.Thread(target=worker, args=(k,)) for k in (1, 2000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {1: {(1, 3000)}, 2000: {(2000, 3000)}}

    with listen, pytest.raises(ValueError):
        T.acc(np.array([np.nan, 1.0]))
    assert not _probe.active()


def test_no_listener_no_event_and_no_counting_cost():
    T = TypeTable({"x": "sfix8_En4"})
    assert not tt.signals_active()
    assert_fi_identical(T.x([0.5]), fi([0.5], 1, 8, 4))


def test_scaled_double_counts_what_the_fixed_type_would_do():
    T = TypeTable({"x": "sfix8_En4", "y": "sfix8_En4"}).override("scaled_double", ["x"])
    assert T.overrides == {"x": "scaled_double"}
    x = np.array([0.5, 9.0, -20.0, 0.01, 0.0])
    seen, listen = _events()
    with _probe.count_quantization() as c, listen:
        out = T.x(x)
    assert isinstance(out, np.ndarray) and out.tolist() == x.tolist()
    (e,) = seen
    assert (e.mode, e.overflows, e.underflows) == ("scaled_double", 2, 1)
    assert e.numerictype == numerictype(1, 8, 4)
    assert (c.overflows, c.underflows) == (2, 1) and c.events[0].name == "x"
    assert isinstance(T.y(x), fi)


def test_double_override_patterns_and_clearing():
    T = TypeTable({"fir1.acc": "sfix16_En8", "fir1.y": "sfix8_En4", "z": "sfix8"})
    D = T.override("double", "fir1.*")
    assert D.overrides == {"fir1.acc": "double", "fir1.y": "double"}
    assert isinstance(D["fir1.y"](0.3), np.ndarray) and isinstance(D.z(0.3), fi)
    assert D.override(None).overrides == {} and T.overrides == {}
    seen, listen = _events()
    with listen:
        D["fir1.y"](np.array([100.0]))
    assert (seen[0].mode, seen[0].overflows, seen[0].numerictype) == (
        "double", 0, numerictype(1, 8, 4))
    with pytest.raises(ValueError, match="'float' is not valid; valid: 'double', "
                                         "'scaled_double', None"):
        T.override("float")
    with pytest.raises(KeyError, match="no signal 'fir2.\\*'"):
        T.override("double", "fir2.*")


def test_override_of_double_and_inherit_entries_computes_in_double():
    T = TypeTable({"i": "inherit", "d": "double"}).override("scaled_double")
    a = fi([0.5], 1, 8, 4)
    assert isinstance(T.i(a), np.ndarray) and isinstance(T.d(a), np.ndarray)


def test_locks():
    T = TypeTable({"fir1.acc": "sfix16_En8", "fir1.y": "sfix8_En4", "z": "sfix8"})
    assert T.lock("fir1.*") is T
    assert T.locked == {"fir1.acc", "fir1.y"}
    assert T["fir1.acc"].locked and not T.z.locked
    with pytest.raises(ValueError, match=r"signal 'fir1.acc' is locked; unlock it first "
                                         r"\(T.unlock\('fir1.acc'\)\)"):
        T["fir1.acc"] = "sfix8"
    with pytest.raises(ValueError, match="locked"):
        T.update({"fir1.y": "sfix4"})
    T.update({"fir1.y": "sfix4"}, force=True)
    assert T.type_of("fir1.y") == "sfix4"
    T.unlock("fir1.acc")
    T["fir1.acc"] = "sfix8"
    assert T.locked == {"fir1.y"}
    with pytest.raises(KeyError, match="no signal 'q'"):
        TypeTable({"x": "sfix8"}, locked=["q"])


def test_lookup_dotted_attribute_and_scope():
    T = TypeTable({"x": "sfix8_En4", "fir1.acc": "sfix16_En8"})
    assert T.fir1.acc.name == "fir1.acc" and T["fir1"].acc.name == "fir1.acc"
    assert T.fir1.names == ["fir1.acc"]
    assert_fi_identical(T.fir1.acc(0.5), T["fir1.acc"](0.5))
    assert T.x is T["x"]
    assert repr(T.x) == "<signal 'x': sfix8_En4>"


def test_unknown_name_lists_close_matches():
    T = TypeTable({"fir1.acc": "sfix16_En8", "fir1.y": "sfix8", "x": "double"})
    with pytest.raises(KeyError) as exc:
        T["fir1.acx"]
    msg = str(exc.value)
    assert msg.startswith("TypeTable has no signal 'fir1.acx'. Did you mean 'fir1.acc', 'fir1.y'?")
    assert "Known signals: 'fir1.acc', 'fir1.y', 'x'" in msg
    with pytest.raises(AttributeError, match="no signal 'xx'. Did you mean 'x'"):
        T.xx(1.0)
    assert not hasattr(T, "nothing")
    with pytest.raises(UnknownSignalError, match="no signal 'q'"):
        T.cast("q", 1.0)


def test_nan_in_fixed_signal_names_the_signal():
    T = TypeTable({"x": "sfix8_En4"})
    with pytest.raises(ValueError, match=r"TypeTable\['x'\].*NaN"):
        T.x(np.array([0.5, np.nan]))


def test_json_round_trip_equality_and_repr():
    T = TypeTable({"x": "Q3.12", "fir1.acc": {"type": "sfix40_En28", "overflow": "wrap"},
                   "y": "double", "z": "inherit"}, rounding="convergent", locked=["x"])
    T = T.override("scaled_double", ["fir1.acc"])
    text = T.to_json()
    assert '"schema": "fixsim.TypeTable/1"' in text and '"x": "sfix16_En12"' in text
    U = TypeTable.from_json(text)
    assert U == T and U.to_json() == text
    assert pickle.loads(pickle.dumps(T)) == T
    assert T != T.as_double() and T != T.copy().lock("fir1.acc")
    assert repr(T) == (
        "TypeTable({'x': 'sfix16_En12', 'fir1.acc': {\"type\": \"sfix40_En28\", "
        "\"overflow\": \"wrap\"}, 'y': 'double', 'z': 'inherit'}, rounding='convergent', "
        "locked=['x']).override('scaled_double', ['fir1.acc'])")
    with pytest.raises(ValueError, match="unsupported schema 'other/9'"):
        TypeTable.from_json('{"schema": "other/9"}')


@given(st.dictionaries(
    st.from_regex(r"[a-z]{1,4}(\.[a-z]{1,4})?", fullmatch=True),
    st.one_of(st.just("double"), st.just("inherit"),
              st.builds(numerictype, st.booleans(), st.integers(1, 80),
                        st.integers(-20, 90))),
    max_size=8))
def test_json_round_trip_property(types):
    T = TypeTable(types)
    U = TypeTable.from_json(T.to_json())
    assert U == T and U.items() == T.items()


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=20),
       st.integers(2, 40), st.integers(-8, 30))
def test_named_cast_matches_fi_constructor(values, w, f):
    T = TypeTable({"s": numerictype(1, w, f)})
    assert_fi_identical(T.s(np.array(values)), fi(np.array(values), 1, w, f))


def test_module_doctests():
    if not hasattr(fixsim, "TypeTable"):
        pytest.skip("fx.TypeTable is exported when fixsim/__init__.py is integrated")
    assert doctest.testmod(tt).failed == 0


def test_regression_sat_sym_named_cast_of_the_same_type_lifts_the_minimum():
    """Bug (found by the fixed-derive property test): ``T.s(x)`` returned a fi already of
    s's type unchanged, so a ``sat_sym`` entry kept the most negative value (-0.5 in
    sfix2_En2), where ``x.cast(T, overflow='sat_sym')`` and derive give -0.25."""
    x = fi([-0.5, 0.25, -0.25], 1, 2, 2)
    T = TypeTable({"s": {"type": "sfix2_En2", "overflow": "sat_sym"}})
    assert_fi_identical(T.s(x), x.cast(x.numerictype, overflow="sat_sym"))
    np.testing.assert_array_equal(T.s(x).int, [-1, 1, -1])
    # other modes: the same-type cast is the identity, and returns the same object
    assert TypeTable({"s": {"type": "sfix2_En2", "overflow": "saturate"}}).s(x) is x
    u = fi([0.0, 0.5], 0, 2, 2)  # unsigned: sat_sym is saturate
    assert TypeTable({"u": {"type": "ufix2_En2", "overflow": "sat_sym"}}).u(u) is u
