"""The navigation oracle: follows the geodesic path into each goal's success region (the points
within the success distance of the footprint along a path that crosses no wall), then stops.

It plans on the same inflated occupancy grid that defines L*, aims a little inside the success
region (so the discrete steps cannot stop it just short), and re-plans when a goal is reached,
the robot drifts off its path, or a disturbance changed the house (an obstacle, a moved goal, a
closed door).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vla_bench.envs.navigation.robot import wrap_angle

if TYPE_CHECKING:
    from vla_bench.envs.navigation.env import NavigationEnv
    from vla_bench.task.disturbance import DisturbanceEvent

AIM_INSIDE = 0.25  # aim this far inside the success region's edge
WAYPOINT_REACHED = 0.2  # metres
OFF_PATH = 0.4  # re-plan when farther than this from the path


class NavigationExpert:
    def __init__(self, env: "NavigationEnv") -> None:
        self.env = env
        self._planned_for: int | None = None
        self._path: list[tuple[float, float]] = []
        self._segment_start: tuple[float, float] = (0.0, 0.0)  # where the leg to `_path[0]` began
        self._escape_heading: float | None = None
        self._last_turn: int | None = None
        self._seen_disturbance: DisturbanceEvent | None = None

    def _forget_plan_after_disturbance(self) -> None:
        """A disturbance changed the free space: the path (and an escape planned around the old
        obstacles) may run through it, so plan again from here."""
        event = self.env.disturbance_event
        if event is not None and event is not self._seen_disturbance:
            self._seen_disturbance = event
            self._path, self._escape_heading, self._planned_for = [], None, None

    def act(self):
        self._forget_plan_after_disturbance()
        env = self.env
        if self._escape_heading is not None:  # finish an escape manoeuvre: face its heading, then one step
            error = wrap_angle(self._escape_heading - env.pose[2])
            if abs(error) > env.drive_config.turn_step / 2:
                return self._steer(error)
            self._escape_heading = None
            if not env.forward_is_blocked():
                return self._steer(0.0)
        goal = env.current_goal
        if goal is None or env.goal_distance() <= env.success_distance - AIM_INSIDE / 2:
            return self._stop()
        if self._planned_for != env.goal_index or self._off_path():
            self._plan()
        x, y, yaw = env.pose
        while len(self._path) > 1 and np.hypot(self._path[0][0] - x, self._path[0][1] - y) < WAYPOINT_REACHED:
            self._segment_start = self._path.pop(0)
        if not self._path or np.hypot(self._path[0][0] - x, self._path[0][1] - y) < WAYPOINT_REACHED:
            return self._stop() if env.within_goal() else self._replan_and_act()
        action = self._steer(self._heading_error())
        if self._moves_forward(action) and not self._stays_clear():
            self._plan()  # cutting a corner: re-plan from here and steer along the new path
            action = self._steer(self._heading_error())
            if self._moves_forward(action) and not self._stays_clear():
                action = self._escape()
        return action

    def _escape(self):
        """The path's direction is blocked here: turn to the free heading nearest to it (checked
        in 15-degree steps) and take one step there before following the path again."""
        env = self.env
        yaw, step = env.pose[2], env.drive_config.turn_step
        wanted = yaw + self._heading_error()
        headings = sorted((yaw + k * step for k in range(-12, 13) if k), key=lambda h: abs(wrap_angle(h - wanted)))
        free = next((h for h in headings if not env.forward_is_blocked(h)), None)
        if free is None:
            return self._steer(np.pi)  # boxed in: keep turning
        self._escape_heading = free
        return self._steer(wrap_angle(free - yaw))

    def _heading_error(self) -> float:
        x, y, yaw = self.env.pose
        tx, ty = self._path[0]
        return wrap_angle(np.arctan2(ty - y, tx - x) - yaw)

    def _moves_forward(self, action) -> bool:
        return action == 1 if self.env.action_mode == "discrete" else float(action[0]) > 0

    def _stays_clear(self) -> bool:
        """Whether the next forward move keeps the body clear of obstacles (the supervisor's check)."""
        return not self.env.forward_is_blocked()

    def _plan(self) -> None:
        path = self.env.goal_path(inside=AIM_INSIDE)
        self._segment_start, self._path = path[0], path[1:]
        self._planned_for = self.env.goal_index

    def _replan_and_act(self):
        self._plan()
        return self._steer(self._heading_error())

    def _off_path(self) -> bool:
        """Whether the robot is farther than OFF_PATH from the leg it is driving."""
        if not self._path:
            return True
        p = np.array(self.env.pose[:2])
        a, b = np.array(self._segment_start), np.array(self._path[0])
        t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-9), 0.0, 1.0)
        return float(np.linalg.norm(p - (a + t * (b - a)))) > OFF_PATH

    def _steer(self, error: float):
        env = self.env
        if env.action_mode == "continuous":
            turn = float(np.clip(error / 0.5, -1.0, 1.0))
            return np.array([1.0 if abs(error) < 0.3 else 0.0, turn], dtype=np.float32)
        half_turn = env.drive_config.turn_step / 2
        action = 2 if error > half_turn else 3 if error < -half_turn else 1  # left, right, forward
        if {action, self._last_turn} == {2, 3} and abs(error) <= env.drive_config.turn_step:
            action = 1  # no immediate turn back: near a waypoint the bearing flips with every turn
        self._last_turn = action if action != 1 else None
        return action

    def _stop(self):
        return np.zeros(2, dtype=np.float32) if self.env.action_mode == "continuous" else 0

