"""Does a policy steer by the pixels or by the arm's own state? Two checks on `train` episodes.

1. Teacher-forced against closed loop: the oracle drives, as in collection (DART noise 0.05), and
   the policy answers every observation it meets; then the policy drives itself. A policy that
   matches the oracle under teacher forcing and fails in closed loop fails on the states its own
   actions make, not on the scenes.
2. Proprio sensitivity, a few steps into a teacher-forced episode: the policy's translation for the
   observation as it is, with one part of the proprio state nudged (the hand's quaternion by
   0.0025, about 0.3 degrees; the joint angles by a few hundredths of a radian; the hand by 1 cm),
   and with the whole proprio state replaced by its training mean (only the images then say
   where to go).

    python scripts/experiments/proprio_reliance.py --policy palme --checkpoint CKPT --policy bcz

`--policy NAME` may repeat, each followed by its own `--checkpoint` (none: the shipped one).
CPU, about a minute per policy and episode.
"""
from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import vla_bench  # noqa: F401  registers the tasks
from vla_bench.baselines.policy import policy_class
from vla_bench.data.collect import perturbed_action
from vla_bench.policy import OraclePolicy
from vla_bench.runner.episode import task_info
from vla_bench.splits import load_manifest
from vla_bench.task.registry import task_entry

NOISE = 0.05  # the demonstrations' DART noise
JOINT_NUDGE = np.array([-0.04, -0.02, -0.06, -0.02, -0.01, -0.01, -0.09])  # radians, the size palme drifts by in 3 steps
NUDGES = {"hand quaternion w -0.0025": (slice(3, 4), -0.0025), "joint angles": (slice(8, 15), JOINT_NUDGE),
          "hand y +1 cm": (slice(1, 2), 0.01)}


def drive(policy, episode, teacher: bool) -> tuple[list[np.ndarray], list[np.ndarray], bool, list[dict]]:
    """One episode driven by the oracle (teacher) or by the policy; both answer every observation."""
    env = gym.make(task_entry(episode.task).env_id)
    noise = np.random.default_rng([episode.seed, 7])
    oracle = OraclePolicy()
    obs, _ = env.reset(seed=episode.seed, options={"episode": episode})
    oracle.reset(obs["instruction"], task_info(env, episode, privileged=True))
    policy.reset(obs["instruction"], task_info(env, episode, privileged=False))
    expert, learned, seen, done, info = [], [], [], False, {}
    while not done:
        seen.append(obs)
        expert.append(np.asarray(oracle.act(obs), dtype=np.float64))
        learned.append(np.asarray(policy.act(obs), dtype=np.float64))
        action = perturbed_action(expert[-1], "manipulation", NOISE, noise) if teacher else learned[-1].astype(np.float32)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return expert, learned, bool(info.get("is_success")), seen


def translation(policy, episode, obs: dict) -> np.ndarray:
    policy.reset(obs["instruction"], task_info(gym.make(task_entry(episode.task).env_id), episode, privileged=False))
    return np.round(np.asarray(policy.act(obs))[:3], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", action="append", required=True)
    parser.add_argument("--checkpoint", action="append", default=[])
    parser.add_argument("--tasks", default="CloseDrawer,PickUp")
    parser.add_argument("--episodes", type=int, default=2, help="per task")
    parser.add_argument("--probe-step", type=int, default=4)
    args = parser.parse_args()
    checkpoints = args.checkpoint + [None] * (len(args.policy) - len(args.checkpoint))
    for name, checkpoint in zip(args.policy, checkpoints):
        policy = policy_class(name)(checkpoint=checkpoint, threads=2)
        print(f"== {name} {checkpoint or '(shipped)'}")
        for task in args.tasks.split(","):
            for episode in load_manifest("train").for_task(task)[: args.episodes]:
                for teacher in (True, False):
                    expert, learned, success, seen = drive(policy, episode, teacher)
                    e, p = np.array(expert)[:, :3], np.array(learned)[:, :3]
                    print(f"{episode.episode_id:24s} {'teacher-forced' if teacher else 'closed loop   '} "
                          f"success {success!s:5s} steps {len(e):3d}  mean |oracle - policy| xyz "
                          f"{np.round(np.abs(e - p).mean(0), 2)}  sign agreement {np.round((np.sign(e) == np.sign(p)).mean(0), 2)}")
                    if teacher:
                        probed = seen[min(args.probe_step, len(seen) - 1)]
                obs = probed
                answers = {"as is": translation(policy, episode, obs)}
                for label, (part, nudge) in NUDGES.items():
                    proprio = obs["proprio"].copy()
                    proprio[part] += nudge
                    answers[label] = translation(policy, episode, {**obs, "proprio": proprio})
                mean = policy.model.proprio_mean[policy.model.domain_index("manipulation")].numpy()
                answers["training-mean proprio"] = translation(policy, episode, {**obs, "proprio": mean[:15].copy()})
                print(f"  step {args.probe_step} of the teacher-forced episode, the policy's translation:")
                for label, answer in answers.items():
                    print(f"    {label:28s} {answer}")


if __name__ == "__main__":
    main()
