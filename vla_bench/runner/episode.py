"""Runs one episode of a policy and turns it into an EpisodeRecord (one line of episodes.jsonl).

Faults end only their episode: a policy that raises or returns NaN, Inf or a wrong shape, and a
simulator that goes unstable, are recorded in `error` with the episode counted as failed.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from vla_bench.metrics import spl
from vla_bench.policy.base import Policy, TaskInfo
from vla_bench.specs import EpisodeSpec
from vla_bench.task.base import SimulationUnstable
from vla_bench.task.registry import task_entry

RECORD_FIELDS = ("policy", "split", "task", "episode_id", "seed", "instruction", "success", "steps", "collisions",
                 "path_length", "shortest_path_length", "spl", "interventions", "latency_ms_mean", "error", "wall_s")


@dataclass
class EpisodeRecord:
    """One line of episodes.jsonl. The fields up to `wall_s` are the contract of README's "Result
    files"; fields added since follow them (added, never renamed)."""

    policy: str
    split: str
    task: str
    episode_id: str
    seed: int
    instruction: str
    success: bool = False
    steps: int = 0
    collisions: int = 0
    path_length: float = 0.0
    shortest_path_length: float = 0.0
    spl: float = 0.0
    interventions: int = 0
    latency_ms_mean: float = 0.0
    error: str = ""
    wall_s: float = 0.0
    latency_ms_p95: float = 0.0
    intervention_reasons: dict[str, int] = field(default_factory=dict)
    perturbed: list[str] = field(default_factory=list)
    progress: float = 0.0
    sim_seconds: float = 0.0  # simulated time the episode lasted (videos play at steps / sim_seconds)
    success_conditions: dict[str, bool] = field(default_factory=dict)  # the predicate's parts at the end

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class PolicyFault(RuntimeError):
    """The policy broke the adapter contract in this episode."""


def task_info(env: gym.Env, episode: EpisodeSpec, privileged: bool) -> TaskInfo:
    base = env.unwrapped
    entry = task_entry(base.task_name)
    return TaskInfo(entry.name, entry.domain, env.observation_space, env.action_space, entry.max_episode_steps,
                    episode_seed=episode.seed, episode_id=episode.episode_id, privileged=base if privileged else None)


def check_action(action: Any, space: gym.Space) -> np.ndarray | int:
    """The action as the env wants it, or PolicyFault saying what is wrong with it."""
    if isinstance(space, gym.spaces.Discrete):
        if not isinstance(action, (int, np.integer)) or not space.contains(int(action)):
            raise PolicyFault(f"policy returned {action!r}; expected an int in [0, {space.n})")
        return int(action)
    try:
        array = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise PolicyFault(f"policy returned {type(action).__name__}, not an array of {space.shape} numbers") from err
    if array.shape != space.shape:
        raise PolicyFault(f"policy returned shape {array.shape}; expected {space.shape}")
    if not np.all(np.isfinite(array)):
        raise PolicyFault(f"policy returned non-finite values {array.tolist()}")
    return array


def run_episode(env: gym.Env, policy: Policy, episode: EpisodeSpec, split: str = "", policy_name: str | None = None,
                on_step: Callable[[int], None] | None = None, frames: list | None = None) -> EpisodeRecord:
    """Reset `env` to `episode` and let `policy` act until the task ends, time runs out or a fault.

    `on_step` is called after every step (the runner's heartbeat); `frames`, if given, collects
    the front camera image of every step (for videos).
    """
    record = EpisodeRecord(policy_name or getattr(policy, "name", type(policy).__name__), split, episode.task,
                           episode.episode_id or f"{episode.task}/{episode.seed}", episode.seed,
                           episode.instruction, perturbed=list(episode.perturbed))
    latencies: list[float] = []
    info: dict[str, Any] = {}
    start = time.perf_counter()
    try:
        obs, info = env.reset(seed=episode.seed, options={"episode": episode})
        start_time = info.get("sim_time", 0.0)
        try:
            policy.reset(obs["instruction"], task_info(env, episode, getattr(policy, "privileged", False)))
        except Exception as err:  # the policy's own bug: recorded, the run goes on
            raise PolicyFault(f"policy reset raised {type(err).__name__}: {err}") from err
        if on_step is not None:
            on_step(0)  # the scene is built: from here on, only the policy's step time counts
        done = False
        while not done:
            if frames is not None:
                frames.append(obs["rgb"])
            tick = time.perf_counter()
            try:
                raw = policy.act(obs)
            except PolicyFault:  # already phrased (a policy served by the main process)
                raise
            except Exception as err:  # the policy's own bug: recorded, the run goes on
                raise PolicyFault(f"policy raised {type(err).__name__}: {err}") from err
            latencies.append((time.perf_counter() - tick) * 1000)
            obs, _, terminated, truncated, info = env.step(check_action(raw, env.action_space))
            record.steps += 1
            record.interventions += len(info.get("interventions", ()))
            done = terminated or truncated
            if on_step is not None:
                on_step(record.steps)
        if frames is not None:
            frames.append(obs["rgb"])
    except PolicyFault as err:
        record.error = str(err)
    except SimulationUnstable as err:
        record.error = f"simulation unstable: {err}"
    record.wall_s = time.perf_counter() - start
    record.success = bool(info.get("is_success", False)) and not record.error
    record.collisions = int(info.get("collisions", 0))
    record.path_length = float(info.get("path_length", 0.0))
    record.shortest_path_length = float(info.get("shortest_path_length", 0.0))
    record.spl = spl(record.success, record.path_length, record.shortest_path_length)
    record.progress = float(info.get("progress", 0.0))
    record.success_conditions = dict(info.get("success_conditions", {}))
    if "sim_time" in info:
        record.sim_seconds = float(info["sim_time"] - start_time)
    if latencies:
        record.latency_ms_mean = float(np.mean(latencies))
        record.latency_ms_p95 = float(np.percentile(latencies, 95))
    counts = getattr(env, "counts", None)
    if counts is not None:
        record.intervention_reasons = dict(counts)
    return record
