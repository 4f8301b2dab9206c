"""Version parsing and git helpers."""

from __future__ import annotations

import os
import re

__all__ = ["digit_version", "get_git_hash"]

_VERSION_RE = re.compile(
    r"^\s*v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|rc|c)[-_.]?(?P<pre_n>\d*))?"
    r"(?:(?:-(?P<post_n1>\d+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d*)))?"
    r"(?:[-_.]?(?P<dev_l>dev)[-_.]?\d*)?"
    r"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?\s*$",
    re.IGNORECASE,
)
_PRE_RANK = {"a": -3, "alpha": -3, "b": -2, "beta": -2, "rc": -1, "c": -1, "pre": -1, "preview": -1}


def digit_version(version_str: str, length: int = 4) -> tuple[int, ...]:
    """Turn a PEP 440 version string into a comparable tuple of ints.

    The release is cut or padded to ``length`` entries, followed by two entries:
    ``(-3|-2|-1, n)`` for an alpha/beta/rc pre-release, ``(-4, 0)`` for a dev release,
    ``(1, n)`` for a post-release and ``(0, 0)`` for a final release. So
    ``'1.0.0dev' < '1.0.0a' < '1.0.0rc1' < '1.0.0' < '1.0.0post1'``.

    Raises:
        AssertionError: If ``version_str`` is not a valid version.

    Example:
        >>> digit_version('2.1.0rc1')
        (2, 1, 0, 0, -1, 1)
    """
    match = _VERSION_RE.match(version_str)
    if match is None:
        raise AssertionError(f"failed to parse version {version_str!r}")
    release = [int(part) for part in match.group("release").split(".")][:length]
    release += [0] * (length - len(release))
    if match.group("pre_l"):
        tail = [_PRE_RANK[match.group("pre_l").lower()], int(match.group("pre_n") or 0)]
    elif match.group("dev_l"):
        tail = [-4, 0]
    elif match.group("post_l") or match.group("post_n1"):
        tail = [1, int(match.group("post_n1") or match.group("post_n2") or 0)]
    else:
        tail = [0, 0]
    return tuple(release + tail)


def _minimal_ext_cmd(cmd: list[str]) -> bytes:
    import subprocess

    env = {key: os.environ[key] for key in ("SYSTEMROOT", "PATH", "HOME") if key in os.environ}
    env.update(LANGUAGE="C", LANG="C", LC_ALL="C")
    return subprocess.check_output(cmd, env=env, stderr=subprocess.DEVNULL)


def get_git_hash(fallback: str = "unknown", digits: int | None = None) -> str:
    """The git commit hash of the current working directory, or ``fallback``.

    Args:
        fallback: Returned when git or a repository is not available.
        digits: Keep only the first ``digits`` characters.
    """
    if digits is not None and not isinstance(digits, int):
        raise TypeError(f"digits must be None or an integer, but got {type(digits)}")
    import subprocess

    try:
        sha = _minimal_ext_cmd(["git", "rev-parse", "HEAD"]).strip().decode("ascii")
    except (OSError, subprocess.SubprocessError):
        return fallback
    return sha[:digits] if digits is not None else sha
