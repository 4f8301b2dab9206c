"""Checkpoint I/O: loading by URL scheme, state-dict helpers and atomic saving.

Design notes (DESIGN.md §4):

* Writes are atomic. A local checkpoint is serialised in memory, written to a temporary file in
  the target folder, flushed and fsynced, then ``os.replace``-d over the final name; the folder
  is fsynced too. A crash at any point leaves the previous file intact. Remote targets (any
  ``scheme://``) go through ``piston.fileio`` ``put``, whose backends replace objects whole.
* Reading is safe by default. ``torch.load(weights_only=True)`` runs under an allowlist of the
  few non-tensor types piston's own checkpoints carry (``HistoryBuffer`` and NumPy arrays inside
  it), so loading never unpickles arbitrary code. Full unpickling is an explicit opt-in:
  ``weights_only=False`` or ``PISTON_CKPT_WEIGHTS_ONLY=0`` in the environment.
* ``CheckpointLoader`` dispatches on the longest matching URL prefix, as MMEngine does.
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
import torch.nn as nn

__all__ = [
    "CheckpointLoader",
    "find_latest_checkpoint",
    "get_deprecated_model_names",
    "get_external_models",
    "get_mmcls_models",
    "get_state_dict",
    "get_torchvision_models",
    "load_checkpoint",
    "load_state_dict",
    "save_checkpoint",
    "weights_to_cpu",
]

DEFAULT_CACHE_DIR = "~/.cache"


# ----------------------------------------------------------------------------- state dicts
def _is_wrapper(module: nn.Module) -> bool:
    from piston.model import is_model_wrapper

    return is_model_wrapper(module)


def _unwrap_for_load(module: nn.Module) -> nn.Module:
    try:
        from piston.model import BaseTTAModel
    except ImportError:  # pragma: no cover - model package still being written
        BaseTTAModel = ()  # type: ignore[assignment]
    while _is_wrapper(module) or (BaseTTAModel and isinstance(module, BaseTTAModel)):
        module = module.module
    return module


def load_state_dict(
    module: nn.Module, state_dict: dict, strict: bool = False, logger: Any = None
) -> None:
    """Load ``state_dict`` into ``module``, unwrapping model wrappers at every level.

    Missing ``num_batches_tracked`` buffers are ignored. Mismatched keys raise a RuntimeError
    when ``strict`` and are logged as a warning (rank 0) otherwise.
    """
    unexpected_keys: list[str] = []
    missing_keys: list[str] = []
    err_msgs: list[str] = []
    metadata = getattr(state_dict, "_metadata", None)
    state_dict = OrderedDict(state_dict)
    if metadata is not None:
        state_dict._metadata = metadata  # type: ignore[attr-defined]

    def load(mod: nn.Module, prefix: str = "") -> None:
        mod = _unwrap_for_load(mod)
        local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
        mod._load_from_state_dict(
            state_dict, prefix, local_metadata, True, missing_keys, unexpected_keys, err_msgs
        )
        for name, child in mod._modules.items():
            if child is not None:
                load(child, prefix + name + ".")

    load(module)
    missing_keys = [key for key in missing_keys if "num_batches_tracked" not in key]
    messages = []
    if unexpected_keys:
        messages.append(f"unexpected key in source state_dict: {', '.join(unexpected_keys)}\n")
    if missing_keys:
        messages.append(f"missing keys in source state_dict: {', '.join(missing_keys)}\n")
    if err_msgs:
        messages.extend(err_msgs)
    if not messages:
        return
    from piston.dist import get_rank

    if get_rank() != 0:
        return
    messages.insert(0, "The model and loaded state dict do not match exactly\n")
    text = "\n".join(messages)
    if strict:
        raise RuntimeError(text)
    from piston.logging import print_log

    print_log(text, logger=logger if logger is not None else "current", level=30)


def weights_to_cpu(state_dict: dict) -> OrderedDict:
    """Copy a state dict to CPU, keeping its ``_metadata``."""
    cpu_state = OrderedDict()
    for key, val in state_dict.items():
        cpu_state[key] = val.cpu() if isinstance(val, torch.Tensor) else val
    cpu_state._metadata = getattr(state_dict, "_metadata", OrderedDict())  # type: ignore[attr-defined]
    return cpu_state


def get_state_dict(
    module: nn.Module, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
) -> OrderedDict:
    """Like ``nn.Module.state_dict`` but unwraps model wrappers at every level."""
    while _is_wrapper(module):
        module = module.module
    if destination is None:
        destination = OrderedDict()
        destination._metadata = OrderedDict()  # type: ignore[attr-defined]
    local_metadata = {"version": module._version}
    if hasattr(destination, "_metadata"):
        destination._metadata[prefix[:-1]] = local_metadata  # type: ignore[attr-defined]
    module._save_to_state_dict(destination, prefix, keep_vars)
    for name, child in module._modules.items():
        if child is not None:
            get_state_dict(child, destination, prefix + name + ".", keep_vars=keep_vars)
    for hook in module._state_dict_hooks.values():
        result = hook(module, destination, prefix, local_metadata)
        if result is not None:
            destination = result
    return destination  # type: ignore[return-value]


# ------------------------------------------------------------------------------- saving
def _is_remote(path: str) -> bool:
    return "://" in str(path)


def _write_atomic(data: bytes, path: str, chunk_size: int = 1 << 22) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    folder = osp.dirname(osp.abspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f".{osp.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fobj:
            view = memoryview(data)
            for start in range(0, len(view), chunk_size):
                _write_chunk(fobj, view[start : start + chunk_size])
            fobj.flush()
            os.fsync(fobj.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if osp.exists(tmp_path):
            os.unlink(tmp_path)
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_chunk(fobj: Any, chunk: memoryview) -> None:
    # A separate function so tests can interrupt a write half-way.
    fobj.write(chunk)


def write_text_atomic(text: str, path: str) -> None:
    """Atomically write a small text file (e.g. ``last_checkpoint``)."""
    if _is_remote(path):
        from piston.fileio import put_text

        put_text(text, path)
    else:
        _write_atomic(text.encode("utf-8"), path)


def save_checkpoint(
    checkpoint: dict,
    filename: str,
    file_client_args: dict | None = None,
    backend_args: dict | None = None,
) -> None:
    """Serialise ``checkpoint`` with ``torch.save`` and write it atomically to ``filename``.

    Local paths are written through a temporary file + fsync + ``os.replace``; URLs go through
    the ``piston.fileio`` backend chosen by their prefix.
    """
    if file_client_args is not None and backend_args is not None:
        raise ValueError(
            '"file_client_args" and "backend_args" cannot be set at the same time. '
            '"file_client_args" is deprecated; use "backend_args" only.'
        )
    filename = str(filename)
    if filename.startswith("pavi://"):
        if file_client_args is not None or backend_args is not None:
            raise ValueError(
                "file_client_args and backend_args should be None when filename starts with "
                f'"pavi://", but got {file_client_args or backend_args!r} for {filename!r}.'
            )
        _save_to_pavi(checkpoint, filename)
        return
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    if file_client_args is not None:
        import warnings

        from piston.fileio import FileClient, LocalBackend

        warnings.warn(
            '"file_client_args" will be deprecated in future. Please use "backend_args" instead',
            DeprecationWarning,
            stacklevel=2,
        )
        with warnings.catch_warnings():  # FileClient itself is deprecated: warned once above
            warnings.simplefilter("ignore", DeprecationWarning)
            client = FileClient.infer_client(file_client_args, filename)
        if isinstance(client.client, LocalBackend):
            _write_atomic(data, filename)
        else:
            client.put(data, filename)
        return
    if _is_remote(filename) or backend_args:
        from piston.fileio import get_file_backend

        backend = get_file_backend(filename, backend_args=backend_args or file_client_args)
        if type(backend).__name__ in ("LocalBackend", "HardDiskBackend") and not _is_remote(
            filename
        ):
            _write_atomic(data, filename)
        else:
            backend.put(data, filename)
    else:
        _write_atomic(data, filename)


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


def _load_checkpoint(
    filename: str, map_location: Any = None, logger: Any = None, weights_only: bool | None = None
) -> Any:
    """Load a checkpoint from any supported source (no model involved)."""
    return CheckpointLoader.load_checkpoint(
        filename, map_location, logger if logger is not None else "current", weights_only
    )


def _revise_state_dict(state_dict: dict, revise_keys: list[tuple[str, str]]) -> OrderedDict:
    metadata = getattr(state_dict, "_metadata", OrderedDict())
    state_dict = OrderedDict(state_dict)  # a plain dict (no revise_keys) takes _metadata too
    for pattern, replacement in revise_keys:
        regex = re.compile(pattern)
        state_dict = OrderedDict((regex.sub(replacement, k), v) for k, v in state_dict.items())
    state_dict._metadata = metadata  # type: ignore[attr-defined]
    return state_dict  # type: ignore[return-value]


def _load_checkpoint_to_model(
    model: nn.Module,
    checkpoint: dict,
    strict: bool = False,
    logger: Any = None,
    revise_keys: list[tuple[str, str]] | tuple = ((r"^module\.", ""),),
) -> dict:
    state_dict = checkpoint.get("state_dict", checkpoint)
    state_dict = _revise_state_dict(state_dict, list(revise_keys))
    load_state_dict(model, state_dict, strict, logger)
    return checkpoint


def load_checkpoint(
    model: nn.Module,
    filename: str,
    map_location: Any = None,
    strict: bool = False,
    logger: Any = None,
    revise_keys: list[tuple[str, str]] | tuple = [(r"^module\.", "")],  # noqa: B006 - MMEngine's
    weights_only: bool | None = None,
) -> dict:
    """Load a checkpoint file/URL into ``model`` and return the checkpoint dict."""
    checkpoint = _load_checkpoint(filename, map_location, logger, weights_only)
    if not isinstance(checkpoint, dict):
        raise RuntimeError(f"No state_dict found in checkpoint file {filename}")
    return _load_checkpoint_to_model(model, checkpoint, strict, logger, revise_keys)


def find_latest_checkpoint(path: str) -> str | None:
    """Return the path stored in ``<path>/last_checkpoint``, or None when there is none."""
    save_file = osp.join(str(path), "last_checkpoint")
    if not osp.exists(save_file):
        from piston.logging import print_log

        print_log("Did not find last_checkpoint to be resumed.", logger="current")
        return None
    with open(save_file) as fobj:
        return fobj.read().strip() or None
