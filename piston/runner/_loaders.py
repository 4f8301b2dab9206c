"""Reading checkpoints: safe unpickling and the URL-scheme loaders behind ``CheckpointLoader``.

Split out of ``checkpoint.py`` (which re-exports every public name here):

* Reading is safe by default. ``torch.load(weights_only=True)`` runs under an allowlist of the
  few non-tensor types piston's own checkpoints carry, so loading never unpickles arbitrary code.
  Full unpickling is an explicit opt-in: ``weights_only=False`` or
  ``PISTON_CKPT_WEIGHTS_ONLY=0`` in the environment.
* ``CheckpointLoader`` dispatches on the longest matching URL prefix, as MMEngine does; the
  model-zoo tables (``torchvision://``, ``open-mmlab://``, ``mmcls://``) are read from JSON files.
"""

from __future__ import annotations

import io
import json
import os
import os.path as osp
import pickle
import re
import tempfile
import types
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch

DEFAULT_CACHE_DIR = "~/.cache"


def _is_remote(path: str) -> bool:
    return "://" in str(path)


def _strip_prefix(checkpoint: Any, prefix: str) -> Any:
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if state is None:
        return checkpoint
    stripped = OrderedDict(
        (k[len(prefix) :] if k.startswith(prefix) else k, v) for k, v in state.items()
    )
    if "state_dict" in checkpoint:
        checkpoint["state_dict"] = stripped
        return checkpoint
    return stripped


# ------------------------------------------------------------------------------ loading
def _safe_globals() -> list:
    """Non-tensor types allowed in piston checkpoints under ``weights_only=True``."""
    import numpy as np

    allowed: list = [np.ndarray, np.dtype]
    core = getattr(np, "_core", None) or np.core
    allowed += [core.multiarray._reconstruct, core.multiarray.scalar]
    allowed += list({type(np.dtype(code)) for code in "?bhilqBHILQefdgFDG"})
    try:
        from piston.logging import HistoryBuffer

        allowed.append(HistoryBuffer)
        # message hubs saved by MMEngine pickle its buffer class; read it as piston's
        allowed.append((HistoryBuffer, "mmengine.logging.history_buffer.HistoryBuffer"))
    except ImportError:  # pragma: no cover
        pass
    return allowed


class _MMEngineUnpickler(pickle.Unpickler):
    """Full unpickling (opt-in) that reads ``mmengine.*`` classes as their ``piston`` twins."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "mmengine" or module.startswith("mmengine."):
            mapped = "piston" + module[len("mmengine") :]
            try:
                return super().find_class(mapped, name)
            except (ImportError, AttributeError):  # same name, exported one level up
                package = ".".join(mapped.split(".")[:2])
                return super().find_class(package, name)
        return super().find_class(module, name)


_mmengine_pickle = types.SimpleNamespace(
    Unpickler=_MMEngineUnpickler,
    load=lambda f, **kw: _MMEngineUnpickler(f, **kw).load(),
    __name__="pickle",
)


def _weights_only_default() -> bool:
    return os.environ.get("PISTON_CKPT_WEIGHTS_ONLY", "1").lower() not in ("0", "false", "no")


def load_from_bytes(
    data: bytes | io.IOBase | str, map_location: Any = None, weights_only: bool | None = None
) -> Any:
    """``torch.load`` with piston's allowlist, raising a clear error for corrupt files."""
    if weights_only is None:
        weights_only = _weights_only_default()
    source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    name = data if isinstance(data, str) else "<bytes>"
    try:
        if weights_only:
            with torch.serialization.safe_globals(_safe_globals()):
                return torch.load(source, map_location=map_location, weights_only=True)
        return torch.load(
            source, map_location=map_location, weights_only=False, pickle_module=_mmengine_pickle
        )
    except Exception as err:
        text = str(err)
        refused = "GLOBAL" in text
        if weights_only and isinstance(err, pickle.UnpicklingError) and refused:
            hint = next(line for line in text.splitlines() if "GLOBAL" in line).strip()
            raise RuntimeError(
                f"Checkpoint {name} contains objects that are not allowed when loading with "
                f"weights_only=True ({hint}). If you trust this file, load it with "
                "weights_only=False or set PISTON_CKPT_WEIGHTS_ONLY=0."
            ) from None
        raise RuntimeError(
            f"Failed to load checkpoint {name}: the file is corrupt or not a torch "
            f"checkpoint ({type(err).__name__}: {err}). Re-create it or point to another file."
        ) from None


def _torch_home_checkpoints() -> str | None:
    return None  # torch.hub's default (``$TORCH_HOME/hub/checkpoints``)


def _piston_home() -> str:
    return osp.expanduser(
        os.getenv(
            "PISTON_HOME",
            osp.join(os.getenv("XDG_CACHE_HOME", DEFAULT_CACHE_DIR), "piston"),
        )
    )


