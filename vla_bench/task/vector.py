"""Vector envs of the benchmark's tasks that also work in a process that has rendered.

`gymnasium.make_vec(id, vectorization_mode="async")` starts its workers with the process's
default multiprocessing start method, which is fork on Linux before Python 3.14. A fork of a
process that holds an OpenGL context (it has rendered a task, or stepped one: observations are
renders) copies the GL driver's state but not the driver's threads (Mesa's llvmpipe rasterizer
threads, under EGL and OSMesa alike), so each worker waits forever for them the first time it
makes a context. Spawned workers start with no GL state. `make_vec` is `gymnasium.make_vec` with
that one change; like any spawn user, a script calling it needs the `if __name__ == "__main__":`
guard.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym

from vla_bench.task.registry import task_entry

WORKER_START_METHOD = "spawn"  # as the runner's and the data collector's workers


def make_vec(task: str, num_envs: int, mode: str = "async", vector_kwargs: dict[str, Any] | None = None,
             **kwargs: Any) -> gym.vector.VectorEnv:
    """`gymnasium.make_vec` for a task name (or env id) whose async workers are spawned, not
    forked, so it works whatever this process rendered before; `vector_kwargs` and `kwargs`
    (the env's arguments) pass through, and a `context` in `vector_kwargs` wins."""
    env_id = task if "/" in task else task_entry(task).env_id
    if gym.VectorizeMode(mode) is gym.VectorizeMode.ASYNC:
        vector_kwargs = {"context": WORKER_START_METHOD, **(vector_kwargs or {})}
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, vector_kwargs=vector_kwargs, **kwargs)
