"""Checkpoint I/O: loading by URL scheme, state-dict helpers and atomic saving.

Design notes (DESIGN.md §4):

* Writes are atomic. A local checkpoint is serialised in memory, written to a temporary file in
  the target folder, flushed and fsynced, then ``os.replace``-d over the final name; the folder
  is fsynced too. A crash at any point leaves the previous file intact. Remote targets (any
  ``scheme://``) go through ``piston.fileio`` ``put``, whose backends replace objects whole.
* Reading (safe unpickling, ``CheckpointLoader`` and its URL-scheme loaders) lives in
  ``_loaders.py``; this module re-exports its public names.
"""

from __future__ import annotations

import io
import os
import os.path as osp
import re
import tempfile
from collections import OrderedDict
from typing import Any

import torch
import torch.nn as nn

from ._loaders import (  # noqa: F401 - re-exported: checkpoint.py is their public home
    DEFAULT_CACHE_DIR,
    CheckpointLoader,
    _is_remote,
    _load_json_table,
    _MMEngineUnpickler,
    _pavi_modelcloud,
    _piston_home,
    _safe_globals,
    _save_to_pavi,
    _torch_home_checkpoints,
    _weights_only_default,
    get_deprecated_model_names,
    get_external_models,
    get_mmcls_models,
    get_torchvision_models,
    load_from_bytes,
    load_from_ceph,
    load_from_http,
    load_from_local,
    load_from_mmcls,
    load_from_openmmlab,
    load_from_pavi,
    load_from_torchvision,
)

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
