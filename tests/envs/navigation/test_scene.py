"""A generated floor plan becomes a scene the robot sees and cannot drive through."""
import mujoco
import numpy as np

import vla_bench  # noqa: F401  (chooses the GL platform)
from vla_bench.envs.navigation.floorplan import generate_floor_plan
from vla_bench.envs.navigation.robot import DriveController
from vla_bench.envs.navigation.scene import build_floor_plan_scene, wall_geoms
from vla_bench.sim.rendering import OffscreenRenderer


def _scene(seed=3):
    plan = generate_floor_plan(np.random.default_rng(seed))
    room = plan.rooms[0]
    start = (*room.center, 0.0)
    model = build_floor_plan_scene(plan, start, wall_rgb=(0.8, 0.75, 0.7), floor_rgb=(0.4, 0.3, 0.2)).compile()
    data = mujoco.MjData(model)
    mujoco.mj_step(model, data, nstep=100)
    return plan, room, model, data


def test_the_egocentric_camera_sees_walls_and_floor():
    _, _, model, data = _scene()
    renderer = OffscreenRenderer(model, 128, 128)
    image = renderer.rgb(data, "ego").astype(float)
    renderer.close()
    assert image.std() > 10
    wall, floor = np.array([0.8, 0.75, 0.7]), np.array([0.4, 0.3, 0.2])
    middle, bottom = image[50:80].reshape(-1, 3).mean(0) / 255, image[-30:].reshape(-1, 3).mean(0) / 255
    assert np.linalg.norm(middle - wall) < np.linalg.norm(middle - floor)  # walls at eye height
    assert np.linalg.norm(bottom - floor) < np.linalg.norm(bottom - wall)  # floor below


def test_driving_into_a_wall_stops_at_the_wall_and_touches_it():
    plan, room, model, data = _scene()
    drive = DriveController(model)
    for _ in range(int((room.x1 - room.x0) / 0.25) + 4):  # more than enough to cross the room
        drive.move(data, 0.25, 0.0)
    x, _, _ = drive.pose(data)
    assert x < room.x1  # never through the wall
    walls = wall_geoms(model)
    touching = {int(g) for c in data.contact[: data.ncon] for g in (c.geom1, c.geom2)}
    assert walls & touching or x > room.x1 - 0.3
