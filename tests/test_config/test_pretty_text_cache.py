"""``Config.pretty_text`` formats a given content with yapf once; changes are seen."""

from __future__ import annotations

import uuid

import pytest

from piston.config import Config

yapf_api = pytest.importorskip("yapf.yapflib.yapf_api")


def test_repeated_pretty_text_formats_once_and_follows_changes(monkeypatch) -> None:
    calls = []
    format_code = yapf_api.FormatCode

    def counting(*args, **kwargs):
        calls.append(1)
        return format_code(*args, **kwargs)

    monkeypatch.setattr(yapf_api, "FormatCode", counting)
    tag = uuid.uuid4().hex  # content no other test formatted before
    cfg = Config(dict(model=dict(type="Net", tag=tag), train_cfg=dict(max_epochs=3)))
    first = cfg.pretty_text
    assert cfg.pretty_text == first
    assert Config(cfg.to_dict()).pretty_text == first  # same content, other object
    assert len(calls) == 1

    cfg.merge_from_dict({"train_cfg.max_epochs": 7})
    changed = cfg.pretty_text
    assert len(calls) == 2
    assert "max_epochs=7" in changed.replace(" ", "")
    assert changed != first
    cfg.train_cfg.max_epochs = 3  # back to the first content: the cached text again
    assert cfg.pretty_text == first
    assert len(calls) == 2