def _load_json_table(name: str) -> dict:
    path = osp.join(osp.dirname(__file__), "model_zoo", name)
    table: dict = {}
    if osp.exists(path):
        with open(path) as fobj:
            table.update(json.load(fobj))
    return table


def get_torchvision_models() -> dict[str, str]:
    """Map torchvision model names (``resnet50``, ``resnet50.imagenet1k_v1``) to weight URLs."""
    import torchvision.models as tv_models

    urls: dict[str, str] = {}
    for name in tv_models.list_models():
        try:
            weights = tv_models.get_model_weights(name)
        except (ValueError, KeyError):  # pragma: no cover - models without weights
            continue
        for member in weights:
            urls[f"{name}.{member.name.lower()}"] = member.url
        urls[f"{name}.default"] = weights.DEFAULT.url
        # A bare name keeps meaning the original ImageNet weights (what configs written
        # before torchvision 0.13 were tuned with), not torchvision's newer DEFAULT.
        original = getattr(weights, "IMAGENET1K_V1", None)
        urls[name] = (original or weights.DEFAULT).url
    return urls


def get_external_models() -> dict[str, str]:
    """The ``open-mmlab://`` table: the shipped one updated by ``$PISTON_HOME/open_mmlab.json``."""
    urls = _load_json_table("open_mmlab.json")
    external = osp.join(_piston_home(), "open_mmlab.json")
    if osp.exists(external):
        with open(external) as fobj:
            urls.update(json.load(fobj))
    return urls


def get_mmcls_models() -> dict[str, str]:
    return _load_json_table("mmcls.json")


def get_deprecated_model_names() -> dict[str, str]:
    return _load_json_table("deprecated.json")


class CheckpointLoader:
    """Load checkpoints from different sources, chosen by the filename's prefix."""

    _schemes: dict[str, Callable] = {}

    @classmethod
    def _register_scheme(
        cls, prefixes: str | list[str] | tuple[str, ...], loader: Callable, force: bool = False
    ) -> None:
        if isinstance(prefixes, str):
            prefixes = [prefixes]
        for prefix in prefixes:
            if prefix in cls._schemes and not force:
                raise KeyError(
                    f"{prefix} is already registered as a loader backend, "
                    'add "force=True" if you want to override it'
                )
            cls._schemes[prefix] = loader
        cls._schemes = OrderedDict(sorted(cls._schemes.items(), key=lambda t: t[0], reverse=True))

    @classmethod
    def register_scheme(
        cls,
        prefixes: str | list[str] | tuple[str, ...],
        loader: Callable | None = None,
        force: bool = False,
    ) -> Callable:
        """Register a loader for URL prefixes; usable as a decorator."""
        if loader is not None:
            cls._register_scheme(prefixes, loader, force=force)
            return loader

        def _register(loader_cls: Callable) -> Callable:
            cls._register_scheme(prefixes, loader_cls, force=force)
            return loader_cls

        return _register

    @classmethod
    def _get_checkpoint_loader(cls, path: str) -> Callable:
        for prefix in sorted(cls._schemes, key=len, reverse=True):
            if re.match(prefix, path) is not None:
                return cls._schemes[prefix]
        return cls._schemes[""]  # pragma: no cover

    @classmethod
    def load_checkpoint(
        cls,
        filename: str,
        map_location: Any = None,
        logger: Any = "current",
        weights_only: bool | None = None,
    ) -> Any:
        """Load a checkpoint through the loader registered for ``filename``'s prefix."""
        from piston.logging import print_log

        filename = str(filename)
        loader = cls._get_checkpoint_loader(filename)
        print_log(
            f"Loads checkpoint by {loader.__name__[10:]} backend from path: {filename}",
            logger=logger,
        )
        return loader(filename, map_location, weights_only=weights_only)


@CheckpointLoader.register_scheme(prefixes="")
def load_from_local(filename: str, map_location: Any, weights_only: bool | None = None) -> Any:
    """Local path (``~`` expanded). Other ``scheme://`` URLs are read through ``piston.fileio``."""
    if _is_remote(filename):
        from piston.fileio import get

        return load_from_bytes(get(filename), map_location, weights_only)
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f"{filename} can not be found. Check the checkpoint path (load_from / resume / "
            "CLI argument)."
        )
    return load_from_bytes(filename, map_location, weights_only)


@CheckpointLoader.register_scheme(prefixes=("http://", "https://"))
def load_from_http(
    filename: str,
    map_location: Any = None,
    model_dir: str | None = None,
    weights_only: bool | None = None,
) -> Any:
    """Download into torch hub's cache (rank 0 first) and load from there."""
    from torch.hub import load_state_dict_from_url

    from piston.dist import barrier, get_dist_info

    if weights_only is None:
        weights_only = _weights_only_default()
    rank, world_size = get_dist_info()

    def fetch() -> Any:
        with torch.serialization.safe_globals(_safe_globals()):
            return load_state_dict_from_url(
                filename, model_dir=model_dir, map_location=map_location, weights_only=weights_only
            )

    if rank == 0:
        checkpoint = fetch()
    if world_size > 1:
        barrier()
        if rank > 0:
            checkpoint = fetch()
    return checkpoint


