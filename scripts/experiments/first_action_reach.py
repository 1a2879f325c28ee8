"""Does a policy's first action head for the object the instruction names? At an episode's first
step the hand is at home, so only the pixels (and the words) say which way to go; the oracle's
first action says which way is right. Over the first episodes of a task in the `train` split, the
policy's sideways move (x, y) is fitted against the oracle's: the slope is the share of the
oracle's move the policy makes (1: as far, 0: it ignores where the object is), the correlation
how consistently it follows, and "agrees" counts the episodes whose first move points within 45
degrees of the oracle's. A policy can place its keypoint head's guess near the object and still
not move there: the head and the action read different things.

    python scripts/experiments/first_action_reach.py --policy palme=CKPT --policy bcz

`--policy NAME[=CHECKPOINT]` may repeat (no checkpoint: the shipped one). CPU, under a second per
episode.
"""
from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import vla_bench  # noqa: F401  registers the tasks
from vla_bench.baselines.policy import policy_class
from vla_bench.policy import OraclePolicy
from vla_bench.runner.episode import task_info
from vla_bench.splits import load_manifest
from vla_bench.task.registry import task_entry


def first_moves(policy, task: str, episodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The oracle's and the policy's first sideways move (episodes, 2) in the task's first episodes."""
    env = gym.make(task_entry(task).env_id)
    oracle, expert, learned = OraclePolicy(), [], []
    for episode in load_manifest("train").for_task(task)[:episodes]:
        obs, _ = env.reset(seed=episode.seed, options={"episode": episode})
        oracle.reset(obs["instruction"], task_info(env, episode, privileged=True))
        policy.reset(obs["instruction"], task_info(env, episode, privileged=False))
        expert.append(np.asarray(oracle.act(obs), dtype=np.float64)[:2])
        learned.append(np.asarray(policy.act(obs), dtype=np.float64)[:2])
    env.close()
    return np.array(expert), np.array(learned)


def describe(expert: np.ndarray, learned: np.ndarray) -> str:
    slope = float((expert * learned).sum() / (expert * expert).sum())  # least squares through 0, x and y pooled
    correlation = float(np.corrcoef(expert.ravel(), learned.ravel())[0, 1])
    lengths = np.linalg.norm(expert, axis=1) * np.linalg.norm(learned, axis=1)
    agrees = int(((expert * learned).sum(1) / np.maximum(lengths, 1e-9) > np.cos(np.pi / 4)).sum())
    moves = np.linalg.norm(learned, axis=1).mean(), np.linalg.norm(expert, axis=1).mean()
    return (f"slope {slope:5.2f}  correlation {correlation:5.2f}  agrees {agrees:3d}/{len(expert)}  "
            f"mean |move| {moves[0]:.2f} (oracle {moves[1]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", action="append", required=True, metavar="NAME[=CHECKPOINT]")
    parser.add_argument("--tasks", default="PickUp,PutIn,Stack")
    parser.add_argument("--episodes", type=int, default=20, help="per task")
    args = parser.parse_args()
    for spec in args.policy:
        name, _, checkpoint = spec.partition("=")
        policy = policy_class(name)(checkpoint=checkpoint, threads=2)
        for task in args.tasks.split(","):
            expert, learned = first_moves(policy, task, args.episodes)
            print(f"{name:6s} {checkpoint or '(shipped)':40s} {task:13s} {describe(expert, learned)}", flush=True)


if __name__ == "__main__":
    main()
