"""Real-time evaluation (`vla-bench run --realtime`): simulated time runs on while the policy thinks.

In synchronous mode the world waits for every `act`. On a robot it does not: a call that takes
longer than a control period lets periods pass, and the robot keeps executing what it had, the
rest of its last action chunk and then its last command. Here each call's latency (measured:
the in-process call, the batch it waited for, or the network round trip; plus `--latency-ms`)
becomes `floor(latency / period)` late steps executed that way, and the new chunk starts where
the clock now is: its first actions, meant for the steps that passed, are dropped (as naive
asynchronous chunk execution does; at least its last action is kept). The period is the task's
nominal control period, 1 / the env's `render_fps` (manipulation 0.1 s, a navigation move 1 s).
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

OPEN_GRIPPER = 1.0
STOP = 0  # navigation's stop action ends the episode: never repeated as a held command


def control_period(env: gym.Env) -> float:
    """Seconds of simulated time one control step stands for."""
    return 1.0 / float(env.metadata.get("render_fps") or env.unwrapped.metadata["render_fps"])


def late_steps(latency_s: float, period_s: float) -> int:
    """Control steps that pass before a command computed in `latency_s` takes effect."""
    return int(latency_s / period_s + 1e-9)  # floor, without 0.3 // 0.1 == 2.0


def held_action(previous: Any, space: gym.Space) -> Any:
    """What the robot executes while it waits: its last command. Before its first one, a
    manipulator stands still with the gripper open; a mobile base has no command to hold
    (None: it waits without moving), nor does one whose last command was stop."""
    if isinstance(space, gym.spaces.Discrete):
        return None if previous is None or previous == STOP else previous
    if previous is None:
        action = np.zeros(space.shape, dtype=np.float64)
        action[-1] = OPEN_GRIPPER
        return action
    return previous


def start_late(chunk: list, late: int) -> list:
    """A new chunk once `late` steps have passed: the actions meant for them are dropped, the last kept."""
    return chunk[min(late, len(chunk) - 1):]
