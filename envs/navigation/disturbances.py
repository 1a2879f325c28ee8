"""The house's disturbances (`vla_bench.task.disturbance`), applied in the physics and in the house
the env keeps (`NavigationEnv.rearrange`), so that collisions, success and planners all see them:

- `block_path`: a hazard-striped box appears on the robot's geodesic path to its current goal, the
  magnitude ahead along it (else the nearest distance along it that fits: clear of the robot, of
  walls and furniture and of the goals' success regions, with a way around it at most MAX_DETOUR
  longer; only where no such spot is, one that leaves the goals reachable through other rooms,
  as in a doorway of a 2x2 plan);
- `move_goal`: the current goal moves within its room at least the magnitude from where it stood
  (else as far as it can), to a spot clear of walls, doorways, furniture and the robot, from
  which it is still reachable;
- `close_door`: when the robot comes within the magnitude of a doorway its path crosses, a door
  closes it; only a doorway on a cycle of the room graph, so another route remains (a 3x1 plan
  has none: there it never fires).

Each returns None (tried again next step) until its situation arises. The obstacle and the door
are static bodies every scene has, parked under the floor; static bodies collide with the robot
but never with the floor or walls they touch. They and the moved goal are placed by editing the
episode's own model (`body_pos`: `_start_episode` compiles a fresh one every episode).
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

import mujoco
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vla_bench.envs.navigation.floorplan import DOOR_WIDTH, FloorPlan, Wall
from vla_bench.envs.navigation.layout import CLEARANCE, DOOR_KEEP_OUT, WALL_MARGIN, Furnishing
from vla_bench.envs.navigation.region import segments_clear, wall_boxes
from vla_bench.envs.navigation.robot import BASE_RADIUS
from vla_bench.envs.navigation.scene import WALL_HEIGHT
from vla_bench.task.disturbance import DisturbanceEvent, DisturbanceSpec

if TYPE_CHECKING:
    from vla_bench.envs.navigation.env import Box, NavigationEnv

PREFIX = "disturbance_"  # names of the parked bodies and their geoms (obstacles for the collision count)
OBSTACLE, DOOR = PREFIX + "obstacle", PREFIX + "door"
OBSTACLE_HALF = (0.25, 0.25, 0.3)  # a 0.5 x 0.5 x 0.6 m box
HAZARD = ((0.95, 0.8, 0.05), (0.05, 0.05, 0.05))  # yellow and black checks: no furniture looks like it
DOOR_RGB = (0.55, 0.38, 0.22)
DOOR_THICKNESS = 0.06  # thinner than the wall (grids use the wall's box): no coplanar faces to flicker
PARKED_Z = -2.0  # under the floor: out of every camera's sight
ALONG_STEP = 0.25  # metres between the obstacle spots tried along the path
MAX_DETOUR = 2.5  # metres the way around an obstacle may add to the robot's geodesic
MAX_TRIES = 8  # candidate spots checked for reachability (a geodesic each) per step
ROBOT_GAP = BASE_RADIUS + CLEARANCE + 0.05  # a placed obstacle, door or goal stays this far from the robot's centre
SPOT_STEP = 0.1  # metres between the goal spots tried in its room
# a moved goal keeps this gap to other furniture: the robot still fits between them (the house
# generator's wider PASSAGE leaves the goal too little room to move the magnitude in most rooms)
GOAL_GAP = 2 * (BASE_RADIUS + CLEARANCE) + 0.05


def add_parked_bodies(spec: mujoco.MjSpec) -> None:
    """The obstacle and the door panel, under the floor until a disturbance places them."""
    spec.add_texture(name=OBSTACLE, type=mujoco.mjtTexture.mjTEXTURE_CUBE, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
                     rgb1=HAZARD[0], rgb2=HAZARD[1], width=64, height=64)
    material = spec.add_material(name=OBSTACLE)
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = OBSTACLE
    box = mujoco.mjtGeom.mjGEOM_BOX
    spec.worldbody.add_body(name=OBSTACLE, pos=[0, 0, PARKED_Z]).add_geom(
        name=OBSTACLE, type=box, size=OBSTACLE_HALF, material=OBSTACLE)
    spec.worldbody.add_body(name=DOOR, pos=[0, 0, PARKED_Z]).add_geom(
        name=DOOR, type=box, size=[DOOR_WIDTH / 2, DOOR_THICKNESS / 2, WALL_HEIGHT / 2], rgba=[*DOOR_RGB, 1])


def block_path(env: "NavigationEnv", spec: DisturbanceSpec, step: int) -> DisturbanceEvent | None:
    """The obstacle onto the path, at the first spot (from the magnitude on) with a short way
    around, else at the first that leaves the goals reachable at all."""
    if env.current_goal is None:
        return None
    path = np.array(env.goal_path())
    robot = np.array(env.pose[:2])
    hx, hy, _ = OBSTACLE_HALF
    boxes = [(x - hx, y - hy, x + hx, y + hy) for x, y in _points_along(path, spec.magnitude)]
    boxes = [box for box in boxes if _obstacle_fits(env, box, robot)][:MAX_TRIES]
    if not boxes:
        return None
    detour_limit = env.route_length(env.house, env.blockers) + MAX_DETOUR
    long_way = None  # the first spot that leaves only a way through other rooms
    for box in boxes:
        length = env.route_length(env.house, (*env.blockers, box))
        if length <= detour_limit:
            return _put_obstacle(env, spec, step, box)
        if long_way is None and np.isfinite(length):
            long_way = box
    return None if long_way is None else _put_obstacle(env, spec, step, long_way)


def move_goal(env: "NavigationEnv", spec: DisturbanceSpec, step: int) -> DisturbanceEvent | None:
    """The current goal to a free spot of its room: the magnitude away, towards the drawn
    direction (so episodes differ), else the farthest spot there is."""
    goal = env.current_goal
    if goal is None:
        return None
    index = env.goal_ids[env.goal_index]
    spots = _goal_spots(env, index)
    shift = np.array([[s.x - goal.x, s.y - goal.y] for s in spots]).reshape(-1, 2)
    distance = np.hypot(*shift.T)
    far = distance >= spec.magnitude
    if far.any():  # far enough: the spot nearest to the drawn direction
        turn = np.abs((np.arctan2(shift[:, 1], shift[:, 0]) - spec.direction + np.pi) % (2 * np.pi) - np.pi)
        order = np.flatnonzero(far)[np.argsort(turn[far], kind="stable")]
    else:  # the room is too small: as far as it goes
        order = np.argsort(-distance, kind="stable")
    for k in order[:MAX_TRIES]:
        moved = spots[k]
        house = replace(env.house, furnishings=tuple(moved if n == index else item
                                                     for n, item in enumerate(env.house.furnishings)))
        if np.isfinite(env.route_length(house, env.blockers)):
            before, after = _place(env, f"furniture_{index}", (moved.x, moved.y, 0.0), moved.yaw)
            env.rearrange(house, env.blockers)
            return DisturbanceEvent(spec.kind, step, float(env.data.time), "goal", before, after)
    return None


def close_door(env: "NavigationEnv", spec: DisturbanceSpec, step: int) -> DisturbanceEvent | None:
    """The door into the nearest doorway on a cycle, within the magnitude, that the path crosses."""
    if env.current_goal is None:
        return None
    plan, robot = env.house.plan, np.array(env.pose[:2])
    near = sorted((float(np.hypot(*(np.array(door) - robot))), door) for door in _doors_on_cycles(plan))
    near = [door for distance, door in near if distance <= spec.magnitude]
    if not near:
        return None
    path = np.array(env.goal_path())
    for door in near:
        panel, yaw = _panel(plan, door)
        closed = replace(plan, walls=(*plan.walls, panel), doors=tuple(d for d in plan.doors if d != door))
        box = wall_boxes(closed)[-1]
        if segments_clear(path[:-1], path[1:], box[None]).all() or _gap(robot, box) < ROBOT_GAP:
            continue  # the path does not cross it, or the door would close on the robot
        house = replace(env.house, plan=closed)
        if np.isfinite(env.route_length(house, env.blockers)):
            before, after = _place(env, DOOR, (*door, WALL_HEIGHT / 2), yaw)
            env.rearrange(house, env.blockers)
            return DisturbanceEvent(spec.kind, step, float(env.data.time), "door", before, after)
    return None


KINDS: dict[str, Callable[["NavigationEnv", DisturbanceSpec, int], DisturbanceEvent | None]] = {
    "block_path": block_path, "move_goal": move_goal, "close_door": close_door}


def _put_obstacle(env: "NavigationEnv", spec: DisturbanceSpec, step: int, box: "Box") -> DisturbanceEvent:
    before, after = _place(env, OBSTACLE, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, OBSTACLE_HALF[2]), 0.0)
    env.rearrange(env.house, (*env.blockers, box))
    return DisturbanceEvent(spec.kind, step, float(env.data.time), "obstacle", before, after)


def _place(env: "NavigationEnv", body: str, pos: tuple[float, float, float],
           yaw: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Move the static `body` to `pos`, turned by `yaw`; its position before and after."""
    model, data = env.model, env.data
    body_id = model.body(body).id
    before = tuple(float(v) for v in data.xpos[body_id])
    model.body_pos[body_id] = pos
    model.body_quat[body_id] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
    mujoco.mj_forward(model, data)
    return before, tuple(float(v) for v in data.xpos[body_id])


