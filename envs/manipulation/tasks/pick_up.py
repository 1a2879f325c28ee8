from __future__ import annotations

import numpy as np

from vla_bench.envs.manipulation import expert
from vla_bench.envs.manipulation.env import TabletopEnv, describe
from vla_bench.envs.manipulation.sampling import FactorSampler
from vla_bench.registry import register_task

LIFT_HEIGHT = 0.08  # metres the object's bottom must be above the table


@register_task("PickUp", domain="manipulation", max_episode_steps=60)
class PickUp(TabletopEnv):
    """Pick up the named object and hold it above the table."""

    def sample_objects(self, sampler: FactorSampler):
        return {"target": (sampler.kind(where=lambda k: k.graspable), sampler.color(), sampler.choice("scale"))}

    def instruction_slots(self, layout, synonyms):
        return {"object": describe(layout.objects["target"], synonyms)}

    def check_success(self) -> bool:
        return self.object_bottom("target") > LIFT_HEIGHT and self.is_grasped("target")

    def progress(self) -> float:
        lifted = np.clip(self.object_bottom("target") / LIFT_HEIGHT, 0.0, 1.0)
        return float(0.5 * self.is_grasped("target") + 0.5 * lifted * self.is_grasped("target"))

    def keypoints(self):
        grasp = expert.grasp_point(self, "target")
        return [grasp, grasp + [0.0, 0.0, LIFT_HEIGHT]]

    def expert_plan(self):
        yield from expert.pick(self, "target", lift_to=0.2)
