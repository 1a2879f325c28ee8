"""The Franka Panda, built into an MjSpec from the URDF and meshes that ship in `pybullet_data`.

We parse the URDF ourselves instead of using MuJoCo's URDF importer so that we keep the
visual meshes (the importer drops them), mark collision and visual geoms apart, and add
what a URDF cannot say: position actuators, gravity compensation and finger pads.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np
import pybullet_data

from vla_bench.sim.effort import add_force_sensors

PANDA_DIR = Path(pybullet_data.getDataPath()) / "franka_panda"
ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
FINGER_BODIES = ("panda_leftfinger", "panda_rightfinger")
EE_SITE = "ee"
HOME_QPOS = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 1.9, 0.785])
FINGER_MAX = 0.04  # metres of travel per finger (URDF limit)
WRIST_CAMERA_TILT = 0.35  # radians

# Position-servo gains per arm joint (N·m/rad): stiff enough to track 10 Hz targets under
# gravity compensation, soft enough to stay stable at a 2 ms step.
ARM_KP = np.array([2000.0, 2000.0, 2000.0, 2000.0, 800.0, 800.0, 800.0])
ARM_DAMPING = np.array([120.0, 120.0, 120.0, 120.0, 40.0, 40.0, 40.0])
FINGER_DAMPING = 20.0
GRIPPER_FORCE = 50.0  # N on the finger tendon at most: each finger squeezes with up to 25 N
GRIPPER_KP = 20000.0  # stiff, so even a thin handle gets the full squeeze

# Pad contacts are stiff (MuJoCo's default soft contact let a 25 N squeeze sink 1.5 cm into a
# light ball); solmix makes the pad's parameters win over the object's in every pad contact.
PAD_CONTACT = dict(solref=[0.004, 1.0], solimp=[0.95, 0.99, 0.001, 0.5, 2.0], solmix=100.0)

# Collision groups: the robot's visual meshes never collide, its collision geoms do.
VISUAL_GROUP = 2
COLLISION_GROUP = 3


@dataclass(frozen=True)
class PandaHandles:
    """Ids into the compiled model that the controller and the task logic need."""

    arm_qpos: np.ndarray  # qpos addresses of the 7 arm joints
    arm_dof: np.ndarray  # dof addresses of the 7 arm joints
    finger_qpos: np.ndarray
    arm_actuators: np.ndarray
    gripper_actuator: int
    ee_site: int
    body_ids: frozenset[int]
    finger_body_ids: frozenset[int]

    @classmethod
    def from_model(cls, model: mujoco.MjModel) -> "PandaHandles":
        def jnt(name: str) -> int:
            return model.joint(name).id

        arm = [jnt(n) for n in ARM_JOINTS]
        fingers = [jnt(n) for n in FINGER_JOINTS]
        root = model.body("panda_link0").id
        bodies = {b for b in range(model.nbody) if _has_ancestor(model, b, root)}
        return cls(
            arm_qpos=model.jnt_qposadr[arm].copy(),
            arm_dof=model.jnt_dofadr[arm].copy(),
            finger_qpos=model.jnt_qposadr[fingers].copy(),
            arm_actuators=np.array([model.actuator(f"act_{n}").id for n in ARM_JOINTS]),
            gripper_actuator=model.actuator("act_gripper").id,
            ee_site=model.site(EE_SITE).id,
            body_ids=frozenset(bodies),
            finger_body_ids=frozenset(model.body(n).id for n in FINGER_BODIES),
        )


def _has_ancestor(model: mujoco.MjModel, body: int, root: int) -> bool:
    while body != 0:
        if body == root:
            return True
        body = model.body_parentid[body]
    return False


def _floats(text: str | None, default: str = "0 0 0") -> list[float]:
    return [float(x) for x in (text or default).split()]


def _origin(elem: ET.Element | None) -> tuple[list[float], list[float]]:
    """URDF <origin> as (pos, quat wxyz)."""
    if elem is None:
        return [0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]
    quat = np.zeros(4)
    mujoco.mju_euler2Quat(quat, np.array(_floats(elem.get("rpy"))), "XYZ")
    return _floats(elem.get("xyz")), quat.tolist()


def add_panda(spec: mujoco.MjSpec, parent: mujoco.MjsBody, pos: tuple[float, float, float],
              detailed_meshes: bool = False) -> None:
    """Add the Panda (arm, hand, fingers, actuators) to `spec` under `parent` at `pos`.

    The URDF's visual meshes have ~13k triangles per arm link; software rendering spends most
    of a frame on them. Unless `detailed_meshes`, the arm is drawn with its collision meshes
    (a few hundred triangles each, same shapes), which renders several times faster.
    """
    spec.compiler.degree = False  # URDF angles are radians
    base = parent.add_body(name="panda_link0", pos=list(pos))
    _UrdfBuilder(spec, detailed_meshes).build("panda_link0", base)
    hand = spec.body("panda_grasptarget")
    hand.add_site(name=EE_SITE, size=[0.005] * 3, rgba=[1, 0, 0, 0], group=5)
    # The wrist camera sits on the back of the hand, looking along the fingers, tilted
    # WRIST_CAMERA_TILT towards them so the fingertips and the object between them are in view.
    tilt = WRIST_CAMERA_TILT
    spec.body("panda_hand").add_camera(name="wrist", pos=[0.055, 0.0, 0.02], fovy=80,
                                        xyaxes=[0, 1, 0, np.cos(tilt), 0, np.sin(tilt)])
    _add_actuators(spec)


class _UrdfBuilder:
    """Adds the URDF's links to an MjSpec as bodies, in the URDF's own order. A class rather than
    a recursive closure: a closure that calls itself is a reference cycle, which kept each
    episode's MjSpec (and its meshes) alive until Python's slowest garbage collection."""

    def __init__(self, spec: mujoco.MjSpec, detailed_meshes: bool) -> None:
        self.spec, self.detailed_meshes = spec, detailed_meshes
        urdf = ET.parse(PANDA_DIR / "panda.urdf").getroot()
        self.links = {link.get("name"): link for link in urdf.findall("link")}
        self.children: dict[str, list[ET.Element]] = {}
        for joint in urdf.findall("joint"):
            self.children.setdefault(joint.find("parent").get("link"), []).append(joint)
        self.meshes: set[str] = set()  # the names added so far

    def mesh_name(self, filename: str) -> str:
        """The spec's name for a URDF mesh file, adding the mesh on first use."""
        path = PANDA_DIR / filename.replace("package://", "")
        name = "panda_" + path.parent.name + "_" + path.stem
        if name not in self.meshes:
            self.meshes.add(name)
            self.spec.add_mesh(name=name, file=str(path))
        return name

    def build(self, link_name: str, body: mujoco.MjsBody) -> None:
        """Add `link_name`'s geoms to `body`, then each child link as a body below it, depth first."""
        link = self.links[link_name]
        inertial = link.find("inertial")
        mass = float(inertial.find("mass").get("value")) if inertial is not None else 0.0
        if mass > 0:
            ipos, _ = _origin(inertial.find("origin"))
            body.mass = mass
            body.ipos = ipos
            # The URDF's inertias are placeholders (0.1 everywhere); a solid sphere of the
            # link's mass and 6 cm radius is closer to the real arm and keeps the servo stable.
            body.inertia = [0.4 * mass * 0.06**2] * 3
            body.explicitinertial = True
        body.gravcomp = 1.0
        for visual in link.findall("visual"):
            vpos, vquat = _origin(visual.find("origin"))
            source = visual if self.detailed_meshes else link.find("collision")
            body.add_geom(
                type=mujoco.mjtGeom.mjGEOM_MESH,
                meshname=self.mesh_name(source.find("geometry/mesh").get("filename")),
                pos=vpos, quat=vquat, contype=0, conaffinity=0, group=VISUAL_GROUP,
                rgba=[0.92, 0.92, 0.92, 1.0] if "finger" not in link_name else [0.25, 0.25, 0.25, 1.0],
                mass=0, density=0,
            )
        if link_name in FINGER_BODIES:
            _add_finger_pads(body, mirrored=link_name.endswith("rightfinger"))
        else:
            for collision in link.findall("collision"):
                cpos, cquat = _origin(collision.find("origin"))
                body.add_geom(
                    type=mujoco.mjtGeom.mjGEOM_MESH,
                    meshname=self.mesh_name(collision.find("geometry/mesh").get("filename")),
                    pos=cpos, quat=cquat, group=COLLISION_GROUP, rgba=[0.5, 0.5, 0.5, 0.0],
                    mass=0, density=0,
                )
        for joint in self.children.get(link_name, []):
            child_name = joint.find("child").get("link")
            jpos, jquat = _origin(joint.find("origin"))
            child = body.add_body(name=child_name, pos=jpos, quat=jquat)
            jtype = joint.get("type")
            if jtype in ("revolute", "prismatic"):
                limit = joint.find("limit")
                child.add_joint(
                    name=joint.get("name"),
                    type=mujoco.mjtJoint.mjJNT_HINGE if jtype == "revolute" else mujoco.mjtJoint.mjJNT_SLIDE,
                    axis=_floats(joint.find("axis").get("xyz")),
                    range=[float(limit.get("lower")), float(limit.get("upper"))],
                    limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                    armature=0.1 if jtype == "revolute" else 0.01,
                    damping=_joint_damping(joint.get("name")),
                )
            self.build(child_name, child)


