"""Scheduled disturbances: one physical event in an otherwise ordinary episode (the
`novel_disturbances` split), to measure whether a policy recovers.

An episode's disturbance is a factor like any other: drawn from the `seen` or `unseen` pool of
`assets/factors.json` ("disturbance": kinds with magnitude ranges), stored in the EpisodeSpec's
factors under "disturbance", and applied by the domain in simulation, as a pose change or a
force the cameras see. Each task family says which kinds fit it (`TaskEnv.disturbance_kinds`).
What happened is logged as a `DisturbanceEvent` in every later step's info and in the episode's
record, with its step and simulated time and the positions before and after.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from vla_bench.task.sampling import FactorSampler

FACTOR = "disturbance"


@dataclass(frozen=True)
class DisturbanceSpec:
    """What will happen: `kind`, its `magnitude` (metres for displacements, newtons for pushes),
    a horizontal `direction` (radians, world frame) where the kind needs one, and the first
    control step at which it may fire (kinds that wait for a situation, like the hand reaching
    the object, fire at the first step from then on where it arises)."""

    kind: str
    magnitude: float
    direction: float
    after_step: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DisturbanceSpec":
        return cls(str(data["kind"]), float(data["magnitude"]), float(data["direction"]), int(data["after_step"]))


@dataclass(frozen=True)
class DisturbanceEvent:
    """What happened: `moved` names what the disturbance moved (an object's role, the hand, an
    obstacle, a door, the goal), with its position just before and just after (for a push, at
    its end)."""

    kind: str
    step: int
    sim_time: float
    moved: str
    before: tuple[float, ...]
    after: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "before": [round(float(v), 4) for v in self.before],
                "after": [round(float(v), 4) for v in self.after]}


def sample_disturbance(sampler: FactorSampler, kinds: Sequence[str], steps: tuple[int, int]) -> DisturbanceSpec:
    """A disturbance of one of `kinds` from the sampler's pool, firing from a step in `steps`
    (inclusive)."""
    options = [entry for entry in sampler.pool(FACTOR) if entry["kind"] in kinds]
    if not options:
        raise ValueError(f"the {sampler.pools(FACTOR)} disturbance pool has none of {list(kinds)}")
    entry = options[int(sampler.rng.integers(len(options)))]
    low, high = entry["magnitude"]
    return DisturbanceSpec(entry["kind"], float(sampler.rng.uniform(low, high)),
                           float(sampler.rng.uniform(0.0, 2 * np.pi)), int(sampler.rng.integers(steps[0], steps[1] + 1)))
