"""The tabletop environment every manipulation task family shares.

A task family subclasses `ManipulationEnv` and says only what makes it different (ManiSkill's
shape): which objects it needs (`sample_objects`), how the instruction reads
(`instruction_slots`), the parts of its success predicate (`success_conditions`), how far along
it is (`progress`), the keypoints of its shortest reference path (`keypoints`) and how the
scripted expert solves it (`expert_plan`). The episode life cycle is `vla_bench.task.TaskEnv`'s.
"""
from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar, Iterator

import gymnasium as gym
import mujoco
import numpy as np

from vla_bench.assets import catalog
from vla_bench.envs.manipulation import cabinet
from vla_bench.envs.manipulation.disturbances import ArmPush, displace_target, knock_out
from vla_bench.envs.manipulation.expert import ManipulationExpert
from vla_bench.envs.manipulation.geometry import VerticalExtent
from vla_bench.envs.manipulation.objects import (
    WALL_THICKNESS,
    ObjectPlacement,
    body_bounds,
)
from vla_bench.envs.manipulation.sampling import (
    WORKSPACE_X,
    WORKSPACE_Y,
    ObjectSampler,
    place_objects,
)
from vla_bench.envs.manipulation.scene import PhysicsConfig, TabletopLayout, build_scene
from vla_bench.sim.controller import ControllerConfig, EndEffectorController, norm
from vla_bench.sim.effort import EffortMeter
from vla_bench.sim.panda import FINGER_MAX, HOME_QPOS, PandaHandles
from vla_bench.sim.rendering import OffscreenRenderer
from vla_bench.specs import EpisodeSpec, PoolSelection
from vla_bench.task.base import UNSAFE_CONTACT_FORCE, TaskEnv
from vla_bench.task.disturbance import DisturbanceEvent, DisturbanceSpec
from vla_bench.task.instruction import instruction_space

SETTLE_SECONDS = 0.3  # objects drop onto the table before the first observation
TIPPED_COS = np.cos(np.radians(45))  # a non-target object tilted past this has been knocked over
SUCCESS_HOLD_STEPS = 3  # the success predicate must hold this many control steps in a row


