from __future__ import annotations

import numpy as np

from vla_bench.envs.navigation.env import NavigationEnv
from vla_bench.envs.navigation.layout import House
from vla_bench.task.registry import register_task

MIN_DISTANCE = 1.0  # a goal must not be reachable in fewer metres than this


@register_task("GoToObject", max_episode_steps=150)
class GoToObject(NavigationEnv):
    """Go to a named object ("go to the red chair") and stop within 1 m of it, on its side of the walls.

    Randomizations:
        - the goal: a piece of furniture whose (color, kind) is unique in the house (no kind is
          painted the color of its own unpainted parts, such as a plant's green leaves), at least
          1 m of geodesic path from the start
        - the house factors every navigation task draws (floor plan of 3 to 6 rooms with
          doorways, furniture kinds and colors, wall and floor paint, room lights, instruction
          template)
    Success conditions:
        - within_radius: the base's centre is within 1 m of the goal's footprint along a path
          that crosses no wall (the shortest such path; walls are 0.1 m thick, furniture does not
          count), so a stop in the next room, behind a wall, never counts
        - stopped: stop was called inside that region (a stop anywhere else ends
          the episode as a failure)
    Episode length: 150 steps (a step is one move: forward 0.25 m or a 15 degree turn).
    Expert: follows the taut geodesic path on the occupancy grid into the goal's region and stops.
    """

    def choose_goals(self, rng: np.random.Generator, house: House, distances: np.ndarray):
        candidates = np.flatnonzero(np.isfinite(distances) & (distances >= MIN_DISTANCE))
        if not len(candidates):
            return None
        goal = int(rng.choice(candidates))
        return [goal], {"object": house.furnishings[goal].name()}
