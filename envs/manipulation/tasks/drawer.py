"""Drawer task families: open it, close it, and the long-horizon put-the-object-in-the-drawer chain."""
from __future__ import annotations

import numpy as np

from vla_bench.envs.manipulation import cabinet, expert
from vla_bench.envs.manipulation.env import ManipulationEnv, describe
from vla_bench.envs.manipulation.sampling import (
    ObjectSampler,
    footprint_radius,
)
from vla_bench.task.registry import register_task

OPEN_ENOUGH = 0.12  # metres of drawer travel that count as open (of cabinet.DRAWER_TRAVEL)
SHUT = 0.015  # at most this far out counts as closed
PULL_TO = 0.15


class DrawerEnv(ManipulationEnv):
    """Shared by the drawer families: a cabinet at one side, loose objects at the other."""

    needs_cabinet = True
    task_roles: tuple[str, ...] = ()
    disturbance_kinds = ("push_arm",)

    def sample_objects(self, sampler: ObjectSampler):
        return {}

    def placement_area(self, role, extras):
        side = extras["cabinet_side"]  # the hand reaches 10 cm along its fingers: keep clear of the open drawer
        lo, hi = sorted((-side * 0.12, -side * 0.32))
        return (0.32, 0.68, lo, hi)

    def instruction_slots(self, layout, synonyms):
        return {"color": layout.cabinet.color}

    def handle(self) -> np.ndarray:
        return self.site_pos(cabinet.HANDLE_SITE).copy()


@register_task("OpenDrawer", max_episode_steps=80)
class OpenDrawer(DrawerEnv):
    """Open the cabinet's drawer.

    Randomizations:
        - the cabinet's color and side of the table; the drawer starts out by 0 to 2 cm
        - the tabletop factors every manipulation task draws (loose objects keep to the other side)
    Success conditions:
        - drawer_open: the drawer is out at least 12 cm (of its 17 cm travel)
    Episode length: 80 control steps (8 s at 10 Hz).
    Expert: grasps the handle from above, pulls the drawer out 15 cm and lets go.
    """

    def success_conditions(self) -> dict[str, bool]:
        return {"drawer_open": self.drawer_opening() >= OPEN_ENOUGH}

    def progress(self) -> float:
        return float(np.clip(self.drawer_opening() / OPEN_ENOUGH, 0.0, 1.0))

    def keypoints(self):
        handle = self.handle()
        return [handle, handle - [OPEN_ENOUGH - self.drawer_opening(), 0.0, 0.0]]

    def expert_plan(self):
        yield from open_drawer(self)


@register_task("CloseDrawer", max_episode_steps=60)
class CloseDrawer(DrawerEnv):
    """Close the cabinet's open drawer.

    Randomizations:
        - the cabinet's color and side of the table; the drawer starts out by 11 to 16 cm
        - the tabletop factors every manipulation task draws (loose objects keep to the other side)
    Success conditions:
        - drawer_closed: the drawer is out at most 1.5 cm
    Episode length: 60 control steps (6 s at 10 Hz).
    Expert: pushes the drawer front shut with closed fingers beside the handle.
    """

    def initial_drawer_opening(self, rng):
        return float(rng.uniform(0.11, 0.16))

    def success_conditions(self) -> dict[str, bool]:
        return {"drawer_closed": self.drawer_opening() <= SHUT}

    def progress(self) -> float:
        start = self.layout.cabinet.opening
        return float(np.clip((start - self.drawer_opening()) / (start - SHUT), 0.0, 1.0))

    def keypoints(self):
        front = self.handle() + [cabinet.HANDLE_STANDOFF, 0.0, 0.0]
        return [front, front + [self.drawer_opening() - SHUT, 0.0, 0.0]]

    def expert_plan(self):
        yield from close_drawer(self)


