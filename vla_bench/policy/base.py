"""The policy adapter: what any policy (a researcher's model, a baseline, a remote server) implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np


@dataclass(frozen=True)
class TaskInfo:
    """What a policy may know about the episode besides its observations."""

    task: str
    domain: str
    observation_space: gym.spaces.Dict
    action_space: gym.Space
    max_episode_steps: int
    privileged: Any = None  # the simulator itself; only scripted experts (the oracle) read it


class Policy:
    """Base class of every policy. Override `act`; override `reset` if the policy keeps state.

    `act_batch` exists so that a model on a GPU can serve many episodes at once; its default
    calls `act` on each observation.
    """

    name: str = "policy"

    def reset(self, instruction: str, task: TaskInfo) -> None:
        """Called at the start of each episode."""

    def act(self, observation: dict[str, Any]) -> np.ndarray | int:
        raise NotImplementedError

    def act_batch(self, observations: list[dict[str, Any]]) -> list[np.ndarray | int]:
        return [self.act(obs) for obs in observations]
