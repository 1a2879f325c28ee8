"""`vla-bench collect`: the oracle's demonstrations of a split, written as a LeRobot dataset."""
from __future__ import annotations

import multiprocessing
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np

from vla_bench.data.lerobot import IMAGE_KEYS, EncodedImages, Episode, LeRobotWriter
from vla_bench.policy import OraclePolicy
from vla_bench.runner.episode import check_action, task_info
from vla_bench.specs import EpisodeSpec
from vla_bench.splits import generate_manifest, load_manifest
from vla_bench.task.registry import task_entry


def record_demonstration(env: gym.Env, episode: EpisodeSpec, action_noise: float = 0.0) -> Episode:
    """Run the oracle on one episode and keep every observation it acted on, with its action.

    With `action_noise` > 0 the executed hand translation is perturbed by Gaussian noise of that
    standard deviation (rotation noise spoils grasps, so not there) while the recorded action stays the
    expert's own, so the demonstrations show how to recover from small errors (DART, Laskey et
    al. 2017); the noise is seeded by the episode, so the dataset stays reproducible."""
    policy = OraclePolicy()
    noise = np.random.default_rng([episode.seed, 7])
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
        executed = action.copy()
        if action_noise > 0:
            executed[:3] = np.clip(executed[:3] + noise.normal(0.0, action_noise, 3), -1.0, 1.0)
        obs, _, terminated, truncated, info = env.step(executed.astype(action.dtype))
        done = terminated or truncated
    return Episode(
        instruction=episode.instruction,
        images={IMAGE_KEYS[k]: np.stack(v) for k, v in frames.items()},
        state=np.stack(states), action=np.stack(actions), success=bool(info["is_success"]),
        meta={"task": episode.task, "episode_id": episode.episode_id, "seed": episode.seed},
    )


def collect(split: str, out: Path, episodes_per_task: int | None = None, tasks: list[str] | None = None,
            only_successful: bool = True, seed: int | None = None, workers: int = 1, action_noise: float = 0.0,
            progress: bool = True) -> Path:
    """Record the oracle on a split's committed episodes (or, with `seed`, on a fresh draw of
    `episodes_per_task` per task); failed demonstrations are left out unless `only_successful`
    is False. Episodes are written in order, so the dataset is the same for any `workers`."""
    from tqdm import tqdm

    if seed is None:
        manifest = load_manifest(split)
    else:
        manifest = generate_manifest(split, episodes_per_task or 50, seed=seed, tasks=tasks)
    chosen = [e for t in (tasks or manifest.tasks) for e in manifest.for_task(t)[:episodes_per_task]]
    probe = gym.make(task_entry(chosen[0].task).env_id)
    fps = probe.metadata["render_fps"]
    probe.close()
    writer = LeRobotWriter(out, fps=fps)
    try:
        with _demonstrations([(e, action_noise) for e in chosen], workers) as demos:
            for demo, images in tqdm(demos, total=len(chosen), unit="episode", disable=not progress):
                if demo.success or not only_successful:
                    writer.add(demo, images)
    finally:
        writer.close()
    return out


class _demonstrations:
    """Demonstrations of `episodes` in order, recorded here or by a pool of processes."""

    def __init__(self, episodes: list[tuple[EpisodeSpec, float]], workers: int) -> None:
        self.episodes, self.workers, self.pool = episodes, workers, None

    def __enter__(self):
        if self.workers <= 1:
            return map(_record, self.episodes)
        self.pool = multiprocessing.get_context("spawn").Pool(self.workers)
        return self.pool.imap(_record, self.episodes)

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.terminate()


_ENVS: dict[str, gym.Env] = {}  # one environment per task in each collecting process


def _record(job: tuple[EpisodeSpec, float]) -> tuple[Episode, EncodedImages]:
    """A demonstration with its frames already PNG-encoded (and not sent back raw)."""
    import vla_bench  # noqa: F401  (registers tasks in a spawned process)

    episode, action_noise = job
    if episode.task not in _ENVS:
        _ENVS[episode.task] = gym.make(task_entry(episode.task).env_id)
    demo = record_demonstration(_ENVS[episode.task], episode, action_noise)
    return replace(demo, images={}), EncodedImages.of(demo)
