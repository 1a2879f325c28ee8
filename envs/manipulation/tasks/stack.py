from __future__ import annotations

import numpy as np

from vla_bench.envs.manipulation import expert
from vla_bench.envs.manipulation.env import TabletopEnv, describe
from vla_bench.envs.manipulation.sampling import FactorSampler
from vla_bench.registry import register_task


@register_task("Stack", domain="manipulation", max_episode_steps=100)
class Stack(TabletopEnv):
    """Stack the named object on top of another named object."""

    task_roles = ("base", "target")

    def sample_objects(self, sampler: FactorSampler):
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
        return float(self.object_pos("base")[2] + self.object_half_extents("base")[2])

    def check_success(self) -> bool:
        offset = np.linalg.norm(self.object_pos("target")[:2] - self.object_pos("base")[:2])
        on_top = abs(self.object_bottom("target") - self._base_top()) < 0.02
        centred = offset < max(0.6 * float(np.min(self.object_half_extents("base")[:2])), 0.015)
        return bool(on_top and centred and not self.touches_robot("target") and self.object_still("target"))

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
