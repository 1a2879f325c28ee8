from __future__ import annotations

import numpy as np

from vla_bench.envs.manipulation import expert
from vla_bench.envs.manipulation.env import ManipulationEnv, describe
from vla_bench.envs.manipulation.sampling import ObjectSampler
from vla_bench.task.registry import register_task

LIFT_HEIGHT = 0.08  # metres the object's bottom must be above the table


@register_task("PickUp", max_episode_steps=60)
class PickUp(ManipulationEnv):
    """Pick up the named object and hold it above the table.

    Randomizations:
        - the object: a graspable kind, a color and a scale from the split's pools
        - the tabletop factors every manipulation task draws (distractors, table texture, floor
          color, lighting, camera, friction, mass, instruction template)
    Success conditions:
        - grasped: both fingers touch the object
        - lifted: the object's bottom is more than 8 cm above the table
    Episode length: 60 control steps (6 s at 10 Hz).
    Expert: approaches from above, grasps and lifts the object to 20 cm; re-grasps after a miss.
    """

    def sample_objects(self, sampler: ObjectSampler):
        return {"target": (sampler.kind(where=lambda k: k.graspable), sampler.color(), sampler.choice("scale"))}

    def instruction_slots(self, layout, synonyms):
        return {"object": describe(layout.objects["target"], synonyms)}

    def success_conditions(self) -> dict[str, bool]:
        return {"grasped": self.is_grasped("target"), "lifted": self.object_bottom("target") > LIFT_HEIGHT}

    def progress(self) -> float:
        if not self.current_conditions()["grasped"]:
            return 0.0
        return float(0.5 + 0.5 * np.clip(self.object_bottom("target") / LIFT_HEIGHT, 0.0, 1.0))

    def keypoints(self):
        grasp = expert.grasp_point(self, "target")
        return [grasp, grasp + [0.0, 0.0, LIFT_HEIGHT]]

    def expert_plan(self):
        yield from expert.pick(self, "target", lift_to=0.2)
