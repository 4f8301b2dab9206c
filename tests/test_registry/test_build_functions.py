from __future__ import annotations

import json
from collections import OrderedDict

import pytest

from piston.registry import (
    DefaultScope,
    Registry,
    build_from_cfg,
    build_runner_from_cfg,
    build_scheduler_from_cfg,
    count_registered_modules,
    init_default_scope,
    traverse_registry_tree,
)
from piston.registry import utils as registry_utils
from piston.utils import ManagerMixin


@pytest.fixture
def reg():
    registry = Registry("toy", scope="build_toy")

    @registry.register_module()
    class Toy:
        def __init__(self, depth=1, width=2, nested=None):
            self.depth, self.width, self.nested = depth, width, nested

    @registry.register_module()
    def make_pair(a, b=10):
        return (a, b)

    @registry.register_module()
    class Failing:
        def __init__(self, value):
            raise ValueError(f"bad value {value}")

    return registry


def test_build_with_registered_name_class_function_and_dotted_path(reg):
    toy_cls = reg.get("Toy")
    assert isinstance(build_from_cfg({"type": "Toy", "depth": 3}, reg), toy_cls)
    assert build_from_cfg({"type": toy_cls, "depth": 4}, reg).depth == 4
    assert build_from_cfg({"type": "make_pair", "a": 1}, reg) == (1, 10)

    def local_function(x):
        return x * 2

    assert build_from_cfg({"type": local_function, "x": 4}, reg) == 8
    assert build_from_cfg({"type": "collections.OrderedDict"}, reg) == OrderedDict()
    assert reg.build({"type": "Toy", "width": 7}).width == 7


def test_default_args_fill_missing_keys_and_cfg_wins(reg):
    obj = build_from_cfg({"type": "Toy", "depth": 5}, reg, default_args={"depth": 0, "width": 9})
    assert (obj.depth, obj.width) == (5, 9)
    obj = build_from_cfg({"depth": 6}, reg, default_args={"type": "Toy"})
    assert obj.depth == 6


def test_cfg_is_not_mutated(reg):
    nested = {"a": 1}
    cfg = {"type": "Toy", "_scope_": "build_toy", "nested": nested}
    snapshot = dict(cfg)
    build_from_cfg(cfg, reg, default_args={"width": 3})
    assert cfg == snapshot
    assert nested == {"a": 1}


def test_accepts_any_mapping(reg):
    class AttrDict(dict):
        pass

    assert build_from_cfg(AttrDict(type="Toy", depth=2), reg).depth == 2


def test_bad_argument_types(reg):
    with pytest.raises(TypeError, match="cfg should be a dict"):
        build_from_cfg([("type", "Toy")], reg)
    with pytest.raises(TypeError, match="registry must be"):
        build_from_cfg({"type": "Toy"}, "not a registry")
    with pytest.raises(TypeError, match="default_args"):
        build_from_cfg({"type": "Toy"}, reg, default_args=1)
    with pytest.raises(TypeError, match="type must be a str"):
        build_from_cfg({"type": 3}, reg)


def test_missing_type_raises_key_error(reg):
    with pytest.raises(KeyError, match='must contain the key "type"'):
        build_from_cfg({"depth": 1}, reg)


def test_unknown_type_names_registry_scope_and_closest_names(reg):
    with pytest.raises(KeyError) as info:
        build_from_cfg({"type": "Tyo"}, reg)
    message = str(info.value)
    assert "Tyo is not in the build_toy::toy registry" in message
    assert "'Toy'" in message


def test_unknown_type_suggests_names_from_parents(reg):
    child = Registry("toy", parent=reg, scope="build_child")
    with pytest.raises(KeyError, match=r"build_child::toy.*'make_pair'"):
        child.build({"type": "make_pairs"})


def test_build_error_is_reraised_with_context_and_same_type(reg):
    with pytest.raises(ValueError, match=r"class `Failing` in .*: bad value 3"):
        build_from_cfg({"type": "Failing", "value": 3}, reg)
    with pytest.raises(TypeError, match=r"class `Toy` in .*unexpected keyword argument 'color'"):
        build_from_cfg({"type": "Toy", "color": "red"}, reg)


def test_nested_key_error_message_is_readable(reg):
    def outer():
        raise KeyError("inner is missing")

    with pytest.raises(KeyError) as info:
        build_from_cfg({"type": outer}, reg)
    assert info.value.args[0].endswith(": inner is missing")


def test_os_error_keeps_its_fields(reg):
    def opener():
        raise FileNotFoundError(2, "No such file", "/missing")

    with pytest.raises(FileNotFoundError) as info:
        build_from_cfg({"type": opener}, reg)
    assert info.value.filename == "/missing"
    assert any("opener" in note for note in info.value.__notes__)


