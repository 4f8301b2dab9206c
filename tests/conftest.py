"""Fixtures shared by the whole suite: every test starts from clean global state."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so tests can `from _dist import run_in_processes`


@pytest.fixture(autouse=True)
def _restore_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _no_process_group_left():
    yield
    import torch.distributed as torch_dist

    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


@pytest.fixture(autouse=True)
def _reset_global_instances():
    """Drop ManagerMixin instances (MessageHub, MMLogger, Visualizer, ...) created by a test."""
    yield
    try:
        from piston.utils.manager import _reset_all_instances
    except ImportError:
        return
    _reset_all_instances()
