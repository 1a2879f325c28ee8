from __future__ import annotations

import numpy as np

from vla_bench.assets import instructions
from vla_bench.envs.manipulation import expert
from vla_bench.envs.manipulation.env import ManipulationEnv, describe
from vla_bench.envs.manipulation.sampling import ObjectSampler
from vla_bench.task.registry import register_task

# Where the pushed object starts, and where distractors wait: outside the band the hand sweeps
# (the hand is 20 cm long across the stroke) and behind the start, so the push path is clear.
START_AREA = {"left side": (0.44, 0.58, -0.03, 0.03), "right side": (0.44, 0.58, -0.03, 0.03),
              "far side": (0.38, 0.48, -0.05, 0.05)}
DISTRACTOR_AREA = {"left side": (0.30, 0.72, -0.32, -0.19), "right side": (0.30, 0.72, 0.19, 0.32),
                   "far side": (0.30, 0.72, 0.21, 0.32)}  # room for the four distractors of unseen pools

ON_TABLE = 0.01  # metres: the object's lowest point rests on the table
LIFTED = 0.02  # metres: an object whose lowest point ever rose higher was carried, not pushed
UPRIGHT_COS = np.cos(np.radians(30))  # a pushed object must not have toppled


def regions() -> dict[str, list[float]]:
    return instructions()["regions"]["areas"]


@register_task("PushToRegion", max_episode_steps=150)
class PushToRegion(ManipulationEnv):
    """Push the named object, without lifting it, into a named region of the table.

    The regions are boxes of the table in the robot's frame (`assets/instructions.json`):
    "left side", "right side" and "far side"; the unseen templates name them with synonyms.

    Randomizations:
        - the object: a graspable kind that neither rolls nor tips, a color and a scale
        - the region; the object starts in front of the hand, distractors out of the push's way
        - the tabletop factors every manipulation task draws
    Success conditions:
        - in_region: the object's centre lies in the region's box
        - on_table: the object's lowest point is less than 1 cm above the table
        - upright: the object stands as it started (tilted less than 30 degrees)
        - still: the object moves slower than 5 cm/s and turns slower than 1 rad/s
        - pushed: the object's lowest point never rose more than 2 cm above the table during the
          episode (it was pushed, not carried)
    Episode length: 150 control steps (15 s at 10 Hz).
    Expert: lowers the closed hand behind the object and pushes it to the region's centre.
    """

    disturbance_kinds = ("displace_target", "push_arm")  # the target is never lifted

    def sample_extras(self, sampler: ObjectSampler):
        names = list(regions())
        return {"region": names[int(sampler.rng.integers(len(names)))]}

    def sample_objects(self, sampler: ObjectSampler):
        kind = sampler.kind(where=lambda k: k.graspable and not k.rolls and not k.tips)
        return {"target": (kind, sampler.color(), sampler.choice("scale"))}

    def placement_area(self, role, extras):
        return (START_AREA if role == "target" else DISTRACTOR_AREA)[extras["region"]]

    def instruction_slots(self, layout, synonyms):
        region = layout.extras["region"]
        if synonyms:
            region = instructions()["regions"]["synonyms"][region]
        return {"object": describe(layout.objects["target"], synonyms), "region": region}

    @property
    def region(self) -> list[float]:
        return regions()[self.layout.extras["region"]]

    def _goal(self) -> np.ndarray:
        x0, x1, y0, y1 = self.region
        return np.array([(x0 + x1) / 2, (y0 + y1) / 2])

    def success_conditions(self) -> dict[str, bool]:
        return {"in_region": self.object_in_region("target", self.region),
                "on_table": self.object_bottom("target") < ON_TABLE, "upright": self.object_up("target") > UPRIGHT_COS,
                "still": self.object_still("target"), "pushed": self._highest_bottom <= LIFTED}

    def _start_episode(self, episode) -> None:
        super()._start_episode(episode)
        self._highest_bottom = self.object_bottom("target")

    def after_step(self) -> None:
        self._highest_bottom = max(self._highest_bottom, self.object_bottom("target"))

    def progress(self) -> float:
        now = np.linalg.norm(self.object_pos("target")[:2] - self._goal())
        start = np.linalg.norm(self.start_pos("target")[:2] - self._goal())
        return 1.0 if self.check_success() else float(np.clip(1.0 - now / max(start, 1e-6), 0.0, 0.99))

    def keypoints(self):
        obj = self.object_pos("target")
        direction = (self._goal() - obj[:2]) / max(float(np.linalg.norm(obj[:2] - self._goal())), 1e-6)
        behind = obj[:2] - direction * float(np.hypot(*self.object_half_extents("target")[:2]))
        return [np.array([*behind, obj[2]]), np.array([*self._goal(), obj[2]])]

    def expert_plan(self):
        yield from expert.push(self, "target", self._goal(), done=self.check_success)
