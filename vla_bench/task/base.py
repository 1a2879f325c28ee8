"""The base every task family of every domain shares (Gymnasium's `MujocoEnv`, dm_control's
`Task`, in one small class).

It owns the episode life cycle, so a domain (tabletop, house) says only how its world is built
and moved, and a task family only what makes it different:

- `reset` draws or takes the EpisodeSpec, lets the domain build the scene, and returns the first
  observation with the info every step carries plus the episode's factors and instruction;
- `step` refuses to run before `reset`, lets the domain advance the world, and merges the info
  keys the metrics read (`unsafe_contacts`, `collisions`, `path_length`, `shortest_path_length`,
  `progress`, `is_success`, `success_conditions`, `sim_time`, `energy`, `jerk`, `disturbance`) with
  the domain's own, and fires the episode's scheduled disturbance, if it has one
  (`vla_bench.task.disturbance`), through the domain's `apply_disturbance`;
- `compose_instruction` fills a template of `assets/instructions.json` drawn from the seen or
  unseen paraphrases.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np

from vla_bench.assets import instructions
from vla_bench.sim.effort import EffortMeter, JerkMeter
from vla_bench.sim.rendering import OffscreenRenderer
from vla_bench.specs import EpisodeSpec, PoolSelection
from vla_bench.task import disturbance
from vla_bench.task.disturbance import DisturbanceEvent, DisturbanceSpec
from vla_bench.task.sampling import FactorSampler

# A robot contact pushing harder than this is an unsafe event, for the collision metric and the
# supervisor alike (a firm grasp squeezes with about 25 N per finger).
UNSAFE_CONTACT_FORCE = 150.0  # newtons


class SimulationUnstable(RuntimeError):
    """The physics diverged (NaN state or MuJoCo's bad-acceleration warning); the episode ends."""


class InvalidEpisode(ValueError):
    """An EpisodeSpec whose factors do not describe a scene of this task (edited or corrupted)."""


@dataclass
class EnvSeconds:
    """Wall-clock seconds the env spent on its current episode, by part: where a worker's time went,
    measured rather than estimated (a run's records carry them as timing fields). What runs outside
    `reset` and `step` is not here: the supervisor's own moves (driving the arm home) are its time."""

    reset: float = 0.0  # building and settling the scene, and its first observation
    step: float = 0.0  # moving the world: the controller, the physics and each step's bookkeeping
    observation: float = 0.0  # the observations after each step, cameras rendered


class TaskEnv(gym.Env):
    """A language-conditioned task in MuJoCo: one episode per EpisodeSpec.

    Subclasses (a domain's env) implement `sample_episode`, `_start_episode`, `_advance`,
    `_observation`, `success_conditions`, `is_success`, `progress` and `controlled_point`, keep
    `model`, `data`, `_collisions`, `_path_length` and `shortest_path_length` current, and step the
    physics of an action through `effort` (an `EffortMeter` over the robot's actuators, built with
    the episode's model). The task family's class
    docstring follows the layout `vla_bench.task.docs` reads: it is the task's documentation.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}
    domain: ClassVar[str]  # "manipulation" or "navigation": which policies and supervisor fit
    factors: ClassVar[tuple[str, ...]]  # what its episodes draw from the pools of assets/factors.json
    render_camera: ClassVar[str]  # the camera `render()` draws
    task_name: ClassVar[str]  # set by @register_task
    max_episode_steps: ClassVar[int]  # set by @register_task
    # {"seen": [...], "unseen": [...]} paraphrases with {slot}s; None reads assets/instructions.json
    instruction_templates: ClassVar[dict[str, list[str]] | None] = None
    disturbance_kinds: ClassVar[tuple[str, ...]] = ()  # the disturbances that fit the task's episodes
    disturbance_steps: ClassVar[tuple[int, int]] = (3, 12)  # the first step a disturbance may fire at is drawn here

    def __init__(self, render_mode: str | None, image_size: int, pools: PoolSelection | None,
                 observations: Sequence[str] | None = None) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self._observations = None if observations is None else tuple(observations)
        self.image_size = image_size
        self.pools = pools or PoolSelection()
        self.model: mujoco.MjModel | None = None
        self.data: mujoco.MjData | None = None
        self.episode: EpisodeSpec | None = None
        self._renderer: OffscreenRenderer | None = None
        self._collisions = 0
        self._path_length = 0.0
        self.effort: EffortMeter | None = None
        self._jerk = JerkMeter(1.0)
        self.disturbance: DisturbanceSpec | None = None
        self.disturbance_event: DisturbanceEvent | None = None
        self._steps = 0
        self._stepping = False  # True while step() runs: only then does current_conditions memoize
        self._conditions: dict[str, bool] | None = None  # this step's, once read (see current_conditions)
        self.seconds = EnvSeconds()

    def observed_space(self, spaces: dict[str, gym.Space]) -> gym.spaces.Dict:
        """The observation space of the entries the env was made to produce (`observations=`,
        default all of `spaces`, the domain's). An entry left out is never rendered: a policy that
        reads one camera, or none (the oracle), does not pay for the others."""
        if self._observations is None:
            return gym.spaces.Dict(spaces)
        unknown = [k for k in self._observations if k not in spaces]
        if unknown:
            raise ValueError(f"unknown observations {unknown}; {self.task_name} has {list(spaces)}")
        return gym.spaces.Dict({k: space for k, space in spaces.items() if k in self._observations})

    # ------------------------------------------------------------------ what a domain provides
    def sample_episode(self, seed: int, pools: PoolSelection | None = None) -> EpisodeSpec:
        """Draw every factor value of an episode from `seed` (seen pools unless told otherwise)."""
        raise NotImplementedError

    def _start_episode(self, episode: EpisodeSpec) -> None:
        """Build the episode's scene and reset the domain's per-episode state."""
        raise NotImplementedError

    def _advance(self, action: Any) -> int:
        """Validate and apply one action; returns the unsafe contact events it started."""
        raise NotImplementedError

    def _observation(self) -> dict[str, Any]:
        raise NotImplementedError

    def success_conditions(self) -> dict[str, bool]:
        """The success predicate's parts by name, as the class docstring lists them (so users
        can see why an episode failed)."""
        raise NotImplementedError

    def is_success(self) -> bool:
        raise NotImplementedError

    def progress(self) -> float:
        """Fraction of the task done, in [0, 1]; 1 once the success conditions hold."""
        raise NotImplementedError

    def apply_disturbance(self, spec: DisturbanceSpec, step: int) -> DisturbanceEvent | None:
        """Carry out the episode's disturbance now if its situation has arisen (None: not yet)."""
        raise NotImplementedError(f"{self.task_name} has no disturbances")

    def controlled_point(self) -> np.ndarray:
        """Where the robot is, for the jerk metric: the end effector, or the mobile base."""
        raise NotImplementedError

    def sample_disturbance(self, seed: int, pools: PoolSelection | None = None) -> dict[str, Any]:
        """A disturbance for one of this task's episodes, drawn from `seed` (as the factors are:
        the seen pool unless `pools` says otherwise), as the JSON an EpisodeSpec's factors hold."""
        sampler = FactorSampler(np.random.default_rng(seed), pools or self.pools)
        return disturbance.sample_disturbance(sampler, self.disturbance_kinds, self.disturbance_steps).to_dict()

    def has_failed(self) -> bool:
        """The episode is over without success (e.g. stop called away from the goal)."""
        return False

    def _domain_info(self) -> dict[str, Any]:
        """Extra per-step info keys of the domain."""
        return {}

    # ------------------------------------------------------------------ the shared life cycle
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        start, self.seconds = time.perf_counter(), EnvSeconds()
        try:
            return self._reset_episode(seed, options)
        finally:  # a reset that raised took its time too
            self.seconds.reset = time.perf_counter() - start

    def _reset_episode(self, seed: int | None, options: dict[str, Any] | None):
        """`reset`'s work: the episode drawn or taken, its scene built, its first observation."""
        super().reset(seed=seed)
        self.episode = episode = self._episode_for_reset(seed, options)
        self._collisions = 0
        self._path_length = 0.0
        self._steps = 0
        self.disturbance_event = None
        scheduled = episode.factors.get(disturbance.FACTOR)
        scene = replace(episode, factors={k: v for k, v in episode.factors.items() if k != disturbance.FACTOR})
        try:
            self.disturbance = DisturbanceSpec.from_dict(scheduled) if scheduled else None
            if self.disturbance and self.disturbance.kind not in self.disturbance_kinds:
                raise ValueError(f"disturbance {self.disturbance.kind!r} is not one of {list(self.disturbance_kinds)}")
            self._start_episode(scene)
        except SimulationUnstable:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            self.data = None  # no half-built episode can be stepped
            raise InvalidEpisode(f"episode {episode.episode_id or episode.seed} of {self.task_name} cannot be built "
                                 f"from its factors: {type(err).__name__}: {err}") from err
        self.effort.energy = 0.0  # building and settling the scene is not the policy's work
        self._jerk = JerkMeter(1.0 / self.metadata["render_fps"])
        self._jerk.add(self.controlled_point())
        return self._observation(), self._info(unsafe=0) | {"factors": dict(episode.factors),
                                                             "instruction": episode.instruction}

    def step(self, action: Any):
        if self.data is None or self.episode is None:
            raise RuntimeError("call reset() before step()")
        start, observing = time.perf_counter(), 0.0
        self._stepping, self._conditions = True, None
        try:
            unsafe = self._advance(action)
            self._steps += 1
            if self.disturbance and self.disturbance_event is None and self._steps >= self.disturbance.after_step:
                self.disturbance_event = self.apply_disturbance(self.disturbance, self._steps)
                self._conditions = None  # the disturbance moved the world
            self._jerk.add(self.controlled_point())
            success = self.is_success()
            tick = time.perf_counter()
            observation = self._observation()
            observing = time.perf_counter() - tick
            return observation, float(success), success or self.has_failed(), False, self._info(unsafe)
        finally:  # a step that raised (an unstable simulation, a bad action) took its time too
            self._stepping, self._conditions = False, None
            self.seconds.observation += observing
            self.seconds.step += time.perf_counter() - start - observing

    def current_conditions(self) -> dict[str, bool]:
        """`success_conditions()` now. Within a step it is evaluated once, after the world moved,
        for every reader (the success streak, `progress`, the info): a stacking predicate costs
        about 80 µs. Between steps it is evaluated afresh, as a test or expert may edit the state."""
        if not self._stepping:
            return self.success_conditions()
        if self._conditions is None:
            self._conditions = self.success_conditions()
        return self._conditions

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._renderer is None:
            return None
        return self._renderer.rgb(self.data, self.render_camera)

    def close(self) -> None:
        self._use_renderer(None)

    def _use_renderer(self, renderer: OffscreenRenderer | None) -> None:
        """Draw from now on with `renderer` (None: no camera), freeing the GL objects of the scene
        the old one drew: a new scene each reset would otherwise leave them to the garbage collector."""
        if self._renderer is not None:
            self._renderer.close()
        self._renderer = renderer

    def compose_instruction(self, rng: np.random.Generator, template_pool: str, slots: dict[str, str]) -> str:
        """One of the task's templates from `template_pool` ("seen" or "unseen"), filled in."""
        templates = (self.instruction_templates or instructions()[self.task_name])[template_pool]
        return templates[int(rng.integers(len(templates)))].format(**slots)

    def check_stable(self) -> None:
        """Raise SimulationUnstable when the state is no longer finite or MuJoCo warned of it."""
        warnings = self.data.warning
        if (not np.isfinite(self.data.qpos).all() or warnings[mujoco.mjtWarning.mjWARN_BADQACC].number
                or warnings[mujoco.mjtWarning.mjWARN_BADQVEL].number):
            raise SimulationUnstable(f"simulation became unstable at t={self.data.time:.3f}s")

    # ------------------------------------------------------------------ internals
    def _episode_for_reset(self, seed: int | None, options: dict[str, Any] | None) -> EpisodeSpec:
        """`options["episode"]`, else one drawn from `seed` (or from the env's generator); an
        episode of another task is refused."""
        episode = (options or {}).get("episode")
        if episode is None:
            episode = self.sample_episode(int(self.np_random.integers(2**31)) if seed is None else seed)
        if episode.task != self.task_name:
            raise ValueError(f"episode is for task {episode.task!r}, this environment is {self.task_name!r}")
        return episode

    def _info(self, unsafe: int) -> dict[str, Any]:
        return {
            "unsafe_contacts": unsafe,
            "collisions": self._collisions,
            "path_length": self._path_length,
            "shortest_path_length": self.shortest_path_length,
            "progress": self.progress(),
            "is_success": self.is_success(),
            "success_conditions": {name: bool(holds) for name, holds in self.current_conditions().items()},
            "sim_time": float(self.data.time),
            "energy": self.effort.energy,
            "jerk": self._jerk.rms,
            "disturbance": self.disturbance_event.to_dict() if self.disturbance_event else None,
        } | self._domain_info()
