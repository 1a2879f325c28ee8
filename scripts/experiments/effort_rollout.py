"""Does stepping a control period's physics through MuJoCo's `rollout` (the effort meter since
issue 14's item 7) beat stepping it one `mj_step` at a time from Python, as the meter did before?

Two measurements in one process, so machine noise between processes does not enter:

- the meter alone on one PickUp scene: 50 physics steps by the old per-step loop (mj_step, then
  τ·τ from the actuator forces), by the meter's rollout, and by `mj_step(nstep=50)` (no metering);
- whole env steps without cameras, the same random actions from the same scene, with the old
  loop and the old np.linalg calls of the IK patched in (old) against the code as it is (new),
  alternated `--rounds` times, the best round of each; `raw sim` is `mj_step` alone through the
  same controls, as `vla-bench bench` replays them.

    python scripts/experiments/effort_rollout.py --tasks PickUp,PutInDrawer,GoToObject --rounds 8
"""
from __future__ import annotations

import argparse
import time
import timeit

import gymnasium as gym
import mujoco
import numpy as np

import vla_bench  # noqa: F401  (registers the tasks)
from vla_bench.bench import applied_control, replay_physics
from vla_bench.sim import controller, effort
from vla_bench.task.registry import task_entry

NEW = effort.EffortMeter.step, controller._solve, controller._pinv


_OLD_SLICES: dict[int, slice] = {}  # model id -> the metered actuators, found once as the old meter did


def old_meter_step(meter: effort.EffortMeter, data: mujoco.MjData, nstep: int = 1) -> None:
    """The meter before, line for line: one mj_step per physics step, and the forces' dot product
    after each, read through a view of the (consecutive) metered actuators."""
    model = meter.model
    if id(model) not in _OLD_SLICES:
        ids = [int(model.sensor_objid[s]) for s in range(model.nsensor) if model.sensor_adr[s] in meter.columns]
        _OLD_SLICES[id(model)] = slice(ids[0], ids[-1] + 1)
    mj_step, dot = mujoco.mj_step, np.dot
    dt = model.opt.timestep
    force = data.actuator_force[_OLD_SLICES[id(model)]]
    energy = meter.energy
    for _ in range(nstep):
        mj_step(model, data)
        energy += float(dot(force, force)) * dt
    meter.energy = energy


def old_pinv(a: np.ndarray) -> np.ndarray:
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    large = s > 1e-15 * s.max()
    s = np.divide(1, s, where=large, out=s)
    s[~large] = 0
    return np.matmul(vt.T, s[:, np.newaxis] * u.T)


def use(variant: str) -> None:
    old = (old_meter_step, np.linalg.solve, old_pinv)
    effort.EffortMeter.step, controller._solve, controller._pinv = old if variant == "old" else NEW


def blind_env(task: str):
    return gym.make(task_entry(task).env_id, observations=("instruction", "proprio")).unwrapped


def meter_alone() -> str:
    env = blind_env("PickUp")
    env.reset(seed=0)
    model, data, meter = env.model, env.data, env.effort
    calls = {"per-step loop": lambda: old_meter_step(meter, data, 50), "rollout": lambda: NEW[0](meter, data, 50),
             "mj_step(nstep=50)": lambda: mujoco.mj_step(model, data, nstep=50)}
    times = {name: min(timeit.repeat(call, number=50, repeat=5)) / 50 * 1e6 for name, call in calls.items()}
    return "PickUp, 50 physics steps: " + ", ".join(f"{name} {us:.0f} µs" for name, us in times.items())


def env_steps(task: str, rounds: int, steps: int = 150) -> str:
    env = blind_env(task)
    rng = np.random.default_rng(0)
    navigation = env.domain == "navigation"
    actions = [int(rng.integers(1, 4)) if navigation else rng.uniform(-1, 1, 7).astype(np.float32)
               for _ in range(steps)]

    def env_loop() -> float:
        env.reset(seed=0)
        start = time.perf_counter()
        for action in actions:
            if env.step(action)[2]:
                env.reset(seed=0)
        return time.perf_counter() - start

    env.reset(seed=0)
    start_state = mujoco.MjData(env.model)
    mujoco.mj_copyData(start_state, env.model, env.data)
    controls = []
    for action in actions:
        before = env.data.time
        env.step(action)
        controls.append(applied_control(env, before))
    data = mujoco.MjData(env.model)

    def raw_loop() -> float:
        start = time.perf_counter()
        replay_physics(env.model, data, start_state, controls)
        return time.perf_counter() - start

    best, energy = {"old": np.inf, "new": np.inf, "raw": np.inf}, {}
    for _ in range(rounds):
        for variant in ("old", "new"):
            use(variant)
            best[variant] = min(best[variant], env_loop())
            energy[variant] = env.effort.energy
        best["raw"] = min(best["raw"], raw_loop())
    use("new")
    ms = {k: v / steps * 1e3 for k, v in best.items()}
    return (f"{task}: ms/step old {ms['old']:.3f} new {ms['new']:.3f} raw sim {ms['raw']:.3f} | /raw sim "
            f"old {best['old'] / best['raw']:.2f}x new {best['new'] / best['raw']:.2f}x | same energy "
            f"{energy['old'] == energy['new']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="PickUp,PutInDrawer,GoToObject")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    print(meter_alone())
    for task in args.tasks.split(","):
        print(env_steps(task, args.rounds))


if __name__ == "__main__":
    main()
