"""What only tabletop episodes draw: object kinds from the catalog, and non-overlapping starting poses."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from vla_bench.assets import ObjectKind, catalog
from vla_bench.envs.manipulation.objects import ObjectPlacement
from vla_bench.task.sampling import FactorSampler

# Where objects may start, in the robot's frame (x forward, y left), metres.
WORKSPACE_X = (0.36, 0.64)
WORKSPACE_Y = (-0.27, 0.27)
MIN_GAP = 0.02  # clearance between objects' footprints


class ObjectSampler(FactorSampler):
    """A FactorSampler that also draws object kinds from the catalog."""

    def kind(self, factor: str = "object_kind", where: Callable[[ObjectKind], bool] = lambda k: True,
             exclude: Sequence[str] = ()) -> str:
        """An object kind from a pool that satisfies `where`."""
        options = [k for k in self.pool(factor) if where(catalog()[k]) and k not in exclude]
        if not options:
            raise ValueError(f"no {factor} in the {self.pools(factor)} pool satisfies this task's needs")
        return options[int(self.rng.integers(len(options)))]


def footprint_radius(kind: ObjectKind, scale: float) -> float:
    """Radius of the circle an object covers on the table (before it is built)."""
    if "extents" in kind.shape:
        return float(np.hypot(*kind.shape["extents"][:2]) / 2 * scale)
    return kind.size * scale / 2


def place_objects(rng: np.random.Generator, objects: dict[str, tuple[str, str, float]],
                  area: Callable[[str], tuple[float, float, float, float]],
                  attempts: int = 100, restarts: int = 30) -> dict[str, ObjectPlacement]:
    """Non-overlapping poses for (kind, color, scale) per role, each inside `area(role)`.

    Objects are placed in order by rejection sampling; when one does not fit, the whole layout
    starts again (a crowded table is usually solvable with the earlier objects elsewhere).
    """
    for _ in range(restarts):
        placed = _try_place(rng, objects, area, attempts)
        if placed is not None:
            return placed
    raise RuntimeError(f"could not place {list(objects)} without overlap; the table is too crowded")


def _try_place(rng, objects, area, attempts) -> dict[str, ObjectPlacement] | None:
    placed: dict[str, ObjectPlacement] = {}
    radii: dict[str, float] = {}
    for role, (kind_name, color, scale) in objects.items():
        radius = footprint_radius(catalog()[kind_name], scale)
        x0, x1, y0, y1 = area(role)
        for _ in range(attempts):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if all(np.hypot(x - p.x, y - p.y) > radius + radii[r] + MIN_GAP for r, p in placed.items()):
                break
        else:
            return None
        yaw = float(rng.uniform(-np.pi, np.pi))
        placed[role] = ObjectPlacement(kind_name, color, float(scale), float(x), float(y), yaw)
        radii[role] = radius
    return placed