@CheckpointLoader.register_scheme(prefixes=("torchvision://", "modelzoo://"))
def load_from_torchvision(
    filename: str, map_location: Any = None, weights_only: bool | None = None
) -> Any:
    """``torchvision://resnet50`` or ``torchvision://resnet50.imagenet1k_v1``."""
    from piston.logging import print_log

    urls = get_torchvision_models()
    if filename.startswith("modelzoo://"):
        print_log(
            'The URL scheme of "modelzoo://" is deprecated, please use "torchvision://" instead',
            logger="current",
            level=30,
        )
        name = filename[11:]
    else:
        name = filename[14:]
    if name not in urls:
        raise KeyError(
            f"{name!r} is not a torchvision model name. Known names look like 'resnet50'."
        )
    if "." not in name:
        print_log(
            f"torchvision://{name} loads the original ImageNet weights (IMAGENET1K_V1 where "
            f"torchvision has them); use e.g. torchvision://{name}.default for torchvision's "
            "current default weights.",
            logger="current",
        )
    return load_from_http(urls[name], map_location=map_location, weights_only=weights_only)


@CheckpointLoader.register_scheme(prefixes=("open-mmlab://", "openmmlab://"))
def load_from_openmmlab(
    filename: str, map_location: Any = None, weights_only: bool | None = None
) -> Any:
    prefix = "open-mmlab://" if filename.startswith("open-mmlab://") else "openmmlab://"
    name = filename[len(prefix) :]
    deprecated = get_deprecated_model_names()
    if name in deprecated:
        name = deprecated[name]
    urls = get_external_models()
    if name not in urls:
        raise KeyError(
            f"{name!r} is not in the open-mmlab model table. Add it to "
            f"{osp.join(_piston_home(), 'open_mmlab.json')}."
        )
    url = urls[name]
    if url.startswith(("http://", "https://")):
        return load_from_http(url, map_location=map_location, weights_only=weights_only)
    return load_from_local(osp.join(_piston_home(), url), map_location, weights_only)


@CheckpointLoader.register_scheme(prefixes="mmcls://")
def load_from_mmcls(
    filename: str, map_location: Any = None, weights_only: bool | None = None
) -> Any:
    name = filename[8:]
    urls = get_mmcls_models()
    if name not in urls:
        raise KeyError(f"{name!r} is not in the mmcls model table.")
    checkpoint = load_from_http(urls[name], map_location=map_location, weights_only=weights_only)
    return _strip_prefix(checkpoint, "backbone.")


@CheckpointLoader.register_scheme(prefixes=("s3://", "petrel://"))
def load_from_ceph(
    filename: str, map_location: Any = None, weights_only: bool | None = None
) -> Any:
    from piston.fileio import get

    return load_from_bytes(get(filename), map_location, weights_only)


# ------------------------------------------------------------------------------- PAVI (P2)
def _pavi_modelcloud() -> Any:
    try:
        from pavi import modelcloud
    except ImportError as exc:
        raise ImportError(
            "pavi:// checkpoints need the `pavi` package (the PAVI model cloud client). "
            "Install it, or save/load a local path or URL instead."
        ) from exc
    return modelcloud


@CheckpointLoader.register_scheme(prefixes="pavi://")
def load_from_pavi(
    filename: str, map_location: Any = None, weights_only: bool | None = None
) -> Any:
    """``pavi://<model path>``: download the file from the PAVI model cloud, then load it."""
    if not filename.startswith("pavi://"):
        raise ValueError(f"Expected a filename starting with `pavi://`, but got {filename!r}")
    node = _pavi_modelcloud().get(filename[len("pavi://") :])
    with tempfile.TemporaryDirectory() as tmp_dir:
        local = osp.join(tmp_dir, node.name)
        node.download(local)
        return load_from_bytes(local, map_location, weights_only)


def _save_to_pavi(checkpoint: dict, filename: str) -> None:
    """Upload to ``pavi://<training model path>/<file name>``, creating the model if needed."""
    modelcloud = _pavi_modelcloud()
    from pavi.exception import NodeNotFoundError

    model_dir, name = osp.split(filename[len("pavi://") :])
    try:
        model = modelcloud.get(model_dir)
    except NodeNotFoundError:
        model = modelcloud.Folder().create_training_model(model_dir)
    with tempfile.TemporaryDirectory() as tmp_dir:
        local = osp.join(tmp_dir, name)
        torch.save(checkpoint, local)
        model.create_file(local, name=name)
