from __future__ import annotations

import numpy as np

from vla_bench.assets import catalog
from vla_bench.envs.manipulation import expert
from vla_bench.envs.manipulation.env import ManipulationEnv, describe
from vla_bench.envs.manipulation.objects import FLOOR_THICKNESS
from vla_bench.envs.manipulation.sampling import ObjectSampler, footprint_radius
from vla_bench.task.registry import register_task


@register_task("PutIn", max_episode_steps=100)
class PutIn(ManipulationEnv):
    """Put the named object in (or on) the named receptacle: a bowl, plate, tray or box.

    Randomizations:
        - the receptacle: a kind from the receptacle pool and a color
        - the object: a graspable kind that fits the receptacle (nothing that rolls onto a
          plate), another color, a scale
        - the tabletop factors every manipulation task draws
    Success conditions:
        - inside: the object's centre is within the receptacle's inner footprint and its lowest
          point (of its collision geometry) below the rim
        - on_floor: the object touches the receptacle's floor, not only its walls (an object
          perched on the rim is not in)
        - released: the robot does not touch the object
        - still: the object moves slower than 5 cm/s and turns slower than 1 rad/s
    Episode length: 100 control steps (10 s at 10 Hz).
    Expert: picks the object, carries it above the receptacle, lowers it and lets go.
    """

    task_roles = ("receptacle", "target")

    def sample_objects(self, sampler: ObjectSampler):
        receptacle = sampler.kind("receptacle_kind")
        room = min(catalog()[receptacle].shape["extents"][:2]) / 2 - 0.02
        flat = catalog()[receptacle].receptacle == "on"  # a ball would roll off a plate
        target = sampler.kind(where=lambda k: k.graspable and footprint_radius(k, 1.1) < room
                              and not (flat and k.rolls))
        colors = [sampler.color()]
        colors.append(sampler.color(exclude=colors))
        return {"receptacle": (receptacle, colors[0], 1.0), "target": (target, colors[1], sampler.choice("scale"))}

    def instruction_slots(self, layout, synonyms):
        receptacle = layout.objects["receptacle"]
        return {"object": describe(layout.objects["target"], synonyms),
                "receptacle": describe(receptacle, synonyms),
                "prep": catalog()[receptacle.kind].receptacle}

    def success_conditions(self) -> dict[str, bool]:
        return {"inside": self.object_inside("target", "receptacle"),
                "on_floor": self.rests_on_floor_of("target", "receptacle"),
                "released": not self.touches_robot("target"), "still": self.object_still("target")}

    def progress(self) -> float:
        start = np.linalg.norm(self.start_pos("target")[:2] - self.object_pos("receptacle")[:2])
        now = np.linalg.norm(self.object_pos("target")[:2] - self.object_pos("receptacle")[:2])
        return 1.0 if self.check_success() else float(np.clip(1.0 - now / max(start, 1e-6), 0.0, 0.99))

    def _release_bottom(self) -> float:
        floor = self.object_bottom("receptacle") + FLOOR_THICKNESS
        rim = floor - FLOOR_THICKNESS + 2 * self.object_half_extents("receptacle")[2]
        return max(floor + 0.02, rim - 0.025)

    def keypoints(self):
        goal = self.object_pos("receptacle").copy()
        goal[2] = self._release_bottom() + self.object_half_extents("target")[2]
        return [expert.grasp_point(self, "target"), goal]

    def expert_plan(self):
        carry = 2 * self.object_half_extents("receptacle")[2] + 2 * self.object_half_extents("target")[2] + 0.1
        yield from expert.pick(self, "target", lift_to=carry)
        yield from expert.place(self, "target", self.object_pos("receptacle")[:2], self._release_bottom(),
                                carry_z=carry)
