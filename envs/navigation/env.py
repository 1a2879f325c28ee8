"""The indoor navigation environment every navigation task family shares.

A house (floor plan, furniture, lighting, paint) is built into MuJoCo with a differential-drive
base that moves only through its wheel motors. A task family says which furnishings are the
goals and how the instruction names them (`choose_goals`); success follows Habitat: the agent
calls stop within `SUCCESS_DISTANCE` of the goal's footprint along a path that crosses no wall
(`region.GoalRegion`; of each goal in turn for multi-step instructions), so a stop in the next
room never counts. The episode life cycle is `vla_bench.task.TaskEnv`'s.

Observations: `rgb` and `depth` from the egocentric camera, `proprio` = (x, y, cos yaw, sin yaw)
from odometry, `instruction`. Actions: Discrete(4) {0 stop, 1 forward 0.25 m, 2 turn left 15°,
3 turn right 15°}, or with `action_mode="continuous"` a Box(2) (v, ω) in [-1, 1] scaled to
0.5 m/s and 60°/s for one control period, where a command with |v| and |ω| under 0.05 is stop.

Disturbances (the `novel_disturbances` split, `disturbances.py`): an obstacle on the path, the goal
moved within its room, a door closed ahead. They change the house the env keeps (`rearrange`), so
the grids, the collision geoms and the goal regions follow; L* stays the undisturbed one.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from scipy.ndimage import distance_transform_edt

from vla_bench.assets import colors, furniture
from vla_bench.envs.navigation import disturbances
from vla_bench.envs.navigation.expert import NavigationExpert
from vla_bench.envs.navigation.geodesic import OccupancyGrid
from vla_bench.envs.navigation.layout import CLEARANCE, Furnishing, House, house_from_factors, part_rgb, sample_house
from vla_bench.envs.navigation.region import GoalRegion
from vla_bench.envs.navigation.robot import BASE, BASE_RADIUS, DriveConfig, DriveController
from vla_bench.envs.navigation.scene import build_floor_plan_scene
from vla_bench.sim.rendering import OffscreenRenderer
from vla_bench.specs import EpisodeSpec, PoolSelection
from vla_bench.task.base import SimulationUnstable, TaskEnv
from vla_bench.task.disturbance import DisturbanceEvent, DisturbanceSpec
from vla_bench.task.instruction import instruction_space
from vla_bench.task.sampling import FactorSampler

SUCCESS_DISTANCE = 1.0  # metres from the goal's footprint, along a path that crosses no wall, when stop is called
SAFETY_DISTANCE = 0.05  # the supervisor blocks a forward step that would bring the body closer to an obstacle
CONTINUOUS_PERIOD = 0.25  # seconds one continuous command is held
MAX_SPEED, MAX_TURN_RATE = 0.5, np.radians(60)
STOP, FORWARD, LEFT, RIGHT = range(4)
Box = tuple[float, float, float, float]  # an axis-aligned footprint: x0, y0, x1, y1


class NavigationEnv(TaskEnv):
    """Base of the navigation task families: a furnished house and a differential-drive base."""

    render_camera = "ego"
    domain: ClassVar[str] = "navigation"
    factors: ClassVar[tuple[str, ...]] = (
        "furniture_kind", "color", "floor_plan", "wall_color", "floor_color", "room_light", "instruction_template")
    success_distance: ClassVar[float] = SUCCESS_DISTANCE
    disturbance_kinds = ("block_path", "move_goal", "close_door")
    disturbance_steps = (2, 8)  # the robot has turned towards its path and started along it

    def __init__(self, render_mode: str | None = "rgb_array", image_size: int = 128, action_mode: str = "discrete",
                 pools: PoolSelection | None = None, observations: Sequence[str] | None = None) -> None:
        if action_mode not in ("discrete", "continuous"):
            raise ValueError(f"action_mode must be 'discrete' or 'continuous', got {action_mode!r}")
        super().__init__(render_mode, image_size, pools, observations)
        self.action_mode = action_mode
        # steps per simulated second: a discrete move (0.25 m or 15 degrees, then settling) takes about 1 s
        self.metadata = {**self.metadata, "render_fps": 1.0 if action_mode == "discrete" else 1 / CONTINUOUS_PERIOD}
        self.observation_space = self.observed_space({
            "rgb": gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8),
            "depth": gym.spaces.Box(0.0, np.inf, (image_size, image_size), np.float32),
            "proprio": gym.spaces.Box(-np.inf, np.inf, (4,), np.float32),
            "instruction": instruction_space(),
        })
        self.action_space = (gym.spaces.Discrete(4) if action_mode == "discrete"
                             else gym.spaces.Box(-1.0, 1.0, (2,), np.float32))
        self.drive_config = DriveConfig()

    # ----------------------------------------------------------------- hooks for task families
    def choose_goals(self, rng: np.random.Generator, house: House,
                     distances: np.ndarray) -> tuple[list[int], dict[str, str]] | None:
        """Indices of the goal furnishings and the instruction's slots (the base swaps in synonyms
        for unseen templates), or None when this house has no fitting goal (another is drawn).
        `distances[i]`: geodesic distance from the start into furnishing i's success region
        (inf when unreachable)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------ episode sampling
    def sample_episode(self, seed: int, pools: PoolSelection | None = None) -> EpisodeSpec:
        rng = np.random.default_rng(seed)
        sampler = FactorSampler(rng, pools or self.pools)
        paint = {"wall_color": list(sampler.choice("wall_color")), "floor_color": list(sampler.choice("floor_color")),
                 "room_light": float(sampler.choice("room_light")),
                 "instruction_template": sampler.choice("instruction_template")}
        for _ in range(50):
            factors, house = sample_house(rng, sampler)
            free = house.free_space()
            start_distances = free.distances_to(*house.start[:2])
            fields = [goal_region(house, f).field(free) for f in house.furnishings]
            distances = np.array([_closest_in_region(start_distances, free, field)[0] for field in fields])
            chosen = self.choose_goals(rng, house, distances)
            if chosen is not None:
                break
        else:
            raise RuntimeError(f"no house with a goal for {self.task_name} in 50 draws (seed {seed})")
        goals, slots = chosen
        if paint["instruction_template"] == "unseen":
            slots = {k: _with_synonym(v) for k, v in slots.items()}
        instruction = self.compose_instruction(rng, paint["instruction_template"], slots)
        factors |= paint | {"goals": goals}
        return EpisodeSpec(self.task_name, int(seed), factors, instruction)

    # ------------------------------------------------------------------------ the episode
    def _start_episode(self, episode: EpisodeSpec) -> None:
        self.goal_ids = tuple(episode.factors["goals"])  # the goals' indices in house.furnishings
        self.rearrange(house_from_factors(episode.factors), ())
        self._build(episode.factors)
        self._goal_index = 0
        self._stopped_wrong = False
        self._hold = False
        self._touching = set()
        self._position = np.array(self.house.start[:2])
        self.shortest_path_length = self._reference_length()

    def _advance(self, action) -> int:
        if self._hold:
            self._hold = False
            self.effort.step(self.data, 10)
        elif self._wants_stop(action):
            self._call_stop()
        elif self.action_mode == "discrete":
            distance = self.drive_config.forward_step if action == FORWARD else 0.0
            angle = {LEFT: self.drive_config.turn_step, RIGHT: -self.drive_config.turn_step}.get(int(action), 0.0)
            self._drive.move(self.data, distance, angle)
        else:
            v, w = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
            self._drive.set_velocity(self.data, v * MAX_SPEED, w * MAX_TURN_RATE)
            self.effort.step(self.data, int(CONTINUOUS_PERIOD / self.model.opt.timestep))
            self._drive.set_velocity(self.data, 0.0, 0.0)
        return self._after_motion()

    def apply_disturbance(self, spec: DisturbanceSpec, step: int) -> DisturbanceEvent | None:
        return disturbances.KINDS[spec.kind](self, spec, step)

    def rearrange(self, house: House, blockers: tuple[Box, ...]) -> None:
        """Make `house`, plus `blockers` (footprints of obstacles that are no furniture), the world
        that success, collision checks and planners see: grids and goal regions are derived here
        once (cheap to query each step), at the start and after a disturbance."""
        self.house, self.blockers = house, blockers
        self.goals = [house.furnishings[i] for i in self.goal_ids]
        self._obstacle_grid, self.free_space = world_grids(house, blockers)
        self._clearance = distance_transform_edt(~self._obstacle_grid.blocked) * self._obstacle_grid.resolution
        self._regions = [goal_region(house, goal) for goal in self.goals]
        self._fields = [region.field(self.free_space) for region in self._regions]

    def route_length(self, house: House, blockers: tuple[Box, ...]) -> float:
        """Geodesic length from the robot into the current goal's success region were the world
        `house` with `blockers` (a disturbance's candidate); inf when that goal or a later one
        could not be reached."""
        _, free = world_grids(house, blockers)
        distances = free.distances_to(*nearest_free(free, self.pose[:2]))
        lengths = [_closest_in_region(distances, free, goal_region(house, house.furnishings[i]).field(free))[0]
                   for i in self.goal_ids[self._goal_index:]]
        return lengths[0] if lengths and np.all(np.isfinite(lengths)) else float("inf")

    def success_conditions(self) -> dict[str, bool]:
        index = min(self._goal_index, len(self.goals) - 1)
        return {"within_radius": self.goal_distance(index) <= SUCCESS_DISTANCE,
                "stopped": self.current_goal is None}

    def is_success(self) -> bool:
        return self.current_goal is None

    def has_failed(self) -> bool:
        return self._stopped_wrong

    def hold_next_step(self) -> None:
        """Make the next step keep the robot where it is, whatever the action (the supervisor's
        answer to a blocked command)."""
        self._hold = True

    def turn_around(self) -> None:
        """Turn the base by 180 degrees (the supervisor's answer to a stalled agent)."""
        self._drive.move(self.data, 0.0, np.pi, max_seconds=5.0)

    # ------------------------------------------------------------------------ state for tasks and experts
    def keypoint_offsets(self) -> np.ndarray:
        """Where the current goal and the last goal lie relative to the base, in the base's own frame
        (metres forward, left, and 0 up, from the base's centre to the furnishing's centre): what a
        policy has to find in its camera images. Demonstrations record them (`vla_bench.keypoints`)
        for training-time supervision; policies never get them."""
        x, y, yaw = self.pose
        cos, sin = np.cos(yaw), np.sin(yaw)
        current = self.goals[min(self._goal_index, len(self.goals) - 1)]
        offsets = []
        for goal in (current, self.goals[-1]):
            dx, dy = goal.x - x, goal.y - y
            offsets += [cos * dx + sin * dy, -sin * dx + cos * dy, 0.0]
        return np.array(offsets, dtype=np.float32)

    def controlled_point(self) -> np.ndarray:
        return np.array(self.pose[:2])

    @property
    def pose(self) -> tuple[float, float, float]:
        return self._drive.pose(self.data)

    @property
    def goal_index(self) -> int:
        return self._goal_index

    @property
    def current_goal(self) -> Furnishing | None:
        return self.goals[self._goal_index] if self._goal_index < len(self.goals) else None

    def goal_distance(self, index: int | None = None, point=None) -> float:
        """Length of the shortest path from `point` (default the base's centre) to goal `index`'s
        footprint (default the current goal) that crosses no wall; inf beyond SUCCESS_DISTANCE."""
        index = self._goal_index if index is None else index
        if index >= len(self.goals):
            return float("inf")
        point = self.pose[:2] if point is None else point
        return float(self._regions[index].distance([point])[0])

    def within_goal(self) -> bool:
        """Whether the base's centre is in the current goal's success region."""
        return self.current_goal is not None and self.goal_distance() <= SUCCESS_DISTANCE

    def goal_target(self, inside: float) -> tuple[float, float]:
        """The free point nearest (geodesically) from here that lies `inside` metres within the
        current goal's success region."""
        distances = self.free_space.distances_to(*self.nearest_free(self.pose[:2]))
        field = self._fields[self._goal_index]
        length, point = _closest_in_region(distances, self.free_space, field, SUCCESS_DISTANCE - inside)
        if not np.isfinite(length):  # the region's inner part is out of reach: aim at its edge
            point = _closest_in_region(distances, self.free_space, field)[1]
        return point

    def goal_path(self, inside: float = 0.0) -> list[tuple[float, float]]:
        """The robot's position (its nearest free point) and the waypoints of the taut geodesic
        path from there to `goal_target(inside)`."""
        start = self.nearest_free(self.pose[:2])
        target = self.goal_target(inside)
        return [start, *(self.free_space.path(start, target)[1:] or [target])]

    def forward_is_blocked(self, heading: float | None = None) -> bool:
        """Whether one forward step (along `heading`, default the robot's) would bring the body
        closer to a wall, furniture or obstacle than SAFETY_DISTANCE (a step that keeps or gains
        distance is never blocked)."""
        x, y, yaw = self.pose
        yaw = yaw if heading is None else heading
        now = self._clearance_at(x, y)
        for s in np.linspace(0.05, self.drive_config.forward_step, 6):
            ahead = self._clearance_at(x + s * np.cos(yaw), y + s * np.sin(yaw))
            if ahead - BASE_RADIUS < SAFETY_DISTANCE and ahead < now - 1e-6:
                return True
        return False

    def _clearance_at(self, x: float, y: float) -> float:
        """Distance from (x, y) to the nearest wall, furniture or obstacle (0 outside the house)."""
        grid = self._obstacle_grid
        i, j = grid.cell(x, y)
        if not (0 <= i < grid.blocked.shape[0] and 0 <= j < grid.blocked.shape[1]):
            return 0.0
        return float(self._clearance[i, j])

    def make_expert(self) -> NavigationExpert:
        return NavigationExpert(self)

    def progress(self) -> float:
        done = float(self._goal_index)
        if self.current_goal is not None and not self._stopped_wrong:
            done += float(self.within_goal()) * 0.5
        return min(1.0, done / len(self.goals))

    # ------------------------------------------------------------------------ internals
    def _build(self, factors: dict[str, Any]) -> None:
        self.close()
        spec = build_floor_plan_scene(self.house.plan, self.house.start, tuple(factors["wall_color"]),
                                      tuple(factors["floor_color"]), factors["room_light"], self.image_size)
        disturbances.add_parked_bodies(spec)
        palette = colors()
        for n, item in enumerate(self.house.furnishings):
            body = spec.worldbody.add_body(name=f"furniture_{n}", pos=[item.x, item.y, 0],
                                           quat=[np.cos(item.yaw / 2), 0, 0, np.sin(item.yaw / 2)])
            for part in furniture()[item.kind].parts:
                rgba = [*palette[item.color], 1.0] if part["painted"] else [*part_rgb(part), 1.0]
                body.add_geom(name=f"furniture_{n}_{len(body.geoms)}", type=_GEOM[part["type"]],
                              size=part["size"], pos=part["pos"], rgba=rgba)
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, self.data)
        self._drive = DriveController(self.model, self.drive_config)
        self.effort = self._drive.effort
        mujoco.mj_step(self.model, self.data, nstep=100)  # settle on the wheels
        self._robot_geoms = {g for g in range(self.model.ngeom) if self._is_robot(g)}
        self._obstacle_geoms = {g for g in range(self.model.ngeom) if (self.model.geom(g).name or "").startswith(
            ("wall_", "furniture_", disturbances.PREFIX))}
        # cameras are observations whatever `render_mode` says (that is for env.render()); an
        # observation space without them (`observations=`) is what renders nothing
        self._use_renderer(OffscreenRenderer(self.model, self.image_size, self.image_size))

    def _is_robot(self, geom: int) -> bool:
        body = self.model.geom_bodyid[geom]
        base = self.model.body(BASE).id
        return body == base or self.model.body_parentid[body] == base

    def _wants_stop(self, action) -> bool:
        if self.action_mode == "discrete":
            if not self.action_space.contains(action):
                raise ValueError(f"action must be an int in [0, 4), got {action!r}")
            return int(action) == STOP
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (2,) or not np.all(np.isfinite(action)):
            raise ValueError(f"action must be 2 finite numbers (v, w) in [-1, 1], got {action!r}")
        return bool(np.all(np.abs(action) < 0.05))

    def _call_stop(self) -> None:
        if self.within_goal():
            self._goal_index += 1
        else:
            self._stopped_wrong = True

    def _after_motion(self) -> int:
        """Odometry and contact bookkeeping after a move; the new contact events."""
        if not np.all(np.isfinite(self.data.qpos)):
            raise SimulationUnstable("the base's state is not finite")
        position = np.array(self.pose[:2])
        self._path_length += float(np.linalg.norm(position - self._position))
        self._position = position
        touching = set()
        for contact in self.data.contact[: self.data.ncon]:
            pair = {contact.geom1, contact.geom2}
            robot, other = pair & self._robot_geoms, pair & self._obstacle_geoms
            if robot and other:
                touching.add(min(other))
        new_contacts = len(touching - self._touching)
        self._collisions += new_contacts
        self._touching = touching
        return new_contacts

    def _observation(self) -> dict[str, Any]:
        wanted, obs = self.observation_space.spaces, {}
        if "rgb" in wanted:
            obs["rgb"] = self._renderer.rgb(self.data, "ego")
        if "depth" in wanted:
            obs["depth"] = self._renderer.depth(self.data, "ego", scene_built="rgb" in obs)
        if "proprio" in wanted:
            x, y, yaw = self.pose
            obs["proprio"] = np.array([x, y, np.cos(yaw), np.sin(yaw)], dtype=np.float32)
        if "instruction" in wanted:
            obs["instruction"] = self.episode.instruction
        return obs

    def _reference_length(self) -> float:
        """L*: the geodesic from the start into each goal's success region in turn."""
        total, here = 0.0, self.nearest_free(self.house.start[:2])
        for field in self._fields:
            distances = self.free_space.distances_to(*here)
            length, here = _closest_in_region(distances, self.free_space, field)
            total += length
        return total

    def nearest_free(self, point) -> tuple[float, float]:
        """`point`, or the nearest free cell's centre when the robot stands in the inflated margin."""
        return nearest_free(self.free_space, point)


