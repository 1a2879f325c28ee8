"""The manipulation supervisor: it clips commands that would leave the safe workspace or push
into the table, halts and backs off upwards after excessive contact force, and drives the arm
home when the task has made no progress while the hand stood still for `stall_steps`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from vla_bench.supervisor.base import Supervisor
from vla_bench.task.base import UNSAFE_CONTACT_FORCE


class ArmControls(Protocol):
    """What the supervisor may read and do on a manipulation env (its `unwrapped`)."""

    @property
    def ee_pos(self) -> np.ndarray: ...

    @property
    def max_translation(self) -> float:
        """Metres the hand moves per control step at a translation command of 1."""

    def commanded_ee_pos(self) -> np.ndarray:
        """Where the next translation command integrates from."""

    def drive_home(self) -> None:
        """Servo the arm back to its home pose with the gripper open."""


@dataclass(frozen=True)
class ManipulationSupervisorConfig:
    workspace_low: tuple[float, float, float] = (0.15, -0.45, 0.0)  # commanded EE position bounds (m)
    workspace_high: tuple[float, float, float] = (0.85, 0.45, 0.55)
    table_clearance: float = 0.008  # lowest commanded EE height: the finger pads stay off the table
    force_limit: float = UNSAFE_CONTACT_FORCE  # newtons, the same limit the collision metric uses
    backoff: float = 0.03  # metres the hand retreats upwards after excessive force
    stall_steps: int = 30  # control steps without progress and without motion before a reset
    stall_motion: float = 0.02  # metres: a hand that travels less than this in the window stands still
    min_clip: float = 0.001  # metres: smaller corrections are rounding, not interventions


class ManipulationSupervisor(Supervisor):
    """Wraps a manipulation env; `info["interventions"]` lists this step's triggers."""

    def __init__(self, env: gym.Env, enabled: bool = True,
                 config: ManipulationSupervisorConfig = ManipulationSupervisorConfig()) -> None:
        super().__init__(env, enabled, config)
        self.arm: ArmControls = env.unwrapped
        self._last_force = 0.0

    def reset(self, **kwargs):
        self._last_force = 0.0
        return super().reset(**kwargs)

    def _intervene(self, action: Any) -> tuple[np.ndarray, list[str]]:
        cfg = self.config
        action = np.array(action, dtype=np.float64)
        reasons: list[str] = []
        if self._last_force > cfg.force_limit:
            reasons.append("force")
            safe = np.zeros(7)
            safe[2] = cfg.backoff / self.arm.max_translation
            safe[6] = action[6]
        else:
            safe, why = self._clip_to_workspace(action)
            reasons += why
        if self.enabled:
            action = safe
        self._check_stall(reasons, self.arm.drive_home)
        return action, reasons

    def _after_step(self, info: dict[str, Any]) -> None:
        self._last_force = info["contact_force"]

    def _position(self) -> np.ndarray:
        return self.arm.ee_pos.copy()

    def _window_motion(self) -> float:
        positions = np.array([pos for _, pos in self._history])
        return float(np.linalg.norm(np.diff(positions, axis=0), axis=1).sum())

    def _clip_to_workspace(self, action: np.ndarray) -> tuple[np.ndarray, list[str]]:
        cfg, scale = self.config, self.arm.max_translation
        start = self.arm.commanded_ee_pos()
        target = start + scale * np.clip(action[:3], -1.0, 1.0)
        low = np.array(cfg.workspace_low)
        low[2] = max(low[2], cfg.table_clearance)
        safe = np.clip(target, low, cfg.workspace_high)
        reasons = []
        if target[2] < safe[2] - cfg.min_clip:
            reasons.append("table")
        if np.any(np.abs((target - safe)[:2]) > cfg.min_clip) or target[2] > safe[2] + cfg.min_clip:
            reasons.append("workspace")
        clipped = action.copy()
        clipped[:3] = (safe - start) / scale
        return clipped, reasons
