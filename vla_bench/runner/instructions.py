"""The language-reliance control: which instruction a policy reads in an episode.

`original` is the episode's own. `blank` is the empty string. `shuffled` is the instruction of
another episode of the same domain in the split (drawn per episode from its seed, so a run gives
the same pairing for any worker count or task subset), never one with the same text. The task,
its success predicate and the recorded `instruction` stay the episode's own: only what the
policy reads changes, so the drop in success measures how much of it comes from the words.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vla_bench.specs import EpisodeSpec
from vla_bench.task.registry import task_entry

INSTRUCTION_MODES = ("original", "blank", "shuffled")


def policy_instructions(mode: str, episodes: Sequence[EpisodeSpec], split_episodes: Sequence[EpisodeSpec]
                        ) -> dict[str, str]:
    """episode id -> the instruction the policy reads, for each of `episodes` (whose split holds
    `split_episodes`); empty for `original`."""
    if mode not in INSTRUCTION_MODES:
        raise ValueError(f"unknown instruction mode {mode!r}; valid: {', '.join(INSTRUCTION_MODES)}")
    if mode == "original":
        return {}
    if mode == "blank":
        return {e.episode_id: "" for e in episodes}
    by_domain: dict[str, list[str]] = {}
    for e in split_episodes:
        by_domain.setdefault(task_entry(e.task).domain, []).append(e.instruction)
    shown = {}
    for e in episodes:
        others = [text for text in by_domain[task_entry(e.task).domain] if text != e.instruction]
        shown[e.episode_id] = others[int(np.random.default_rng([e.seed, 17]).integers(len(others)))]
    return shown
