"""The task registry: every task family registers itself here and with Gymnasium."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

import gymnasium

from vla_bench.errors import UnknownName
from vla_bench.task.docs import TaskDoc, parse_task_doc

NAMESPACE = "vla_bench"
BUILTIN_MODULE_PREFIX = "vla_bench."


@dataclass(frozen=True)
class TaskEntry:
    name: str
    domain: str  # "manipulation" or "navigation", from the class
    env_id: str
    max_episode_steps: int
    doc: TaskDoc
    entry_point: str  # "package.module:Class"

    @property
    def description(self) -> str:
        return self.doc.summary

    @property
    def builtin(self) -> bool:
        """Part of the suite (the committed splits cover exactly these), not a user's family."""
        return self.entry_point.startswith(BUILTIN_MODULE_PREFIX)


_TASKS: dict[str, TaskEntry] = {}
T = TypeVar("T", bound=type)


def register_task(name: str, max_episode_steps: int) -> Callable[[T], T]:
    """Class decorator: registers `vla_bench/<name>-v0` with Gymnasium and in `list_tasks()`.

    The class's docstring must follow `vla_bench.task.docs`' layout; its domain comes from the
    class (`ManipulationEnv` and `NavigationEnv` set it).
    """

    def decorate(cls: T) -> T:
        env_id = f"{NAMESPACE}/{name}-v0"
        cls.task_name = name
        cls.max_episode_steps = max_episode_steps
        doc = parse_task_doc(cls)
        entry_point = f"{cls.__module__}:{cls.__qualname__}"
        _TASKS[name] = TaskEntry(name, cls.domain, env_id, max_episode_steps, doc, entry_point)
        # A string entry point, so `env.spec.to_json()` works (classes defined in a function
        # cannot be imported by name: they register the class itself).
        importable = "<locals>" not in cls.__qualname__
        gymnasium.register(id=env_id, entry_point=entry_point if importable else cls,
                           max_episode_steps=max_episode_steps)
        return cls

    return decorate


def list_tasks(domain: str | None = None, builtin_only: bool = False) -> list[str]:
    """Names of the registered tasks, optionally of one domain or only the suite's own, in
    registration order."""
    _load_builtin_tasks()
    return [t.name for t in _TASKS.values()
            if (domain is None or t.domain == domain) and (t.builtin or not builtin_only)]


def task_entry(name: str) -> TaskEntry:
    """The registry entry of a task; the error lists the valid names."""
    _load_builtin_tasks()
    if name not in _TASKS:
        raise UnknownName(f"unknown task {name!r}; valid tasks: {', '.join(_TASKS)}")
    return _TASKS[name]


def _load_builtin_tasks() -> None:
    import vla_bench.envs  # noqa: F401  (importing registers the built-in task families)
