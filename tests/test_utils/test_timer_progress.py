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


def _fake_elapsed(bar, seconds):
    bar.timer._t_start -= seconds  # pretend `seconds` passed without sleeping


def test_progress_bar_update_format():
    out = StringIO()
    bar = ProgressBar(bar_width=20, file=out)
    _fake_elapsed(bar, 1.0)
    out.seek(0)
    out.truncate()
    bar.update()
    assert out.getvalue() == "completed: 1, elapsed: 1s, 1.0 tasks/s"

    bar = ProgressBar(10, bar_width=20, file=out)
    _fake_elapsed(bar, 1.0)
    out.seek(0)
    out.truncate()
    bar.update()
    assert out.getvalue() == f"\r[{'>' * 2 + ' ' * 18}] 1/10, 1.0 task/s, elapsed: 1s, ETA:     9s"


@pytest.mark.parametrize(("columns", "length"), [("80", 66), ("30", 48), ("60", 60)])
def test_progress_bar_adapts_to_terminal_width(monkeypatch, columns, length):
    monkeypatch.setenv("COLUMNS", columns)
    out = StringIO()
    bar = ProgressBar(10, bar_width=20, file=out)
    _fake_elapsed(bar, 1.0)
    out.seek(0)
    out.truncate()
    bar.update()
    assert len(out.getvalue()) == length


def test_progress_bar_start_false_writes_nothing():
    out = StringIO()
    bar = ProgressBar(bar_width=5, start=False, file=out)
    assert out.getvalue() == ""
    bar.start()
    assert out.getvalue() == "completed: 0, elapsed: 0s"


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
    out = StringIO()
    skipped = track_parallel_progress(_square, (iter(range(6)), 6), 2, skip_first=True, file=out)
    assert skipped == results
    assert "4/4" in out.getvalue()  # the first nproc results are not counted


def _add(x, y=0):
    return x + y


def test_track_progress_rich():
    assert track_progress_rich(_square, range(4)) == [0, 1, 4, 9]
    assert track_progress_rich(_add, [(1, 2), [3, 4], {"x": 5, "y": 6}]) == [3, 7, 11]
    assert track_progress_rich(_add, list(zip(range(5), range(5))), nproc=2) == [0, 2, 4, 6, 8]
    assert track_progress_rich(lambda: 7, task_num=2) == [7, 7]
    assert track_progress_rich(_square, (i for i in range(3)), task_num=3) == [0, 1, 4]
    with pytest.raises(ValueError, match="task_num must be set"):
        track_progress_rich(_add)
    with pytest.raises(ValueError, match="does not match"):
        track_progress_rich(_square, [1, 2], task_num=3)
    with pytest.raises(ValueError, match="nproc"):
        track_progress_rich(_square, [1], nproc=0)
    with pytest.raises(TypeError):
        track_progress_rich(_square, 3)


class _TTY(StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_with_rich_on_a_terminal():
    out = _TTY()
    results = track_progress(_square, [1, 2, 3], file=out)
    assert results == [1, 4, 9]
    text = out.getvalue()
    assert "3/3" in text
    assert "elapsed:" not in text  # rich columns, not the plain format
