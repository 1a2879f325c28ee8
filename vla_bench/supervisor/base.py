"""What both domains' supervisors share: the switch, the counts, and a window of recent
(progress, position) for stall detection."""
from __future__ import annotations

from collections import Counter, deque
from typing import Any

import gymnasium as gym
import numpy as np


class Supervisor(gym.Wrapper):
    """Subclasses decide per step which triggers fire (`_triggers`), act on them when enabled,
    and say where the robot is (`_position`)."""

    def __init__(self, env: gym.Env, enabled: bool, config: Any) -> None:
        super().__init__(env)
        self.enabled, self.config = enabled, config
        self.counts: Counter[str] = Counter()
        self._history: deque[tuple[float, np.ndarray]] = deque(maxlen=config.stall_steps)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.counts = Counter()
        self._history.clear()
        info["interventions"] = []
        return obs, info

    def step(self, action):
        action, reasons = self._intervene(action)
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._after_step(info)
        self._history.append((info["progress"], self._position()))
        self.counts.update(reasons)
        info["interventions"] = reasons
        return obs, reward, terminated, truncated, info

    @property
    def intervention_count(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict[str, int]:
        return dict(self.counts)

    def _intervene(self, action: Any) -> tuple[Any, list[str]]:
        """The action to send (changed only when enabled) and the triggers that fired."""
        raise NotImplementedError

    def _after_step(self, info: dict[str, Any]) -> None:
        """Read what the step reported (e.g. contact force)."""

    def _position(self) -> np.ndarray:
        raise NotImplementedError

    def _check_stall(self, reasons: list[str], recover) -> None:
        """Append 'stall' and call `recover` (when enabled) if the robot is stuck: no progress over
        a whole window of `stall_steps` while it moved less than `stall_motion` metres."""
        if len(self._history) < self.config.stall_steps:
            return
        progress = [p for p, _ in self._history]
        if max(progress) <= progress[0] + 1e-3 and self._window_motion() < self.config.stall_motion:
            reasons.append("stall")
            self._history.clear()
            if self.enabled:
                recover()

    def _window_motion(self) -> float:
        """Metres the robot moved over the window (how depends on the domain)."""
        raise NotImplementedError
