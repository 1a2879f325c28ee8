"""The task registry: every task family registers itself here and with Gymnasium."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

import gymnasium

from vla_bench.errors import UnknownName

NAMESPACE = "vla_bench"


@dataclass(frozen=True)
class TaskEntry:
    name: str
    domain: str  # "manipulation" or "navigation"
    env_id: str
    max_episode_steps: int
    description: str


_TASKS: dict[str, TaskEntry] = {}
T = TypeVar("T", bound=type)


def register_task(name: str, domain: str, max_episode_steps: int) -> Callable[[T], T]:
    """Class decorator: registers `vla_bench/<name>-v0` with Gymnasium and in `list_tasks()`."""

    def decorate(cls: T) -> T:
        env_id = f"{NAMESPACE}/{name}-v0"
        cls.task_name = name
        cls.max_episode_steps = max_episode_steps
        description = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        _TASKS[name] = TaskEntry(name, domain, env_id, max_episode_steps, description)
        gymnasium.register(id=env_id, entry_point=cls, max_episode_steps=max_episode_steps)
        return cls

    return decorate


def list_tasks(domain: str | None = None) -> list[str]:
    """Names of the registered tasks, optionally of one domain, in registration order."""
    _load_builtin_tasks()
    return [t.name for t in _TASKS.values() if domain is None or t.domain == domain]


def task_entry(name: str) -> TaskEntry:
    """The registry entry of a task; the error lists the valid names."""
    _load_builtin_tasks()
    if name not in _TASKS:
        raise UnknownName(f"unknown task {name!r}; valid tasks: {', '.join(_TASKS)}")
    return _TASKS[name]


def _load_builtin_tasks() -> None:
    import vla_bench.envs  # noqa: F401  (importing registers the built-in task families)
