"""How long a policy takes to act, alone and in batches of many episodes' observations (what the
batched executors and `vla-bench serve` hand `act_batch`), on recorded observations of a task:
`vla-bench bench --policy P --batch-sizes 1,4,16`."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np

from vla_bench.errors import UsageError
from vla_bench.policy.base import TaskInfo
from vla_bench.policy.loader import PolicySpec
from vla_bench.task.registry import task_entry

WARMUP_CALLS = 5  # first calls pay for lazy initialisation (CUDA kernels, allocator), not counted


@dataclass(frozen=True)
class BatchLatency:
    task: str
    batch: int  # episodes one call answers
    calls: int
    ms_p50: float  # one call: what each episode of the batch waits for its action
    ms_p95: float

    @property
    def hz_per_episode(self) -> float:
        """Control rate each of `batch` concurrent episodes could sustain, counting the policy alone."""
        return 1000.0 / self.ms_p50

    @property
    def observations_per_s(self) -> float:
        return self.batch * self.hz_per_episode


def recorded_observations(task: str, count: int, image_size: int = 128) -> tuple[list[dict[str, Any]], TaskInfo]:
    """`count` observations of `task` under random actions, from the committed train episodes in
    turn, and the TaskInfo of the first."""
    from vla_bench.runner.episode import task_info
    from vla_bench.splits import load_manifest

    episodes = load_manifest("train").for_task(task)
    env = gym.make(task_entry(task).env_id, image_size=image_size, disable_env_checker=True)
    obs, _ = env.reset(seed=episodes[0].seed, options={"episode": episodes[0]})
    info = task_info(env, episodes[0], privileged=False)
    observations = [obs]
    while len(observations) < count:
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        observations.append(obs)
        if terminated or truncated:
            episode = episodes[len(observations) % len(episodes)]
            obs, _ = env.reset(seed=episode.seed, options={"episode": episode})
    env.close()
    return observations, info


def measure_batches(spec: PolicySpec, task: str, batch_sizes: list[int], calls: int = 50,
                    image_size: int = 128) -> list[BatchLatency]:
    """Time `calls` calls per batch size, each answering one observation of as many episodes as
    the batch holds (reset first, so per-episode state is real); a policy that does not batch
    answers them one `act` at a time, as a worker holding it would one after another."""
    if getattr(spec.policy_class(), "privileged", False):
        raise UsageError(f"{spec.reference} reads the simulator's state; time it inside `vla-bench run`")
    policy = spec.build()
    observations, info = recorded_observations(task, calls + WARMUP_CALLS, image_size)
    results = []
    for size in batch_sizes:
        episodes = [f"latency/{size}/{i}" for i in range(size)]
        for episode_id in episodes:
            policy.reset(observations[0]["instruction"], replace(info, episode_id=episode_id))
        times = []
        for k, observation in enumerate(observations):
            batch = [{**observation, "episode_id": episode_id} for episode_id in episodes]
            start = time.perf_counter()
            if policy.batches():
                policy.act_batch(batch)
            else:
                for one in batch:
                    policy.act(one)
            if k >= WARMUP_CALLS:
                times.append((time.perf_counter() - start) * 1000)
        results.append(BatchLatency(task, size, len(times), *np.percentile(times, [50, 95]).tolist()))
    return results
