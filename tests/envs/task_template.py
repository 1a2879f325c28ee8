"""A task family in one file: copy it, rename the class and the task, fill in the hooks.

`CONTRIBUTING.md` ("Add a task family") walks through it. This file is a real, registered task
(`HoverOver`): the test suite imports it and runs the same contract test over it as over every
built-in task, so the template cannot rot. A family of your own works the same from any module
that is imported before `gymnasium.make("vla_bench/<Name>-v0")`.
"""
from __future__ import annotations

import numpy as np

from vla_bench.envs.manipulation import expert
from vla_bench.envs.manipulation.env import ManipulationEnv, describe
from vla_bench.envs.manipulation.sampling import ObjectSampler
from vla_bench.task.registry import register_task

HOVER_HEIGHT = 0.15  # metres above the object's centre the hand should hold
HOVER_TOLERANCE = 0.03  # metres from the hover point (straight-line distance)


@register_task("HoverOver", max_episode_steps=40)
class HoverOver(ManipulationEnv):
    """Hold the open hand above the named object without touching anything.

    A minimal manipulation family: one named object, a pose to reach, no contact.

    Randomizations:
        - the object: a graspable kind, a color and a scale from the split's pools
        - the tabletop factors every manipulation task draws
    Success conditions:
        - above: the end effector is within 3 cm of the point 15 cm above the object's centre
        - untouched: the robot does not touch the object
    Episode length: 40 control steps (4 s at 10 Hz).
    Expert: moves the open hand straight to the hover point.
    """

    # Templates may live in assets/instructions.json under the task's name instead.
    instruction_templates = {"seen": ["hover over the {object}", "hold your hand above the {object}"],
                             "unseen": ["keep the gripper just over the {object}"]}

    def sample_objects(self, sampler: ObjectSampler):
        return {"target": (sampler.kind(where=lambda k: k.graspable), sampler.color(), sampler.choice("scale"))}

    def instruction_slots(self, layout, synonyms):
        return {"object": describe(layout.objects["target"], synonyms)}

    def _hover_point(self) -> np.ndarray:
        return self.object_pos("target") + [0.0, 0.0, HOVER_HEIGHT]

    def success_conditions(self) -> dict[str, bool]:
        return {"above": bool(np.linalg.norm(self.ee_pos - self._hover_point()) < HOVER_TOLERANCE),
                "untouched": not self.touches_robot("target")}

    def progress(self) -> float:
        start = np.linalg.norm(self._start_keypoints[0] - self._start_keypoints[1])
        now = np.linalg.norm(self.ee_pos - self._hover_point())
        return 1.0 if self.check_success() else float(np.clip(1.0 - now / max(start, 1e-6), 0.0, 0.99))

    def keypoints(self):
        return [self._hover_point()]

    def expert_plan(self):
        yield expert.Waypoint(self._hover_point(), 0.0, expert.OPEN, tolerance=0.01, max_steps=35)
