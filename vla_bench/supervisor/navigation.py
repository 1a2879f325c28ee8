"""The navigation supervisor: it blocks a forward command that would bring the base within the
safety distance of a wall or furniture (the robot stays put for that step), and turns a base
that has neither moved nor made progress for `stall_steps` around."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from vla_bench.supervisor.base import Supervisor


class BaseControls(Protocol):
    """What the supervisor may read and do on a navigation env (its `unwrapped`)."""

    action_mode: str  # "discrete" or "continuous"

    @property
    def pose(self) -> tuple[float, float, float]: ...

    def forward_is_blocked(self) -> bool:
        """Whether one forward step would bring the body too close to an obstacle."""

    def hold_next_step(self) -> None:
        """Make the next step keep the robot where it is, whatever the action."""

    def turn_around(self) -> None:
        """Turn the base by 180 degrees."""


@dataclass(frozen=True)
class NavigationSupervisorConfig:
    stall_steps: int = 30  # steps without progress and without motion before the base is turned around
    stall_motion: float = 0.1  # metres: a base that moves less than this in the window stands still
    forward_speed: float = 0.05  # a continuous command faster than this (of 1) drives forward


class NavigationSupervisor(Supervisor):
    """Wraps a navigation env; `info["interventions"]` lists this step's triggers."""

    def __init__(self, env: gym.Env, enabled: bool = True,
                 config: NavigationSupervisorConfig = NavigationSupervisorConfig()) -> None:
        super().__init__(env, enabled, config)
        self.base: BaseControls = env.unwrapped

    def _intervene(self, action: Any) -> tuple[Any, list[str]]:
        reasons: list[str] = []
        blocked = self._drives_forward(action) and self.base.forward_is_blocked()
        if blocked:
            reasons.append("obstacle")
        self._check_stall(reasons, self.base.turn_around)
        if blocked and self.enabled:
            self.base.hold_next_step()  # the step still happens (and counts towards the time limit), without motion
        return action, reasons

    def _position(self) -> np.ndarray:
        return np.array(self.base.pose[:2])

    def _window_motion(self) -> float:
        return float(np.linalg.norm(self._history[-1][1] - self._history[0][1]))

    def _drives_forward(self, action: Any) -> bool:
        if self.base.action_mode == "discrete":
            return int(action) == 1
        return float(np.asarray(action)[0]) > self.config.forward_speed
