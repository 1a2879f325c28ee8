"""How hard a robot works and how smoothly it moves: the energy proxy and the jerk of README
"Metrics", measured inside the simulation so every policy is measured the same way."""
from __future__ import annotations

import math
from collections import deque

import mujoco
import numpy as np


class EffortMeter:
    """Steps the physics and sums Σ τ² · dt over the robot's actuators at every physics step: an
    energy proxy (a motor's resistive losses grow with torque squared). The Panda's gravity
    compensation is not an actuator force, so an arm held still costs next to nothing; what is
    counted is the effort of moving, gripping and pushing."""

    def __init__(self, model: mujoco.MjModel, actuators: list[int] | np.ndarray) -> None:
        ids = [int(a) for a in actuators]
        if not ids or ids != list(range(ids[0], ids[0] + len(ids))):
            raise ValueError(f"the metered actuators must be consecutive ids, got {ids}")
        self.model = model
        self.actuators = slice(ids[0], ids[0] + len(ids))  # a view of actuator_force, not a copy per step
        self.energy = 0.0  # N²·m²·s (torques) or N²·s (the gripper's tendon force)

    def step(self, data: mujoco.MjData, nstep: int = 1) -> None:
        """`mujoco.mj_step` `nstep` times, metering after each. This loop runs 50 times per control
        step, so it keeps its Python work to a view read through and local names."""
        model, mj_step, dot = self.model, mujoco.mj_step, np.dot
        dt = model.opt.timestep
        force = data.actuator_force[self.actuators]
        energy = self.energy
        for _ in range(nstep):
            mj_step(model, data)
            energy += float(dot(force, force)) * dt
        self.energy = energy


class JerkMeter:
    """RMS jerk (m/s³) of a point sampled once per control step: the third finite difference of
    its positions over the control period (Flash & Hogan's minimum-jerk measure of smoothness)."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._recent: deque[np.ndarray] = deque(maxlen=4)
        self._sum_squares = 0.0
        self._count = 0

    def add(self, position: np.ndarray) -> None:
        self._recent.append(np.array(position, dtype=np.float64))
        if len(self._recent) == 4:
            p0, p1, p2, p3 = self._recent
            jerk = (p3 - 3 * p2 + 3 * p1 - p0) / self.period**3
            self._sum_squares += float(jerk @ jerk)
            self._count += 1

    @property
    def rms(self) -> float:
        """0 until four positions were seen."""
        return math.sqrt(self._sum_squares / self._count) if self._count else 0.0