def _points_along(path: np.ndarray, magnitude: float) -> list[tuple[float, float]]:
    """Points on the path the magnitude from its start, then ALONG_STEP nearer and farther in
    turn, nearest to the magnitude first (within the path: a short path starts nearer)."""
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    n = int(np.ceil(max(magnitude, arc[-1]) / ALONG_STEP))
    along = magnitude + ALONG_STEP * np.arange(-n, n + 1)
    along = along[(along > 0) & (along < arc[-1])]
    along = along[np.argsort(np.abs(along - magnitude), kind="stable")]
    return list(zip(np.interp(along, arc, path[:, 0]), np.interp(along, arc, path[:, 1])))


def _obstacle_fits(env: "NavigationEnv", box: "Box", robot: np.ndarray) -> bool:
    """Whether an obstacle on `box` stays clear of the robot, of walls and furniture, and of every
    remaining goal's success region (the obstacle grid and the goal fields share the free space's cells)."""
    grid = env.free_space
    (i0, j0), (i1, j1) = grid.cell(*box[:2]), grid.cell(*box[2:])
    cells = np.s_[max(i0, 0):i1 + 1, max(j0, 0):j1 + 1]
    return (_gap(robot, box) >= ROBOT_GAP and not env._obstacle_grid.blocked[cells].any()
            and all(field[cells].min() > env.success_distance for field in env._fields[env.goal_index:]))


