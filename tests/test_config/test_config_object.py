from __future__ import annotations

import copy
import pickle

import pytest

from piston.config import Config, ConfigDict


def test_attribute_item_and_container_protocol() -> None:
    cfg = Config({"a": 1, "b": {"c": 2}})
    assert cfg.a == 1
    assert cfg["b"].c == 2
    cfg.d = {"e": 3}
    assert isinstance(cfg.d, ConfigDict)
    cfg["f"] = [{"g": 1}]
    assert isinstance(cfg.f[0], ConfigDict)
    assert len(cfg) == 4
    assert set(cfg) == {"a", "b", "d", "f"}
    assert "a" in cfg
    assert cfg.get("zz", 7) == 7
    del cfg.a
    del cfg["f"]
    assert set(cfg.keys()) == {"b", "d"}
    assert not Config()
    assert bool(cfg)


def test_repr_and_properties(write) -> None:
    path = write("c.py", "a = 1\n")
    cfg = Config.fromfile(path)
    assert repr(cfg) == f"Config (path: {path}): {{'a': 1}}"
    assert cfg.text.endswith("a = 1\n")
    assert Config({"a": 1}).text == ""
    assert Config({"a": 1}).filename is None
    assert Config({"a": 1}, filename=path).text == "a = 1\n"


def test_merge_from_dict_dotted_keys_and_list_indices() -> None:
    cfg = Config(
        {
            "model": {"backbone": {"depth": 50}},
            "pipeline": [{"type": "Load"}, {"type": "Resize", "size": 1}],
        }
    )
    cfg.merge_from_dict(
        {"model.backbone.depth": 101, "model.neck": {"x": 1}, "pipeline.1.size": 2, "new": None}
    )
    assert cfg.model.backbone.depth == 101
    assert cfg.model.neck == {"x": 1}
    assert cfg.pipeline[1] == {"type": "Resize", "size": 2}
    assert cfg.pipeline[0] == {"type": "Load"}
    assert cfg.new is None
    assert isinstance(cfg.pipeline[1], ConfigDict)


def test_merge_from_dict_list_index_errors() -> None:
    cfg = Config({"pipeline": [{"type": "Load"}]})
    with pytest.raises(KeyError, match="exceeds the length"):
        cfg.merge_from_dict({"pipeline.3.type": "X"})
    with pytest.raises(TypeError):
        cfg.merge_from_dict({"pipeline.0.type": "X"}, allow_list_keys=False)


def test_merge_a_into_b_static_method() -> None:
    merged = Config._merge_a_into_b({"a": {"_delete_": True, "z": 1}}, {"a": {"x": 1}, "b": 2})
    assert merged == {"a": {"z": 1}, "b": 2}
    merged = Config._merge_a_into_b({"0": {"x": 2}}, [{"x": 1, "y": 1}], allow_list_keys=True)
    assert merged == [{"x": 2, "y": 1}]


def test_pickle_deepcopy_and_copy_keep_metadata(write, monkeypatch) -> None:
    monkeypatch.setenv("PISTON_TEST_V", "3")
    path = write("c.py", "a = dict(b={{$PISTON_TEST_V:1}})\n")
    cfg = Config.fromfile(path, format_python_code=False)
    for other in (pickle.loads(pickle.dumps(cfg)), copy.deepcopy(cfg)):
        assert other.to_dict() == cfg.to_dict()
        assert other.filename == cfg.filename
        assert other.text == cfg.text
        assert other.env_variables == {"PISTON_TEST_V": "3"}
        assert other._format_python_code is False
    deep = copy.deepcopy(cfg)
    deep.a.b = 4
    assert cfg.a.b == 3
    shallow = cfg.copy()
    assert shallow._cfg_dict is cfg._cfg_dict
    assert copy.copy(cfg)._cfg_dict is cfg._cfg_dict


def test_auto_argparser(write, monkeypatch) -> None:
    path = write(
        "c.py", "lr = 0.1\nname = 'x'\nflag = False\nmodel = dict(depth=50)\nsizes = [1, 2]\n"
    )
    monkeypatch.setattr("sys.argv", ["prog", str(path)])
    parser, cfg = Config.auto_argparser()
    args = parser.parse_args([str(path), "--lr", "0.5", "--model.depth", "18", "--sizes", "3", "4"])
    assert args.lr == 0.5
    assert getattr(args, "model.depth") == 18
    assert args.sizes == [3, 4]
    assert cfg.lr == 0.1


def test_diff_marks_changed_lines() -> None:
    text = Config.diff(Config({"a": 1, "b": 2}), Config({"a": 1, "b": 3}))
    assert "b = 2" in text
    assert "b = 3" in text
    assert "a = 1" in text
