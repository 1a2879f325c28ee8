from __future__ import annotations

import numpy as np

from vla_bench.envs.navigation.env import NavigationEnv
from vla_bench.envs.navigation.layout import House
from vla_bench.envs.navigation.tasks.go_to_object import MIN_DISTANCE
from vla_bench.task.registry import register_task

NEXT_TO = 1.5  # metres between footprints for "next to"


@register_task("GoToRelation", max_episode_steps=150)
class GoToRelation(NavigationEnv):
    """Go to an object named by a relation ("the plant next to the red sofa", "the lamp in the bedroom").

    Only the relation tells the goal apart from the other objects of its kind: "next to" means
    footprints within 1.5 m of each other in the same room (no wall between them), and no other
    object of the goal's kind stands within 1.5 m of the anchor, in its room or behind a wall.

    Randomizations:
        - the goal and its relation: the room it stands in, or an anchor object next to it, chosen
          among those that name exactly one object; at least 1 m of geodesic path from the start
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

    # a moved goal could leave its anchor's side, and the instruction would no longer name it
    disturbance_kinds = ("block_path", "close_door")

    def choose_goals(self, rng: np.random.Generator, house: House, distances: np.ndarray):
        items = house.furnishings
        options = []
        for t in np.flatnonzero(np.isfinite(distances) & (distances >= MIN_DISTANCE)):
            target = items[t]
            same_kind = [o for o in items if o.kind == target.kind and o is not target]
            if not [o for o in same_kind if o.room == target.room]:
                options.append((int(t), f"in the {target.room}"))
            for anchor in items:
                if (anchor is target or anchor.kind == target.kind or anchor.room != target.room
                        or anchor.gap(target) > NEXT_TO):
                    continue
                if not [o for o in same_kind if anchor.gap(o) <= NEXT_TO]:
                    options.append((int(t), f"next to the {anchor.name()}"))
        if not options:
            return None
        goal, relation = options[int(rng.integers(len(options)))]
        return [goal], {"object": items[goal].kind, "relation": relation}
