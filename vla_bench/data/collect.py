"""`vla-bench collect`: the oracle's demonstrations of a split, written as a LeRobot dataset."""
from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

from vla_bench.data.lerobot import IMAGE_KEYS, Episode, LeRobotWriter
from vla_bench.policy import OraclePolicy
from vla_bench.registry import task_entry
from vla_bench.runner.episode import check_action, task_info
from vla_bench.specs import EpisodeSpec
from vla_bench.splits import load_manifest


def record_demonstration(env: gym.Env, episode: EpisodeSpec) -> Episode:
    """Run the oracle on one episode and keep every observation it acted on, with its action."""
    policy = OraclePolicy()
    obs, _ = env.reset(seed=episode.seed, options={"episode": episode})
    policy.reset(obs["instruction"], task_info(env, episode, privileged=True))
    frames = {key: [] for key in IMAGE_KEYS}
    states, actions = [], []
    done, info = False, {}
    while not done:
        action = check_action(policy.act(obs), env.action_space)
        for key in IMAGE_KEYS:
            frames[key].append(obs[key])
        states.append(obs["proprio"])
        actions.append(action)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return Episode(
        instruction=episode.instruction,
        images={IMAGE_KEYS[k]: np.stack(v) for k, v in frames.items()},
        state=np.stack(states), action=np.stack(actions), success=bool(info["is_success"]),
        meta={"task": episode.task, "episode_id": episode.episode_id, "seed": episode.seed},
    )


def collect(split: str, out: Path, episodes_per_task: int | None = None, tasks: list[str] | None = None,
            only_successful: bool = True, progress: bool = True) -> Path:
    """Record the oracle on a split's committed episodes; failed demonstrations are left out
    unless `only_successful` is False."""
    from tqdm import tqdm

    manifest = load_manifest(split)
    chosen = [e for t in (tasks or manifest.tasks) for e in manifest.for_task(t)[:episodes_per_task]]
    envs: dict[str, gym.Env] = {}
    writer = None
    try:
        for episode in tqdm(chosen, unit="episode", disable=not progress):
            if episode.task not in envs:
                envs[episode.task] = gym.make(task_entry(episode.task).env_id)
            demo = record_demonstration(envs[episode.task], episode)
            if writer is None:
                writer = LeRobotWriter(out, fps=envs[episode.task].metadata["render_fps"])
            if demo.success or not only_successful:
                writer.add(demo)
    finally:
        if writer is not None:
            writer.close()
        for env in envs.values():
            env.close()
    return out
