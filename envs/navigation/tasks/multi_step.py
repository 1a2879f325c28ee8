from __future__ import annotations

import numpy as np

from vla_bench.envs.navigation.env import SUCCESS_DISTANCE, NavigationEnv
from vla_bench.envs.navigation.layout import House
from vla_bench.envs.navigation.tasks.go_to_object import MIN_DISTANCE
from vla_bench.task.registry import register_task


@register_task("MultiStepGoTo", max_episode_steps=250)
class MultiStepGoTo(NavigationEnv):
    """Follow a two-step instruction ("go to the blue box, then to the red table"), stopping at each.

    Randomizations:
        - the two goals: furniture named by (color, kind), the first at least 1 m of geodesic
          path from the start, the second's footprint at least 2 m from the first's (so no stop is
          inside both success regions, and the second needs a move of its own)
        - the house factors every navigation task draws (floor plan of 3 to 6 rooms with
          doorways, furniture kinds and colors, wall and floor paint, room lights, instruction
          template)
    Success conditions:
        - within_radius: the base's centre is within 1 m of the current goal's footprint (of the
          second once both are reached) along a path that crosses no wall (the shortest such path;
          walls are 0.1 m thick, furniture does not count), so a stop behind a wall never counts
        - stopped: stop was called inside that region at the first goal, then at the second (a
          stop anywhere else, the second goal's region first included, ends the episode as a
          failure)
    Episode length: 250 steps (a step is one move: forward 0.25 m or a 15 degree turn).
    Expert: follows the taut geodesic path to each goal's region in turn and stops there.
    """

    def choose_goals(self, rng: np.random.Generator, house: House, distances: np.ndarray):
        candidates = np.flatnonzero(np.isfinite(distances) & (distances >= MIN_DISTANCE))
        reachable = np.flatnonzero(np.isfinite(distances))
        if not len(candidates) or len(reachable) < 2:
            return None
        items = house.furnishings
        first = int(rng.choice(candidates))
        # footprints at least twice the success distance apart: the two regions share no point, so
        # one stop can never count for both goals and the second always asks for a move
        seconds = [int(i) for i in reachable if items[i].gap(items[first]) >= 2 * SUCCESS_DISTANCE]
        if not seconds:
            return None
        second = seconds[int(rng.integers(len(seconds)))]
        return [first, second], {"object": items[first].name(), "second": items[second].name()}
