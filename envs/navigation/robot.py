"""A differential-drive mobile base: a round body on two driven wheels and two casters.

The wheels are hinge joints under velocity actuators; the base moves only through wheel-floor
friction (nothing sets its pose). `DriveController` turns the discrete actions (forward 0.25 m,
turn 15 degrees) and the continuous (v, w) mode into wheel speeds.
"""
from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from vla_bench.sim.effort import EffortMeter, add_force_sensors

BASE_RADIUS = 0.2
BASE_HEIGHT = 0.25
WHEEL_RADIUS = 0.05
WHEEL_TRACK = 0.34  # distance between the wheels
CAMERA_HEIGHT = 0.6
BASE = "base"
WHEELS = ("left_wheel", "right_wheel")
TURN_TOLERANCE = float(np.radians(0.5))  # a turn ends this close to its heading


def add_base(spec: mujoco.MjSpec, x: float, y: float, yaw: float) -> None:
    """Add the robot, its egocentric camera and its wheel actuators to `spec`."""
    body = spec.worldbody.add_body(name=BASE, pos=[x, y, WHEEL_RADIUS + 0.002],
                                   quat=[np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
    body.add_freejoint(name="base_joint")
    body.add_geom(name="base_shell", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[BASE_RADIUS, BASE_HEIGHT / 2, 0],
                  pos=[0, 0, BASE_HEIGHT / 2], rgba=[0.2, 0.2, 0.25, 1], mass=12.0)
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.04, 0.04, 0.2], pos=[0.1, 0, BASE_HEIGHT + 0.2],
                  rgba=[0.3, 0.3, 0.35, 1], mass=0.5, contype=0, conaffinity=0)
    for sx in (-1, 1):  # frictionless casters front and back keep it level
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[WHEEL_RADIUS * 0.6 - 0.003, 0, 0],  # 3 mm up: the wheels carry the weight
                      pos=[sx * (BASE_RADIUS - 0.05), 0, -WHEEL_RADIUS * 0.4], friction=[0.0, 0.0, 0.0],
                      condim=1, mass=0.1, rgba=[0.1, 0.1, 0.1, 1])
    for name, side in zip(WHEELS, (1, -1)):
        wheel = body.add_body(name=name, pos=[0, side * WHEEL_TRACK / 2, 0])
        # a geared motor: its rotor inertia (armature) keeps the stiff velocity servo stable at 2 ms
        wheel.add_joint(name=name, type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 1, 0], damping=0.01, armature=0.05)
        wheel.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[WHEEL_RADIUS, 0.02, 0],
                       quat=[np.sqrt(0.5), np.sqrt(0.5), 0, 0], friction=[1.2, 0.01, 0.001], mass=0.5,
                       rgba=[0.05, 0.05, 0.05, 1])
        actuator = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_velocity(kv=5.0)
        actuator.forcerange = [-20.0, 20.0]
        actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    add_force_sensors(spec, WHEELS)  # the effort meter's
    body.add_camera(name="ego", pos=[0.12, 0, CAMERA_HEIGHT - WHEEL_RADIUS], fovy=79,
                    xyaxes=[0, -1, 0, 0, 0, 1])


@dataclass(frozen=True)
class DriveConfig:
    forward_step: float = 0.25  # metres per `forward` action
    turn_step: float = np.radians(15)  # radians per turn action
    speed: float = 0.5  # m/s while driving a step
    turn_rate: float = np.radians(60)  # rad/s while turning


class DriveController:
    """Closes the loop on the base's pose to carry out one motion, like a real base controller
    tracking its odometry: wheel speeds from (v, w), updated every few physics steps. It steps
    the physics through `effort`, which meters the wheels' torques."""

    def __init__(self, model: mujoco.MjModel, config: DriveConfig = DriveConfig()) -> None:
        self.model, self.config = model, config
        self.base = model.body(BASE).id
        self.actuators = [model.actuator(name).id for name in WHEELS]
        self.effort = EffortMeter(model, self.actuators)

    def pose(self, data: mujoco.MjData) -> tuple[float, float, float]:
        x, y = data.xpos[self.base][:2]
        mat = data.xmat[self.base].reshape(3, 3)
        return float(x), float(y), float(np.arctan2(mat[1, 0], mat[0, 0]))

    def set_velocity(self, data: mujoco.MjData, v: float, w: float) -> None:
        """Wheel speeds (rad/s) for forward speed v (m/s) and turn rate w (rad/s)."""
        left = (v - w * WHEEL_TRACK / 2) / WHEEL_RADIUS
        right = (v + w * WHEEL_TRACK / 2) / WHEEL_RADIUS
        data.ctrl[self.actuators] = [left, right]

    def move(self, data: mujoco.MjData, distance: float, angle: float, max_seconds: float = 2.0,
             chunk: int = 10) -> None:
        """Drive `distance` metres ahead or turn by `angle` radians, then stop; a wall stops it early."""
        model, cfg = self.model, self.config
        x0, y0, yaw0 = self.pose(data)
        steps = int(max_seconds / model.opt.timestep)
        for _ in range(0, steps, chunk):
            x, y, yaw = self.pose(data)
            if distance:
                travelled = np.hypot(x - x0, y - y0)
                if travelled >= distance - 0.005:
                    break
                v = min(cfg.speed, 4.0 * (distance - travelled) + 0.05)
                self.set_velocity(data, v, 2.0 * wrap_angle(yaw0 - yaw))
            else:
                left = wrap_angle(yaw0 + angle - yaw)
                if abs(left) < TURN_TOLERANCE:
                    break
                # min/max is np.clip on one float, without its microseconds: this runs every 10 physics steps
                self.set_velocity(data, 0.0, min(max(4.0 * left, -cfg.turn_rate), cfg.turn_rate))
            self.effort.step(data, chunk)
        self.set_velocity(data, 0.0, 0.0)
        self.effort.step(data, chunk * 5)  # come to rest


def wrap_angle(angle: float) -> float:
    """The same angle in [-pi, pi)."""
    return float((angle + np.pi) % (2 * np.pi) - np.pi)
