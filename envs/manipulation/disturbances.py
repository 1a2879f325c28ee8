"""The tabletop's disturbances (`vla_bench.task.disturbance`), applied in the physics:

- `displace_target`: when the hand comes within REACH of the target, the target slides away
  by the magnitude (a pose change on the table, to a spot where it touches nothing but the table,
  near the area the task's targets start in);
- `knock_out`: when the target is held and lifted, it is knocked sideways out of the gripper by
  the magnitude and lands on the table there (a pose change; it falls the last millimetres);
- `push_arm`: a horizontal force of the magnitude on the hand for PUSH_SECONDS.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import mujoco
import numpy as np

from vla_bench.envs.manipulation.sampling import WORKSPACE_X, WORKSPACE_Y
from vla_bench.task.disturbance import DisturbanceEvent, DisturbanceSpec

if TYPE_CHECKING:
    from vla_bench.envs.manipulation.env import ManipulationEnv

REACH = 0.07  # metres from the hand to the target's centre that set off displace_target
LIFTED = 0.03  # a held target this high above the table can be knocked out
PUSH_SECONDS = 0.3
HAND = "panda_hand"
AREA_MARGIN = 0.1  # metres around the task's start area that a displaced target may land in
DIRECTIONS = 16  # a blocked direction is turned by 1/16 of a turn until one is free


def displace_target(env: "ManipulationEnv", spec: DisturbanceSpec, step: int) -> DisturbanceEvent | None:
    if np.linalg.norm(env.ee_pos - env.object_pos("target")) > REACH or env.is_grasped("target"):
        return None
    return _move_target(env, spec, step, onto_table=False)


def knock_out(env: "ManipulationEnv", spec: DisturbanceSpec, step: int) -> DisturbanceEvent | None:
    if not env.is_grasped("target") or env.object_bottom("target") < LIFTED:
        return None
    return _move_target(env, spec, step, onto_table=True)


def _move_target(env: "ManipulationEnv", spec: DisturbanceSpec, step: int, onto_table: bool) -> DisturbanceEvent:
    """Move the target by the magnitude, at rest (onto the table when `onto_table`), along the
    direction nearest the drawn one where it lands near the area targets start in (AREA_MARGIN
    around it, inside the workspace) touching nothing but the table: not the fingers, not another
    object (MuJoCo's own contacts decide). If no direction is free, the drawn one."""
    before = env.object_pos("target").copy()
    body = env.model.body("target").id
    adr = env.model.jnt_qposadr[env.model.body_jntadr[body]]
    dof = env.model.jnt_dofadr[env.model.body_jntadr[body]]
    start = env.data.qpos[adr:adr + 7].copy()
    drop = env.object_bottom("target") - 0.002 if onto_table else 0.0
    for shift in [*_shifts_inside(env, before[:2], spec.magnitude, spec.direction), None]:
        if shift is None:  # none free: the drawn direction
            shift = spec.magnitude * np.array([np.cos(spec.direction), np.sin(spec.direction)])
        env.data.qpos[adr:adr + 7] = start
        env.data.qpos[adr:adr + 2] += shift
        env.data.qpos[adr + 2] -= drop
        env.data.qvel[dof:dof + 6] = 0.0
        mujoco.mj_forward(env.model, env.data)
        if env.touching_bodies("target") <= {0}:  # the world's geoms: the table
            break
    return DisturbanceEvent(spec.kind, step, float(env.data.time), "target", tuple(before),
                            tuple(env.object_pos("target")))


def _shifts_inside(env: "ManipulationEnv", start: np.ndarray, distance: float, direction: float) -> list[np.ndarray]:
    """Horizontal shifts of `distance`, nearest to `direction` first, that keep the target's
    footprint inside the area it may land in."""
    x0, x1, y0, y1 = env.placement_area("target", env.layout.extras)
    x0, x1 = max(x0 - AREA_MARGIN, WORKSPACE_X[0]), min(x1 + AREA_MARGIN, WORKSPACE_X[1])
    y0, y1 = max(y0 - AREA_MARGIN, WORKSPACE_Y[0]), min(y1 + AREA_MARGIN, WORKSPACE_Y[1])
    radius = float(np.hypot(*env.object_half_extents("target")[:2]))
    shifts = []
    for k in range(DIRECTIONS):
        for sign in (1, -1) if k else (1,):
            angle = direction + sign * k * 2 * np.pi / DIRECTIONS
            shift = distance * np.array([np.cos(angle), np.sin(angle)])
            x, y = start + shift
            if x0 + radius <= x <= x1 - radius and y0 + radius <= y <= y1 - radius:
                shifts.append(shift)
    return shifts


class ArmPush:
    """push_arm: a horizontal force on the hand for PUSH_SECONDS; the event's `after` is where
    the hand was when the push ended."""

    def __init__(self, env: "ManipulationEnv", spec: DisturbanceSpec, step: int) -> None:
        self.env, self.spec, self.step = env, spec, step
        self.hand = env.model.body(HAND).id
        self.until = float(env.data.time) + PUSH_SECONDS
        self.before = env.ee_pos.copy()
        env.data.xfrc_applied[self.hand, :3] = spec.magnitude * np.array([np.cos(spec.direction),
                                                                          np.sin(spec.direction), 0.0])

    def event(self) -> DisturbanceEvent:
        return DisturbanceEvent(self.spec.kind, self.step, self.until - PUSH_SECONDS, "hand", tuple(self.before),
                                tuple(self.env.ee_pos))

    def update(self) -> bool:
        """Before a control step: end the push once its time is up; whether it still pushes."""
        if self.env.data.time < self.until - 1e-9:
            return True
        self.env.data.xfrc_applied[self.hand] = 0.0
        return False