def test_error_with_unusual_constructor_keeps_identity(reg):
    class OddError(Exception):
        def __init__(self, code, detail):
            super().__init__(code, detail)
            self.code = code

    def boom():
        raise OddError(7, "x")

    with pytest.raises(OddError) as info:
        build_from_cfg({"type": boom}, reg)
    assert info.value.code == 7
    assert any("boom" in note for note in info.value.__notes__)


def test_manager_mixin_classes_are_built_through_get_instance(reg):
    @reg.register_module()
    class Hub(ManagerMixin):
        def __init__(self, name, size=0):
            super().__init__(name)
            self.size = size

    first = build_from_cfg({"type": "Hub", "name": "hub", "size": 3}, reg)
    again = build_from_cfg({"type": "Hub", "name": "hub"}, reg)
    assert first is again is Hub.get_instance("hub")
    assert Hub.get_current_instance() is first


def test_build_scheduler_from_cfg_plain_and_converted():
    reg = Registry("sched", build_func=build_scheduler_from_cfg, scope="sched_toy")

    @reg.register_module()
    class Sched:
        def __init__(self, optimizer, begin=0, end=10, by_epoch=True):
            self.optimizer, self.begin, self.end, self.by_epoch = optimizer, begin, end, by_epoch

        @classmethod
        def build_iter_from_epoch(
            cls, *args, begin=0, end=10, by_epoch=True, epoch_length=None, **kwargs
        ):
            return cls(
                *args, begin=begin * epoch_length, end=end * epoch_length, by_epoch=False, **kwargs
            )

    defaults = {"optimizer": "opt", "epoch_length": 5}
    plain = reg.build({"type": "Sched", "end": 3}, default_args=defaults)
    assert (plain.optimizer, plain.end, plain.by_epoch) == ("opt", 3, True)
    cfg = {"type": "Sched", "begin": 1, "end": 3, "convert_to_iter_based": True}
    converted = reg.build(cfg, default_args=defaults)
    assert (converted.begin, converted.end, converted.by_epoch) == (5, 15, False)
    assert "convert_to_iter_based" in cfg  # caller's cfg untouched
    with pytest.raises(AssertionError, match="by_epoch"):
        reg.build(
            {"type": "Sched", "by_epoch": False, "convert_to_iter_based": True},
            default_args=defaults,
        )
    with pytest.raises(AssertionError, match="epoch_length"):
        reg.build({"type": "Sched", "convert_to_iter_based": True}, default_args={"optimizer": 1})


def test_build_runner_from_cfg_uses_runner_type_and_from_cfg():
    reg = Registry("runner", build_func=build_runner_from_cfg, scope="runner_toy")

    @reg.register_module()
    class Runner:
        def __init__(self, cfg):
            self.cfg = cfg

        @classmethod
        def from_cfg(cls, cfg):
            return cls(cfg)

    @reg.register_module()
    class OtherRunner(Runner):
        pass

    cfg = {"work_dir": "w", "_scope_": "runner_toy"}
    runner = reg.build(cfg)
    assert type(runner) is Runner
    assert runner.cfg == {"work_dir": "w"}
    assert "_scope_" in cfg
    runner = reg.build({"runner_type": "OtherRunner", "work_dir": "w"})
    assert type(runner) is OtherRunner
    assert runner.cfg["runner_type"] == "OtherRunner"
    runner = reg.build({"runner_type": OtherRunner})
    assert type(runner) is OtherRunner


def test_build_model_from_cfg_list_builds_sequential():
    import torch

    from piston.model import Sequential
    from piston.registry import build_model_from_cfg

    reg = Registry("model", build_func=build_model_from_cfg, scope="model_toy")
    reg.register_module(module=torch.nn.Linear)
    reg.register_module(module=torch.nn.ReLU)
    single = reg.build({"type": "Linear", "in_features": 2, "out_features": 3})
    assert isinstance(single, torch.nn.Linear)
    seq = reg.build([{"type": "Linear", "in_features": 2, "out_features": 3}, {"type": "ReLU"}])
    assert isinstance(seq, Sequential)
    assert len(seq) == 2


# ----------------------------------------------------------------------------- DefaultScope
def test_default_scope_current_instance_and_scope_name():
    assert DefaultScope.get_current_instance() is None
    DefaultScope.get_instance("a", scope_name="scope_a")
    DefaultScope.get_instance("b", scope_name="scope_b")
    assert DefaultScope.get_current_instance().scope_name == "scope_b"
    with pytest.raises(AssertionError):
        DefaultScope.get_instance("c", scope_name=1)


