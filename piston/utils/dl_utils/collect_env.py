"""``collect_env``: a description of the running environment for logs and bug reports."""

from __future__ import annotations

import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
from collections import OrderedDict, defaultdict

import numpy as np
import torch

__all__ = ["collect_env"]


def _cuda_home() -> str | None:
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            return os.environ[var]
    nvcc = shutil.which("nvcc")
    if nvcc:
        return osp.dirname(osp.dirname(nvcc))
    return "/usr/local/cuda" if osp.isdir("/usr/local/cuda") else None


def _run(cmd: list[str]) -> str:
    out = subprocess.check_output(cmd, stderr=subprocess.STDOUT, timeout=10)
    return out.decode("utf-8", errors="replace").strip()


def _nvcc_version(cuda_home: str | None) -> str:
    if not cuda_home or not osp.isdir(cuda_home):
        return "Not Available"
    nvcc = osp.join(cuda_home, "bin", "nvcc")
    try:
        lines = _run([nvcc, "-V"]).split("\n")
    except (OSError, subprocess.SubprocessError):
        return "Not Available"
    return lines[-2] if len(lines) >= 2 else lines[-1]


def _compiler_version() -> tuple[str, str]:
    if sys.platform == "win32":
        return "MSVC", "n/a"
    compiler = sysconfig.get_config_var("CC") or "gcc"
    try:
        first_line = _run([compiler.split()[0], "--version"]).split("\n")[0]
    except (OSError, subprocess.SubprocessError):
        first_line = "n/a"
    return "GCC", first_line


def collect_env() -> OrderedDict:
    """Describe the platform, Python, devices, compilers and library versions.

    Returns:
        Ordered mapping with keys ``sys.platform``, ``Python``, ``CUDA available``,
        ``MUSA available``, ``numpy_random_seed``, ``GPU <ids>`` (one per device name),
        ``CUDA_HOME``/``NVCC`` (with CUDA), ``GCC`` (or ``MSVC``), ``PyTorch``,
        ``PyTorch compiling details``, ``TorchVision``/``OpenCV`` (when installed), ``piston``.
    """
    env_info: OrderedDict = OrderedDict()
    env_info["sys.platform"] = sys.platform
    env_info["Python"] = sys.version.replace("\n", "")

    cuda_available = torch.cuda.is_available()
    musa = getattr(torch, "musa", None)
    musa_available = bool(musa is not None and getattr(musa, "is_available", lambda: False)())
    env_info["CUDA available"] = cuda_available
    env_info["MUSA available"] = musa_available
    env_info["numpy_random_seed"] = int(np.random.get_state()[1][0])

    if cuda_available:
        devices: defaultdict[str, list[str]] = defaultdict(list)
        for index in range(torch.cuda.device_count()):
            devices[torch.cuda.get_device_name(index)].append(str(index))
        for name, ids in devices.items():
            env_info["GPU " + ",".join(ids)] = name
        cuda_home = _cuda_home()
        env_info["CUDA_HOME"] = cuda_home
        env_info["NVCC"] = _nvcc_version(cuda_home)
    elif musa_available:
        for index in range(musa.device_count()):
            env_info[f"GPU {index}"] = musa.get_device_name(index)

    compiler_name, compiler_version = _compiler_version()
    env_info[compiler_name] = compiler_version

    env_info["PyTorch"] = torch.__version__
    try:
        env_info["PyTorch compiling details"] = torch.__config__.show()
    except Exception:  # pragma: no cover - exotic builds
        env_info["PyTorch compiling details"] = "n/a"

    # Read the version from the installed metadata: importing torchvision costs seconds, and
    # the runner collects this banner at every start.
    torchvision_version = _dist_version("torchvision")
    if torchvision_version is not None:
        env_info["TorchVision"] = torchvision_version
    opencv_version = _dist_version(
        "opencv-python",
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
    )
    if opencv_version is not None:
        env_info["OpenCV"] = opencv_version

    import piston

    env_info["piston"] = piston.__version__
    return env_info


def _dist_version(*names: str) -> str | None:
    """Version of the first installed distribution among ``names``, without importing it."""
    from importlib import metadata

    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None