def _joint_damping(name: str) -> float:
    """Servo damping lives on the joints: MuJoCo's Euler integrator treats joint damping
    implicitly, which keeps stiff servos stable at a 2 ms step without the implicit integrators
    (those were unstable with small convex meshes resting on the table)."""
    if name in ARM_JOINTS:
        return float(ARM_DAMPING[ARM_JOINTS.index(name)])
    return FINGER_DAMPING


def _add_finger_pads(body: mujoco.MjsBody, mirrored: bool) -> None:
    """Box collision for a finger: a high-friction pad at the tip and a recessed upper part.

    The finger mesh's convex hull is a poor grasp surface; boxes give flat, stable contacts
    (MuJoCo Menagerie's Panda does the same).
    """
    sign = -1.0 if mirrored else 1.0
    body.add_geom(name=body.name + "_pad", type=mujoco.mjtGeom.mjGEOM_BOX,
                  pos=[0, sign * 0.007, 0.045], size=[0.0105, 0.007, 0.009],
                  friction=[1.5, 0.02, 0.002], condim=4, group=COLLISION_GROUP, **PAD_CONTACT,
                  rgba=[0.2, 0.2, 0.2, 0.0], mass=0, density=0)
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, pos=[0, sign * 0.017, 0.018],
                  size=[0.0105, 0.009, 0.018], group=COLLISION_GROUP,
                  rgba=[0.2, 0.2, 0.2, 0.0], mass=0, density=0)


