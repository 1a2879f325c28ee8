"""Runs one episode of a policy in an environment and reports what the metrics need."""
from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

from vla_bench.policy.base import Policy, TaskInfo
from vla_bench.registry import task_entry
from vla_bench.specs import EpisodeSpec


@dataclass(frozen=True)
class EpisodeOutcome:
    task: str
    seed: int
    instruction: str
    success: bool
    steps: int
    collisions: int
    path_length: float
    shortest_path_length: float


def task_info(env: gym.Env) -> TaskInfo:
    base = env.unwrapped
    entry = task_entry(base.task_name)
    return TaskInfo(entry.name, entry.domain, env.observation_space, env.action_space,
                    entry.max_episode_steps, privileged=base)


def run_episode(env: gym.Env, policy: Policy, episode: EpisodeSpec) -> EpisodeOutcome:
    """Reset `env` to `episode`, let `policy` act until the task ends or time runs out."""
    obs, info = env.reset(seed=episode.seed, options={"episode": episode})
    policy.reset(obs["instruction"], task_info(env))
    steps, done = 0, False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
        steps += 1
        done = terminated or truncated
    return EpisodeOutcome(episode.task, episode.seed, episode.instruction, bool(info["is_success"]), steps,
                          int(info["collisions"]), float(info["path_length"]), float(info["shortest_path_length"]))
