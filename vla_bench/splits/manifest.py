"""Split manifests: the fixed list of episodes a split evaluates, generated once and committed.

`draw_episode` turns (split, task, seed) into an EpisodeSpec; `generate_manifest` draws a
split's episodes for every task; the JSON files in `manifests/` are what `vla-bench run` uses
unless `--seed` asks for a fresh draw. The hash covers the episodes, so a run records exactly
which set it evaluated.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from vla_bench.errors import UsageError
from vla_bench.specs import EpisodeSpec, PoolSelection
from vla_bench.splits.definitions import (
    SplitDefinition,
    composition,
    is_held_out,
    split_definition,
)
from vla_bench.task.disturbance import FACTOR as DISTURBANCE
from vla_bench.task.registry import list_tasks, task_entry

MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"
MANIFEST_VERSION = 3  # 3: predicates, object geometry and navigation regions of this version; 2: seeds from a
# hash of the task name (1: from its registry position)
EPISODES_PER_TASK = 50
MAX_DRAWS = 200  # rejection sampling for composition constraints (a quarter are held out)


@dataclass(frozen=True)
class Manifest:
    split: str
    version: int
    episodes: tuple[EpisodeSpec, ...]

    @property
    def hash(self) -> str:
        return episodes_hash(self.episodes)

    def for_task(self, task: str) -> list[EpisodeSpec]:
        return [e for e in self.episodes if e.task == task]

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(e.task for e in self.episodes))


def episodes_hash(episodes: tuple[EpisodeSpec, ...] | list[EpisodeSpec]) -> str:
    canonical = json.dumps([asdict(e) for e in episodes], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def task_key(task: str) -> int:
    """A stable 64-bit number for a task name (SHA-256, unlike Python's salted `hash`)."""
    return int.from_bytes(hashlib.sha256(task.encode()).digest()[:8], "little")


@lru_cache(maxsize=None)
def _sampler_env(task: str) -> gym.Env:
    """An environment used only to draw episode specs (nothing is compiled or rendered)."""
    return gym.make(task_entry(task).env_id).unwrapped


def draw_episode(split: SplitDefinition, task: str, seed: int) -> EpisodeSpec:
    """The episode of `split` and `task` that `seed` determines."""
    rng = np.random.default_rng(seed)
    env = _sampler_env(task)

    def drawn(factors: tuple[str, ...]) -> tuple[str, ...]:  # those this task's episodes draw, in order
        return tuple(f for f in factors if f in env.factors)

    perturbed: tuple[str, ...] = ()
    if drawn(split.perturb_one_of):
        count = int(rng.integers(2, 4)) if rng.random() < split.multi_factor_share else 1
        perturbed = tuple(sorted(rng.choice(drawn(split.perturb_one_of), size=count, replace=False).tolist()))
    unseen = (*drawn(split.unseen_factors), *perturbed)
    pools = PoolSelection({factor: "unseen" for factor in unseen})
    for attempt in range(MAX_DRAWS):
        sub_seed = int(np.random.SeedSequence([seed, attempt]).generate_state(1)[0])
        episode = env.sample_episode(sub_seed, pools)
        held_out = is_held_out(composition(episode))
        if split.compositions == "any" or held_out == (split.compositions == "held_out"):
            factors = episode.factors
            if split.disturbed:  # drawn from a stream of its own: the rest of the episode is the train twin's
                disturbance_seed = int(np.random.SeedSequence([seed, attempt, 1]).generate_state(1)[0])
                factors = {**factors, DISTURBANCE: env.sample_disturbance(
                    disturbance_seed, PoolSelection({DISTURBANCE: "unseen"}))}
                unseen = (*unseen, DISTURBANCE)
            return EpisodeSpec(episode.task, episode.seed, factors, episode.instruction,
                               episode_id=f"{split.name}/{task}/{seed}", perturbed=tuple(unseen))
    raise RuntimeError(f"no {split.compositions} composition for {task} in {MAX_DRAWS} draws")


def generate_manifest(split_name: str, episodes_per_task: int = EPISODES_PER_TASK, seed: int = 0,
                      tasks: list[str] | None = None, exclude_seeds: frozenset[int] = frozenset()) -> Manifest:
    """Draw `episodes_per_task` episodes of every task of the suite (or of `tasks`); `seed` 0 gives
    the committed manifest. A task's episodes depend only on its name, the seed and their index,
    so neither the registration order nor which other tasks are drawn changes them. An episode
    whose environment seed is in `exclude_seeds` is skipped (training data never repeats an
    evaluation episode: see `committed_seeds`)."""
    split = split_definition(split_name)
    tasks = list(dict.fromkeys(tasks or list_tasks(builtin_only=True)))
    episodes = []
    for task in tasks:
        key = task_key(task_entry(task).name)
        index = kept = 0
        while kept < episodes_per_task:
            episode_seed = int(np.random.SeedSequence([seed, key, index]).generate_state(1)[0])
            episode = draw_episode(split, task, episode_seed)
            if episode.seed not in exclude_seeds:
                episodes.append(EpisodeSpec(episode.task, episode.seed, episode.factors, episode.instruction,
                                            episode_id=f"{split_name}/{task}/{index:03d}", perturbed=episode.perturbed))
                kept += 1
            index += 1
    return Manifest(split_name, MANIFEST_VERSION, tuple(episodes))


def committed_seeds() -> frozenset[int]:
    """The environment seeds of every committed manifest's episodes (what no training data may hold)."""
    return frozenset(e.seed for path in sorted(MANIFEST_DIR.glob("*.json")) for e in load_manifest(path.stem).episodes)


def save_manifest(manifest: Manifest, directory: Path = MANIFEST_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{manifest.split}.json"
    payload: dict[str, Any] = {
        "split": manifest.split,
        "version": manifest.version,
        "description": split_definition(manifest.split).description,
        "hash": manifest.hash,
        "episodes": [asdict(e) for e in manifest.episodes],
    }
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return path


def load_manifest(split_name: str, directory: Path = MANIFEST_DIR) -> Manifest:
    """The committed manifest of a split; verifies its hash so an edited file cannot pass silently."""
    split_definition(split_name)
    data = json.loads((directory / f"{split_name}.json").read_text())
    episodes = tuple(EpisodeSpec(**{**e, "perturbed": tuple(e["perturbed"])}) for e in data["episodes"])
    manifest = Manifest(data["split"], data["version"], episodes)
    if manifest.hash != data["hash"]:
        raise UsageError(f"manifest {split_name} does not match its hash; regenerate it with "
                         f"`python -m vla_bench.splits.manifest` or restore the committed file")
    return manifest


if __name__ == "__main__":  # regenerate the committed manifests
    from vla_bench.splits.definitions import SPLITS

    for name in SPLITS:
        print(save_manifest(generate_manifest(name)))
