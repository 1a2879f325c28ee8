"""Built-in reference policies: `random` (the floor) and `oracle` (the scripted expert, the ceiling)."""
from __future__ import annotations

from typing import Any

import numpy as np

from vla_bench.policy.base import Policy, TaskInfo


class RandomPolicy(Policy):
    """Uniformly random actions, seeded from each episode's seed (the floor)."""

    name = "random"
    action_mode = ("ee_delta", "discrete")
    observation_keys = ()  # it reads none: a run renders no image for it

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def reset(self, instruction: str, task: TaskInfo) -> None:
        self._space = task.action_space
        self._rng = np.random.default_rng([self.seed, task.episode_seed])

    def act(self, observation: dict[str, Any]) -> np.ndarray | int:
        if hasattr(self._space, "n"):
            return int(self._rng.integers(self._space.n))
        low, high = self._space.low, self._space.high
        return self._rng.uniform(low, high).astype(self._space.dtype)


class OraclePolicy(Policy):
    """The task's scripted expert on privileged simulator state (the ceiling)."""

    name = "oracle"
    action_mode = ("ee_delta", "discrete")
    observation_keys = ()  # it reads the simulator, not the observations
    privileged = True

    def __init__(self, missed_grasp: bool = False) -> None:
        self.missed_grasp = missed_grasp  # manipulation: miss the first grasp on purpose, then recover

    def reset(self, instruction: str, task: TaskInfo) -> None:
        if task.privileged is None:
            raise ValueError("the oracle needs the simulator (TaskInfo.privileged); it cannot run remotely")
        missed = {"missed_grasp": True} if self.missed_grasp and task.privileged.domain == "manipulation" else {}
        self._expert = task.privileged.make_expert(**missed)

    def act(self, observation: dict[str, Any]) -> np.ndarray | int:
        return self._expert.act()
