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
