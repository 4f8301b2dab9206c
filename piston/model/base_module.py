"""BaseModule: ``nn.Module`` with config-driven weight initialisation, and its containers.

Design note: ``init_weights`` is recursive. The top-level call owns one table mapping each
parameter to the text of the initializer that last changed it (detected through the parameter's
mean); every submodule shares that table for the duration of the call, and the top level writes
it to the log file at the end and removes it. ``Pretrained`` configs run after the children, so
loaded weights win over any random initialisation.
"""

from __future__ import annotations

import copy
import logging
from abc import ABCMeta
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import torch.nn as nn

from piston.dist import master_only
from piston.logging import MMLogger, print_log

from .weight_init import PretrainedInit, initialize, update_init_info

__all__ = ["BaseModule", "ModuleDict", "ModuleList", "Sequential"]


def _is_pretrained(cfg: dict) -> bool:
    kind = cfg.get("type")
    return kind == "Pretrained" or kind is PretrainedInit


def _init_text(records: dict, param: nn.Parameter) -> str:
    record = records.get(param)
    if record is None:  # created during init_weights and never touched by an initializer
        return "Created during `init_weights`; no initializer changed it"
    return record["init_info"]


class BaseModule(nn.Module, metaclass=ABCMeta):
    """Base class of piston modules: adds ``init_cfg`` and ``init_weights``.

    The metaclass is ``ABCMeta`` so that abstract methods of subclasses (``BaseModel.forward``,
    ``BaseTTAModel.merge_preds``) are enforced when a subclass is instantiated.

    Args:
        init_cfg: Initializer config (or list of them), e.g.
            ``dict(type='Kaiming', layer='Conv2d')`` or
            ``dict(type='Pretrained', checkpoint='ckpt.pth')``.
    """

    def __init__(self, init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__()
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def is_init(self) -> bool:
        """Whether ``init_weights`` already ran on this module."""
        return self._is_init

    @is_init.setter
    def is_init(self, value: bool) -> None:
        self._is_init = value

    def init_weights(self) -> None:
        """Initialise parameters from ``init_cfg`` and the children's ``init_weights``."""
        is_top_level = not hasattr(self, "_params_init_info")
        if is_top_level:
            records: defaultdict = defaultdict(dict)
            for param in self.parameters():
                records[param]["init_info"] = (
                    "The value is the same before and after calling `init_weights` "
                    f"of {self.__class__.__name__} "
                )
                records[param]["tmp_mean_value"] = param.data.mean().cpu()
            for sub_module in self.modules():
                sub_module._params_init_info = records

        try:
            self._init_weights_once()
        finally:  # also on error: no stale records may stay attached to the modules
            if is_top_level:
                if self._is_init:
                    self._dump_init_info()
                for sub_module in self.modules():
                    if hasattr(sub_module, "_params_init_info"):
                        del sub_module._params_init_info

    def _init_weights_once(self) -> None:
        from .wrappers import is_model_wrapper  # wrappers import torch DDP; keep it lazy

        module_name = self.__class__.__name__
        if self._is_init:
            print_log(
                f"init_weights of {module_name} has been called more than once.",
                logger="current",
                level=logging.WARNING,
            )
        else:
            cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg]
            cfgs = [cfg for cfg in cfgs if cfg]
            for cfg in cfgs:
                if not isinstance(cfg, dict):
                    raise TypeError(f"init_cfg of {module_name} must be dicts, got {type(cfg)}")
            pretrained = [cfg for cfg in cfgs if _is_pretrained(cfg)]
            others = [cfg for cfg in cfgs if not _is_pretrained(cfg)]
            if cfgs:
                print_log(
                    f"initialize {module_name} with init_cfg {self.init_cfg}",
                    logger="current",
                    level=logging.DEBUG,
                )
            if others:
                initialize(self, others)
            for child in self.children():
                if is_model_wrapper(child) and not hasattr(child, "init_weights"):
                    child = child.module
                if hasattr(child, "init_weights") and not getattr(child, "is_init", False):
                    child.init_weights()
                    update_init_info(
                        child,
                        init_info="Initialized by user-defined `init_weights` "
                        f"in {child.__class__.__name__} ",
                    )
            if pretrained:
                initialize(self, pretrained)
            self._is_init = True

    @master_only
    def _dump_init_info(self) -> None:
        """Write the per-parameter initialisation log to the current logger's log file(s)."""
        logger = MMLogger.get_current_instance()
        records = self._params_init_info
        lines = [
            f"\n{name} - {param.shape}: \n{_init_text(records, param)} \n"
            for name, param in self.named_parameters()
        ]
        file_handlers = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
        for handler in file_handlers:
            handler.stream.write("Name of parameter - Initialization information\n")
            handler.stream.write("".join(lines))
            handler.stream.flush()
        if not file_handlers:
            for line in lines:
                logger.info(line)

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.init_cfg:
            text += f"\ninit_cfg={self.init_cfg}"
        return text


class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` with ``init_cfg``."""

    def __init__(self, *args: nn.Module, init_cfg: dict | list[dict] | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *args)


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` with ``init_cfg``."""

    def __init__(
        self, modules: Iterable[nn.Module] | None = None, init_cfg: dict | list[dict] | None = None
    ) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class ModuleDict(BaseModule, nn.ModuleDict):
    """``nn.ModuleDict`` with ``init_cfg``."""

    def __init__(
        self, modules: dict[str, Any] | None = None, init_cfg: dict | list[dict] | None = None
    ) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)
