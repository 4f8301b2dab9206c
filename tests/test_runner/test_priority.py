from __future__ import annotations

import pytest

from piston.runner.priority import Priority, get_priority


def test_priority_values_match_spec():
    assert {p.name: p.value for p in Priority} == {
        "HIGHEST": 0,
        "VERY_HIGH": 10,
        "HIGH": 30,
        "ABOVE_NORMAL": 40,
        "NORMAL": 50,
        "BELOW_NORMAL": 60,
        "LOW": 70,
        "VERY_LOW": 90,
        "LOWEST": 100,
    }


@pytest.mark.parametrize(
    "given, expected",
    [(0, 0), (100, 100), (42, 42), ("normal", 50), ("VERY_LOW", 90), (Priority.HIGH, 30)],
)
def test_get_priority_accepts_int_name_and_enum(given, expected):
    assert get_priority(given) == expected


@pytest.mark.parametrize("bad", [-1, 101])
def test_get_priority_rejects_out_of_range_int(bad):
    with pytest.raises(ValueError, match="between 0 and 100"):
        get_priority(bad)


def test_get_priority_unknown_name_is_key_error():
    with pytest.raises(KeyError, match="normalish"):
        get_priority("normalish")


@pytest.mark.parametrize("bad", [1.5, None, [50]])
def test_get_priority_rejects_other_types(bad):
    with pytest.raises(TypeError):
        get_priority(bad)
