from __future__ import annotations

import threading

import pytest

from piston.utils import ManagerMeta, ManagerMixin
from piston.utils.manager import _reset_all_instances


class SubClassA(ManagerMixin):
    def __init__(self, name: str = "", **kwargs):
        super().__init__(name, **kwargs)


class SubClassB(ManagerMixin):
    def __init__(self, name: str = "", value: int = 0):
        super().__init__(name)
        self.value = value


def test_get_instance_creates_once_and_returns_same():
    first = SubClassA.get_instance("a")
    assert first.instance_name == "a"
    assert SubClassA.get_instance("a") is first
    assert SubClassA.check_instance_created("a")
    assert not SubClassA.check_instance_created("missing")


def test_each_class_has_its_own_instances():
    SubClassA.get_instance("shared")
    assert not SubClassB.check_instance_created("shared")


def test_extra_kwargs_on_existing_instance_warn():
    SubClassB.get_instance("b", value=1)
    with pytest.warns(UserWarning, match="already been created"):
        instance = SubClassB.get_instance("b", value=2)
    assert instance.value == 1


def test_current_instance_is_latest_created_not_latest_fetched():
    with pytest.raises(RuntimeError):
        SubClassA.get_current_instance()
    first = SubClassA.get_instance("first")
    second = SubClassA.get_instance("second")
    assert SubClassA.get_current_instance() is second
    assert SubClassA.get_instance("first") is first
    assert SubClassA.get_current_instance() is second


def test_direct_construction_is_not_registered():
    SubClassA(name="direct")
    assert not SubClassA.check_instance_created("direct")


def test_name_must_be_non_empty_str():
    with pytest.raises(AssertionError):
        SubClassA.get_instance("")
    with pytest.raises(AssertionError):
        SubClassA(name=1)


def test_class_without_name_argument_is_rejected():
    with pytest.raises(AssertionError, match="name"):

        class NoName(metaclass=ManagerMeta):
            def __init__(self, value):
                self.value = value


def test_threads_creating_same_name_get_one_instance():
    created = []

    class Slow(ManagerMixin):
        def __init__(self, name: str):
            super().__init__(name)
            created.append(self)
            threading.Event().wait(0.01)  # widen the race window

    results = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        results.append(Slow.get_instance("same"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == 1
    assert all(result is created[0] for result in results)


def test_reset_all_instances_drops_and_calls_on_reset():
    closed = []

    class WithCleanup(ManagerMixin):
        def __init__(self, name: str):
            super().__init__(name)

        def _on_reset(self):
            closed.append(self.instance_name)

    WithCleanup.get_instance("x")
    SubClassA.get_instance("y")
    _reset_all_instances()
    assert closed == ["x"]
    assert not WithCleanup.check_instance_created("x")
    assert not SubClassA.check_instance_created("y")


def test_reset_calls_on_reset_once_for_instance_shared_by_two_classes():
    calls = []

    class Base(ManagerMixin):
        def __init__(self, name: str):
            super().__init__(name)

        def _on_reset(self):
            calls.append(self.instance_name)

    class Derived(Base):
        pass

    instance = Derived.get_instance("shared")
    Base._instance_dict["shared"] = instance  # as Visualizer does for its subclasses
    _reset_all_instances()
    assert calls == ["shared"]
    assert not Base.check_instance_created("shared")
