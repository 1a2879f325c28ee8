"""Throughput: environment steps per second, beside the raw simulator and renderer on the same scene.

The raw baseline is what any MuJoCo user would pay anyway: `mj_step` for as many physics steps
as each env step took and the same renders (manipulation: front and wrist RGB; navigation: the
egocentric RGB and depth), replaying the actuator commands the env ended each step with from the
same state. The ratio env / raw is the cost of everything the suite adds (controllers,
observations, contact bookkeeping, metrics), measured in the same run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

from vla_bench.sim.rendering import OffscreenRenderer
from vla_bench.task.registry import task_entry


@dataclass(frozen=True)
class BenchResult:
    task: str
    image_size: int
    steps: int
    reset_s: float  # mean time of one reset (scene build, compile, settle, the first frame of each camera)
    raw_sim_steps_per_s: float  # control steps/s of mj_step alone
    raw_steps_per_s: float  # control steps/s of mj_step + one render per camera
    env_steps_per_s: float  # env.step() per second, both cameras rendered
    env_sim_steps_per_s: float  # env.step() per second of an env that renders no camera
    reset_no_cam_s: float  # mean time of one reset of that env: its scene is never uploaded to GL

    @property
    def overhead(self) -> float:
        """Env cost per step relative to the raw simulator + renderer (1.0 = no overhead)."""
        return self.raw_steps_per_s / self.env_steps_per_s

    @property
    def sim_overhead(self) -> float:
        """Env cost per step relative to mj_step alone, with no camera on either side: the suite's
        own work without the renderer's noise, and what shows where rendering is cheap (a GPU)."""
        return self.raw_sim_steps_per_s / self.env_sim_steps_per_s


def applied_control(env, time_before: float) -> tuple[np.ndarray, int]:
    """What an env step left its actuators commanding, and how many physics steps it took since
    `time_before`: what the raw loops replay for that step."""
    return env.data.ctrl.copy(), max(1, round((env.data.time - time_before) / env.model.opt.timestep))


def replay_physics(model: mujoco.MjModel, data: mujoco.MjData, start: mujoco.MjData, controls: list) -> None:
    """`mj_step` alone through `controls` (`applied_control`'s), from the state `start`: the raw
    simulator's share of those env steps."""
    mujoco.mj_copyData(data, model, start)
    for ctrl, nstep in controls:
        data.ctrl[:] = ctrl
        mujoco.mj_step(model, data, nstep=nstep)


def bench_task(task: str, steps: int = 300, image_size: int = 128, seed: int = 0, rounds: int = 3) -> BenchResult:
    """Measure one task on one scene: `rounds` alternating rounds of `steps` env steps (random
    actions) and `steps` raw steps; the best round of each counts, which filters out noise from
    other processes on the machine."""
    env = gym.make(task_entry(task).env_id, image_size=image_size).unwrapped  # no time limit: one scene
    blind = gym.make(task_entry(task).env_id, image_size=image_size, observations=("instruction", "proprio")).unwrapped
    rng = np.random.default_rng(seed)
    env.reset(seed=seed + rounds)  # untimed: a process's first reset also makes its GL context
    blind.reset(seed=seed + rounds)
    start = time.perf_counter()
    for i in range(rounds):
        env.reset(seed=seed + i)
    reset_s = (time.perf_counter() - start) / rounds
    start = time.perf_counter()
    for i in range(rounds):  # ending on the env's scene: it replays the env's actions, camera-less
        blind.reset(seed=seed + i)
    reset_no_cam_s = (time.perf_counter() - start) / rounds

    model = env.model
    navigation = env.domain == "navigation"
    data, start_state = mujoco.MjData(model), mujoco.MjData(model)
    shadows = env.physics.shadows if hasattr(env, "physics") else False
    renderer = OffscreenRenderer(model, image_size, image_size, shadows=shadows)  # same view settings

    controls: list = []  # (actuator commands, physics steps) per env step, replayed by the raw loops
    actions: list = []  # the env's actions, replayed by the env without cameras

    def random_action():
        if navigation:  # moves only: a stop would end the episode
            return int(rng.integers(1, 4))
        return rng.uniform(-1, 1, 7).astype(np.float32)

    def env_loop() -> None:
        controls.clear()
        actions.clear()
        mujoco.mj_copyData(start_state, model, env.data)
        for _ in range(steps):
            before = env.data.time
            actions.append(random_action())
            if env.step(actions[-1])[2]:
                env.reset(seed=seed)
            controls.append(applied_control(env, before))

    def blind_loop() -> None:
        for action in actions:
            if blind.step(action)[2]:
                blind.reset(seed=seed)

    def sim_loop() -> None:
        replay_physics(model, data, start_state, controls)

    def raw_loop() -> None:
        mujoco.mj_copyData(data, model, start_state)
        for ctrl, nstep in controls:
            data.ctrl[:] = ctrl
            mujoco.mj_step(model, data, nstep=nstep)
            if navigation:
                renderer.rgb(data, "ego")
                renderer.depth(data, "ego", scene_built=True)
            else:
                for camera in ("front", "wrist"):
                    renderer.rgb(data, camera)

    best = {loop: 0.0 for loop in (env_loop, blind_loop, sim_loop, raw_loop)}
    for _ in range(rounds):
        for loop in best:
            start = time.perf_counter()
            loop()
            best[loop] = max(best[loop], steps / (time.perf_counter() - start))
    renderer.close()
    env.close()
    blind.close()
    return BenchResult(task, image_size, steps, reset_s, best[sim_loop], best[raw_loop], best[env_loop],
                       best[blind_loop], reset_no_cam_s)
