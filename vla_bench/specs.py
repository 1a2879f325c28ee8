"""Backend-neutral records that cross module boundaries: what an episode is."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

POOL_SEEN = "seen"


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode of a split: the task, the seed, and every factor value of its initial state.

    `factors` is plain JSON so that manifests can store it; the task family that owns the
    episode knows how to read it. The same spec always gives the same initial state.
    """

    task: str
    seed: int
    factors: Mapping[str, Any]
    instruction: str
    episode_id: str = ""
    perturbed: tuple[str, ...] = ()  # factors drawn from unseen pools (what a split changed)


@dataclass(frozen=True)
class PoolSelection:
    """Which pool (seen or unseen) each randomization factor draws from; unnamed factors are seen."""

    pools: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, factor: str) -> str:
        return self.pools.get(factor, POOL_SEEN)


def episode_for_reset(env, seed: int | None, options: dict[str, Any] | None) -> EpisodeSpec:
    """The episode a task env's `reset` builds: `options["episode"]`, else one drawn from `seed`
    (or from the env's generator); an episode of another task is refused."""
    episode = (options or {}).get("episode")
    if episode is None:
        episode = env.sample_episode(int(env.np_random.integers(2**31)) if seed is None else seed)
    if episode.task != env.task_name:
        raise ValueError(f"episode is for task {episode.task!r}, this environment is {env.task_name!r}")
    return episode
