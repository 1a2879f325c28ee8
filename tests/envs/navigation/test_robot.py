"""The mobile base moves by its wheels: forward 0.25 m, 15 degree turns, and walls stop it."""
import mujoco
import numpy as np
import pytest

import vla_bench  # noqa: F401  (GL backend before mujoco renders)
from vla_bench.envs.navigation.robot import BASE_RADIUS, DriveController, add_base


@pytest.fixture
def world():
    spec = mujoco.MjSpec()
    spec.compiler.degree = False
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[5, 5, 0.1], friction=[1, 0.01, 0.001])
    spec.worldbody.add_geom(name="wall", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.05, 1, 0.5], pos=[1.5, 0, 0.5])
    add_base(spec, 0.0, 0.0, 0.0)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_step(model, data, nstep=100)
    return model, data, DriveController(model)


def test_forward_and_turn_steps(world):
    model, data, drive = world
    assert model.nmocap == 0 and model.nu == 2  # only the two wheel motors move it
    x0, y0, _ = drive.pose(data)
    drive.move(data, 0.25, 0.0)
    x, y, yaw = drive.pose(data)
    assert np.hypot(x - x0, y - y0) == pytest.approx(0.25, abs=0.01) and abs(yaw) < np.radians(1)
    drive.move(data, 0.0, np.radians(15))
    assert np.degrees(drive.pose(data)[2]) == pytest.approx(15, abs=1.0)
    drive.move(data, 0.0, -np.radians(30))
    assert np.degrees(drive.pose(data)[2]) == pytest.approx(-15, abs=1.0)


def test_a_wall_stops_the_base(world):
    model, data, drive = world
    for _ in range(10):
        drive.move(data, 0.25, 0.0)
    x, _, _ = drive.pose(data)
    assert x == pytest.approx(1.45 - BASE_RADIUS, abs=0.02)  # touching the wall's face, not through it
