"""DeepSpeedStrategy / ColossalAIStrategy (strategy.md §6-7, P2): registered with the spec's
signatures; without their optional package they raise an ImportError saying how to install it."""

from __future__ import annotations

import importlib.util
import inspect

import pytest

from piston._strategy import BaseStrategy, ColossalAIStrategy, DeepSpeedStrategy
from piston.registry import STRATEGIES


def test_deepspeed_signature() -> None:
    params = inspect.signature(DeepSpeedStrategy.__init__).parameters
    expected = {
        "config": None,
        "zero_optimization": None,
        "gradient_clipping": None,
        "fp16": None,
        "inputs_to_half": None,
        "bf16": None,
        "amp": None,
        "activation_checkpointing": None,
        "aio": None,
        "train_micro_batch_size_per_gpu": None,
        "gradient_accumulation_steps": None,
        "steps_per_print": 10000000000000,
        "exclude_frozen_parameters": None,
    }
    assert list(params)[1:-1] == list(expected)
    for name, default in expected.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default == default, name


def test_colossalai_signature() -> None:
    params = inspect.signature(ColossalAIStrategy.__init__).parameters
    expected = {"config": None, "mixed_precision": None, "plugin": "gemini", "model_wrapper": None}
    assert list(params)[1:-1] == list(expected)
    for name, default in expected.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default == default, name


@pytest.mark.parametrize(
    ("name", "package"),
    [("DeepSpeedStrategy", "deepspeed"), ("ColossalAIStrategy", "colossalai")],
)
def test_missing_package_raises_import_error(tmp_path, name: str, package: str) -> None:
    cls = STRATEGIES.get(name)
    assert issubclass(cls, BaseStrategy)
    if importlib.util.find_spec(package) is not None:  # installed: the integration is missing
        with pytest.raises(NotImplementedError, match=name):
            STRATEGIES.build({"type": name, "work_dir": str(tmp_path)})
        return
    with pytest.raises(ImportError, match=rf"pip install {package}.*piston\[{package}\]"):
        STRATEGIES.build({"type": name, "work_dir": str(tmp_path)})
    # through FlexibleRunner the error is the same (no half-built runner state)
    from piston.runner import FlexibleRunner

    with pytest.raises(ImportError, match=name):
        FlexibleRunner({"type": "X"}, work_dir=str(tmp_path), strategy={"type": name})
