"""The scripted expert: motion primitives over privileged state, driven by a waypoint follower.

A task's `expert_plan()` is a generator of `Waypoint`s built from the primitives below. The
follower steers the end effector to each waypoint with the same 7-D action a policy sends;
the generator resumes once a waypoint is reached, so later waypoints read the live state
(where the object actually is after the grasp, how far the drawer actually opened).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from vla_bench.sim.controller import rotation_error

if TYPE_CHECKING:
    from vla_bench.envs.manipulation.env import ManipulationEnv

OPEN, CLOSED = 1.0, -1.0
CLEARANCE = 0.12  # height above a grasp point for the approach
MIN_GRASP_Z = 0.016  # keep the finger pads off the table
MISSED_GRASP_CLEARANCE = 0.025  # a rehearsed miss closes this far beyond the object's edge
PUSH_Z = (0.016, 0.024)  # push at the object's mid-height within these: low enough that tall things slide
# instead of tipping, high enough that the fingertips do not drag on the table
DOWN = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])  # gripper pointing down


@dataclass(frozen=True)
class Waypoint:
    """Where the end effector should go, the gripper command on the way, and when it counts as reached."""

    pos: np.ndarray
    yaw: float
    gripper: float
    tolerance: float = 0.01
    settle_steps: int = 0  # steps to keep still once reached (a gripper closing or opening)
    max_steps: int = 40  # give up on the waypoint after this many steps and move on
    speed: float = 1.0  # fraction of the controller's top speed


def down_rotation(yaw: float) -> np.ndarray:
    """Gripper pointing down, turned by `yaw` about the world's z axis."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ DOWN


def wrap_yaw(yaw: float) -> float:
    """The gripper is symmetric under a half turn: pick the equivalent yaw nearest zero."""
    return float((yaw + np.pi / 2) % np.pi - np.pi / 2)


class ManipulationExpert:
    """Follows a task's expert plan; `act()` returns the next 7-D action."""

    def __init__(self, env: "ManipulationEnv") -> None:
        self.env = env
        self._plan = env.expert_plan()
        self._waypoint: Waypoint | None = None
        self._steps = 0
        self._settled = 0
        self._last_gripper = OPEN
        self._seen_disturbance = None
        self._advance()

    def _replan_after_disturbance(self) -> None:
        """A disturbance that moved the target invalidates the plan: lift the hand clear, then
        plan the task again from the state it left (a push on the arm needs nothing: the
        waypoint follower steers back)."""
        event = self.env.disturbance_event
        if event is None or event is self._seen_disturbance:
            return
        self._seen_disturbance = event
        if event.moved == "target":
            lift = retreat(self.env, height=max(0.15, float(self.env.ee_pos[2])), gripper=self._last_gripper)
            self._plan = chain(lift, self.env.expert_plan())
            self._advance()

    def _advance(self) -> None:
        self._waypoint = next(self._plan, None)
        self._steps = self._settled = 0

    def act(self) -> np.ndarray:
        self._replan_after_disturbance()
        env, cfg = self.env, self.env.controller_config
        while self._waypoint is not None:
            wp = self._waypoint
            measured_rot = env.data.site_xmat[env.panda.ee_site].reshape(3, 3)
            reached = (np.linalg.norm(wp.pos - env.ee_pos) < wp.tolerance
                       and np.linalg.norm(rotation_error(down_rotation(wp.yaw), measured_rot)) < 0.05)
            if reached:
                self._settled += 1
            if (reached and self._settled > wp.settle_steps) or self._steps >= wp.max_steps:
                self._advance()
                continue
            self._steps += 1
            self._last_gripper = wp.gripper
            action = np.zeros(7)
            # Steer the commanded pose (not the lagging measured one) so commands never wind up.
            err = wp.pos - env.commanded_ee_pos()
            rot = rotation_error(down_rotation(wp.yaw), env.commanded_ee_orientation())
            action[:3] = np.clip(err / cfg.max_translation, -wp.speed, wp.speed)
            action[3:6] = np.clip(rot / cfg.max_rotation, -1.0, 1.0)
            action[6] = wp.gripper
            return action
        action = np.zeros(7)  # plan finished: hold still
        action[6] = self._last_gripper
        return action


# ---------------------------------------------------------------------------- motion primitives
def grasp_yaw(env: "ManipulationEnv", role: str) -> float:
    """Yaw that closes the fingers across the object's narrower horizontal side."""
    half = env.object_half_extents(role)
    narrow_axis_angle = env.object_yaw(role) + (0.0 if half[0] <= half[1] else np.pi / 2)
    return wrap_yaw(narrow_axis_angle + np.pi / 2)


PAD_CENTER_ABOVE_EE = 0.0016  # the finger pads' centre sits this far above the EE site


def grasp_point(env: "ManipulationEnv", role: str) -> np.ndarray:
    """EE position that puts the pads' centre at the object's centre: a grasp above the
    equator of a round object squeezes it out downwards."""
    pos = env.object_pos(role).copy()
    pos[2] = max(pos[2] - PAD_CENTER_ABOVE_EE, MIN_GRASP_Z)
    return pos


def missed_grasp_point(env: "ManipulationEnv", role: str, yaw: float) -> np.ndarray:
    """A grasp point beside the object, along the fingers' width (across their closing
    direction), on the side farther from the other objects: closing there takes nothing."""
    target = grasp_point(env, role)
    along = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    beside = [target + side * (env.object_half_extents(role).max() + MISSED_GRASP_CLEARANCE) * along
              for side in (1.0, -1.0)]
    others = [env.object_pos(r) for r in env.layout.objects if r != role]
    return max(beside, key=lambda p: min((np.linalg.norm((p - o)[:2]) for o in others), default=0.0))


