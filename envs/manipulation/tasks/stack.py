from __future__ import annotations

import numpy as np

from vla_bench.envs.manipulation import expert
from vla_bench.envs.manipulation.env import ManipulationEnv, describe
from vla_bench.envs.manipulation.sampling import ObjectSampler
from vla_bench.task.registry import register_task


@register_task("Stack", max_episode_steps=100)
class Stack(ManipulationEnv):
    """Stack the named object on top of another named object.

    Randomizations:
        - both objects: stackable kinds, two different colors, scales
        - the tabletop factors every manipulation task draws
    Success conditions:
        - on_top: the object's lowest point is within 2 cm of the base's highest point (both from
          their collision geometry) and the object touches the base
        - centred: the object's centre is within 60% of the base's smaller half-width of the
          base's centre (at least 1.5 cm)
        - released: the robot does not touch the object
        - still: the object moves slower than 5 cm/s and turns slower than 1 rad/s
    Episode length: 100 control steps (10 s at 10 Hz).
    Expert: picks the object, carries it above the base and sets it down centred.
    """

    task_roles = ("base", "target")

    def sample_objects(self, sampler: ObjectSampler):
        stackable = lambda k: k.graspable and k.stackable  # noqa: E731
        base = sampler.kind(where=stackable)
        top = sampler.kind(where=stackable)
        colors = [sampler.color()]
        colors.append(sampler.color(exclude=colors))
        return {"base": (base, colors[0], sampler.choice("scale")), "target": (top, colors[1], sampler.choice("scale"))}

    def instruction_slots(self, layout, synonyms):
        return {"object": describe(layout.objects["target"], synonyms),
                "base": describe(layout.objects["base"], synonyms)}

    def _base_top(self) -> float:
        return self.object_top("base")

    def success_conditions(self) -> dict[str, bool]:
        offset = np.linalg.norm(self.object_pos("target")[:2] - self.object_pos("base")[:2])
        return {"on_top": bool(abs(self.object_bottom("target") - self._base_top()) < 0.02
                               and self.touches("target", "base")),
                "centred": bool(offset < max(0.6 * float(np.min(self.object_half_extents("base")[:2])), 0.015)),
                "released": not self.touches_robot("target"), "still": self.object_still("target")}

    def progress(self) -> float:
        if self.check_success():
            return 1.0
        offset = np.linalg.norm(self.object_pos("target")[:2] - self.object_pos("base")[:2])
        start = np.linalg.norm(self.start_pos("target")[:2] - self.start_pos("base")[:2])
        return float(np.clip(1.0 - offset / max(start, 1e-6), 0.0, 0.99))

    def keypoints(self):
        goal = self.object_pos("base").copy()
        goal[2] = self._base_top() + self.object_half_extents("target")[2]
        return [expert.grasp_point(self, "target"), goal]

    def expert_plan(self):
        carry = self._base_top() + 2 * self.object_half_extents("target")[2] + 0.08
        yield from expert.pick(self, "target", lift_to=carry)
        yield from expert.place(self, "target", self.object_pos("base")[:2], self._base_top() + 0.006, carry_z=carry)
