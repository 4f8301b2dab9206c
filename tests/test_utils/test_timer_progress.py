from __future__ import annotations

import time
from io import StringIO

import pytest

from piston.utils import (
    ProgressBar,
    Timer,
    TimerError,
    check_time,
    track_iter_progress,
    track_parallel_progress,
    track_progress,
    track_progress_rich,
)


def test_timer_measures_and_checks():
    timer = Timer()
    time.sleep(0.02)
    assert timer.since_start() >= 0.02
    time.sleep(0.01)
    assert 0.01 <= timer.since_last_check() < 0.5
    assert timer.is_running
    stopped = Timer(start=False)
    assert not stopped.is_running
    with pytest.raises(TimerError, match="not running"):
        stopped.since_start()
    with pytest.raises(TimerError):
        stopped.since_last_check()


def test_timer_context_manager_prints(capsys):
    with Timer(print_tmpl="took {:.1f}s"):
        pass
    assert capsys.readouterr().out.strip() == "took 0.0s"


def test_check_time():
    assert check_time("t-unique") == 0
    time.sleep(0.01)
    assert check_time("t-unique") >= 0.01


def test_progress_bar_plain_format():
    out = StringIO()
    bar = ProgressBar(bar_width=10, file=out)
    assert out.getvalue() == "completed: 0, elapsed: 0s"
    bar.update()
    assert "completed: 1, elapsed: 0s" in out.getvalue()

    out = StringIO()
    bar = ProgressBar(4, bar_width=8, file=out)
    assert out.getvalue() == f"[{' ' * 8}] 0/4, elapsed: 0s, ETA:"
    bar.update(2)
    assert "\r[>>>>    ] 2/4," in out.getvalue()
    assert bar.completed == 2
    with pytest.raises(AssertionError):
        bar.update(0)


def _square(x):
    return x * x


def test_track_progress_and_iter_progress():
    out = StringIO()
    assert track_progress(_square, [1, 2, 3], file=out) == [1, 4, 9]
    assert "3/3" in out.getvalue()
    assert track_progress(_square, (iter([2, 3]), 2), file=StringIO()) == [4, 9]
    with pytest.raises(TypeError):
        track_progress(_square, iter([1]), file=StringIO())
    out = StringIO()
    assert list(track_iter_progress([5, 6], file=out)) == [5, 6]
    assert "2/2" in out.getvalue()


def test_track_parallel_progress_keeps_order():
    out = StringIO()
    results = track_parallel_progress(_square, list(range(6)), nproc=2, file=out)
    assert results == [0, 1, 4, 9, 16, 25]
    unordered = track_parallel_progress(
        _square, list(range(6)), 2, keep_order=False, file=StringIO()
    )
    assert sorted(unordered) == results


def _add(x, y):
    return x + y


def test_track_progress_rich():
    assert track_progress_rich(_add, (range(4), range(4))) == [0, 2, 4, 6]
    assert track_progress_rich(_add, (range(3), [1, 1, 1]), nproc=2) == [1, 2, 3]
    assert track_progress_rich(lambda: 7, task_num=2) == [7, 7]
    with pytest.raises(ValueError):
        track_progress_rich(_add, (range(2), range(3)))
    with pytest.raises(ValueError):
        track_progress_rich(_add)