def _add_actuators(spec: mujoco.MjSpec) -> None:
    for name, kp in zip(ARM_JOINTS, ARM_KP):
        joint = spec.joint(name)
        act = spec.add_actuator(name=f"act_{name}", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=kp)
        act.ctrlrange = joint.range
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    # Both fingers move as one: a tendon sums their travel and an equality keeps them equal.
    tendon = spec.add_tendon(name="gripper_split")
    for joint in FINGER_JOINTS:
        tendon.wrap_joint(joint, 0.5)
    spec.add_equality(type=mujoco.mjtEq.mjEQ_JOINT, name1=FINGER_JOINTS[0], name2=FINGER_JOINTS[1],
                      objtype=mujoco.mjtObj.mjOBJ_JOINT, solref=[0.005, 1.0])
    grip = spec.add_actuator(name="act_gripper", target="gripper_split", trntype=mujoco.mjtTrn.mjTRN_TENDON)
    grip.set_to_position(kp=GRIPPER_KP)
    grip.ctrlrange = [0.0, FINGER_MAX]
    grip.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    grip.forcerange = [-GRIPPER_FORCE, GRIPPER_FORCE]
    grip.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    add_force_sensors(spec, [*(f"act_{name}" for name in ARM_JOINTS), "act_gripper"])  # the effort meter's
