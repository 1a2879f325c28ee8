"""What raw physics costs per control step on a split's own episodes, beside `vla-bench bench`'s scenes.

`scripts/time_full_suite.py` once charged a run's physics at `bench`'s rate: one scene (reset by
seed), driven by random actions. This replays, as `bench`'s raw loop does, the actuator commands
of real episodes with `mj_step` alone from each episode's start, and reports the time per
control step and the mean number of contacts per physics step. Scenes (bench's, reset by seed
0-2; or a split's first episodes) and actions (random for `--steps` steps, or the oracle's to the
episode's end) vary one at a time, so each one's cost shows. Tabletop tasks only; a scheduled
disturbance is not replayed (the default split, `train`, has none).

    python scripts/experiments/physics_cost.py --tasks PickUp,PutInDrawer,Stack --episodes 5
"""
from __future__ import annotations

import argparse
import time
from functools import partial

import gymnasium as gym
import mujoco
import numpy as np

import vla_bench  # noqa: F401  (registers the tasks)
from vla_bench.bench import applied_control, replay_physics
from vla_bench.policy.builtin import OraclePolicy
from vla_bench.runner.episode import task_info
from vla_bench.splits.manifest import load_manifest
from vla_bench.task.registry import task_entry


def replay_cost(env, drive, steps: int, rounds: int = 3) -> tuple[float, float]:
    """Drive `env` from its current state for up to `steps` control steps with `drive()`, then time
    `mj_step` replaying the same commands from the same start: (best ms per control step, mean contacts)."""
    model = env.model
    start, data = mujoco.MjData(model), mujoco.MjData(model)
    mujoco.mj_copyData(start, model, env.data)
    controls = []
    for _ in range(steps):
        before = env.data.time
        done = env.step(drive())[2]
        controls.append(applied_control(env, before))
        if done:
            break
    best = float("inf")
    for _ in range(rounds):  # timed as bench's raw loop times it
        tick = time.perf_counter()
        replay_physics(model, data, start, controls)
        best = min(best, (time.perf_counter() - tick) / len(controls))
    mujoco.mj_copyData(data, model, start)
    contacts = substeps = 0
    for ctrl, nstep in controls:  # untimed: the contacts after every physics step
        data.ctrl[:] = ctrl
        for _ in range(nstep):
            mujoco.mj_step(model, data)
            contacts += data.ncon
        substeps += nstep
    return best * 1000, contacts / substeps


def _random_action(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-1, 1, 7).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="PickUp,PutInDrawer")
    parser.add_argument("--split", default="train")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="control steps of random actions per scene")
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    if other := [t for t in tasks if task_entry(t).domain != "manipulation"]:
        parser.error(f"tabletop tasks only (random actions of 7 numbers): not {', '.join(other)}")
    rng = np.random.default_rng(0)
    print(f"{'task':12s} {'scenes':28s} {'actions':8s} {'ms/step':>8s} {'contacts':>9s}")
    for task in tasks:
        entry = task_entry(task)
        env = gym.make(entry.env_id, observations=("instruction", "proprio")).unwrapped
        oracle = OraclePolicy()
        episodes = load_manifest(args.split).for_task(task)[:args.episodes]
        scenes = {"bench's (reset by seed 0-2)": [partial(env.reset, seed=i) for i in range(3)],
                  f"{args.split}'s first {len(episodes)}": [partial(env.reset, options={"episode": e}) for e in episodes]}
        rows = []
        for label, resets in scenes.items():
            for actions in ("random", "oracle"):
                costs = []
                for reset in resets:
                    reset()
                    if actions == "random":
                        drive, steps = partial(_random_action, rng), args.steps
                    else:
                        oracle.reset(env.episode.instruction, task_info(env, env.episode, True))
                        drive, steps = partial(oracle.act, {}), entry.max_episode_steps
                    costs.append(replay_cost(env, drive, steps))
                ms, contacts = np.mean(costs, axis=0)
                rows.append(f"{task:12s} {label:28s} {actions:8s} {ms:8.3f} {contacts:9.2f}")
        env.close()
        print("\n".join(rows), flush=True)


if __name__ == "__main__":
    main()
