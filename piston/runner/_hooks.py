"""Hook registration for the Runner: building, priority-ordered insertion, dispatch lists.

``stage_hook_lists`` is what makes ``call_hook`` cheap (DESIGN.md §3): for every stage it keeps
only the hooks that override it (``Hook.get_triggered_stages()``, plus stage methods set on the
instance), and the Runner rebuilds it whenever a hook is registered.
"""

from __future__ import annotations

from typing import Any

from .priority import Priority, get_priority

__all__ = [
    "DEFAULT_HOOKS",
    "build_hook",
    "default_hook_configs",
    "hooks_info",
    "insert_hook",
    "stage_hook_lists",
]

DEFAULT_HOOKS = (
    ("runtime_info", dict(type="RuntimeInfoHook")),
    ("timer", dict(type="IterTimerHook")),
    ("sampler_seed", dict(type="DistSamplerSeedHook")),
    ("logger", dict(type="LoggerHook")),
    ("param_scheduler", dict(type="ParamSchedulerHook")),
    ("checkpoint", dict(type="CheckpointHook", interval=1)),
)


def build_hook(hook: Any, priority: int | str | Priority | None = None) -> Any:
    """A Hook object from a Hook or config; explicit priority > config priority > class's."""
    from piston.hooks import Hook
    from piston.registry import HOOKS

    if not isinstance(hook, (Hook, dict)):
        raise TypeError(f"hook should be an instance of Hook or dict, but got {hook}")
    hook_priority = None
    if isinstance(hook, dict):
        hook = dict(hook)
        hook_priority = hook.pop("priority", None)
        hook = HOOKS.build(hook)
    if priority is not None:
        hook_priority = priority
    if hook_priority is not None:
        hook.priority = hook_priority
    get_priority(hook.priority)  # validate now, not when the hook first runs
    return hook


def insert_hook(hooks: list, hook: Any) -> None:
    """Insert after the last hook whose priority value is <= the new hook's (stable)."""
    value = get_priority(hook.priority)
    index = len(hooks)
    while index > 0 and get_priority(hooks[index - 1].priority) > value:
        index -= 1
    hooks.insert(index, hook)


def default_hook_configs(overrides: dict | None, named: bool = False) -> list:
    """The default hooks updated by the user's ``default_hooks`` (hooks.md §2); with ``named``,
    ``(name, hook)`` pairs."""
    configs: dict[str, Any] = {name: dict(cfg) for name, cfg in DEFAULT_HOOKS}
    for name, hook in (overrides or {}).items():
        if name in configs and hook is None:
            configs[name] = None
            continue
        if hook is None:
            raise AssertionError(
                f"{name} should not be None: only the default hooks "
                f"{[n for n, _ in DEFAULT_HOOKS]} can be removed with None."
            )
        configs[name] = hook
    if named:
        return [(name, hook) for name, hook in configs.items() if hook is not None]
    return [hook for hook in configs.values() if hook is not None]


def stage_hook_lists(hooks: list) -> dict[str, list]:
    """For each stage, the hooks (in order) that override it."""
    from piston.hooks import Hook

    stages = set(Hook.stages)
    lists: dict[str, list] = {stage: [] for stage in Hook.stages}
    for hook in hooks:
        triggered = set(hook.get_triggered_stages()) | (set(vars(hook)) & stages)
        for stage in lists:
            if stage in triggered:
                lists[stage].append(hook)
    return lists


def hooks_info(hooks: list) -> str:
    """The per-stage table logged as ``Hooks will be executed in the following order:``."""
    from piston.hooks import Hook

    stage_infos: dict[str, list[str]] = {stage: [] for stage in Hook.stages}
    for hook in hooks:
        try:
            priority: Any = Priority(get_priority(hook.priority)).name
        except ValueError:
            priority = hook.priority
        info = f"({priority:<12}) {hook.__class__.__name__:<35}"
        for stage in hook.get_triggered_stages():
            stage_infos.setdefault(stage, []).append(info)
    blocks = [
        f"{stage}:\n" + "\n".join(infos) + "\n -------------------- "
        for stage, infos in stage_infos.items()
        if infos
    ]
    return "\n".join(blocks)
