from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import pytest

from piston.config import ConfigDict


class _MyDict(dict):
    pass


def test_nested_dicts_become_config_dicts_on_construction() -> None:
    cfg = ConfigDict(a={"b": 1}, c=[{"d": 2}, ({"e": 3},)], f=OrderedDict(g=4))
    assert isinstance(cfg.a, ConfigDict)
    assert isinstance(cfg.c[0], ConfigDict)
    assert isinstance(cfg.c[1], tuple)
    assert isinstance(cfg.c[1][0], ConfigDict)
    assert isinstance(cfg.f, ConfigDict)
    assert cfg.c[1][0].e == 3


def test_setitem_and_setattr_convert_dicts_but_keep_dict_subclasses() -> None:
    cfg = ConfigDict()
    cfg["a"] = {"b": 1}
    cfg.c = [{"d": 2}]
    cfg.e = _MyDict(x=1)
    assert isinstance(cfg.a, ConfigDict)
    assert isinstance(cfg.c[0], ConfigDict)
    assert type(cfg.e) is _MyDict


def test_missing_attribute_and_key_raise_without_creating_children() -> None:
    cfg = ConfigDict(a=1)
    with pytest.raises(AttributeError, match="'ConfigDict' object has no attribute 'missing'"):
        _ = cfg.missing
    with pytest.raises(KeyError):
        _ = cfg["missing"]
    assert "missing" not in cfg
    assert cfg.get("missing") is None
    assert cfg.get("missing", 5) == 5


def test_pop_never_raises_and_items_values_are_lists() -> None:
    cfg = ConfigDict(a=1, b=2)
    assert cfg.pop("a") == 1
    assert cfg.pop("zz") is None
    assert cfg.pop("zz", 3) == 3
    assert cfg.items() == [("b", 2)]
    assert cfg.values() == [2]
    assert dict(**cfg) == {"b": 2}


def test_update_is_recursive() -> None:
    cfg = ConfigDict(model={"type": "ResNet", "depth": 50, "norm": {"type": "BN"}})
    inner = cfg.model
    cfg.update(model={"depth": 101, "norm": {"eps": 1.0}})
    assert cfg.model is inner
    assert cfg.model == {"type": "ResNet", "depth": 101, "norm": {"type": "BN", "eps": 1.0}}
    cfg.update({"model": 3})
    assert cfg.model == 3


def test_merge_honors_delete() -> None:
    cfg = ConfigDict(model={"type": "ResNet", "norm": {"type": "BN", "eps": 1}})
    cfg.merge({"model": {"norm": {"_delete_": True, "type": "GN"}}})
    assert cfg.to_dict() == {"model": {"type": "ResNet", "norm": {"type": "GN"}}}
    cfg.merge({"model": {"depth": 18}})
    assert cfg.model.depth == 18


def test_copy_is_shallow_and_deepcopy_is_deep() -> None:
    cfg = ConfigDict(a={"b": [1]})
    shallow = cfg.copy()
    assert isinstance(shallow, ConfigDict)
    assert shallow.a is cfg.a
    assert copy.copy(cfg).a is cfg.a
    deep = copy.deepcopy(cfg)
    assert deep == cfg
    assert deep.a is not cfg.a
    deep.a.b.append(2)
    assert cfg.a.b == [1]


def test_pickle_round_trip() -> None:
    cfg = ConfigDict(a={"b": [{"c": 1}]}, d=(1, 2))
    loaded = pickle.loads(pickle.dumps(cfg))
    assert isinstance(loaded, ConfigDict)
    assert isinstance(loaded.a.b[0], ConfigDict)
    assert loaded == cfg


def test_equality_rules() -> None:
    cfg = ConfigDict(a={"b": 1})
    assert cfg == ConfigDict(a={"b": 1})
    assert cfg == {"a": {"b": 1}}
    assert cfg != {"a": {"b": 2}}
    assert cfg != [("a", {"b": 1})]
    assert (cfg == 3) is False


def test_to_dict_gives_plain_dicts() -> None:
    plain = ConfigDict(a={"b": [{"c": 1}]}).to_dict()
    assert type(plain) is dict
    assert type(plain["a"]) is dict
    assert type(plain["a"]["b"][0]) is dict


def test_setdefault_and_delattr() -> None:
    cfg = ConfigDict()
    assert cfg.setdefault("a", {"b": 1}).b == 1
    del cfg.a
    assert "a" not in cfg
    with pytest.raises(AttributeError):
        del cfg.a
