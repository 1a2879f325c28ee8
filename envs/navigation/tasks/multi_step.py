from __future__ import annotations

import numpy as np

from vla_bench.envs.navigation.env import NavigationEnv
from vla_bench.envs.navigation.layout import House
from vla_bench.envs.navigation.tasks.go_to_object import MIN_DISTANCE
from vla_bench.registry import register_task


@register_task("MultiStepGoTo", domain="navigation", max_episode_steps=250)
class MultiStepGoTo(NavigationEnv):
    """Follow a two-step instruction ("go to the blue box, then to the red table"), stopping at each."""

    def choose_goals(self, rng: np.random.Generator, house: House, distances: np.ndarray):
        candidates = np.flatnonzero(np.isfinite(distances) & (distances >= MIN_DISTANCE))
        reachable = np.flatnonzero(np.isfinite(distances))
        if not len(candidates) or len(reachable) < 2:
            return None
        first = int(rng.choice(candidates))
        second = int(rng.choice([i for i in reachable if i != first]))
        if house.furnishings[first].distance(house.furnishings[second].x, house.furnishings[second].y) < 2.0:
            return None  # a second goal inside the first's success region would be no step at all
        return [first, second], {"object": house.furnishings[first].name(), "second": house.furnishings[second].name()}
