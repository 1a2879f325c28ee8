from __future__ import annotations

import numpy as np

from vla_bench.envs.navigation.env import NavigationEnv
from vla_bench.envs.navigation.layout import House
from vla_bench.envs.navigation.tasks.go_to_object import MIN_DISTANCE
from vla_bench.task.registry import register_task


@register_task("MultiStepGoTo", max_episode_steps=250)
class MultiStepGoTo(NavigationEnv):
    """Follow a two-step instruction ("go to the blue box, then to the red table"), stopping at each.

    Randomizations:
        - the two goals: furniture named by (color, kind), the first at least 1 m of geodesic
          path from the start, the second at least 2 m from the first
        - the house factors every navigation task draws (floor plan of 3 to 6 rooms with
          doorways, furniture kinds and colors, wall and floor paint, room lights, instruction
          template)
    Success conditions:
        - within_radius: the base's centre is within 1 m (straight line) of the current goal's
          footprint (of the second once both are reached)
        - stopped: stop was called inside that radius at the first goal, then at the second (a
          stop anywhere else ends the episode as a failure)
    Episode length: 250 steps (a step is one move: forward 0.25 m or a 15 degree turn).
    Expert: follows the taut geodesic path to each goal's region in turn and stops there.
    """

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
