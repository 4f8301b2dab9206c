"""``BaseInferencer``: the skeleton of a downstream package's high-level inference API.

Design: ``__call__`` is a fixed pipeline (inputs to list -> preprocess in collated chunks ->
``model.test_step`` under ``no_grad`` -> visualize -> postprocess). Subclasses fill in the
package-specific steps (``_init_pipeline``, ``visualize``, ``postprocess``) and declare which
call-time keyword arguments each step accepts in four disjoint class-level sets.
"""

from __future__ import annotations

import copy
import logging
import os.path as osp
import re
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Generator, Iterable
from datetime import datetime
from typing import Any

import torch
from torch import nn

from piston.registry import FUNCTIONS, MODELS, VISUALIZERS, DefaultScope
from piston.registry.registry import MODULE2PACKAGE
from piston.utils import get_installed_path
from piston.utils._log import log

__all__ = ["BaseInferencer"]

_KWARG_SETS = ("preprocess_kwargs", "forward_kwargs", "visualize_kwargs", "postprocess_kwargs")


class InferencerMeta(ABCMeta):
    """Checks at class creation that the four ``*_kwargs`` sets do not overlap."""

    def __init__(cls, *args: Any) -> None:
        super().__init__(*args)
        seen: dict[str, str] = {}
        for attr in _KWARG_SETS:
            for key in getattr(cls, attr):
                if key in seen:
                    raise AssertionError(
                        f"Class define error! {cls.__name__}.{attr} and {seen[key]} both "
                        f"contain {key!r}; the four *_kwargs sets must be disjoint."
                    )
                seen[key] = f"{cls.__name__}.{attr}"


def _package_dir(scope: str) -> str:
    """Folder holding ``model-index.yml``: ``<package>/.mim`` or the repository root."""
    try:
        package_path = get_installed_path(scope)
    except RuntimeError as exc:
        raise ValueError(
            f"Cannot find the package of scope {scope!r}; install it with "
            f"`pip install {MODULE2PACKAGE.get(scope, scope)}`."
        ) from exc
    mim_dir = osp.join(package_path, ".mim")
    if osp.isdir(mim_dir):
        return mim_dir
    return osp.dirname(package_path)


def _models_from_metafile(root: str) -> Generator[dict, None, None]:
    import yaml

    index_path = osp.join(root, "model-index.yml")
    if not osp.isfile(index_path):
        return
    with open(index_path, encoding="utf-8") as file:
        index = yaml.safe_load(file) or {}
    for meta_path in index.get("Import", []):
        with open(osp.join(root, meta_path), encoding="utf-8") as file:
            yield from (yaml.safe_load(file) or {}).get("Models", [])