def pick(env: "ManipulationEnv", role: str, lift_to: float = 0.2, attempts: int = 3) -> Iterator[Waypoint]:
    """Approach from above, descend, close on the object, lift it to `lift_to`; retry on a miss.
    An expert made with `make_expert(missed_grasp=True)` closes its first attempt beside the object."""
    for _ in range(attempts):
        yaw = grasp_yaw(env, role)
        miss = env.expert_misses_next_grasp
        env.expert_misses_next_grasp = False  # one rehearsed miss per expert
        target = missed_grasp_point(env, role, yaw) if miss else grasp_point(env, role)
        above = max(target[2] + CLEARANCE, env.ee_pos[2])  # never dip while travelling
        yield Waypoint(np.array([*target[:2], above]), yaw, OPEN, tolerance=0.02)
        if not miss:
            target = grasp_point(env, role)  # re-read: the approach may have nudged it
        yield Waypoint(target + [0, 0, 0.03], yaw, OPEN, tolerance=0.01, speed=0.5)
        yield Waypoint(target, yaw, OPEN, tolerance=0.004, speed=0.3, max_steps=20)
        yield Waypoint(target, yaw, CLOSED, tolerance=0.02, settle_steps=4, max_steps=8)
        yield Waypoint(np.array([*target[:2], lift_to]), yaw, CLOSED, tolerance=0.02, speed=0.6)
        if env.is_grasped(role):
            return
        yield Waypoint(env.ee_pos.copy(), yaw, OPEN, tolerance=0.02, settle_steps=2, max_steps=4)


def place(env: "ManipulationEnv", role: str, xy: np.ndarray, release_bottom_z: float,
          carry_z: float = 0.22, yaw: float | None = None,
          arrived: Callable[[], bool] = lambda: False, attempts: int = 3) -> Iterator[Waypoint]:
    """Carry a held object above `xy` (turning the hand to `yaw` if given), lower it until its
    bottom is at `release_bottom_z`, let go. If it was dropped on the way, pick it up again,
    unless `arrived()` says it already lies where it should."""
    for _ in range(attempts):
        if not env.is_grasped(role):
            if arrived():
                return
            yield from pick(env, role, lift_to=carry_z)
        turn = wrap_yaw(_current_yaw(env) if yaw is None else yaw)
        yield Waypoint(np.array([*xy, carry_z]), turn, CLOSED, tolerance=0.015)
        if env.is_grasped(role):
            break
    else:
        return
    offset = env.ee_pos - env.object_pos(role)  # where the hand holds it, relative to its centre
    hold_height = env.object_pos(role)[2] - env.object_bottom(role)
    release = np.array([*(xy + offset[:2]), release_bottom_z + hold_height + offset[2]])
    yield Waypoint(release + [0, 0, 0.04], turn, CLOSED, tolerance=0.01, speed=0.6)
    yield Waypoint(release, turn, CLOSED, tolerance=0.006, speed=0.3, max_steps=20)
    yield Waypoint(release, turn, OPEN, tolerance=0.02, settle_steps=3, max_steps=8)
    yield Waypoint(release + [0, 0, 0.12], turn, OPEN, tolerance=0.02)


def _current_yaw(env: "ManipulationEnv") -> float:
    mat = env.data.site_xmat[env.panda.ee_site].reshape(3, 3) @ DOWN.T
    return float(np.arctan2(mat[1, 0], mat[0, 0]))


def push(env: "ManipulationEnv", role: str, goal_xy: np.ndarray, done, max_pushes: int = 8) -> Iterator[Waypoint]:
    """Push an object towards `goal_xy` in short strokes, re-aiming behind it before each one."""
    height = float(np.clip(env.object_pos(role)[2], *PUSH_Z))
    for _ in range(max_pushes):
        if done():
            return
        obj = env.object_pos(role)[:2]
        direction = goal_xy - obj
        distance = float(np.linalg.norm(direction))
        direction /= max(distance, 1e-6)
        radius = float(np.hypot(*env.object_half_extents(role)[:2]))  # its corners too, whatever its yaw
        behind = obj - direction * (radius + 0.035)
        yaw = wrap_yaw(float(np.arctan2(direction[1], direction[0])))  # fingers across the stroke
        yield Waypoint(np.array([*behind, 0.12]), yaw, CLOSED, tolerance=0.02)
        yield Waypoint(np.array([*behind, height]), yaw, CLOSED, tolerance=0.01, speed=0.5)
        stroke = min(distance + 0.02, 0.12)
        end = behind + direction * stroke
        yield Waypoint(np.array([*end, height]), yaw, CLOSED, tolerance=0.01, speed=0.4, max_steps=25)
        yield Waypoint(np.array([*(end - direction * 0.03), height + 0.01]), yaw, CLOSED, tolerance=0.02)
    yield Waypoint(np.array([*env.ee_pos[:2], 0.15]), 0.0, CLOSED, tolerance=0.02)


def retreat(env: "ManipulationEnv", height: float = 0.2, gripper: float = OPEN) -> Iterator[Waypoint]:
    pos = env.ee_pos.copy()
    pos[2] = height
    yield Waypoint(pos, wrap_yaw(_current_yaw(env)), gripper, tolerance=0.03)
