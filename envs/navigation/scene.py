"""Builds a floor plan, its lighting and the mobile base into an MjSpec."""
from __future__ import annotations

import mujoco

from vla_bench.envs.navigation.floorplan import WALL_THICKNESS, FloorPlan
from vla_bench.envs.navigation.robot import add_base

WALL_HEIGHT = 1.2  # metres: above the robot's camera, low enough for an overhead light to reach every room


def build_floor_plan_scene(plan: FloorPlan, start: tuple[float, float, float], wall_rgb: tuple[float, float, float],
                           floor_rgb: tuple[float, float, float], light_intensity: float = 0.8,
                           image_size: int = 128) -> mujoco.MjSpec:
    """Floor, walls (with their doorways), one ceiling light per room, and the robot at `start` (x, y, yaw)."""
    spec = mujoco.MjSpec()
    spec.compiler.degree = False
    spec.option.timestep = 0.002
    spec.visual.global_.offwidth = spec.visual.global_.offheight = image_size
    spec.visual.quality.offsamples = 0
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]
    x0, y0, x1, y1 = plan.bounds
    spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE,
                            size=[(x1 - x0) / 2 + 1, (y1 - y0) / 2 + 1, 0.1], pos=[(x0 + x1) / 2, (y0 + y1) / 2, 0],
                            rgba=[*floor_rgb, 1], friction=[1.0, 0.01, 0.001])
    half = WALL_THICKNESS / 2
    for i, wall in enumerate(plan.walls):
        length_x, length_y = abs(wall.x1 - wall.x0), abs(wall.y1 - wall.y0)
        spec.worldbody.add_geom(name=f"wall_{i}", type=mujoco.mjtGeom.mjGEOM_BOX,
                                size=[length_x / 2 + half, length_y / 2 + half, WALL_HEIGHT / 2],
                                pos=[(wall.x0 + wall.x1) / 2, (wall.y0 + wall.y1) / 2, WALL_HEIGHT / 2],
                                rgba=[*wall_rgb, 1])
    for room in plan.rooms:
        cx, cy = room.center
        spec.worldbody.add_light(pos=[cx, cy, 2.5], dir=[0, 0, -1], diffuse=[light_intensity] * 3,
                                 specular=[0.05] * 3, castshadow=False, attenuation=[1, 0, 0])
    add_base(spec, *start)
    return spec


def wall_geoms(model: mujoco.MjModel) -> set[int]:
    """Geom ids of the walls (for collision events)."""
    return {g for g in range(model.ngeom) if (model.geom(g).name or "").startswith("wall_")}
