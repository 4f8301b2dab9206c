"""Config objects handled directly, as analysis tools and libraries do with them.

Builds configs from dicts and strings, overrides values with dotted/list-index keys, copies
and pickles them (e.g. to hand to dataloader workers), dumps them back to text in each
format, diffs two of them and reads environment-variable placeholders.
"""

from __future__ import annotations

import copy
import pickle

import pytest

from piston.config import Config, ConfigDict


def _det_cfg() -> Config:
    return Config(
        dict(
            model=dict(
                type="RetinaNet",
                backbone=dict(type="ResNet", depth=50, out_indices=(1, 2, 3)),
                head=dict(type="Head", loss=dict(type="FocalLoss", gamma=2.0, alpha=0.25)),
            ),
            train_pipeline=[
                dict(type="LoadImage"),
                dict(type="Resize", scale=(1333, 800), keep_ratio=True),
                dict(type="Pack", meta_keys=("img_id", "ori_shape")),
            ],
            optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        ),
        filename="/projects/det/configs/retinanet_r50.py",
    )


def test_overrides_copies_and_access_errors() -> None:
    cfg = _det_cfg()
    assert cfg.filename == "/projects/det/configs/retinanet_r50.py"
    assert repr(cfg).startswith("Config (path: /projects/det/configs/retinanet_r50.py): {")
    cfg.merge_from_dict(
        {
            "model.backbone.depth": 101,
            "train_pipeline.1.scale": (640, 640),
            "train_pipeline.2.type": "PackDetInputs",
            "model.head.loss": dict(_delete_=True, type="CrossEntropyLoss"),
            "optim_wrapper.clip_grad.max_norm": 35,
        }
    )
    assert cfg.model.backbone.depth == 101
    assert cfg.model.backbone.out_indices == (1, 2, 3)
    assert cfg.train_pipeline[1] == dict(type="Resize", scale=(640, 640), keep_ratio=True)
    assert cfg.train_pipeline[2].type == "PackDetInputs"
    assert cfg.model.head.loss == {"type": "CrossEntropyLoss"}
    assert isinstance(cfg.optim_wrapper.clip_grad, ConfigDict)
    assert cfg.optim_wrapper.clip_grad.max_norm == 35
    with pytest.raises(KeyError, match="5"):
        cfg.merge_from_dict({"train_pipeline.5.type": "X"})
    with pytest.raises(TypeError, match="_delete_"):
        cfg.merge_from_dict({"train_pipeline.0.type": "X"}, allow_list_keys=False)

    with pytest.raises(AttributeError, match="'ConfigDict' object has no attribute 'neck'"):
        cfg.model.neck  # noqa: B018
    with pytest.raises(KeyError, match="neck"):
        cfg.model["neck"]
    assert cfg.model.get("neck") is None
    assert "neck" not in cfg.model
    assert cfg.get("work_dir", "./work_dirs") == "./work_dirs"
    cfg.work_dir = "./work_dirs/retinanet_r50"
    cfg["custom"] = dict(a=dict(b=1))
    assert isinstance(cfg.custom.a, ConfigDict)
    assert cfg.custom.a.b == 1
    assert len(cfg) == 5
    assert "work_dir" in cfg
    assert next(iter(cfg)) == "model"

    plain = cfg.to_dict()
    assert type(plain) is dict
    assert type(plain["model"]["backbone"]) is dict
    assert type(plain["train_pipeline"][0]) is dict

    deep = copy.deepcopy(cfg)
    deep.model.backbone.depth = 18
    assert cfg.model.backbone.depth == 101
    assert deep.filename == cfg.filename
    loaded = pickle.loads(pickle.dumps(cfg))
    assert isinstance(loaded, Config)
    assert loaded.filename == cfg.filename
    assert loaded.to_dict() == plain
    assert loaded.text == cfg.text
    shallow = cfg.copy()
    assert isinstance(shallow, Config)
    assert shallow.filename == cfg.filename

    with pytest.raises(KeyError, match="filename"):
        Config(dict(filename="x"))
    with pytest.raises(TypeError):
        Config([("a", 1)])
    assert not Config()
    assert Config().filename is None


def test_dump_formats_round_trip(tmp_path) -> None:
    cfg = _det_cfg()
    text = cfg.dump()  # filename is .py: pretty python text comes back
    assert isinstance(text, str)
    assert "out_indices=(" in text
    assert Config.fromstring(text, ".py").to_dict() == cfg.to_dict()
    for ext in (".py", ".yaml", ".json"):
        path = tmp_path / f"dumped{ext}"
        assert cfg.dump(str(path)) is None
        assert path.exists()
        back = Config.fromfile(str(path))
        assert back.model.backbone.depth == 50
        assert back.train_pipeline[1].type == "Resize"
        if ext != ".json":
            assert back.to_dict() == cfg.to_dict()
    # a json/yaml config dumps to a string in its own format
    js = Config.fromstring('{"a": [1, 2], "b": {"c": null}}', ".json")
    assert js.dump() == '{"a": [1, 2], "b": {"c": null}}'
    ym = Config.fromstring("a: 1\nb:\n  c: [1, 2]\n", ".yaml")
    assert ym.b.c == [1, 2]
    assert ym.dump().startswith("a: 1\n")
    with pytest.raises(OSError, match="Only py/yml/yaml/json"):
        Config.fromstring("a = 1", ".txt")

    diff = Config.diff(Config(dict(lr=0.01, bs=2)), Config(dict(lr=0.02, bs=2)))
    assert "-lr = 0.01" in diff
    assert "+lr = 0.02" in diff
    assert "-bs = 2" not in diff
    assert "+bs = 2" not in diff


def test_environment_variables(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DET_BATCH", "8")
    monkeypatch.delenv("DET_ROOT", raising=False)
    path = tmp_path / "env_cfg.py"
    path.write_text(
        "batch_size = {{'$DET_BATCH:2'}}\n"
        "data_root = '{{$DET_ROOT:data/coco/}}'\n"
        "work_dir = './work_dirs/{{fileBasenameNoExtension}}'\n"
    )
    cfg = Config.fromfile(str(path))
    assert cfg.batch_size == 8
    assert cfg.data_root == "data/coco/"
    assert cfg.work_dir == "./work_dirs/env_cfg"
    assert cfg.env_variables == {"DET_BATCH": "8", "DET_ROOT": "data/coco/"}
    again = pickle.loads(pickle.dumps(cfg))
    assert again.env_variables == cfg.env_variables
    assert copy.deepcopy(cfg).env_variables == cfg.env_variables
    monkeypatch.setenv("DET_ROOT", "/mnt/coco/")
    assert Config.fromfile(str(path)).data_root == "/mnt/coco/"
