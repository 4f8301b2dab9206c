from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from piston.infer import BaseInferencer
from piston.registry import MODELS, DefaultScope


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    pkg = tmp_path / "fakeinfer"
    _write(pkg / "__init__.py", "")
    _write(
        pkg / "registry.py",
        """
        from piston.registry import MODELS as PISTON_MODELS, Registry
        MODELS = Registry('model', parent=PISTON_MODELS, locations=['fakeinfer.models'])
        """,
    )
    _write(
        pkg / "models.py",
        """
        import torch
        from torch import nn
        from fakeinfer.registry import MODELS

        @MODELS.register_module()
        class Doubler(nn.Module):
            def __init__(self, scale=1.0):
                super().__init__()
                self.scale = nn.Parameter(torch.tensor(float(scale)))

            def test_step(self, data):
                return [float(self.scale * 2 * x) for x in data]
        """,
    )
    _write(pkg / ".mim" / "model-index.yml", "Import:\n  - configs/d/metafile.yml\n")
    _write(
        pkg / ".mim" / "configs" / "d" / "metafile.yml",
        """
        Models:
          - Name: doubler-small
            Alias: [dbl]
            Config: configs/d/doubler.py
          - Name: other-model
            Config: configs/d/doubler.py
        """,
    )
    _write(pkg / ".mim" / "configs" / "d" / "doubler.py", "model = dict(type='Doubler')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    MODELS.children.pop("fakeinfer", None)
    for name in set(sys.modules) - before:
        if name.startswith("fakeinfer"):
            del sys.modules[name]


class ToyInferencer(BaseInferencer):
    preprocess_kwargs = {"offset"}
    forward_kwargs: set = set()
    visualize_kwargs = {"show"}
    postprocess_kwargs = {"round_to"}

    def _init_pipeline(self, cfg):
        return lambda x: torch.tensor(float(x))

    def preprocess(self, inputs, batch_size=1, offset=0, **kwargs):
        inputs = [x + offset for x in inputs]
        yield from super().preprocess(inputs, batch_size=batch_size)

    def visualize(self, inputs, preds, show=False, **kwargs):
        return ["shown" if show else None for _ in preds]

    def postprocess(self, preds, visualization, return_datasample=False, round_to=None, **kw):
        if round_to is not None:
            preds = [round(p, round_to) for p in preds]
        return {"predictions": preds, "visualization": visualization}


def test_kwarg_sets_must_be_disjoint():
    with pytest.raises(AssertionError, match="disjoint"):

        class Bad(BaseInferencer):
            preprocess_kwargs = {"a"}
            postprocess_kwargs = {"a"}


def test_call_pipeline_batches_and_dispatches_kwargs(fake_package):
    inferencer = ToyInferencer(
        {"model": {"type": "Doubler", "scale": 0.5}},
        scope="fakeinfer",
        device="cpu",
        show_progress=False,
    )
    assert inferencer.scope == "fakeinfer"
    assert inferencer.collate_fn.__name__ == "pseudo_collate"
    result = inferencer([1, 2, 3], batch_size=2, offset=1, show=True)
    assert result == {"predictions": [2.0, 3.0, 4.0], "visualization": ["shown"] * 3}
    assert inferencer(5)["predictions"] == [5.0]
    with pytest.raises(ValueError, match="unknown argument"):
        inferencer([1], nope=1)
    assert DefaultScope.get_current_instance() is None


def test_chunking():
    chunks = list(BaseInferencer._get_chunk_data(None, range(5), 2))
    assert chunks == [[0, 1], [2, 3], [4]]


def test_inputs_from_folder(fake_package, tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name in ("b.txt", "a.txt"):
        (folder / name).write_text("")
    inferencer = ToyInferencer(
        {"model": {"type": "Doubler"}}, scope="fakeinfer", device="cpu", show_progress=False
    )
    listed = inferencer._inputs_to_list(str(folder))
    assert [p.rsplit("/", 1)[-1] for p in listed] == ["a.txt", "b.txt"]


def test_model_from_metafile_and_weights(fake_package, tmp_path):
    assert BaseInferencer.list_models("fakeinfer") == ["doubler-small", "dbl", "other-model"]
    assert BaseInferencer.list_models("fakeinfer", patterns="d") == ["doubler-small", "dbl"]
    weights = tmp_path / "w.pth"
    torch.save({"state_dict": {"scale": torch.tensor(3.0)}}, weights)
    inferencer = ToyInferencer(
        "dbl", weights=str(weights), scope="fakeinfer", device="cpu", show_progress=False
    )
    assert inferencer([1.0])["predictions"] == [6.0]
    with pytest.raises(ValueError, match="Cannot find model"):
        ToyInferencer("missing", scope="fakeinfer", device="cpu")


def test_model_none_reads_config_from_checkpoint(fake_package, tmp_path):
    weights = tmp_path / "with_cfg.pth"
    torch.save(
        {
            "state_dict": {"scale": torch.tensor(2.0)},
            "meta": {"cfg": "model = dict(type='Doubler')\n"},
        },
        weights,
    )
    inferencer = ToyInferencer(
        None, weights=str(weights), scope="fakeinfer", device="cpu", show_progress=False
    )
    assert inferencer.cfg.model.type == "Doubler"
    assert inferencer([1.0])["predictions"] == [4.0]
    with pytest.raises(ValueError, match="weights must be specified"):
        ToyInferencer(None, scope="fakeinfer")
    with pytest.raises(TypeError, match="model must be"):
        ToyInferencer(3, scope="fakeinfer")


def test_model_pretrained_entry_is_dropped_before_building(fake_package):
    """`model.pretrained` would make the model fetch pretraining weights: it is removed."""
    cfg = {"model": {"type": "Doubler", "scale": 3.0, "pretrained": "http://invalid/x.pth"}}
    inferencer = ToyInferencer(cfg, scope="fakeinfer", device="cpu", show_progress=False)
    assert "pretrained" not in inferencer.cfg.model
    assert inferencer([1])["predictions"] == [6.0]
    assert cfg["model"]["pretrained"] == "http://invalid/x.pth"  # the caller's dict is untouched
