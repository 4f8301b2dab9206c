"""``load_url``: load a checkpoint from a URL through the local cache.

A file already in the cache is loaded without touching the network, so tests (and offline
machines) work with pre-placed files.
"""

from __future__ import annotations

import os
import os.path as osp
import re
from typing import Any
from urllib.parse import urlparse

import torch
import torch.hub

__all__ = ["load_url"]

_HASH_PREFIX = re.compile(r"-([a-f0-9]*)\.")


def load_url(
    url: str,
    model_dir: str | None = None,
    map_location: Any = None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: str | None = None,
    weights_only: bool = True,
) -> Any:
    """Download ``url`` into ``model_dir`` (once) and ``torch.load`` it.

    Args:
        url: URL of the checkpoint.
        model_dir: Cache folder; default ``<torch.hub.get_dir()>/checkpoints``
            (``$TORCH_HOME/hub/checkpoints``), the folder torch hub and torchvision use.
        map_location: Passed to ``torch.load``.
        progress: Show a download progress bar.
        check_hash: Verify the hash prefix in the file name (``name-<sha256 prefix>.ext``).
        file_name: Name of the cached file; default the URL's last path component.
        weights_only: Passed to ``torch.load``; a full unpickle is an explicit opt-in.
    """
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or osp.basename(urlparse(url).path)
    cached_file = osp.join(model_dir, filename)
    if not osp.exists(cached_file):
        from torch.hub import download_url_to_file

        hash_prefix = None
        if check_hash:
            match = _HASH_PREFIX.search(filename)
            hash_prefix = match.group(1) if match else None
        download_url_to_file(url, cached_file, hash_prefix, progress=progress)
    return torch.load(cached_file, map_location=map_location, weights_only=weights_only)
