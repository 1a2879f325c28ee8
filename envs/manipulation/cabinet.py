"""An articulated drawer cabinet: a fixed carcass and one drawer on a slide joint, with a bar handle."""
from __future__ import annotations

from dataclasses import dataclass

import mujoco

# Dimensions in metres. The cabinet's frame sits at the middle of its front face, on the table;
# +x points into the cabinet (away from the robot), the drawer slides out along -x.
WIDTH, DEPTH, HEIGHT = 0.30, 0.24, 0.16
WALL = 0.012
DRAWER_BOTTOM, DRAWER_HEIGHT = 0.03, 0.075
DRAWER_TRAVEL = 0.17
HANDLE_STANDOFF, HANDLE_LENGTH, HANDLE_RADIUS = 0.045, 0.06, 0.007
FRONT_TOP = HEIGHT - WALL - 0.002  # the drawer front reaches almost to the carcass top
FRONT_X = 0.64  # the carcass front, along the robot's x axis; the closed drawer's front sits just before it
GAP = 0.001  # between the closed drawer's front panel and the carcass
FRONT_DEPTH = WALL + GAP  # how far the closed drawer's front face stands before FRONT_X
JOINT = "drawer_slide"
HANDLE_SITE = "drawer_handle"
DRAWER_BODY = "drawer"
CABINET_BODY = "cabinet"


@dataclass(frozen=True)
class CabinetPlacement:
    """The cabinet of an episode: its color, lateral position and how far the drawer starts open."""

    color: str
    y: float
    opening: float  # metres the drawer starts pulled out


WOOD_RGB = (0.55, 0.42, 0.30)  # the drawer's inside


def add_cabinet(spec: mujoco.MjSpec, placement: CabinetPlacement, rgb: tuple[float, float, float]) -> None:
    """Add the cabinet at FRONT_X, `placement.y`, painted in the named color (inside is wood)."""
    carcass = spec.worldbody.add_body(name=CABINET_BODY, pos=[FRONT_X, placement.y, 0.0])
    paint = dict(rgba=[*rgb, 1.0], friction=[0.8, 0.01, 0.0005])
    wood = dict(rgba=[*WOOD_RGB, 1.0], friction=[0.8, 0.01, 0.0005])
    hw, hd = WIDTH / 2, DEPTH / 2
    boxes = {
        "top": ([hd, 0, HEIGHT - WALL / 2], [hd, hw, WALL / 2]),
        "bottom": ([hd, 0, WALL / 2], [hd, hw, WALL / 2]),
        "left": ([hd, hw - WALL / 2, HEIGHT / 2], [hd, WALL / 2, HEIGHT / 2]),
        "right": ([hd, -hw + WALL / 2, HEIGHT / 2], [hd, WALL / 2, HEIGHT / 2]),
        "back": ([DEPTH - WALL / 2, 0, HEIGHT / 2], [WALL / 2, hw, HEIGHT / 2]),
    }
    for name, (pos, size) in boxes.items():
        carcass.add_geom(name=f"cabinet_{name}", type=mujoco.mjtGeom.mjGEOM_BOX, pos=pos, size=size, **paint)

    drawer = carcass.add_body(name=DRAWER_BODY)
    drawer.add_joint(name=JOINT, type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[-1, 0, 0],
                     range=[0.0, DRAWER_TRAVEL], limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                     damping=8.0, frictionloss=0.5, armature=0.05)
    inner_w = WIDTH / 2 - WALL - 0.004  # clearance to the carcass sides
    depth = DEPTH - WALL - 0.01
    z0, h = DRAWER_BOTTOM, DRAWER_HEIGHT
    front_bottom = z0 - 0.004
    drawer.add_geom(name="drawer_front", type=mujoco.mjtGeom.mjGEOM_BOX,
                    pos=[-WALL / 2 - GAP, 0, (front_bottom + FRONT_TOP) / 2],
                    size=[WALL / 2, hw - 0.004, (FRONT_TOP - front_bottom) / 2], **paint)
    parts = {
        "floor": ([depth / 2, 0, z0], [depth / 2, inner_w, 0.004]),
        "left": ([depth / 2, inner_w - 0.004, z0 + h / 2], [depth / 2, 0.004, h / 2]),
        "right": ([depth / 2, -inner_w + 0.004, z0 + h / 2], [depth / 2, 0.004, h / 2]),
        "back": ([depth - 0.004, 0, z0 + h / 2], [0.004, inner_w, h / 2]),
    }
    for name, (pos, size) in parts.items():
        drawer.add_geom(name=f"drawer_{name}", type=mujoco.mjtGeom.mjGEOM_BOX, pos=pos, size=size, **wood)
    # A vertical bar handle: a top-down gripper closes across it without reaching over the cabinet.
    handle_z = z0 + h / 2
    metal = dict(rgba=[0.75, 0.75, 0.78, 1.0], friction=[1.0, 0.01, 0.0005])
    drawer.add_geom(name="drawer_handle", type=mujoco.mjtGeom.mjGEOM_CAPSULE,
                    fromto=[-FRONT_DEPTH - HANDLE_STANDOFF, 0, handle_z - HANDLE_LENGTH / 2,
                            -FRONT_DEPTH - HANDLE_STANDOFF, 0, handle_z + HANDLE_LENGTH / 2],
                    size=[HANDLE_RADIUS, 0, 0], **metal)
    for side in (-1, 1):
        drawer.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[HANDLE_STANDOFF / 2, 0.005, 0.005],
                        pos=[-FRONT_DEPTH - HANDLE_STANDOFF / 2, 0, handle_z + side * HANDLE_LENGTH / 2], **metal)
    drawer.add_site(name=HANDLE_SITE, pos=[-FRONT_DEPTH - HANDLE_STANDOFF, 0, handle_z], size=[0.005] * 3, group=5)
    drawer.add_site(name="drawer_inside", pos=[depth / 2, 0, z0], size=[0.005] * 3, group=5)


def drawer_inner_half_extents() -> tuple[float, float]:
    """Half depth (x) and half width (y) of the drawer's floor, for 'is it inside' tests."""
    return (DEPTH - WALL - 0.01) / 2 - 0.004, WIDTH / 2 - WALL - 0.012
