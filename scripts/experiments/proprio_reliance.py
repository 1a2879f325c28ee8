"""Does a policy steer by the pixels or by the arm's own state? Three checks on `train` episodes.

1. Teacher-forced against closed loop: the oracle drives, as in collection (DART noise 0.05), and
   the policy answers every observation it meets; then the policy drives itself, and its first
   steps are printed beside what the oracle would do there. A policy that matches the oracle under
   teacher forcing and fails in closed loop fails on the states its own actions make, not on the
   scenes.
2. Swaps, at a few steps of both runs: the policy's answer for one run's images with the other
   run's proprio state, whole or one part of it (the hand's position, its orientation quaternion,
   the gripper, the joint angles). Whichever input carries the difference carries the decision.
3. Nudges, at one step of the teacher-forced run: the hand's quaternion by 0.0025 (about 0.3
   degrees), the joint angles by a few hundredths of a radian, the hand by 1 cm, and the whole
   proprio state replaced by its training mean (only the images then say where to go).

Every answer in 2 and 3 is the policy's first action for that single observation (reset before
it, so no history or ensembling). The spread of each proprio part in the training data (the
checkpoint's normalization) is printed first.

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
PARTS = {"hand position": slice(0, 3), "hand quaternion": slice(3, 7), "gripper": slice(7, 8),
         "joint angles": slice(8, 15)}
JOINT_NUDGE = np.array([-0.04, -0.02, -0.06, -0.02, -0.01, -0.01, -0.09])  # radians
NUDGES = {"hand quaternion w -0.0025": (slice(3, 4), -0.0025), "joint angles": (slice(8, 15), JOINT_NUDGE),
          "hand y +1 cm": (slice(1, 2), 0.01)}
SHOWN_STEPS = 10  # closed-loop steps printed beside the oracle's answer


def drive(policy, env: gym.Env, episode, teacher: bool) -> tuple[np.ndarray, np.ndarray, bool, list[dict]]:
    """One episode driven by the oracle (teacher) or by the policy; both answer every observation."""
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
    return np.array(expert)[:, :3], np.array(learned)[:, :3], bool(info.get("is_success")), seen


def translation(policy, env: gym.Env, episode, obs: dict) -> np.ndarray:
    """The policy's translation for this one observation, with no history behind it."""
    policy.reset(obs["instruction"], task_info(env, episode, privileged=False))
    return np.round(np.asarray(policy.act(obs))[:3], 2)


def with_proprio(obs: dict, proprio: np.ndarray) -> dict:
    return {**obs, "proprio": proprio.astype(np.float32)}


def report(policy, env: gym.Env, episode, probe_steps: list[int]) -> None:
    runs = {teacher: drive(policy, env, episode, teacher) for teacher in (True, False)}
    for teacher, (expert, learned, success, _) in runs.items():
        print(f"{episode.episode_id:24s} {'teacher-forced' if teacher else 'closed loop   '} success {success!s:5s} "
              f"steps {len(expert):3d}  mean |oracle - policy| xyz {np.round(np.abs(expert - learned).mean(0), 2)}")
    expert, learned, _, closed = runs[False]
    taught = runs[True][3]
    print("  closed loop, the first steps: hand position, the oracle's translation there, the policy's")
    for t in range(min(SHOWN_STEPS, len(closed))):
        print(f"    step {t:2d}  hand {np.round(closed[t]['proprio'][:3], 3)}  oracle {np.round(expert[t], 2)}  "
              f"policy {np.round(learned[t], 2)}")
    for t in probe_steps:
        if t >= min(len(taught), len(closed)):
            continue
        a, b = taught[t], closed[t]
        print(f"  step {t}: teacher-forced {translation(policy, env, episode, a)}, closed loop "
              f"{translation(policy, env, episode, b)}; teacher-forced images with closed-loop proprio "
              f"{translation(policy, env, episode, with_proprio(a, b['proprio']))}, closed-loop images with "
              f"teacher-forced proprio {translation(policy, env, episode, with_proprio(b, a['proprio']))}")
        for name, part in PARTS.items():
            proprio = a["proprio"].copy()
            proprio[part] = b["proprio"][part]
            print(f"    teacher-forced, with the closed loop's {name:16s} {translation(policy, env, episode, with_proprio(a, proprio))}"
                  f"  (it differs by {np.round(b['proprio'][part] - a['proprio'][part], 4)})")
    obs = taught[min(probe_steps[-1], len(taught) - 1)]
    print(f"  nudges at step {probe_steps[-1]} of the teacher-forced run:")
    answers = {"as is": translation(policy, env, episode, obs)}
    for label, (part, nudge) in NUDGES.items():
        proprio = obs["proprio"].copy()
        proprio[part] += nudge
        answers[label] = translation(policy, env, episode, with_proprio(obs, proprio))
    mean = policy.model.proprio_mean[policy.model.domain_index("manipulation")].numpy()[:15]
    answers["training-mean proprio"] = translation(policy, env, episode, with_proprio(obs, mean))
    for label, answer in answers.items():
        print(f"    {label:28s} {answer}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", action="append", required=True)
    parser.add_argument("--checkpoint", action="append", default=[])
    parser.add_argument("--tasks", default="CloseDrawer,PickUp")
    parser.add_argument("--episodes", type=int, default=1, help="per task")
    parser.add_argument("--probe-steps", default="1,3", help="steps (from 0) of the swaps; the last also takes the nudges")
    args = parser.parse_args()
    probe_steps = [int(s) for s in args.probe_steps.split(",")]
    checkpoints = args.checkpoint + [None] * (len(args.policy) - len(args.checkpoint))
    for name, checkpoint in zip(args.policy, checkpoints):
        policy = policy_class(name)(checkpoint=checkpoint, threads=2)
        std = policy.model.proprio_std[policy.model.domain_index("manipulation")].numpy()
        print(f"== {name} {checkpoint or '(shipped)'}; the training data's spread (standard deviation): "
              + ", ".join(f"{part} {np.round(std[s], 4)}" for part, s in PARTS.items()))
        for task in args.tasks.split(","):
            for episode in load_manifest("train").for_task(task)[: args.episodes]:
                env = gym.make(task_entry(task).env_id)
                report(policy, env, episode, probe_steps)
                env.close()


if __name__ == "__main__":
    main()
