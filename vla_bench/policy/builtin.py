"""Built-in reference policies: `random` (the floor) and `oracle` (the scripted expert, the ceiling)."""
from __future__ import annotations

from typing import Any

import numpy as np

from vla_bench.policy.base import Policy, TaskInfo


class RandomPolicy(Policy):
    """Uniformly random actions from the task's action space, seeded per episode."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._episodes = 0

    def reset(self, instruction: str, task: TaskInfo) -> None:
        self._space = task.action_space
        self._space.seed(self.seed + self._episodes)
        self._episodes += 1

    def act(self, observation: dict[str, Any]) -> np.ndarray | int:
        return self._space.sample()


class OraclePolicy(Policy):
    """The task's scripted expert, acting on privileged simulator state."""

    name = "oracle"

    def reset(self, instruction: str, task: TaskInfo) -> None:
        if task.privileged is None:
            raise ValueError("the oracle needs the simulator (TaskInfo.privileged); it cannot run remotely")
        self._expert = task.privileged.make_expert()

    def act(self, observation: dict[str, Any]) -> np.ndarray | int:
        return self._expert.act()
