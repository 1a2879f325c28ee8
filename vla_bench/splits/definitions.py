"""The evaluation splits: which factor pools each draws from, and which compositions.

A split never lists values: it says, per factor, whether episodes draw from the seen or the
unseen pool of `assets/factors.json`, and whether the (task, color, object) composition of the
named object must be one that training sees or one held out from it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from vla_bench.errors import UnknownName
from vla_bench.specs import EpisodeSpec

# Factors of the environment rather than of the task: novel_environments perturbs these (each
# episode among those its task draws: the tabletop's first, then the house's).
ENVIRONMENT_FACTORS = ("table_texture", "floor_color", "lighting", "camera", "distractors", "friction", "mass_scale",
                       "floor_plan", "wall_color", "room_light")
HELD_OUT_COMPOSITION_SHARE = 4  # one (task, color, object) combination in 4 is kept out of train


@dataclass(frozen=True)
class SplitDefinition:
    name: str
    description: str
    unseen_factors: tuple[str, ...] = ()  # drawn from their unseen pools in every episode
    compositions: Literal["seen", "held_out", "any"] = "seen"
    perturb_one_of: tuple[str, ...] = ()  # per episode, draw one (or several) of these from unseen pools
    multi_factor_share: float = 0.0  # share of perturbed episodes that change 2 or 3 factors at once
    disturbed: bool = False  # each episode is its train twin plus one scheduled disturbance (unseen pool)


SPLITS: dict[str, SplitDefinition] = {
    s.name: s for s in (
        SplitDefinition("train", "seen values of every factor, seen task x color x object combinations"),
        SplitDefinition("novel_objects", "zero-shot: object, receptacle and furniture kinds never seen in train",
                        unseen_factors=("object_kind", "receptacle_kind", "furniture_kind"), compositions="any"),
        SplitDefinition("novel_instructions", "zero-shot: unseen paraphrases and synonyms of the instructions",
                        unseen_factors=("instruction_template",)),
        SplitDefinition("novel_compositions", "seen colors, objects and tasks in combinations train never shows",
                        compositions="held_out"),
        SplitDefinition("novel_environments", "unseen textures, lighting, camera poses, distractors, physics and "
                        "floor plans; mostly one factor at a time", perturb_one_of=ENVIRONMENT_FACTORS,
                        multi_factor_share=0.3),
        SplitDefinition("novel_disturbances", "recovery: each episode is its train twin with one scheduled physical "
                        "disturbance (the target moved, a held object knocked away, a push on the arm, an obstacle "
                        "on the path, the goal moved, a door closed)", disturbed=True),
    )
}


def split_definition(name: str) -> SplitDefinition:
    """The definition of a split; the error lists the valid names."""
    if name not in SPLITS:
        raise UnknownName(f"unknown split {name!r}; valid splits: {', '.join(SPLITS)}")
    return SPLITS[name]


def composition(episode: EpisodeSpec) -> tuple[str, str, str]:
    """(task, color, object kind) of what the instruction names first: its object, else its
    drawer; in navigation, its first goal."""
    if "goals" in episode.factors:
        goal = episode.factors["furniture"][episode.factors["goals"][0]]
        return episode.task, goal["color"], goal["kind"]
    objects = episode.factors["objects"]
    if "target" in objects:
        return episode.task, objects["target"]["color"], objects["target"]["kind"]
    return episode.task, episode.factors["cabinet"]["color"], "drawer"


def is_held_out(combo: tuple[str, str, str]) -> bool:
    """Whether a composition is kept out of train (a fixed hash, so every lab agrees)."""
    digest = hashlib.sha256("|".join(combo).encode()).digest()
    return digest[0] % HELD_OUT_COMPOSITION_SHARE == 0
