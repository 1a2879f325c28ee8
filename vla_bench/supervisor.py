"""The safety supervisor: a stand-in for the human who would watch a real robot.

It sits between the policy and the environment (a Gymnasium wrapper). For manipulation it steps
in when a command would leave the safe workspace or push into the table (it clips the command),
when the last step's contact force passed the limit (it halts and backs off upwards), or when
the task has made no progress while the hand stood still for `stall_steps` (it drives the arm
home). For navigation it blocks a forward command that would bring the base within the safety
distance of a wall or furniture (the robot stays put for that step), and turns a base that has
neither moved nor made progress for `stall_steps` around. Each trigger is one intervention,
logged with its reason. Disabled, it only observes: it counts what it would have done and
changes nothing. `supervise(env)` picks the supervisor for the env's domain.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from vla_bench.envs.manipulation.env import CONTACT_FORCE_LIMIT

REASONS = ("workspace", "table", "force", "stall", "obstacle")


@dataclass(frozen=True)
class SupervisorConfig:
    workspace_low: tuple[float, float, float] = (0.15, -0.45, 0.0)  # commanded EE position bounds (m)
    workspace_high: tuple[float, float, float] = (0.85, 0.45, 0.55)
    table_clearance: float = 0.008  # lowest commanded EE height: the finger pads stay off the table
    force_limit: float = CONTACT_FORCE_LIMIT  # newtons, the same limit the collision metric uses
    backoff: float = 0.03  # metres the hand retreats upwards after excessive force
    stall_steps: int = 30  # control steps without progress and without motion before a reset
    stall_motion: float = 0.02  # metres: a hand that travels less than this in the window stands still
    min_clip: float = 0.001  # metres: smaller corrections are rounding, not interventions


class _Supervisor(gym.Wrapper):
    """What both supervisors share: the switch, the counts, and a window of (progress, position)."""

    def __init__(self, env: gym.Env, enabled: bool, config) -> None:
        super().__init__(env)
        self.enabled, self.config = enabled, config
        self.counts: Counter[str] = Counter()

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.counts = Counter()
        self._history: deque[tuple[float, np.ndarray]] = deque(maxlen=self.config.stall_steps)
        info["interventions"] = []
        return obs, info

    @property
    def intervention_count(self) -> int:
        return sum(self.counts.values())


class SafetySupervisor(_Supervisor):
    """Wraps a manipulation env; `info["interventions"]` lists this step's triggers."""

    def __init__(self, env: gym.Env, enabled: bool = True, config: SupervisorConfig = SupervisorConfig()) -> None:
        super().__init__(env, enabled, config)
        self._last_force = 0.0

    def reset(self, **kwargs):
        self._last_force = 0.0
        return super().reset(**kwargs)

    def step(self, action):
        base, cfg = self.env.unwrapped, self.config
        action = np.array(action, dtype=np.float64)
        reasons: list[str] = []
        if self._last_force > cfg.force_limit:
            reasons.append("force")
            safe = np.zeros(7)
            safe[2] = cfg.backoff / base.controller_config.max_translation
            safe[6] = action[6]
            if self.enabled:
                action = safe
        else:
            clipped, why = self._clip_to_workspace(base, action)
            reasons += why
            if self.enabled:
                action = clipped
        if self._stalled():
            reasons.append("stall")
            self._history.clear()
            if self.enabled:
                base.drive_home()
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._last_force = info["contact_force"]
        self._history.append((info["progress"], base.ee_pos.copy()))
        self.counts.update(reasons)
        info["interventions"] = reasons
        return obs, reward, terminated, truncated, info

    def _clip_to_workspace(self, base, action: np.ndarray) -> tuple[np.ndarray, list[str]]:
        cfg, scale = self.config, base.controller_config.max_translation
        start = base.commanded_ee_pos()
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

    def _stalled(self) -> bool:
        if len(self._history) < self.config.stall_steps:
            return False
        progress = [p for p, _ in self._history]
        positions = np.array([pos for _, pos in self._history])
        no_progress = max(progress) <= progress[0] + 1e-3
        still = np.linalg.norm(np.diff(positions, axis=0), axis=1).sum() < self.config.stall_motion
        return bool(no_progress and still)

    def summary(self) -> dict[str, Any]:
        return dict(self.counts)


@dataclass(frozen=True)
class NavigationSupervisorConfig:
    stall_steps: int = 30  # steps without progress and without motion before the base is turned around
    stall_motion: float = 0.1  # metres: a base that moves less than this in the window stands still


class NavigationSupervisor(_Supervisor):
    """Wraps a navigation env; `info["interventions"]` lists this step's triggers."""

    def __init__(self, env: gym.Env, enabled: bool = True,
                 config: NavigationSupervisorConfig = NavigationSupervisorConfig()) -> None:
        super().__init__(env, enabled, config)

    def step(self, action):
        base = self.env.unwrapped
        reasons: list[str] = []
        if self._drives_forward(base, action) and base.forward_is_blocked():
            reasons.append("obstacle")
        if self._stalled():
            reasons.append("stall")
            self._history.clear()
            if self.enabled:
                base.turn_around()
        if "obstacle" in reasons and self.enabled:
            base.hold_next_step()  # the step still happens (and counts towards the time limit), without motion
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._history.append((info["progress"], np.array(base.pose[:2])))
        self.counts.update(reasons)
        info["interventions"] = reasons
        return obs, reward, terminated, truncated, info

    @staticmethod
    def _drives_forward(base, action) -> bool:
        if base.action_mode == "discrete":
            return int(action) == 1
        return float(np.asarray(action)[0]) > 0.05

    def _stalled(self) -> bool:
        if len(self._history) < self.config.stall_steps:
            return False
        progress = [p for p, _ in self._history]
        moved = float(np.linalg.norm(self._history[-1][1] - self._history[0][1]))
        return bool(max(progress) <= progress[0] + 1e-3 and moved < self.config.stall_motion)


def supervise(env: gym.Env, enabled: bool = True) -> gym.Wrapper:
    """The safety supervisor for the env's domain."""
    if getattr(env.unwrapped, "domain", "manipulation") == "navigation":
        return NavigationSupervisor(env, enabled)
    return SafetySupervisor(env, enabled)
