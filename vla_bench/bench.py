"""Throughput: environment steps per second, beside the raw simulator and renderer on the same scene.

The raw baseline is what any MuJoCo user would pay anyway: `mj_step` for one control period
and one render per camera. The ratio env / raw is the cost of everything the suite adds
(controller, observation, contact bookkeeping, metrics), measured in the same run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

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


def bench_task(task: str, steps: int = 300, image_size: int = 128, seed: int = 0, resets: int = 3) -> BenchResult:
    """Measure one task: resets, then `steps` env steps with random actions, then the raw loop."""
    env = gym.make(task_entry(task).env_id, image_size=image_size)
    env.action_space.seed(seed)
    start = time.perf_counter()
    for i in range(resets):
        env.reset(seed=seed + i)
    reset_s = (time.perf_counter() - start) / resets

    actions = [env.action_space.sample() for _ in range(steps)]
    env_s = 0.0  # step time only; a reset after an episode ends is not counted
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        env_s += time.perf_counter() - start
        if terminated or truncated:
            env.reset(seed=seed)

    base = env.unwrapped
    model, substeps = base.model, base.physics.substeps
    data = mujoco.MjData(model)
    data.qpos[:] = base.data.qpos
    data.ctrl[:] = base.data.ctrl
    renderer = OffscreenRenderer(model, image_size, image_size, shadows=base.physics.shadows)  # same view settings
    start = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(model, data, nstep=substeps)
    sim_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(model, data, nstep=substeps)
        for camera in ("front", "wrist"):
            renderer.rgb(data, camera)
    raw_s = time.perf_counter() - start
    renderer.close()
    env.close()
    return BenchResult(task, image_size, steps, reset_s, steps / sim_s, steps / raw_s, steps / env_s)
