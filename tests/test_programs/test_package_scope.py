"""An installed-package project (mmdet layout) found through ``default_scope`` alone.

mmdet-style repos keep ``<pkg>/registry.py`` with child registries whose ``locations`` name
the modules that register into them, and their configs carry no ``custom_imports``: setting
``default_scope='<pkg>'`` makes the engine import ``<pkg>.registry``, and the first lookup
imports the ``locations``. Types from other scopes are named ``'piston.SGD'`` or
``'<pkg>.Name'`` (also from a sibling project's scope).
"""

from __future__ import annotations

import sys

import torch

from piston.config import Config
from piston.runner import Runner

FILES = {
    "pkgproj/__init__.py": "",
    "pkgproj/registry.py": """
from piston.registry import DATASETS as PISTON_DATASETS
from piston.registry import HOOKS as PISTON_HOOKS
from piston.registry import METRICS as PISTON_METRICS
from piston.registry import MODELS as PISTON_MODELS
from piston.registry import OPTIMIZERS as PISTON_OPTIMIZERS
from piston.registry import Registry

MODELS = Registry('model', parent=PISTON_MODELS, locations=['pkgproj.models'])
DATASETS = Registry('dataset', parent=PISTON_DATASETS, locations=['pkgproj.datasets'])
HOOKS = Registry('hook', parent=PISTON_HOOKS, locations=['pkgproj.engine'])
METRICS = Registry('metric', parent=PISTON_METRICS, locations=['pkgproj.evaluation'])
OPTIMIZERS = Registry('optimizer', parent=PISTON_OPTIMIZERS, locations=['pkgproj.engine'])
""",
    "pkgproj/models/__init__.py": """
from .net import PkgNet

__all__ = ['PkgNet']
""",
    "pkgproj/models/net.py": """
import torch.nn as nn
import torch.nn.functional as F

from piston.model import BaseModel

from pkgproj.registry import MODELS


@MODELS.register_module()
class PkgNet(BaseModel):
    def __init__(self, backbone, num_classes=2):
        super().__init__()
        self.backbone = MODELS.build(backbone)
        self.head = nn.Linear(backbone['out_dim'], num_classes)

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.head(self.backbone(inputs))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits, labels


@MODELS.register_module()
class PkgBackbone(nn.Module):
    def __init__(self, in_dim=4, out_dim=8):
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)

    def forward(self, x):
        return self.fc(x).relu()
""",
    "pkgproj/datasets.py": """
import torch
from torch.utils.data import Dataset

from pkgproj.registry import DATASETS


@DATASETS.register_module()
class PkgPoints(Dataset):
    def __init__(self, size=8):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])
""",
    "pkgproj/engine.py": """
import torch

from piston.hooks import Hook

from pkgproj.registry import HOOKS, OPTIMIZERS


@HOOKS.register_module()
class PkgCounter(Hook):
    priority = 'LOW'

    def __init__(self):
        self.iters = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.iters += 1


@OPTIMIZERS.register_module()
class PkgSGD(torch.optim.SGD):
    pass
""",
    "pkgproj/evaluation.py": """
from piston.evaluator import BaseMetric

from pkgproj.registry import METRICS


@METRICS.register_module()
class PkgHits(BaseMetric):
    default_prefix = 'pkg'

    def process(self, data_batch, data_samples):
        logits, labels = data_samples
        self.results.append(int((logits.argmax(1) == labels).sum()))

    def compute_metrics(self, results):
        return dict(hits=sum(results))
""",
    # a second project whose configs borrow pkgproj's model by its scope prefix
    "otherproj/__init__.py": "",
    "otherproj/registry.py": """
from piston.registry import MODELS as PISTON_MODELS
from piston.registry import Registry

MODELS = Registry('model', parent=PISTON_MODELS, locations=['otherproj.models'])
""",
    "otherproj/models.py": """
import torch.nn as nn
import torch.nn.functional as F

from piston.model import BaseModel

from otherproj.registry import MODELS


@MODELS.register_module()
class OtherNet(BaseModel):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = MODELS.build(backbone)  # may name another package's `_scope_`
        self.head = nn.Linear(backbone['out_dim'], 2)

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.head(self.backbone(inputs))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits, labels
""",
}

