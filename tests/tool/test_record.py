"""Recording: the probe hook, buffering, merging, atomic save/load."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixsim import fi
from fixsim._core._typetable import TypeTable, signals_active
from fixsim.tool import Recording, SignalStats, _record, record


def _fir(x, h, T):
    x = T.x(x)
    acc = T["fir1.acc"](np.convolve(x.data if isinstance(x, fi) else x, h))
    return T.y(acc)


T = TypeTable({"x": "sfix16_En14", "fir1.acc": "sfix16_En14", "y": "sfix8_En6"})
H = np.array([0.5, 0.75, 0.5])


def test_record_collects_every_probed_signal():
    x = np.array([0.5, -0.9, 0.25, 2.5])
    assert not signals_active()
    with record() as rec:
        assert signals_active()
        _fir(x, H, T)
    assert not signals_active()
    assert rec.names == ["x", "fir1.acc", "y"] and len(rec) == 3 and "y" in rec
    sx = rec["x"]
    assert sx == SignalStats().update(x, 1, 0, "sfix16_En14")  # 2.5 overflows sfix16_En14
    acc_in = np.convolve(fi(x, T.type_of("x")).data, H)
    assert rec["fir1.acc"] == SignalStats().update(
        acc_in, int(np.sum((acc_in > T.type_of("fir1.acc").max)
                           | (acc_in < T.type_of("fir1.acc").min))), 0, "sfix16_En14")
    assert rec["y"].numerictype == "sfix8_En6"


def test_double_run_records_same_values_without_counts():
    x = np.array([0.5, -0.9, 0.25, 1.5])
    with record() as rec:
        _fir(x, H, T.as_double())
    assert rec["x"] == SignalStats().update(x)
    assert rec["fir1.acc"] == SignalStats().update(np.convolve(x, H))


def test_scaled_double_counts_reach_stats():
    x = np.array([0.5, 9.0, -20.0, 0.01, 0.0])
    S = TypeTable({"x": "sfix8_En4"}).override("scaled_double")
    with record() as rec:
        S.x(x)
    assert (rec["x"].overflows, rec["x"].underflows) == (2, 1)
    assert rec["x"].max == 9.0 and rec["x"].numerictype == "sfix8_En4"


def test_frames_merge_to_the_single_run():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.2, 1.2, 3000)
    with record() as whole:
        _fir(x, H, T)
    parts = []
    for frame in np.split(x, [700, 701, 2000]):
        with record() as r:
            _fir(frame, H, T.as_double())
        parts.append(r)
    merged = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
    assert merged["x"] == SignalStats().update(x)
    assert whole["x"].count == merged["x"].count == 3000
    # merge does not change its inputs
    assert parts[0]["x"].count == 700


@given(st.lists(st.lists(st.floats(-1e3, 1e3), max_size=30), min_size=1, max_size=6))
def test_many_small_probes_equal_one_update(chunks):
    D = TypeTable({"s": "double"})
    with record() as rec:
        for c in chunks:
            D.s(np.array(c, dtype=np.float64))
    flat = [v for c in chunks for v in c]
    assert rec["s"] == SignalStats().update(flat)


def test_running_summaries_fold_on_read():
    D = TypeTable({"s": "double"})
    with record() as rec:
        for i in range(25):
            D.s(float(i))
        assert rec._pending["s"].acc.pending == 25  # summarised by the kernel, not folded
        assert rec["s"].count == 25  # reading folds
        assert rec._pending["s"].acc.pending == 0
        D.s(-1.0)
    assert rec["s"].count == 26 and rec["s"].whole and rec["s"].min == -1.0
    assert rec["s"] == SignalStats().update([*map(float, range(25)), -1.0])


def test_many_probes_of_mixed_sizes_equal_one_update():
    rng = np.random.default_rng(5)
    chunks = [rng.standard_normal(rng.integers(0, 300)) * 10.0 ** rng.integers(-5, 5)
              for _ in range(60)]
    D = TypeTable({"a": "double", "b": "sfix8_En4"})
    with record() as rec:
        for c in chunks:
            D.a(c)
            D.b(c[::-1])
    flat = np.concatenate(chunks)
    assert rec["a"] == SignalStats().update(flat)
    assert rec["b"].count == flat.size and rec["b"].numerictype == "sfix8_En4"
    assert rec["b"].exact_sum == SignalStats().update(flat).exact_sum


def test_non_contiguous_and_2d_values():
    D = TypeTable({"s": "double"})
    x = np.arange(24.0).reshape(4, 6)
    with record() as rec:
        D.s(x[:, ::2])
        D.s(x.T)
    assert rec["s"] == SignalStats().update([*x[:, ::2].ravel(), *x.T.ravel()])


def test_input_arrays_are_copied():
    D = TypeTable({"s": "double"})
    x = np.array([1.0, 2.0])
    with record() as rec:
        D.s(x)
        x[:] = 100.0
    assert rec["s"].max == 2.0


def test_nested_recorders_and_record_into_existing():
    D = TypeTable({"s": "double"})
    with record() as outer:
        D.s([1.0])
        with record() as inner:
            D.s([2.0])
    assert outer["s"].count == 2 and inner["s"].count == 1
    with record(outer) as again:
        D.s([3.0])
    assert again is outer and outer["s"].count == 3 and outer["s"].max == 3.0
    rec = record()
    with rec, pytest.raises(RuntimeError, match="already active"), rec:
        pass


def test_threads_have_their_own_recorders():
    D = TypeTable({"s": "double"})
    seen = {}

    def work():
        D.s([1.0])  # no recorder in this thread
        with record() as r:
            D.s([5.0])
        seen["t"] = r

    with record() as rec:
        t = threading.Thread(target=work)
        t.start()
        t.join()
        D.s([2.0])
    assert rec["s"].max == 2.0 and rec["s"].count == 1 and seen["t"]["s"].max == 5.0


def test_type_conflict_raises_at_the_probe():
    A = TypeTable({"s": "sfix8_En4"})
    B = TypeTable({"s": "sfix16_En4"})
    with record(), pytest.raises(ValueError, match="against sfix16_En4 cannot be combined"):
        A.s([1.0])
        B.s([1.0])


def test_unknown_signal_message():
    with record() as rec:
        TypeTable({"fir1.acc": "double"})["fir1.acc"]([1.0])
    with pytest.raises(KeyError, match="no signal 'fir1.acx'. Did you mean 'fir1.acc'"):
        rec["fir1.acx"]


def test_save_load_atomic_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    with record() as rec:
        _fir(rng.uniform(-2, 2, 500), H, T)
        TypeTable({"n": "double"}).n([np.nan, np.inf, 0.0])
    path = tmp_path / "rec.json"
    rec.save(path)
    assert sorted(os.listdir(tmp_path)) == ["rec.json"]  # no temporary left behind
    back = Recording.load(path)
    assert back == rec and back.names == rec.names
    assert back["n"].nan_count == 1 and back["n"].inf_count == 1
    rec.save(str(path))  # replacing an existing file
    assert Recording.load(path) == rec


def test_failed_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "rec.json"
    Recording().save(path)
    old = path.read_text()
    with record() as rec:
        TypeTable({"s": "double"}).s([1.0])

    def boom(*a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        rec.save(path)
    assert path.read_text() == old and sorted(os.listdir(tmp_path)) == ["rec.json"]


def test_bad_inputs():
    with pytest.raises(TypeError, match="expected a Recording, got dict"):
        Recording().merge({})
    with pytest.raises(ValueError, match="unsupported schema 'x'"):
        Recording.from_json('{"schema": "x"}')
    with pytest.raises(TypeError, match="expected a Recording"):
        record([])


def test_module_doctests():
    import doctest

    import fixsim
    from fixsim.tool import _propose

    if not hasattr(fixsim, "TypeTable") or not hasattr(fixsim, "tool"):
        pytest.skip("fx.TypeTable and fx.tool are exported when fixsim/__init__.py is "
                    "integrated")
    for mod in (_record, _propose):
        assert doctest.testmod(mod).failed == 0


def test_record_ranges_detail_matches_full_but_the_sums():
    x = np.random.default_rng(5).uniform(-3, 3, 2000)
    with record() as full:
        _fir(x, H, T)
    with record(detail="ranges") as rng:
        _fir(x, H, T)
    assert full.detail == "full" and rng.detail == "ranges" and rng.names == full.names
    for name in full.names:
        a, b = full[name], rng[name]
        assert b.detail == "ranges"
        assert (b.count, b.min, b.max, b.zeros, b.whole, b.overflows, b.underflows,
                b.numerictype) == (a.count, a.min, a.max, a.zeros, a.whole, a.overflows,
                                   a.underflows, a.numerictype)
        assert b.fine_bins[0] == a.fine_bins[0]
        assert b.fine_bins[1].tolist() == a.fine_bins[1].tolist()
        with pytest.raises(ValueError, match="detail='ranges'"):
            _ = b.mean
    back = Recording.from_json(rng.to_json())
    assert back == rng and back.detail == "ranges"
    assert rng != full


def test_record_detail_errors():
    with pytest.raises(ValueError, match=r"record: detail='fast' is not one of"):
        record(detail="fast")
    with pytest.raises(ValueError, match=r"differs from the given recording's detail 'full'"):
        record(Recording(), detail="ranges")
    with pytest.raises(ValueError, match=r"Recording: detail='x'"):
        Recording(detail="x")
    rec = Recording(detail="ranges")
    with record(rec):  # the recording's own detail applies
        T.x(np.array([0.5]))
    assert rec["x"].detail == "ranges"


def test_recorder_reuses_kernel_states_without_leaking_values():
    # kernel states go back to a pool when drained; a later recording must start clean
    from fixsim.tool import _stats

    with record() as first:
        T.x(np.array([1.5, -2.0, 2.0 ** -40, 5e-324, np.inf]))
    assert first["x"].count == 5
    assert len(_stats._POOL) >= 1
    with record() as second:
        T.x(np.array([0.25]))
    s = second["x"]
    assert (s.count, s.min, s.max, s.inf_count, s.log2_histogram) == (1, 0.25, 0.25, 0,
                                                                        {-1: 1})
    assert s.exact_sum == 0.25 and s.exact_sum_squares == 0.0625


def test_propose_from_a_ranges_recording_gives_the_same_types_without_sqnr():
    from fixsim.tool import propose

    x = np.random.default_rng(6).laplace(0, 1, 3000)
    D = TypeTable({"s": "double", "t": "double"})

    def run():
        D.t(D.s(x) * 3.0)

    with record() as full:
        run()
    with record(detail="ranges") as rng:
        run()
    for policy in ("minmax", "percentile", "mse", "kl"):
        pf = propose(full, word_length=8, policy=policy)
        pr = propose(rng, word_length=8, policy=policy)
        for name in ("s", "t"):
            assert pr[name].proposed == pf[name].proposed
            assert (pr[name].overflows, pr[name].clip_fraction) == (pf[name].overflows,
                                                                    pf[name].clip_fraction)
            assert pr[name].sqnr_db is None and pf[name].sqnr_db is not None


def test_pending_signals_do_not_take_megabytes_each():
    # regression (huge pages): the fast kernel state was a numpy array of 8 MB, which numpy
    # backs with transparent huge pages, so every recorded signal held about 2 MB of memory;
    # it now lives in its own memory map of ordinary pages (a few kB touched per signal)
    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20

    D = TypeTable({f"s{i}": "double" for i in range(60)})
    x = np.random.default_rng(7).standard_normal(4096)
    before = rss_mb()
    with record() as rec:
        for i in range(60):
            D[f"s{i}"](x)
        grown = rss_mb() - before  # 60 signals pending, none folded yet
    assert grown < 30, f"{grown:.1f} MB for 60 pending signals"
    assert rec["s59"].count == 4096


def _dirty_a_pooled_state_and_exit():
    from fixsim.tool import _stats

    _stats._Accumulator().add(np.full(100, 1.0))  # takes a pooled state, never drains it
    os._exit(0)


def test_forked_worker_cannot_write_into_the_parents_kernel_states():
    # regression: an anonymous mmap is shared across fork by default, so a worker process
    # (collect(workers=N) forks) wrote into the very kernel states pooled in its parent
    import multiprocessing

    from fixsim.tool import _stats

    SignalStats().update([1.0])  # leaves a clean state in the pool
    assert _stats._POOL
    p = multiprocessing.get_context("fork").Process(target=_dirty_a_pooled_state_and_exit)
    p.start()
    p.join()
    assert p.exitcode == 0
    s = SignalStats().update([1.0])  # takes the same pooled state in this process
    assert (s.count, s.max, s.log2_histogram, s.exact_sum) == (1, 1.0, {1: 1}, 1)
