"""Builds catalog objects (and their placement records) into an MjSpec."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mujoco
import numpy as np

from vla_bench.assets import ObjectKind, data_path

GRASPABLE_CONDIM = 4  # sliding + torsional friction, so grasped objects don't spin out
ROLLING_CONDIM = 6  # + rolling friction
ROLLING_FRICTION = 0.001  # metres: a rolling-resistance coefficient of ~0.04 for a 5 cm ball
WALL_THICKNESS = 0.008
FLOOR_THICKNESS = 0.006  # of a receptacle (thinner if its walls are lower than twice this)
ROUND_WALL_SEGMENTS = 16


@dataclass(frozen=True)
class ObjectPlacement:
    """One object of an episode: what it is, how it looks, where it starts."""

    kind: str
    color: str
    scale: float
    x: float
    y: float
    yaw: float


def add_object(spec: mujoco.MjSpec, name: str, kind: ObjectKind, rgb: tuple[float, float, float],
               scale: float, friction: float) -> mujoco.MjsBody:
    """Add a free-floating body named `name` built from `kind`; placement happens at reset."""
    body = spec.worldbody.add_body(name=name)
    body.add_freejoint(name=name + "_joint")
    # Things that roll get rolling resistance (condim 6), or a ball would circle a bowl for seconds.
    condim = ROLLING_CONDIM if kind.rolls else GRASPABLE_CONDIM
    geom_defaults = dict(rgba=[*rgb, 1.0], friction=[friction, 0.01, ROLLING_FRICTION], condim=condim,
                         density=500.0)
    builder = _BUILDERS[kind.shape_type]
    builder(spec, body, name, kind, scale, geom_defaults)
    return body


def _extents(kind: ObjectKind, scale: float) -> np.ndarray:
    return np.array(kind.shape["extents"], dtype=float) * scale


def _primitive(geom_type: mujoco.mjtGeom):
    def build(spec, body, name, kind, scale, defaults):
        ext = _extents(kind, scale)
        if geom_type == mujoco.mjtGeom.mjGEOM_CYLINDER:
            size = [ext[0] / 2, ext[2] / 2, 0]
        elif geom_type == mujoco.mjtGeom.mjGEOM_SPHERE:
            size = [ext[0] / 2, 0, 0]
        else:
            size = list(ext / 2)
        body.add_geom(type=geom_type, size=size, **defaults)
    return build


def _capsule(spec, body, name, kind, scale, defaults):
    ext = _extents(kind, scale)
    radius = ext[1] / 2
    half = ext[0] / 2 - radius
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_CAPSULE, fromto=[-half, 0, 0, half, 0, 0],
                  size=[radius, 0, 0], **defaults)


def _dumbbell(spec, body, name, kind, scale, defaults):
    ext = _extents(kind, scale)
    weight_r, weight_half = ext[1] / 2, ext[0] * 0.15
    bar_end = ext[0] / 2 - weight_half
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, fromto=[-bar_end, 0, 0, bar_end, 0, 0],
                  size=[weight_r * 0.6, 0, 0], **defaults)
    for side in (-1, 1):
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, pos=[side * bar_end, 0, 0],
                      quat=[np.sqrt(0.5), 0, np.sqrt(0.5), 0], size=[weight_r, weight_half, 0], **defaults)


def _solid(spec, body, name, kind, scale, defaults):
    """Regular n-gon prism (top = 1), frustum, pyramid or cone (top = 0) as a convex mesh."""
    ext = _extents(kind, scale)
    sides, top = kind.shape["sides"], kind.shape["top"]
    angles = np.pi / 2 + 2 * np.pi * np.arange(sides) / sides
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1) * ext[0] / 2
    bottom = np.column_stack([ring, np.full(sides, -ext[2] / 2)])
    upper = (np.column_stack([ring * top, np.full(sides, ext[2] / 2)]) if top > 0
             else np.array([[0.0, 0.0, ext[2] / 2]]))
    spec.add_mesh(name=name + "_mesh", uservert=np.vstack([bottom, upper]).ravel().tolist())
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname=name + "_mesh", **defaults)


@lru_cache(maxsize=None)
def _obj_parts(relative: str) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """An OBJ file's objects (`o` sections) as (vertices, triangles) each, read once per file.

    Decomposed meshes (the duck's 5 and the teddy bear's 15 convex parts) keep every part: MuJoCo
    would load such a file as one mesh and collide with the hull of one part only.
    """
    vertices: list[list[float]] = []
    parts: list[list[list[int]]] = [[]]
    with open(data_path(relative)) as f:
        for line in f:
            if line.startswith("v "):
                vertices.append([float(v) for v in line.split()[1:4]])
            elif line.startswith("o ") and parts[-1]:
                parts.append([])
            elif line.startswith("f "):
                corners = [int(token.split("/")[0]) - 1 for token in line.split()[1:]]
                parts[-1] += [[corners[0], corners[i], corners[i + 1]] for i in range(1, len(corners) - 1)]
    points = np.array(vertices)
    result = []
    for faces in filter(None, parts):
        used, local = np.unique(np.array(faces), return_inverse=True)
        result.append((points[used], local.reshape(-1, 3)))
    return tuple(result)


def _obj_bounds(relative: str) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds of an OBJ file's vertices."""
    points = np.vstack([vertices for vertices, _ in _obj_parts(relative)])
    return points.min(axis=0), points.max(axis=0)


