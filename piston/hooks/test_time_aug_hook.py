"""PrepareTTAHook and ``build_runner_with_tta``: test-time augmentation from a config."""

from __future__ import annotations

import copy

from piston.registry import HOOKS, MODELS

from .hook import Hook

__all__ = ["PrepareTTAHook", "build_runner_with_tta"]


@HOOKS.register_module()
class PrepareTTAHook(Hook):
    """Wrap ``runner.model`` in the TTA model of ``tta_cfg`` before testing.

    Args:
        tta_cfg: Config of a ``BaseTTAModel`` subclass; its ``module`` is set to the model.
    """

    priority = "NORMAL"

    def __init__(self, tta_cfg: dict) -> None:
        self.tta_cfg = tta_cfg

    def before_test(self, runner) -> None:
        """Build the TTA model around the current model and make it the runner's model."""
        self.tta_cfg["module"] = runner.model
        runner.model = MODELS.build(self.tta_cfg)


def build_runner_with_tta(cfg):
    """Build a runner whose test loop runs test-time augmentation.

    Requires ``cfg.tta_model`` and ``cfg.tta_pipeline``. The test dataset's pipeline is
    replaced by ``tta_pipeline`` and a :class:`PrepareTTAHook` is registered.
    """
    if "tta_model" not in cfg:
        raise AssertionError("No `tta_model` in config; add one to use test-time augmentation.")
    if "tta_pipeline" not in cfg:
        raise AssertionError("No `tta_pipeline` in config; add one to use test-time augmentation.")
    cfg = copy.deepcopy(cfg)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    from piston.registry import RUNNERS

    if "runner_type" in cfg:
        runner = RUNNERS.build(cfg)
    else:
        from piston.runner import Runner

        runner = Runner.from_cfg(cfg)
    runner.register_hook(PrepareTTAHook(tta_cfg=cfg.tta_model))
    return runner