def test_overwrite_default_scope_restores_instances():
    DefaultScope.get_instance("a", scope_name="scope_a")
    with DefaultScope.overwrite_default_scope(None):
        assert DefaultScope.get_current_instance().scope_name == "scope_a"
    with DefaultScope.overwrite_default_scope("scope_x"):
        assert DefaultScope.get_current_instance().scope_name == "scope_x"
        with DefaultScope.overwrite_default_scope("scope_y"):
            assert DefaultScope.get_current_instance().scope_name == "scope_y"
        assert DefaultScope.get_current_instance().scope_name == "scope_x"
    assert DefaultScope.get_current_instance().scope_name == "scope_a"
    assert list(DefaultScope._instance_dict) == ["a"]


def test_init_default_scope():
    init_default_scope("scope_a")
    assert DefaultScope.get_current_instance().scope_name == "scope_a"
    assert DefaultScope.check_instance_created("scope_a")
    init_default_scope("scope_a")
    assert len(DefaultScope._instance_dict) == 1
    init_default_scope("scope_b")
    assert DefaultScope.get_current_instance().scope_name == "scope_b"
    assert DefaultScope.get_current_instance().instance_name == "scope_b"
    # scope_a exists but is not current: a new instance named scope_a-<datetime> is created.
    init_default_scope("scope_a")
    current = DefaultScope.get_current_instance()
    assert current.scope_name == "scope_a"
    assert current.instance_name.startswith("scope_a-")


# ----------------------------------------------------------------------------- statistics
def test_traverse_registry_tree_lists_each_registry_by_folder():
    root = Registry("thing", scope="trav_root")
    child = Registry("thing", parent=root, scope="trav_child")
    root.register_module(module=OrderedDict)
    root.register_module(module=json.JSONDecoder)
    child.register_module(module=json.JSONEncoder)
    info = traverse_registry_tree(child, verbose=False)
    assert info[0]["scope"] == "trav_root"
    assert info[0]["num_modules"] == 2
    assert info[0]["json"] == ["JSONDecoder"]
    assert info[0][""] == ["OrderedDict"]
    assert info[1] == {"num_modules": 1, "scope": "trav_child", "json": ["JSONEncoder"]}


def test_count_registered_modules_writes_json(tmp_path, monkeypatch):
    monkeypatch.setattr(registry_utils, "_PISTON_PACKAGES", ())
    result = count_registered_modules(save_path=str(tmp_path), verbose=False)
    assert set(result) == {"scan_date", "registries"}
    assert "MODELS" in result["registries"]
    assert "HOOKS" in result["registries"]
    assert result["registries"]["MODELS"][0]["scope"] == "piston"
    saved = json.loads((tmp_path / "modules_statistic_results.json").read_text())
    assert saved == result


# ----------------------------------------------------------------------------- piston.config types
def test_build_from_config_and_config_dict(reg):
    from piston.config import Config, ConfigDict

    cfg = ConfigDict(type="Toy", depth=3, nested={"a": 1})
    assert build_from_cfg(cfg, reg).depth == 3
    assert cfg.type == "Toy"
    config = Config({"type": "Toy", "width": 5, "_scope_": "build_toy"})
    assert build_from_cfg(config, reg).width == 5
    assert config._scope_ == "build_toy"
    assert build_from_cfg({"type": "Toy"}, reg, default_args=ConfigDict(depth=8)).depth == 8


def test_build_runner_from_config_does_not_mutate_it():
    from piston.config import Config

    reg = Registry("runner", build_func=build_runner_from_cfg, scope="runner_cfg_toy")

    @reg.register_module()
    class Runner:
        @classmethod
        def from_cfg(cls, cfg):
            runner = cls()
            runner.cfg = cfg
            return runner

    config = Config({"work_dir": "w", "_scope_": "runner_cfg_toy"})
    runner = reg.build(config)
    assert isinstance(runner.cfg, Config)
    assert "_scope_" not in runner.cfg
    assert runner.cfg.work_dir == "w"
    assert config._scope_ == "runner_cfg_toy"


def test_build_from_config_subclass(reg):
    """A subclass of piston's Config is accepted like Config itself (isinstance, not name)."""
    from piston.config import Config

    class ProjectConfig(Config):
        pass

    cfg = ProjectConfig({"type": "Toy", "depth": 7})
    assert build_from_cfg(cfg, reg).depth == 7
    assert (
        reg.build(ProjectConfig({"type": "Toy"}), default_args=ProjectConfig({"width": 9})).width
        == 9
    )


def test_count_registered_modules_scan_date_format(tmp_path, monkeypatch):
    import re

    monkeypatch.setattr(registry_utils, "_PISTON_PACKAGES", ())
    result = count_registered_modules(save_path=str(tmp_path / "stats"), verbose=False)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", result["scan_date"])
    assert (tmp_path / "stats" / "modules_statistic_results.json").is_file()
    for var, trees in result["registries"].items():
        assert var.isupper()
        assert all({"num_modules", "scope"} <= set(info) for info in trees)
