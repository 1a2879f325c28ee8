"""What every task shares, whatever its domain: the base env, the registry, the docstring layout,
factor sampling and the instruction space."""
from vla_bench.task.base import InvalidEpisode, SimulationUnstable, TaskEnv
from vla_bench.task.registry import list_tasks, register_task, task_entry

__all__ = ["InvalidEpisode", "SimulationUnstable", "TaskEnv", "list_tasks", "register_task", "task_entry"]
