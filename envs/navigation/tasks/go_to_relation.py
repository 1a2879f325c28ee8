from __future__ import annotations

import numpy as np

from vla_bench.envs.navigation.env import NavigationEnv
from vla_bench.envs.navigation.layout import House
from vla_bench.envs.navigation.tasks.go_to_object import MIN_DISTANCE
from vla_bench.registry import register_task

NEXT_TO = 1.5  # metres between footprints for "next to"


@register_task("GoToRelation", domain="navigation", max_episode_steps=150)
class GoToRelation(NavigationEnv):
    """Go to an object named by a relation ("the plant next to the red sofa", "the lamp in the
    bedroom"): only the relation tells it apart from the other objects of its kind."""

    def choose_goals(self, rng: np.random.Generator, house: House, distances: np.ndarray):
        items = house.furnishings
        options = []
        for t in np.flatnonzero(np.isfinite(distances) & (distances >= MIN_DISTANCE)):
            target = items[t]
            same_kind = [o for o in items if o.kind == target.kind and o is not target]
            if not [o for o in same_kind if o.room == target.room]:
                options.append((int(t), f"in the {target.room}"))
            for anchor in items:
                if anchor is target or anchor.kind == target.kind or anchor.gap(target) > NEXT_TO:
                    continue
                if not [o for o in same_kind if anchor.gap(o) <= NEXT_TO]:
                    options.append((int(t), f"next to the {anchor.name()}"))
        if not options:
            return None
        goal, relation = options[int(rng.integers(len(options)))]
        return [goal], {"object": items[goal].kind, "relation": relation}
