"""Where does a policy's hand go? Section 21's rt2 heads for the named object at its first step,
yet grasps nothing. Every `--every` steps of the first `train` episodes of `--task` this prints
the hand's offset from where the expert grasps (PickUp: the object's grasp point; OpenDrawer: the
drawer's handle) in the table's x and y and in height, beside the action's sideways and vertical
parts and its gripper command (and, on OpenDrawer, how far the drawer is out), so the trace shows
whether the approach overshoots, stalls or never descends.

    python scripts/experiments/approach_trace.py --policy rt2=CKPT --policy bcz --episodes 3
    python scripts/experiments/approach_trace.py --task OpenDrawer --policy palme=CKPT --policy bcz

`--policy NAME[=CHECKPOINT]` may repeat (no checkpoint: the shipped one); `--decode mean` decodes
binned heads by their mean (the policy's `decode` argument). CPU, seconds per episode.
"""
from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import vla_bench  # noqa: F401  registers the tasks
from vla_bench.baselines.policy import policy_class
from vla_bench.envs.manipulation import expert
from vla_bench.runner.episode import task_info
from vla_bench.splits import load_manifest
from vla_bench.task.registry import task_entry

GRASPED_AT = {  # task: where the expert closes its hand, and what else the trace shows
    "PickUp": (lambda scene: expert.grasp_point(scene, "target"), lambda scene: ""),
    "OpenDrawer": (lambda scene: scene.handle(), lambda scene: f"  drawer out {scene.drawer_opening() * 100:4.1f} cm"),
}


def trace(policy, task: str, episodes: int, every: int) -> None:
    env = gym.make(task_entry(task).env_id)
    target, extra = GRASPED_AT[task]
    for episode in load_manifest("train").for_task(task)[:episodes]:
        obs, _ = env.reset(seed=episode.seed, options={"episode": episode})
        policy.reset(obs["instruction"], task_info(env, episode, privileged=False))
        scene = env.unwrapped
        print(f"  {episode.episode_id}: {obs['instruction']!r}")
        for step in range(env.spec.max_episode_steps):
            action = np.asarray(policy.act(obs), dtype=np.float64)
            offset = (scene.ee_pos - target(scene)) * 100
            if step % every == 0:
                print(f"    step {step:2d}  hand - grasp x {offset[0]:+5.1f} y {offset[1]:+5.1f} z {offset[2]:+5.1f} cm"
                      f"  action x {action[0]:+.2f} y {action[1]:+.2f} z {action[2]:+.2f} gripper {action[-1]:+.2f}{extra(scene)}")
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        print(f"    ended at step {step}, success {bool(info.get('is_success'))}")
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", action="append", required=True, metavar="NAME[=CHECKPOINT]")
    parser.add_argument("--task", default="PickUp", choices=sorted(GRASPED_AT))
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--every", type=int, default=4, help="print every this many steps")
    parser.add_argument("--decode", default="argmax", choices=("argmax", "mean"))
    args = parser.parse_args()
    for spec in args.policy:
        name, _, checkpoint = spec.partition("=")
        print(f"{name} {checkpoint or '(shipped)'} decode={args.decode}", flush=True)
        policy = policy_class(name)(checkpoint=checkpoint or None, threads=2, decode=args.decode)
        trace(policy, args.task, args.episodes, args.every)


if __name__ == "__main__":
    main()
