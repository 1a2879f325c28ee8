"""The policy adapter: what any policy (a researcher's model, a baseline, a remote server) implements."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

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
    episode_seed: int = 0  # for policies that sample: seed from this, so results do not depend on order
    episode_id: str = ""  # batched policies key per-episode state by it (observations carry it too)
    privileged: Any = None  # the simulator itself; given only to policies that declare `privileged = True`


class Policy:
    """Base class of every policy. Override `act`; override `reset` if the policy keeps state.

    Declarations the runner checks before an evaluation starts:
    - `observation_keys`: the observation entries the policy reads (None: it copes with any), or
      a dict of them per domain for a policy that acts in both; a run's envs produce only these
      (and the instruction and proprio, which the runner reads), so no unread camera is rendered;
    - `action_mode`: "ee_delta" (the 7-D manipulation action) or "discrete" (navigation), or a
      tuple of both for a policy that acts in either;
    - `privileged`: True only for scripted experts that read simulator state.
    A policy that loads weights sets `checkpoint_path`; run.json records the file's SHA-256, and
    the parameters of the PyTorch modules it holds (or its `num_parameters`). A stand-in for a
    model in another process (a server's client) sets `runs_elsewhere`: its memory is not the model's.
    `act_batch` lets one model (e.g. on a GPU) serve the episodes of all workers at once; a
    policy that overrides it is run that way, and must give what `act` would for each.
    """

    name: str = "policy"
    observation_keys: ClassVar[tuple[str, ...] | dict[str, tuple[str, ...]] | None] = None
    action_mode: ClassVar[str | tuple[str, ...]] = "ee_delta"
    privileged: ClassVar[bool] = False
    checkpoint_path: Path | None = None
    runs_elsewhere: ClassVar[bool] = False

    def reset(self, instruction: str, task: TaskInfo) -> None:
        """Called at the start of each episode."""

    def act(self, observation: dict[str, Any]) -> np.ndarray | int:
        raise NotImplementedError

    def act_batch(self, observations: list[dict[str, Any]]) -> list[np.ndarray | int]:
        return [self.act(obs) for obs in observations]

    def batches(self) -> bool:
        """Whether this policy is served centrally through its own `act_batch` (by default:
        whether it overrides it); an instance may decide, e.g. only when it runs on a GPU."""
        return type(self).act_batch is not Policy.act_batch