CONFIG = """
default_scope = 'pkgproj'
model = dict(type='PkgNet', backbone=dict(type='PkgBackbone', out_dim=8))
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='PkgPoints', size=8),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
val_dataloader = train_dataloader
val_evaluator = dict(type='PkgHits')
val_cfg = dict()
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
optim_wrapper = dict(optimizer=dict(type='PkgSGD', lr=0.1))
custom_hooks = [dict(type='PkgCounter'), dict(type='piston.EMAHook')]
"""


def _write(root) -> None:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_default_scope_imports_package_registry_and_locations(tmp_path, monkeypatch) -> None:
    _write(tmp_path)
    (tmp_path / "cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] in ("pkgproj", "otherproj")]:
        monkeypatch.delitem(sys.modules, name)

    cfg = Config.fromfile(str(tmp_path / "cfg.py"))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    assert "pkgproj.models" in sys.modules
    assert "pkgproj.engine" in sys.modules
    assert type(runner.model).__name__ == "PkgNet"
    assert type(runner.model.backbone).__name__ == "PkgBackbone"
    runner.train()
    assert type(runner.optim_wrapper.optimizer).__name__ == "PkgSGD"
    counter = next(h for h in runner.hooks if type(h).__name__ == "PkgCounter")
    assert counter.iters == 4
    # custom hooks slot in by priority: EMAHook NORMAL, PkgCounter LOW (class attribute)
    assert [type(h).__name__ for h in runner.hooks] == [
        "RuntimeInfoHook",
        "IterTimerHook",
        "DistSamplerSeedHook",
        "EMAHook",
        "LoggerHook",
        "ParamSchedulerHook",
        "PkgCounter",
        "CheckpointHook",
    ]
    metrics = runner.val()
    assert set(metrics) == {"pkg/hits"}


def test_cross_scope_type_names(tmp_path, monkeypatch) -> None:
    _write(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # (the packages may be imported already)
    from piston.registry import MODELS, OPTIMIZERS, DefaultScope

    with DefaultScope.overwrite_default_scope("otherproj"):
        # 'pkgproj.X' from a sibling project's scope; 'piston.X' from the root
        net = MODELS.build(
            dict(type="pkgproj.PkgNet", backbone=dict(type="pkgproj.PkgBackbone", out_dim=8))
        )
        assert type(net).__name__ == "PkgNet"
        opt = OPTIMIZERS.build(dict(type="piston.SGD", params=net.parameters(), lr=0.1))
        assert type(opt) is torch.optim.SGD
        pre = MODELS.build(dict(type="ImgDataPreprocessor", mean=[0.0], std=[1.0]))
        assert type(pre).__name__ == "ImgDataPreprocessor"  # found in the parent (root)
    other = sys.modules["otherproj.registry"].MODELS
    assert other.get("pkgproj.PkgBackbone").__name__ == "PkgBackbone"
    assert other.scope == "otherproj"
    assert MODELS.children["pkgproj"].scope == "pkgproj"  # scope inferred from the package


def test_scope_key_borrows_a_backbone_from_another_package(tmp_path, monkeypatch) -> None:
    # as mmdet configs take ConvNeXt from mmpretrain: backbone=dict(_scope_='mmpretrain', ...)
    _write(tmp_path)
    config = CONFIG.replace("default_scope = 'pkgproj'", "default_scope = 'otherproj'").replace(
        "model = dict(type='PkgNet', backbone=dict(type='PkgBackbone', out_dim=8))",
        "model = dict(type='OtherNet', "
        "backbone=dict(_scope_='pkgproj', type='PkgBackbone', out_dim=8))",
    )
    config = config.replace("type='PkgPoints'", "type='pkgproj.PkgPoints'")
    config = config.replace("type='PkgSGD'", "type='pkgproj.PkgSGD'")
    config = config.replace("type='PkgCounter'", "type='pkgproj.PkgCounter'")
    config = config.replace("type='PkgHits'", "type='pkgproj.PkgHits'")
    (tmp_path / "other_cfg.py").write_text(config)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(tmp_path / "other_cfg.py"))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert type(runner.model).__name__ == "OtherNet"
    assert type(runner.model.backbone).__name__ == "PkgBackbone"
    assert type(runner.optim_wrapper.optimizer).__name__ == "PkgSGD"
    assert runner.iter == 4
    assert set(runner.val()) == {"pkg/hits"}
