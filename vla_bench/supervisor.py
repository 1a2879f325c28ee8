"""The safety supervisor: a stand-in for the human who would watch a real robot.

It sits between the policy and the environment (a Gymnasium wrapper) and steps in when a
command would leave the safe workspace or push into the table (it clips the command), when
the last step's contact force passed the limit (it halts and backs off upwards), or when the
task has made no progress while the hand stood still for `stall_steps` (it drives the arm
home). Each trigger is one intervention, logged with its reason. Disabled, it only observes:
it counts what it would have done and changes nothing.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from vla_bench.envs.manipulation.env import CONTACT_FORCE_LIMIT

REASONS = ("workspace", "table", "force", "stall")


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


class SafetySupervisor(gym.Wrapper):
    """Wraps a manipulation env; `info["interventions"]` lists this step's triggers."""

    def __init__(self, env: gym.Env, enabled: bool = True, config: SupervisorConfig = SupervisorConfig()) -> None:
        super().__init__(env)
        self.enabled, self.config = enabled, config
        self.counts: Counter[str] = Counter()

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.counts = Counter()
        self._history: deque[tuple[float, np.ndarray]] = deque(maxlen=self.config.stall_steps)
        self._last_force = 0.0
        info["interventions"] = []
        return obs, info

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

    @property
    def intervention_count(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict[str, Any]:
        return dict(self.counts)