_GEOM = {"box": mujoco.mjtGeom.mjGEOM_BOX, "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
         "sphere": mujoco.mjtGeom.mjGEOM_SPHERE}


def world_grids(house: House, blockers: tuple[Box, ...] = ()) -> tuple[OccupancyGrid, OccupancyGrid]:
    """The obstacles (walls, furniture, `blockers`) and the free space of the robot's centre
    (`House.free_space` plus the blockers)."""
    grid = house.grid()
    for box in blockers:
        grid.block_box(*box)
    return grid, grid.inflated(BASE_RADIUS + CLEARANCE)


def nearest_free(grid: OccupancyGrid, point) -> tuple[float, float]:
    """`point`, or the nearest free cell's centre when it lies in the grid's blocked part."""
    i, j = grid.cell(*point)
    if 0 <= i < grid.blocked.shape[0] and 0 <= j < grid.blocked.shape[1] and not grid.blocked[i, j]:
        return float(point[0]), float(point[1])
    free = np.argwhere(~grid.blocked)
    k = int(np.argmin(np.hypot(free[:, 0] - i, free[:, 1] - j)))
    return grid.point(int(free[k, 0]), int(free[k, 1]))


def goal_region(house: House, goal: Furnishing) -> GoalRegion:
    """The goal's success region: within SUCCESS_DISTANCE of its footprint along a path that crosses no wall."""
    return GoalRegion(house.plan, (goal.x, goal.y), goal.half_extents, SUCCESS_DISTANCE)


def _region_mask(field: np.ndarray, radius: float = SUCCESS_DISTANCE) -> np.ndarray:
    """Cells whose centre is within `radius` of the goal's footprint along a path that crosses no
    wall (`field`: `GoalRegion.field` on the grid)."""
    return field <= radius


def _closest_in_region(distances: np.ndarray, grid: OccupancyGrid, field: np.ndarray,
                       radius: float = SUCCESS_DISTANCE) -> tuple[float, tuple[float, float]]:
    """The geodesic distance (on the planner's grid) into the goal's success region, of `radius`
    when smaller, and the cell centre where it is reached."""
    masked = np.where(_region_mask(field, radius), distances, np.inf)
    cell = np.unravel_index(int(np.argmin(masked)), masked.shape)
    return float(masked[cell]), grid.point(int(cell[0]), int(cell[1]))


def _with_synonym(name: str) -> str:
    """'red chair' -> 'red seat': the unseen templates also use unseen words for the kinds."""
    for kind, entry in furniture().items():
        if name.endswith(kind) and entry.synonyms:
            return name[: len(name) - len(kind)] + entry.synonyms[0]
    return name
