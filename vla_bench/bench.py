"""Throughput: environment steps per second, beside the raw simulator and renderer on the same scene.

The raw baseline is what any MuJoCo user would pay anyway: `mj_step` for one control period
and one render per camera, replaying the actuator commands the env produced from the same state,
so both loops draw the same motion. The ratio env / raw is the cost of everything the suite adds
(controller, observation, contact bookkeeping, metrics), measured in the same run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import mujoco

from vla_bench.registry import task_entry
from vla_bench.sim.rendering import OffscreenRenderer


@dataclass(frozen=True)
class BenchResult:
    task: str
    image_size: int
    steps: int
    reset_s: float  # mean time of one reset (scene build, compile, settle)
    raw_sim_steps_per_s: float  # control steps/s of mj_step alone
    raw_steps_per_s: float  # control steps/s of mj_step + one render per camera
    env_steps_per_s: float  # env.step() per second, both cameras rendered

    @property
    def overhead(self) -> float:
        """Env cost per step relative to the raw simulator + renderer (1.0 = no overhead)."""
        return self.raw_steps_per_s / self.env_steps_per_s


def bench_task(task: str, steps: int = 300, image_size: int = 128, seed: int = 0, rounds: int = 3) -> BenchResult:
    """Measure one task on one scene: `rounds` alternating rounds of `steps` env steps (random
    actions) and `steps` raw steps; the best round of each counts, which filters out noise from
    other processes on the machine."""
    env = gym.make(task_entry(task).env_id, image_size=image_size).unwrapped  # no time limit: one scene
    env.action_space.seed(seed)
    start = time.perf_counter()
    for i in range(rounds):
        env.reset(seed=seed + i)
    reset_s = (time.perf_counter() - start) / rounds

    model, substeps = env.model, env.physics.substeps
    data, start_state = mujoco.MjData(model), mujoco.MjData(model)
    renderer = OffscreenRenderer(model, image_size, image_size, shadows=env.physics.shadows)  # same view settings

    controls: list = []  # the env's actuator commands, replayed by the raw loop: same motion, same frames

    def env_loop() -> None:
        controls.clear()
        mujoco.mj_copyData(start_state, model, env.data)
        for _ in range(steps):
            if env.step(env.action_space.sample())[2]:
                env.reset(seed=seed)
            controls.append(env.data.ctrl.copy())

    def sim_loop() -> None:
        mujoco.mj_copyData(data, model, start_state)
        for ctrl in controls:
            data.ctrl[:] = ctrl
            mujoco.mj_step(model, data, nstep=substeps)

    def raw_loop() -> None:
        mujoco.mj_copyData(data, model, start_state)
        for ctrl in controls:
            data.ctrl[:] = ctrl
            mujoco.mj_step(model, data, nstep=substeps)
            for camera in ("front", "wrist"):
                renderer.rgb(data, camera)

    best = {loop: 0.0 for loop in (env_loop, sim_loop, raw_loop)}
    for _ in range(rounds):
        for loop in best:
            start = time.perf_counter()
            loop()
            best[loop] = max(best[loop], steps / (time.perf_counter() - start))
    renderer.close()
    env.close()
    return BenchResult(task, image_size, steps, reset_s, best[sim_loop], best[raw_loop], best[env_loop])