@register_task("PutInDrawer", max_episode_steps=300)
class PutInDrawer(DrawerEnv):
    """Long horizon: open the drawer, put the named object in it, close the drawer.

    Randomizations:
        - the cabinet's color and side of the table; the drawer starts out by 0 to 2 cm
        - the object: a graspable kind small enough for the drawer, a color and a scale
        - the tabletop factors every manipulation task draws (loose objects keep to the other side)
    Success conditions:
        - drawer_closed: the drawer is out at most 1.5 cm
        - in_drawer: the object's centre is within the drawer's inner walls and its bottom below
          their top
        - released: the robot does not touch the object
    Episode length: 300 control steps (30 s at 10 Hz).
    Expert: opens the drawer, picks the object, places it in the drawer, retreats and pushes the
    drawer shut.
    """

    task_roles = ("target",)
    disturbance_kinds = ("displace_target", "knock_out", "push_arm")
    supervised_keypoints = (2, 3)  # the object's grasp point and its slot in the drawer (0, 1: the handle)

    def sample_objects(self, sampler: ObjectSampler):
        kind = sampler.kind(where=lambda k: k.graspable and footprint_radius(k, 1.1) < 0.05)
        return {"target": (kind, sampler.color(), sampler.choice("scale"))}

    def instruction_slots(self, layout, synonyms):
        return {"object": describe(layout.objects["target"], synonyms)}

    def object_in_drawer(self) -> bool:
        half_depth, half_width = cabinet.drawer_inner_half_extents()
        local = self.object_pos("target") - self.site_pos("drawer_inside")
        return bool(abs(local[0]) < half_depth and abs(local[1]) < half_width
                    and self.object_bottom("target") < cabinet.DRAWER_BOTTOM + cabinet.DRAWER_HEIGHT)

    def success_conditions(self) -> dict[str, bool]:
        return {"drawer_closed": self.drawer_opening() <= SHUT, "in_drawer": self.object_in_drawer(),
                "released": not self.touches_robot("target")}

    def progress(self) -> float:
        opened = self.drawer_opening() >= OPEN_ENOUGH or self.object_in_drawer()
        return (opened + self.object_in_drawer() + self.check_success()) / 3.0

    def keypoints(self):
        handle = self.handle()
        pulled = handle - [PULL_TO - self.drawer_opening(), 0.0, 0.0]
        slot = self._drawer_slot(PULL_TO)
        return [handle, pulled, expert.grasp_point(self, "target"), slot,
                slot + [-0.03, 0.0, 0.0], handle + [cabinet.HANDLE_STANDOFF, 0.0, 0.0]]

    def _drawer_slot(self, opening: float) -> np.ndarray:
        """Centre of the drawer's uncovered part when it is `opening` metres out."""
        x = cabinet.FRONT_X - opening / 2
        return np.array([x, self.layout.cabinet.y, cabinet.DRAWER_BOTTOM + 0.03])

    def expert_plan(self):
        yield from open_drawer(self)
        yield from expert.pick(self, "target", lift_to=0.22)
        slot = self._drawer_slot(self.drawer_opening())
        # Fingers along y, so the hand's long side stays clear of the cabinet top.
        yield from expert.place(self, "target", slot[:2], cabinet.DRAWER_BOTTOM + 0.012, yaw=0.0,
                                arrived=self.object_in_drawer)
        yield from expert.retreat(self, 0.25)
        yield from close_drawer(self)


def open_drawer(env: DrawerEnv):
    """Grasp the vertical handle from above with a finger either side of it, pull, let go."""
    yaw = 0.0  # fingers close along y, across the bar
    handle = env.handle()
    yield expert.Waypoint(handle + [0, 0, 0.12], yaw, expert.OPEN, tolerance=0.015)
    yield expert.Waypoint(handle + [0, 0, 0.02], yaw, expert.OPEN, tolerance=0.008, speed=0.5)
    yield expert.Waypoint(handle, yaw, expert.OPEN, tolerance=0.005, speed=0.3, max_steps=20)
    yield expert.Waypoint(handle, yaw, expert.CLOSED, tolerance=0.02, settle_steps=4, max_steps=8)
    pulled = handle - [PULL_TO - env.drawer_opening(), 0.0, 0.0]
    yield expert.Waypoint(pulled, yaw, expert.CLOSED, tolerance=0.01, speed=0.4, max_steps=40)
    yield expert.Waypoint(env.ee_pos.copy(), yaw, expert.OPEN, tolerance=0.02, settle_steps=2, max_steps=6)
    yield expert.Waypoint(env.ee_pos + [0, 0, 0.12], yaw, expert.OPEN, tolerance=0.02)


def close_drawer(env: DrawerEnv):
    """Closed fingers against the drawer front beside the handle, high enough that the hand
    passes over the cabinet top, pushed until the drawer shuts."""
    front = env.handle() + [cabinet.HANDLE_STANDOFF - 0.03, 0.05, 0.0]
    front[2] = cabinet.FRONT_TOP - 0.02
    yield expert.Waypoint(front + [0, 0, 0.1], 0.0, expert.CLOSED, tolerance=0.015)
    yield expert.Waypoint(front, 0.0, expert.CLOSED, tolerance=0.008, speed=0.5)
    shut = front.copy()
    shut[0] = cabinet.FRONT_X - cabinet.FRONT_DEPTH - 0.004  # fingertips just past the closed front
    yield expert.Waypoint(shut, 0.0, expert.CLOSED, tolerance=0.006, speed=0.5, max_steps=30)
    yield expert.Waypoint(front + [0, 0, 0.1], 0.0, expert.CLOSED, tolerance=0.02)
