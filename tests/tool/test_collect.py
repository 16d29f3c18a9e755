"""collect: frames and batches, exact merging across worker processes, progress, errors."""

from __future__ import annotations

import builtins
import functools
import pickle
import sys

import numpy as np
import pytest

from fixsim._core._typetable import TypeTable
from fixsim.tool import Recording, SignalStats, collect, derive, record, verify

H = np.array([0.25, -0.5, 0.75, 0.125])
T = TypeTable({"x": "sfix16_En14", "acc": "sfix32_En26", "y": "sfix16_En13"})


def fir(x, T):
    """A frame-wise FIR written with type-table casts (module level: picklable)."""
    xq = T.x(x)
    acc = T.acc(np.convolve(np.asarray(xq, dtype=np.float64), H))
    return T.y(acc)


def scaled(x, T, k):
    return T.y(T.x(x) * k)


def _frames(n=12, size=300, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size) * rng.uniform(0.1, 1.5) for _ in range(n)]


def test_collect_equals_recording_every_frame():
    frames = _frames()
    rec = collect(fir, frames, T.as_double())
    assert isinstance(rec, Recording) and rec.names == ["x", "acc", "y"]
    xs = np.concatenate(frames)
    assert rec["x"] == SignalStats().update(xs)
    accs = np.concatenate([np.convolve(f, H) for f in frames])
    assert rec["acc"] == SignalStats().update(accs)
    with record() as manual:
        for f in frames:
            fir(f, T.as_double())
    assert rec == manual


@pytest.mark.parametrize("chunksize", [1, 5])
def test_two_workers_equal_one_worker(chunksize):
    frames = _frames(n=11)
    one = collect(fir, frames, T)
    two = collect(fir, frames, T, workers=2, chunksize=chunksize)
    assert two == one and two.names == one.names
    assert two["x"].overflows == one["x"].overflows
    assert sum(r.overflows for _, r in one.items()) > 0  # the fixed table does overflow


def test_workers_take_generators_partials_and_2d_arrays():
    frames = np.random.default_rng(4).uniform(-1, 1, (9, 64))
    fn = functools.partial(scaled, k=3.0)
    one = collect(fn, frames, T.as_double())
    two = collect(fn, (f for f in frames), T.as_double(), workers=2, chunksize=2)
    assert one == two and one["y"].count == frames.size


def test_a_1d_array_is_one_frame():
    x = np.random.default_rng(9).uniform(-1, 1, 50)
    assert collect(fir, x, T) == collect(fir, [x], T)
    assert collect(fir, x, T)["x"].count == 50


def test_collect_adds_to_an_existing_recording():
    frames = _frames(n=4)
    rec = collect(fir, frames[:2], T.as_double())
    again = collect(fir, frames[2:], T.as_double(), recording=rec, workers=2)
    assert again is rec
    assert rec == collect(fir, frames, T.as_double())


def test_workers_inside_an_outer_recording():
    # forked workers inherit the outer recorder's listener; they run without it (their
    # recordings come back through collect), so the outer one only sees its own probes
    frames = _frames(n=6, size=200)
    with record() as outer:
        T.x(np.zeros(40))
        two = collect(fir, frames, T, workers=2, chunksize=1)
    assert two == collect(fir, frames, T)
    assert outer["x"].count == 40


def test_recording_pickles_losslessly():
    rec = collect(fir, _frames(n=3), T)
    back = pickle.loads(pickle.dumps(rec))
    assert back == rec


def test_progress_bar_rich(capsys):
    collect(fir, _frames(n=3), T.as_double(), progress=True)
    err = capsys.readouterr()
    assert "collect" in err.err and err.out == ""


def test_progress_bar_plain_without_rich(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_rich(name, *args, **kwargs):
        if name.startswith("rich"):
            raise ImportError("no rich here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rich)
    collect(fir, _frames(n=3), T.as_double(), progress=True)
    err = capsys.readouterr().err
    assert "collect [" in err and "3/3" in err
    collect(fir, iter(_frames(n=2)), T.as_double(), progress=True)
    assert "2 items" in capsys.readouterr().err


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"inputs is a 0-D array.*\[x\] for one frame"):
        collect(fir, np.array(3.0), T)
    with pytest.raises(TypeError, match="inputs must be an iterable of frames"):
        collect(fir, 3, T)
    with pytest.raises(TypeError, match="fn must be callable"):
        collect(None, [np.zeros(3)], T)
    with pytest.raises(TypeError, match="T must be a TypeTable or None, got dict"):
        collect(fir, [np.zeros(3)], {})
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        collect(fir, [np.zeros(3)], T, workers=0)
    with pytest.raises(TypeError, match="fn must be picklable"):
        collect(lambda x, T: T.x(x), [np.zeros(3)], T, workers=2)
    with pytest.raises(ValueError, match="mp_context 'nope' is not available"):
        collect(fir, [np.zeros(3)], T, workers=2, mp_context="nope")


_TD = TypeTable({"x": "double", "y": "double"})


def _dense(x, T):
    return T.y(T.x(x) @ np.ones((8, 3)))


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11+")
@pytest.mark.parametrize("workers", [1, 2])
def test_an_error_inside_fn_names_the_item_and_its_shape(workers):
    """A frame of the wrong shape fails inside the user's algorithm (numpy's message); the
    error carries a note naming which item it was and its shape, in every tool function."""
    with pytest.raises(ValueError) as info:
        collect(_dense, [np.ones(8), np.ones(8), np.ones(6)], _TD, workers=workers,
                chunksize=1)
    assert any("inputs[2], ndarray of shape (6,)" in n and "fx.tool.collect" in n
               for n in info.value.__notes__), info.value.__notes__
    with pytest.raises(ValueError) as info:
        verify(_dense, [np.ones(6)], _TD)
    assert any("inputs[0], ndarray of shape (6,)" in n and "fixed-point run" in n
               for n in info.value.__notes__)
    with pytest.raises(ValueError) as info:
        derive(_dense, (-1, 1), _TD, shape=6)
    assert any("'x': shape (6,)" in n and "give shape= or like=" in n
               for n in info.value.__notes__)


def test_module_doctests():
    import doctest

    from fixsim.tool import _collect, _verify

    for mod in (_collect, _verify):
        result = doctest.testmod(mod)
        assert result.failed == 0 and result.attempted > 0