class ManipulationEnv(TaskEnv):
    """Base of the tabletop task families: a Franka Panda, a table, objects, optional cabinet."""

    render_camera = "front"
    domain: ClassVar[str] = "manipulation"
    factors: ClassVar[tuple[str, ...]] = (
        "object_kind", "receptacle_kind", "color", "scale", "distractors", "table_texture", "floor_color", "lighting",
        "camera", "friction", "mass_scale", "instruction_template")
    needs_cabinet: ClassVar[bool] = False
    task_roles: ClassVar[tuple[str, ...]] = ("target",)  # objects the task manipulates (not distractors)
    # which two of keypoints() keypoint_offsets() records: what to grasp, push or pull, and where it goes
    supervised_keypoints: ClassVar[tuple[int, int]] = (0, 1)
    disturbance_kinds = ("displace_target", "knock_out", "push_arm")  # a task that never lifts its target drops knock_out
    disturbance_steps = (1, 6)  # a push comes early, during the approach; the target waits for the hand
    expert_misses_next_grasp = False  # set by make_expert(missed_grasp=True), cleared by the miss

    def __init__(self, render_mode: str | None = "rgb_array", image_size: int = 128, shadows: bool = False,
                 control_hz: float = 10.0, timestep: float = 0.002, pools: PoolSelection | None = None,
                 depth: bool = False, detailed_robot_meshes: bool = False,
                 observations: Sequence[str] | None = None) -> None:
        super().__init__(render_mode, image_size, pools, observations)
        self.physics = PhysicsConfig(timestep=timestep, control_hz=control_hz,
                                     image_size=(image_size, image_size), shadows=shadows,
                                     detailed_robot_meshes=detailed_robot_meshes)
        self.controller_config = ControllerConfig()
        self.metadata = {**self.metadata, "render_fps": int(control_hz) if float(control_hz).is_integer() else control_hz}
        self.with_depth = depth
        image = gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8)
        spaces = {
            "rgb": image,
            "wrist_rgb": image,
            "proprio": gym.spaces.Box(-np.inf, np.inf, (15,), np.float32),
            "instruction": instruction_space(),
        }
        if depth:
            spaces["depth"] = gym.spaces.Box(0.0, np.inf, (image_size, image_size), np.float32)
        self.observation_space = self.observed_space(spaces)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)

    # ----------------------------------------------------------------- hooks for task families
    def sample_objects(self, sampler: ObjectSampler) -> dict[str, tuple[str, str, float]]:
        """The task's objects: role -> (kind, color, scale). Distractors are added by the base."""
        raise NotImplementedError

    def sample_extras(self, sampler: ObjectSampler) -> dict[str, Any]:
        """Task-specific factor values (e.g. a push region); none by default."""
        return {}

    def placement_area(self, role: str, layout_extras: dict[str, Any]) -> tuple[float, float, float, float]:
        """Where an object of `role` may start: (x_min, x_max, y_min, y_max)."""
        return (*WORKSPACE_X, *WORKSPACE_Y)

    def instruction_slots(self, layout: TabletopLayout, synonyms: bool) -> dict[str, str]:
        raise NotImplementedError

    def success_conditions(self) -> dict[str, bool]:
        raise NotImplementedError

    def check_success(self) -> bool:
        """Whether every success condition holds now (success needs it for SUCCESS_HOLD_STEPS)."""
        return all(self.current_conditions().values())

    def is_success(self) -> bool:
        return self._success_streak >= SUCCESS_HOLD_STEPS

    def progress(self) -> float:
        return float(self.check_success())

    def after_step(self) -> None:
        """Called after every control step, before success is checked: for conditions over the
        whole episode (e.g. an object that must never have been lifted)."""

    def keypoint_offsets(self) -> np.ndarray:
        """Where two of the task's keypoints (`supervised_keypoints`: what to grasp, push or pull,
        and where it goes) lie relative to the hand, in metres: what a policy has to find in its
        images. Demonstrations record them (`vla_bench.keypoints`) for training-time supervision;
        policies never get them."""
        points = self.keypoints()
        return np.concatenate([points[i] - self.ee_pos for i in self.supervised_keypoints]).astype(np.float32)

    def keypoints(self) -> list[np.ndarray]:
        """Points the end effector must visit after its start, in order, for the reference path L*."""
        raise NotImplementedError

    def expert_plan(self) -> Iterator:
        """Yields `expert.Waypoint`s; resumed after each one is reached, so it can read live state."""
        raise NotImplementedError

    def make_expert(self, missed_grasp: bool = False) -> ManipulationExpert:
        """A scripted expert for the current episode (call after reset). With `missed_grasp`
        its first grasp closes beside the object, then it lifts, opens and grasps again as after
        any miss: demonstrations that show a recovery no clean demonstration contains."""
        self.expert_misses_next_grasp = missed_grasp
        return ManipulationExpert(self)

    # ------------------------------------------------------------------------ episode sampling
    def sample_episode(self, seed: int, pools: PoolSelection | None = None) -> EpisodeSpec:
        """Draw every factor value of an episode from `seed` (seen pools unless told otherwise)."""
        rng = np.random.default_rng(seed)
        sampler = ObjectSampler(rng, pools or self.pools)
        extras = self.sample_extras(sampler)
        wanted = self.sample_objects(sampler)
        named = [(kind, color) for kind, color, _ in wanted.values()]
        taken = set(named)
        for i in range(int(sampler.choice("distractors"))):
            kind, color = sampler.kind(where=lambda k: k.graspable), sampler.color()
            # never a twin of another object, nor one the instruction's words also fit ("the brown
            # block" would fit a brown jenga block): every instruction names exactly one object
            while (kind, color) in taken or any(c == color and answers_to(kind, k) for k, c in named):
                kind, color = sampler.kind(where=lambda k: k.graspable), sampler.color()
            wanted[f"distractor_{i}"] = (kind, color, float(sampler.choice("scale")))
            taken.add((kind, color))
        cab = None
        if self.needs_cabinet:
            side = float(rng.choice([-1.0, 1.0]))
            cab = cabinet.CabinetPlacement(color=sampler.color(), y=side * float(rng.uniform(0.14, 0.2)),
                                           opening=self.initial_drawer_opening(rng))
            extras = {**extras, "cabinet_side": side}
        layout = TabletopLayout(
            objects=place_objects(rng, wanted, lambda role: self.placement_area(role, extras)),
            table_texture=sampler.choice("table_texture"),
            floor_color=tuple(sampler.choice("floor_color")),
            lighting=sampler.choice("lighting"),
            camera=sampler.choice("camera"),
            friction=float(sampler.choice("friction")),
            mass_scale=float(sampler.choice("mass_scale")),
            cabinet=cab,
            instruction_template=sampler.choice("instruction_template"),
            extras=extras,
        )
        template_pool = layout.instruction_template
        instruction = self.compose_instruction(rng, template_pool,
                                               self.instruction_slots(layout, synonyms=template_pool == "unseen"))
        return EpisodeSpec(self.task_name, int(seed), layout.to_dict(), instruction)

    def initial_drawer_opening(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(0.0, 0.02))

    # ------------------------------------------------------------------------ the episode
    def _start_episode(self, episode: EpisodeSpec) -> None:
        self.layout = TabletopLayout.from_dict(dict(episode.factors))
        self._build(self.layout)
        self._settle()
        self._ee_prev = self.ee_pos.copy()
        self._success_streak = 0
        self._recent_unsafe_pairs: deque[set[tuple[int, int]]] = deque(maxlen=2)
        self._tipped: set[int] = set()
        self._max_robot_force = 0.0
        self._start_pos = {role: self.object_pos(role).copy() for role in self._bodies}
        self._start_keypoints = points = [self.ee_pos.copy(), *self.keypoints()]
        # L*: straight segments from the EE's start through the task's keypoints
        self.shortest_path_length = float(sum(np.linalg.norm(b - a) for a, b in zip(points, points[1:])))
        self._push: ArmPush | None = None

    def apply_disturbance(self, spec: DisturbanceSpec, step: int) -> DisturbanceEvent | None:
        if spec.kind == "push_arm":
            self._push = ArmPush(self, spec, step)
            return self._push.event()
        return {"displace_target": displace_target, "knock_out": knock_out}[spec.kind](self, spec, step)

    def _advance(self, action: np.ndarray) -> int:
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (7,) or not np.isfinite(action).all():
            raise ValueError(f"action must be 7 finite numbers in [-1, 1], got {action!r}")
        action = np.minimum(np.maximum(action, -1.0), 1.0)  # np.clip's result, without its overhead
        if self._push is not None and not self._push.update():
            self.disturbance_event, self._push = self._push.event(), None  # the push ended: where it left the hand
        self._controller.apply(self.data, action)
        self.effort.step(self.data, self.physics.substeps)
        self.check_stable()
        ee = self.ee_pos
        self._path_length += norm(ee - self._ee_prev)
        self._ee_prev = ee.copy()
        unsafe = self._count_unsafe_events()
        self.after_step()
        self._success_streak = self._success_streak + 1 if self.check_success() else 0
        return unsafe

    def drive_home(self, seconds: float = 1.0) -> None:
        """Servo the arm back to its home pose with the gripper open (a supervisor's reset):
        real motion through the joint servos, so the path it takes counts."""
        self.data.ctrl[self.panda.arm_actuators] = HOME_QPOS
        self.data.ctrl[self.panda.gripper_actuator] = FINGER_MAX
        self.effort.step(self.data, int(seconds / self.model.opt.timestep))
        self.check_stable()
        self._controller = EndEffectorController(self.model, self.panda, self.controller_config)
        self._path_length += float(np.linalg.norm(self.ee_pos - self._ee_prev))
        self._ee_prev = self.ee_pos.copy()

    # ------------------------------------------------------------------------ state queries
    def controlled_point(self) -> np.ndarray:
        return self.ee_pos

    @property
    def ee_pos(self) -> np.ndarray:
        return self.data.site_xpos[self.panda.ee_site]

    @property
    def max_translation(self) -> float:
        """Metres the hand moves per control step at a translation command of 1."""
        return self.controller_config.max_translation

    def commanded_ee_pos(self) -> np.ndarray:
        """Where the controller integrates the next translation from (see EndEffectorController)."""
        return self._controller.commanded_position(self.data)

    def commanded_ee_orientation(self) -> np.ndarray:
        return self._controller.commanded_orientation(self.data)

    def object_pos(self, role: str) -> np.ndarray:
        """World position of the centre of an object's bounding box."""
        body = self._bodies[role]
        center = (self._bounds[role][0] + self._bounds[role][1]) / 2
        return self.data.xpos[body] + self.data.xmat[body].reshape(3, 3) @ center

    def start_pos(self, role: str) -> np.ndarray:
        """Where an object's centre was when the episode began (after settling)."""
        return self._start_pos[role]

    def object_bottom(self, role: str) -> float:
        """Height of the object's lowest point above the table top, from its collision geometry."""
        return self._extents[role].bounds(self.data)[0]

    def object_top(self, role: str) -> float:
        """Height of the object's highest point (a receptacle's rim), from its collision geometry."""
        return self._extents[role].bounds(self.data)[1]

    def object_half_extents(self, role: str) -> np.ndarray:
        lo, hi = self._bounds[role]
        return (hi - lo) / 2

    def object_yaw(self, role: str) -> float:
        mat = self.data.xmat[self._bodies[role]].reshape(3, 3)
        return float(np.arctan2(mat[1, 0], mat[0, 0]))

    def object_up(self, role: str) -> float:
        """Cosine between the object's z axis and the world's: 1 upright, 0 on its side."""
        return float(self.data.xmat[self._bodies[role]][8])

    def is_grasped(self, role: str) -> bool:
        """Both fingers touch the object."""
        touching = self._touching_bodies(self._bodies[role])
        return self.panda.finger_body_ids <= touching

    def touches_robot(self, role: str) -> bool:
        return bool(self._touching_bodies(self._bodies[role]) & self.panda.body_ids)

    def gripper_opening(self) -> float:
        return float(self.data.qpos[self.panda.finger_qpos].sum())

    def drawer_opening(self) -> float:
        return float(self.data.qpos[self.model.jnt_qposadr[self.model.joint(cabinet.JOINT).id]])

    def site_pos(self, name: str) -> np.ndarray:
        return self.data.site_xpos[self.model.site(name).id]

    def object_in_region(self, role: str, region: tuple[float, float, float, float]) -> bool:
        x, y, _ = self.object_pos(role)
        return region[0] <= x <= region[1] and region[2] <= y <= region[3]

    def touches(self, role: str, other_role: str) -> bool:
        return self._bodies[other_role] in self._touching_bodies(self._bodies[role])

    def rests_on_floor_of(self, role: str, container_role: str) -> bool:
        """The object touches the container's floor (its first geom), not only its walls."""
        floor = self.model.body_geomadr[self._bodies[container_role]]
        return floor in self._touching_geoms(self._bodies[role])

    def object_inside(self, role: str, container_role: str) -> bool:
        """The object's centre lies within the container's walls (in its inner footprint) and its
        bottom below the rim."""
        pos = self.object_pos(role)
        cpos = self.object_pos(container_role)
        half = self.object_half_extents(container_role)
        cmat = self.data.xmat[self._bodies[container_role]].reshape(3, 3)
        local = cmat.T @ (pos - cpos)
        inner = half[:2] - WALL_THICKNESS
        kind = catalog()[self.layout.objects[container_role].kind]
        if kind.shape.get("footprint") == "round":
            inside_xy = np.hypot(*local[:2]) < inner[0]
        else:
            inside_xy = abs(local[0]) < inner[0] and abs(local[1]) < inner[1]
        return bool(inside_xy and self.object_bottom(role) < self.object_top(container_role))

    def object_still(self, role: str, speed: float = 0.05, spin: float = 1.0) -> bool:
        """Settled: its free joint moves slower than `speed` m/s and turns slower than `spin` rad/s."""
        adr = self.model.jnt_dofadr[self.model.body_jntadr[self._bodies[role]]]
        velocity = self.data.qvel[adr:adr + 6]
        return bool(np.linalg.norm(velocity[:3]) < speed and np.linalg.norm(velocity[3:]) < spin)

    # ------------------------------------------------------------------------ internals
    def _build(self, layout: TabletopLayout) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pybullet_data meshes lack some texture coordinates
            self.model = build_scene(layout, self.physics).compile()
        self.data = mujoco.MjData(self.model)
        self.panda = PandaHandles.from_model(self.model)
        self._controller = EndEffectorController(self.model, self.panda, self.controller_config)
        self.effort = EffortMeter(self.model, [*self.panda.arm_actuators, self.panda.gripper_actuator])
        self._bodies = {role: self.model.body(role).id for role in layout.objects}
        self._bounds = {role: body_bounds(self.model, b) for role, b in self._bodies.items()}
        self._extents = {role: VerticalExtent(self.model, b) for role, b in self._bodies.items()}
        for role, body in self._bodies.items():
            total = catalog()[layout.objects[role].kind].mass * layout.mass_scale
            factor = total / self.model.body_mass[body]
            self.model.body_mass[body] *= factor
            self.model.body_inertia[body] *= factor
        self._task_bodies = {self._bodies[r] for r in self.task_roles if r in self._bodies}
        if layout.cabinet is not None:
            self._task_bodies.add(self.model.body(cabinet.DRAWER_BODY).id)
            self._fixture_bodies = {0, self.model.body(cabinet.CABINET_BODY).id}
        else:
            self._fixture_bodies = {0}
        self._use_renderer(OffscreenRenderer(self.model, *self.physics.image_size, shadows=self.physics.shadows))

    def _settle(self) -> None:
        data, model = self.data, self.model
        data.qpos[self.panda.arm_qpos] = HOME_QPOS
        data.qpos[self.panda.finger_qpos] = FINGER_MAX
        data.ctrl[self.panda.arm_actuators] = HOME_QPOS
        data.ctrl[self.panda.gripper_actuator] = FINGER_MAX
        for role, obj in self.layout.objects.items():
            adr = model.jnt_qposadr[model.body_jntadr[self._bodies[role]]]
            lo = self._bounds[role][0]
            data.qpos[adr:adr + 3] = [obj.x, obj.y, -lo[2] + 0.001]
            data.qpos[adr + 3:adr + 7] = [np.cos(obj.yaw / 2), 0.0, 0.0, np.sin(obj.yaw / 2)]
        if self.layout.cabinet is not None:
            data.qpos[model.jnt_qposadr[model.joint(cabinet.JOINT).id]] = self.layout.cabinet.opening
        mujoco.mj_forward(model, data)
        mujoco.mj_step(model, data, nstep=int(SETTLE_SECONDS / model.opt.timestep))
        self.check_stable()

    def _touching_geoms(self, body: int) -> set[int]:
        """The geoms of other bodies in contact with `body` now."""
        g1, g2 = self.data.contact.geom1[: self.data.ncon], self.data.contact.geom2[: self.data.ncon]
        b1, b2 = self.model.geom_bodyid[g1], self.model.geom_bodyid[g2]
        return set(g2[(b1 == body) & (b2 != body)].tolist()) | set(g1[(b2 == body) & (b1 != body)].tolist())

    def touching_bodies(self, role: str) -> set[int]:
        """The bodies an object touches now (0: the world's geoms, the table among them)."""
        return self._touching_bodies(self._bodies[role])

    def _touching_bodies(self, body: int) -> set[int]:
        return set(self.model.geom_bodyid[list(self._touching_geoms(body))].tolist())

    def _count_unsafe_events(self) -> int:
        """New unsafe contacts this step (an event is counted once, when it starts)."""
        model, data, panda = self.model, self.data, self.panda
        pairs: set[tuple[int, int]] = set()
        force = np.zeros(6)
        self._max_robot_force = 0.0
        for i in range(data.ncon):
            c = data.contact[i]
            b1, b2 = model.geom_bodyid[c.geom1], model.geom_bodyid[c.geom2]
            robot1, robot2 = b1 in panda.body_ids, b2 in panda.body_ids
            if robot1 == robot2:
                continue
            robot, other = (b1, b2) if robot1 else (b2, b1)
            mujoco.mj_contactForce(model, data, i, force)
            self._max_robot_force = max(self._max_robot_force, float(force[0]))
            too_hard = force[0] > UNSAFE_CONTACT_FORCE
            forbidden = robot not in panda.finger_body_ids and (
                other in self._fixture_bodies or other not in self._task_bodies)
            if too_hard or forbidden:
                pairs.add((robot, other))
        # a contact that breaks for one step and touches again is the same event, not a new one
        events = len(pairs - set().union(*self._recent_unsafe_pairs))
        self._recent_unsafe_pairs.append(pairs)
        for role, body in self._bodies.items():
            if body in self._task_bodies:
                continue
            tipped = not catalog()[self.layout.objects[role].kind].rolls and self.object_up(role) < TIPPED_COS
            down = tipped or self.data.xpos[body][2] < -0.05  # knocked over, or off the table
            if down and body not in self._tipped:
                self._tipped.add(body)
                events += 1
        self._collisions += events
        return events

    def _observation(self) -> dict[str, Any]:
        wanted, obs = self.observation_space.spaces, {}
        if "rgb" in wanted:
            obs["rgb"] = self._renderer.rgb(self.data, "front")
        if "depth" in wanted:
            obs["depth"] = self._renderer.depth(self.data, "front", scene_built="rgb" in obs)
        if "wrist_rgb" in wanted:
            obs["wrist_rgb"] = self._renderer.rgb(self.data, "wrist")
        if "proprio" in wanted:
            obs["proprio"] = self._proprio()
        if "instruction" in wanted:
            obs["instruction"] = self.episode.instruction
        return obs

    def _proprio(self) -> np.ndarray:
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[self.panda.ee_site])
        return np.concatenate([self.ee_pos, quat, [self.gripper_opening()],
                               self.data.qpos[self.panda.arm_qpos]]).astype(np.float32)

    def _domain_info(self) -> dict[str, Any]:
        return {"contact_force": self._max_robot_force}


def answers_to(kind: str, named_kind: str) -> bool:
    """Whether an object of `kind` fits a description that names `named_kind`, by its name or a
    synonym ("jenga block" fits "block")."""
    names = {named_kind, *catalog()[named_kind].synonyms}
    own = {kind, *catalog()[kind].synonyms}
    return any(name == word or name.endswith(" " + word) for name in own for word in names)


def describe(obj: "ObjectPlacement", synonyms: bool) -> str:
    """'red mug', or with `synonyms` (unseen paraphrases) 'red cup' where the catalog has one."""
    names = catalog()[obj.kind].synonyms
    return f"{obj.color} {names[0] if synonyms and names else obj.kind}"
