import gymnasium as gym
import pytest

import vla_bench
from vla_bench.task.registry import task_entry

MANIPULATION_TASKS = vla_bench.list_tasks(domain="manipulation", builtin_only=True)


@pytest.fixture
def make_env():
    """Build a registered task's env by name; closed after the test."""
    envs = []

    def make(task: str, **kwargs):
        env = gym.make(task_entry(task).env_id, **kwargs)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()