def _goal_spots(env: "NavigationEnv", index: int) -> list[Furnishing]:
    """Where furnishing `index` could stand in its room instead: WALL_MARGIN from walls and
    DOOR_KEEP_OUT from doorways (the house generator's rules), GOAL_GAP from other furniture,
    clear of the robot, and two success distances from the other goals (so their regions still
    share no point)."""
    house, goal = env.house, env.house.furnishings[index]
    room = next(r for r in house.plan.rooms if r.kind == goal.room)
    others = [item for n, item in enumerate(house.furnishings) if n != index]
    other_goals = [house.furnishings[n] for n in env.goal_ids if n != index]
    robot = env.pose[:2]
    hx, hy = goal.half_extents
    spots = []
    for x in np.arange(room.x0 + hx + WALL_MARGIN, room.x1 - hx - WALL_MARGIN, SPOT_STEP):
        for y in np.arange(room.y0 + hy + WALL_MARGIN, room.y1 - hy - WALL_MARGIN, SPOT_STEP):
            spot = replace(goal, x=float(x), y=float(y))
            if (spot.distance(*robot) >= ROBOT_GAP and all(spot.gap(o) >= GOAL_GAP for o in others)
                    and all(spot.distance(*door) >= DOOR_KEEP_OUT for door in house.plan.doors)
                    and all(spot.gap(g) >= 2 * env.success_distance for g in other_goals)):
                spots.append(spot)
    return spots


def _doors_on_cycles(plan: FloorPlan) -> list[tuple[float, float]]:
    """The doorways whose closing leaves every room reachable through the others."""
    joins = {door: [k for k, room in enumerate(plan.rooms) if room.contains(*door)] for door in plan.doors}

    def connected_without(closed: tuple[float, float]) -> bool:
        links = np.array([rooms for door, rooms in joins.items() if door != closed]).reshape(-1, 2)
        graph = coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(len(plan.rooms),) * 2)
        return connected_components(graph, directed=False)[0] == 1

    return [door for door in plan.doors if connected_without(door)]


def _panel(plan: FloorPlan, door: tuple[float, float]) -> tuple[Wall, float]:
    """The wall segment that closes the doorway, and the yaw that turns the door geom (along x) onto it."""
    x, y = door
    room = plan.room_at(x, y)
    if np.isclose(x, [room.x0, room.x1]).any():  # in a wall along y
        return Wall(x, y - DOOR_WIDTH / 2, x, y + DOOR_WIDTH / 2), np.pi / 2
    return Wall(x - DOOR_WIDTH / 2, y, x + DOOR_WIDTH / 2, y), 0.0


def _gap(point: np.ndarray, box) -> float:
    """Distance from `point` to the box (x0, y0, x1, y1); 0 inside it."""
    dx = max(box[0] - point[0], point[0] - box[2], 0.0)
    dy = max(box[1] - point[1], point[1] - box[3], 0.0)
    return float(np.hypot(dx, dy))