class BaseInferencer(metaclass=InferencerMeta):
    """Base class of inferencers.

    Args:
        model: A config file path, a model name from the package metafile, a config (dict,
            ``ConfigDict`` or ``Config``), or ``None`` to read the config from the checkpoint.
        weights: Checkpoint path or URL.
        device: Device to run on; default :func:`piston.device.get_device`.
        scope: Registry scope; default the current default scope.
        show_progress: Show a progress bar while inferring.
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = set()
    postprocess_kwargs: set = set()

    def __init__(
        self,
        model: str | dict | Any | None = None,
        weights: str | None = None,
        device: str | None = None,
        scope: str | None = None,
        show_progress: bool = True,
    ) -> None:
        from piston.config import Config, ConfigDict

        if scope is None:
            default_scope = DefaultScope.get_current_instance()
            if default_scope is not None:
                scope = default_scope.scope_name
        self.scope = scope
        if isinstance(model, str):
            if osp.isfile(model):
                cfg = Config.fromfile(model)
            else:
                cfg, metafile_weights = self._load_model_from_metafile(model)
                weights = metafile_weights if weights is None else weights
        elif isinstance(model, (Config, ConfigDict)):
            cfg = copy.deepcopy(model)
        elif isinstance(model, dict):
            cfg = copy.deepcopy(ConfigDict(model))
        elif model is None:
            if weights is None:
                raise ValueError(
                    "If model is None, the weights must be specified since the config needs to "
                    "be loaded from the weights"
                )
            cfg = ConfigDict()
        else:
            raise TypeError(
                f"model must be a filepath or any ConfigType object, but got {type(model)}"
            )
        if device is None:
            from piston.device import get_device

            device = get_device()
        with DefaultScope.overwrite_default_scope(self.scope):
            self.model = self._init_model(cfg, weights, device)
            cfg = getattr(self.model, "cfg", cfg)  # may come from the checkpoint
            self.pipeline = self._init_pipeline(cfg)
            self.collate_fn = self._init_collate(cfg)
            self.visualizer = self._init_visualizer(cfg)
        self.cfg = cfg
        self.show_progress = show_progress

    # ------------------------------------------------------------------ the pipeline
    def __call__(
        self,
        inputs: Any,
        return_datasamples: bool = False,
        batch_size: int = 1,
        **kwargs: Any,
    ) -> dict:
        """Run inference on ``inputs`` (one input, a list, or a folder of files).

        Keyword arguments are routed to ``preprocess``/``forward``/``visualize``/
        ``postprocess`` according to the class's ``*_kwargs`` sets.
        """
        preprocess_kwargs, forward_kwargs, visualize_kwargs, postprocess_kwargs = (
            self._dispatch_kwargs(**kwargs)
        )
        ori_inputs = self._inputs_to_list(inputs)
        batches = self.preprocess(ori_inputs, batch_size=batch_size, **preprocess_kwargs)
        preds: list = []
        for data in self._track(batches, len(ori_inputs), batch_size):
            preds.extend(self.forward(data, **forward_kwargs))
        visualization = self.visualize(ori_inputs, preds, **visualize_kwargs)
        return self.postprocess(preds, visualization, return_datasamples, **postprocess_kwargs)

    def _track(self, batches: Iterable, num_inputs: int, batch_size: int) -> Iterable:
        if not self.show_progress:
            return batches
        from rich.progress import track

        total = -(-num_inputs // batch_size)
        return track(batches, description="Inference", total=total)

    def _inputs_to_list(self, inputs: Any) -> list:
        """A folder becomes the list of its files; a single input becomes ``[input]``."""
        if isinstance(inputs, str):
            from piston import fileio

            try:
                is_dir = fileio.isdir(inputs)
            except NotImplementedError:
                is_dir = False
            if is_dir:
                names = sorted(fileio.list_dir_or_file(inputs, list_dir=False))
                inputs = [fileio.join_path(inputs, name) for name in names]
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        return list(inputs)

    def preprocess(self, inputs: list, batch_size: int = 1, **kwargs: Any) -> Iterable:
        """Yield collated batches of ``batch_size`` pipeline outputs."""
        chunked = self._get_chunk_data(map(self.pipeline, inputs), batch_size)
        yield from map(self.collate_fn, chunked)

    @torch.no_grad()
    def forward(self, inputs: Any, **kwargs: Any) -> Any:
        """``model.test_step`` on one collated batch."""
        return self.model.test_step(inputs)

    @abstractmethod
    def visualize(self, inputs: list, preds: Any, show: bool = False, **kwargs: Any) -> Any:
        """Draw predictions (implemented by subclasses)."""

    @abstractmethod
    def postprocess(
        self, preds: Any, visualization: Any, return_datasample: bool = False, **kwargs: Any
    ) -> dict:
        """Turn predictions into the returned dict (implemented by subclasses)."""

    # ------------------------------------------------------------------ initialisation
    def _load_model_from_metafile(self, model: str) -> tuple[Any, str | None]:
        from piston.config import Config

        if self.scope is None:
            raise ValueError(
                f"scope should be initialized to load model {model!r} from a metafile; pass "
                f"`scope=` or set a default scope."
            )
        root = _package_dir(self.scope)
        for model_cfg in _models_from_metafile(root):
            names = [model_cfg.get("Name"), *model_cfg.get("Alias", [])]
            if model in names:
                cfg = Config.fromfile(osp.join(root, model_cfg["Config"]))
                return cfg, model_cfg.get("Weights")
        raise ValueError(f"Cannot find model: {model} in {self.scope}")

    def _init_model(self, cfg: Any, weights: str | None, device: str = "cpu") -> nn.Module:
        """Build ``cfg.model`` (config read from the checkpoint when ``cfg`` is empty).

        A ``pretrained`` entry of ``cfg.model`` is dropped first: the inference weights are
        loaded afterwards, so the model must not download its pretraining weights.
        """
        from piston.config import Config
        from piston.runner.checkpoint import _load_checkpoint

        checkpoint = None
        if weights is not None:
            checkpoint = _load_checkpoint(weights, map_location="cpu")
        if not cfg:
            if checkpoint is None:
                raise ValueError("weights must be given when the config is empty")
            try:
                cfg_string = checkpoint["message_hub"]["runtime_info"]["cfg"]
            except (KeyError, TypeError):
                if "meta" not in checkpoint or "cfg" not in checkpoint["meta"]:
                    raise ValueError(
                        "Cannot find the config in the checkpoint (message_hub.runtime_info.cfg "
                        "or meta.cfg); pass `model=` explicitly."
                    ) from None
                cfg_string = checkpoint["meta"]["cfg"]
            cfg = Config.fromstring(cfg_string, file_format=".py")
        # The inference weights replace any backbone pretraining: do not fetch those.
        if cfg.model.get("pretrained") is not None:
            del cfg.model["pretrained"]
        model = MODELS.build(cfg.model)
        model.cfg = cfg
        self._load_weights_to_model(model, checkpoint, cfg)
        model.to(device)
        model.eval()
        return model

    def _load_weights_to_model(self, model: nn.Module, checkpoint: dict | None, cfg: Any) -> None:
        if checkpoint is None:
            log(
                "Checkpoint is not loaded, and the inference result is calculated by the "
                "randomly initialized model!",
                logging.WARNING,
            )
            return
        from piston.runner.checkpoint import _load_checkpoint_to_model

        _load_checkpoint_to_model(model, checkpoint)

    @abstractmethod
    def _init_pipeline(self, cfg: Any) -> Callable:
        """The callable turning one raw input into a model input (implemented by subclasses)."""

    def _init_collate(self, cfg: Any) -> Callable:
        """``cfg.test_dataloader.collate_fn`` if configured, else ``pseudo_collate``."""
        from piston.dataset import pseudo_collate

        try:
            collate_cfg = cfg.test_dataloader.collate_fn
        except (AttributeError, KeyError):
            return pseudo_collate
        name = collate_cfg.get("type") if isinstance(collate_cfg, dict) else collate_cfg
        if callable(name):
            return name
        with FUNCTIONS.switch_scope_and_registry(self.scope) as registry:
            collate_fn = registry.get(name)
        if collate_fn is None:
            raise KeyError(f"collate_fn {name!r} is not in the {registry.scope}::function registry")
        return collate_fn

    def _init_visualizer(self, cfg: Any) -> Any:
        """Build ``cfg.visualizer`` under a unique instance name (None without one)."""
        if "visualizer" not in cfg:
            return None
        from piston.visualization import Visualizer

        timestamp = str(datetime.timestamp(datetime.now()))
        name = cfg.visualizer.get("name", timestamp)
        if Visualizer.check_instance_created(name):
            name = f"{name}-{timestamp}"
        cfg.visualizer.name = name
        return VISUALIZERS.build(cfg.visualizer)

    def _get_chunk_data(self, inputs: Iterable, chunk_size: int) -> Generator[list, None, None]:
        """Group ``inputs`` into lists of ``chunk_size`` (the last may be shorter)."""
        iterator = iter(inputs)
        while True:
            chunk = []
            for _ in range(chunk_size):
                try:
                    chunk.append(next(iterator))
                except StopIteration:
                    if chunk:
                        yield chunk
                    return
            yield chunk

    def _dispatch_kwargs(self, **kwargs: Any) -> tuple[dict, dict, dict, dict]:
        """Split call-time kwargs by the four ``*_kwargs`` sets; unknown keys → ValueError."""
        groups = [getattr(self, attr) for attr in _KWARG_SETS]
        known = set().union(*groups)
        unknown = set(kwargs) - known
        if unknown:
            raise ValueError(
                f"unknown argument {unknown} for `preprocess`, `forward`, `visualize` and "
                f"`postprocess`"
            )
        result: tuple[dict, dict, dict, dict] = ({}, {}, {}, {})
        for key, value in kwargs.items():
            for group, out in zip(groups, result):
                if key in group:
                    out[key] = value
                    break
        return result

    @staticmethod
    def list_models(scope: str | None = None, patterns: str = r".*") -> list[str]:
        """Names and aliases in the metafiles of ``scope``'s package matching ``patterns``."""
        if scope is None:
            default_scope = DefaultScope.get_current_instance()
            if default_scope is None:
                raise ValueError(
                    "scope should be initialized if you want to load config from metafile."
                )
            scope = default_scope.scope_name
        matched = []
        for model_cfg in _models_from_metafile(_package_dir(scope)):
            for name in [model_cfg["Name"], *model_cfg.get("Alias", [])]:
                if re.match(patterns, name) is not None:
                    matched.append(name)
        log("".join(f"model_name: {name}\n" for name in matched), logging.INFO)
        return matched
