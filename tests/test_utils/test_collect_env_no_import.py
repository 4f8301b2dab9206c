"""collect_env runs at every Runner start: it must not import torchvision to read its version."""

from __future__ import annotations

import subprocess
import sys


def test_collect_env_reads_torchvision_version_without_importing_it():
    code = (
        "import sys; from piston.utils.dl_utils import collect_env; env = collect_env(); "
        "print(env.get('TorchVision'), 'torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    version, imported = out.stdout.split()
    assert imported == "False"
    assert version[0].isdigit()
