from __future__ import annotations

import numpy as np

from vla_bench.envs.navigation.env import NavigationEnv
from vla_bench.envs.navigation.layout import House
from vla_bench.registry import register_task

MIN_DISTANCE = 1.0  # a goal must not be reachable in fewer metres than this


@register_task("GoToObject", domain="navigation", max_episode_steps=150)
class GoToObject(NavigationEnv):
    """Go to a named object ("go to the red chair") and stop within 1 m of it."""

    def choose_goals(self, rng: np.random.Generator, house: House, distances: np.ndarray):
        candidates = np.flatnonzero(np.isfinite(distances) & (distances >= MIN_DISTANCE))
        if not len(candidates):
            return None
        goal = int(rng.choice(candidates))
        return [goal], {"object": house.furnishings[goal].name()}
