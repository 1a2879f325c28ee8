"""Tabletop scene: the factor values of an episode (TabletopLayout) and the MjSpec built from them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import mujoco
import numpy as np

from vla_bench.assets import catalog, colors, data_path
from vla_bench.envs.manipulation.cabinet import CabinetPlacement, add_cabinet
from vla_bench.envs.manipulation.objects import ObjectPlacement, add_object
from vla_bench.sim.panda import add_panda

TABLE_HEIGHT = 0.75  # the table top is z = 0; the floor is below it
TABLE_HALF = (0.65, 0.7)  # half extents in x, y
TABLE_CENTER_X = 0.35
WORKSPACE_CENTER = np.array([0.5, 0.0, 0.05])


@dataclass(frozen=True)
class PhysicsConfig:
    """Simulation settings that are not randomization factors."""

    timestep: float = 0.002
    control_hz: float = 10.0
    image_size: tuple[int, int] = (128, 128)
    shadows: bool = False
    detailed_robot_meshes: bool = False

    @property
    def substeps(self) -> int:
        return max(1, round(1.0 / (self.control_hz * self.timestep)))


@dataclass(frozen=True)
class TabletopLayout:
    """Every factor value of a manipulation episode; together they fix the initial state."""

    objects: dict[str, ObjectPlacement]  # role ("target", "receptacle", "distractor_0", ...) -> object
    table_texture: dict[str, Any]
    floor_color: tuple[float, float, float]
    lighting: dict[str, Any]
    camera: dict[str, Any]
    friction: float
    mass_scale: float
    cabinet: CabinetPlacement | None = None
    instruction_template: str = "seen"  # which paraphrase pool the instruction came from
    extras: dict[str, Any] = field(default_factory=dict)  # task-specific values (e.g. a push region)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TabletopLayout":
        data = dict(data)
        data["objects"] = {role: ObjectPlacement(**obj) for role, obj in data["objects"].items()}
        data["floor_color"] = tuple(data["floor_color"])
        data["cabinet"] = CabinetPlacement(**data["cabinet"]) if data.get("cabinet") else None
        return cls(**data)


def build_scene(layout: TabletopLayout, physics: PhysicsConfig) -> mujoco.MjSpec:
    """The full scene as an MjSpec: floor, table, lights, cameras, the Panda, objects, cabinet."""
    spec = mujoco.MjSpec()
    spec.compiler.degree = False
    opt = spec.option
    opt.timestep = physics.timestep
    opt.integrator = mujoco.mjtIntegrator.mjINT_EULER  # joint damping is implicit in Euler
    opt.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    opt.impratio = 10.0  # stiffer friction, so grasps hold without slipping
    width, height = physics.image_size
    spec.visual.global_.offwidth, spec.visual.global_.offheight = width, height
    spec.visual.quality.offsamples = 0
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.25, 0.25, 0.25]
    spec.visual.headlight.specular = [0.0, 0.0, 0.0]

    _add_room(spec, layout)
    add_panda(spec, spec.worldbody, (0.0, 0.0, 0.0), detailed_meshes=physics.detailed_robot_meshes)
    spec.add_exclude(bodyname1="world", bodyname2="panda_link0")
    kinds, palette = catalog(), colors()
    for role, obj in layout.objects.items():
        add_object(spec, role, kinds[obj.kind], palette[obj.color], obj.scale, layout.friction)
    if layout.cabinet is not None:
        add_cabinet(spec, layout.cabinet, palette[layout.cabinet.color])
    return spec


def _add_room(spec: mujoco.MjSpec, layout: TabletopLayout) -> None:
    world = spec.worldbody
    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1],
                   pos=[0, 0, -TABLE_HEIGHT], rgba=[*layout.floor_color, 1])
    tex = layout.table_texture
    if "file" in tex:
        spec.add_texture(name="table_tex", type=mujoco.mjtTexture.mjTEXTURE_2D, file=str(data_path(tex["file"])))
    else:
        builtin = {"flat": mujoco.mjtBuiltin.mjBUILTIN_FLAT, "checker": mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
                   "gradient": mujoco.mjtBuiltin.mjBUILTIN_GRADIENT}[tex["builtin"]]
        spec.add_texture(name="table_tex", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=builtin,
                         rgb1=tex["rgb1"], rgb2=tex["rgb2"], width=128, height=128)
    material = spec.add_material(name="table_mat", texrepeat=[2, 2], texuniform=True)
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "table_tex"
    hx, hy = TABLE_HALF
    world.add_geom(name="table", type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx, hy, 0.02],
                   pos=[TABLE_CENTER_X, 0, -0.02], material="table_mat", friction=[layout.friction, 0.01, 0.0005])
    for sx in (-1, 1):
        for sy in (-1, 1):
            world.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.03, 0.03, (TABLE_HEIGHT - 0.04) / 2],
                           pos=[TABLE_CENTER_X + sx * (hx - 0.05), sy * (hy - 0.05), -(TABLE_HEIGHT + 0.04) / 2],
                           rgba=[0.3, 0.25, 0.2, 1], contype=0, conaffinity=0)
    light = layout.lighting
    direction = np.asarray(light["direction"], dtype=float)
    direction /= np.linalg.norm(direction)
    world.add_light(name="key", type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, dir=direction.tolist(),
                    pos=(WORKSPACE_CENTER - 2.0 * direction).tolist(),
                    diffuse=(np.asarray(light["color"]) * light["intensity"]).tolist(),
                    specular=[0.1, 0.1, 0.1], castshadow=True)
    world.add_camera(name="front", **camera_pose(layout.camera), fovy=50)


def camera_pose(camera: dict[str, Any]) -> dict[str, list[float]]:
    """Camera position and xyaxes looking at the workspace centre from azimuth/elevation/distance."""
    az, el = np.radians(camera["azimuth"]), np.radians(camera["elevation"])
    forward = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    pos = WORKSPACE_CENTER - camera["distance"] * forward
    return {"pos": pos.tolist(), "xyaxes": [*right, *up]}