_UP_QUAT = {"z": [1.0, 0.0, 0.0, 0.0], "y": [np.sqrt(0.5), np.sqrt(0.5), 0.0, 0.0]}


def _mesh(spec, body, name, kind, scale, defaults):
    """A pybullet_data mesh, rotated so its `up` axis is z and scaled so its longest side is `size`."""
    lo, hi = _obj_bounds(kind.shape["file"])
    up = kind.shape["up"]
    extent = hi - lo if up == "z" else (hi - lo)[[0, 2, 1]]  # mesh axes in the table frame
    stretch = np.array(kind.shape.get("stretch", [1.0, 1.0, 1.0]))
    factor = kind.size * scale / np.max(extent * stretch)
    mesh_scale = factor * (stretch if up == "z" else stretch[[0, 2, 1]])
    parts = _obj_parts(kind.shape["file"])
    if len(parts) == 1:  # one mesh: from the file, with its texture coordinates
        meshes = [spec.add_mesh(name=name + "_mesh", file=str(data_path(kind.shape["file"])),
                                scale=mesh_scale.tolist())]
    else:  # a convex decomposition: one mesh, and one geom, per part
        meshes = [spec.add_mesh(name=f"{name}_mesh_{i}", uservert=vertices.ravel().tolist(),
                                userface=faces.ravel().tolist(), scale=mesh_scale.tolist())
                  for i, (vertices, faces) in enumerate(parts)]
    for mesh in meshes:
        # Mass and inertia from the convex hull: some pybullet_data meshes (the teddy bear) are
        # not watertight, and their shell inertia is singular.
        mesh.inertia = mujoco.mjtMeshInertia.mjMESH_INERTIA_CONVEX
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname=mesh.name, quat=_UP_QUAT[up], **defaults)


def _receptacle(spec, body, name, kind, scale, defaults):
    """A floor and walls, so that things can really sit *in* it (a convex hull would be solid)."""
    ext = _extents(kind, scale)
    wall_h, t = ext[2], WALL_THICKNESS
    floor_h = min(FLOOR_THICKNESS, wall_h / 2)
    if kind.shape["footprint"] == "round":
        radius = ext[0] / 2
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[radius, floor_h / 2, 0],
                      pos=[0, 0, floor_h / 2], **defaults)
        chord = 2 * radius * np.tan(np.pi / ROUND_WALL_SEGMENTS) + t
        for i in range(ROUND_WALL_SEGMENTS):
            a = 2 * np.pi * i / ROUND_WALL_SEGMENTS
            body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[t / 2, chord / 2, wall_h / 2],
                          pos=[(radius - t / 2) * np.cos(a), (radius - t / 2) * np.sin(a), wall_h / 2],
                          quat=[np.cos(a / 2), 0, 0, np.sin(a / 2)], **defaults)
    else:
        hx, hy = ext[0] / 2, ext[1] / 2
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx, hy, floor_h / 2], pos=[0, 0, floor_h / 2], **defaults)
        for sx in (-1, 1):
            body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[t / 2, hy, wall_h / 2],
                          pos=[sx * (hx - t / 2), 0, wall_h / 2], **defaults)
        for sy in (-1, 1):
            body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx, t / 2, wall_h / 2],
                          pos=[0, sy * (hy - t / 2), wall_h / 2], **defaults)


_BUILDERS = {
    "box": _primitive(mujoco.mjtGeom.mjGEOM_BOX),
    "sphere": _primitive(mujoco.mjtGeom.mjGEOM_SPHERE),
    "cylinder": _primitive(mujoco.mjtGeom.mjGEOM_CYLINDER),
    "ellipsoid": _primitive(mujoco.mjtGeom.mjGEOM_ELLIPSOID),
    "capsule": _capsule,
    "dumbbell": _dumbbell,
    "solid": _solid,
    "mesh": _mesh,
    "receptacle": _receptacle,
}


def body_bounds(model: mujoco.MjModel, body: int) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds of a body's geoms in the body frame (from the compiled model)."""
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    lows, highs = [], []
    for g in range(model.body_geomadr[body], model.body_geomadr[body] + model.body_geomnum[body]):
        center, half = model.geom_aabb[g, :3], model.geom_aabb[g, 3:]
        mat = np.zeros(9)
        mujoco.mju_quat2Mat(mat, model.geom_quat[g])
        pts = (corners * half + center) @ mat.reshape(3, 3).T + model.geom_pos[g]
        lows.append(pts.min(axis=0))
        highs.append(pts.max(axis=0))
    return np.min(lows, axis=0), np.max(highs, axis=0)
