"""An episode's house: the floor plan, the furniture in its rooms, and the robot's start.

Everything is drawn from a passed Generator and the factor pools, and stored in the
EpisodeSpec's factors as plain data, so a manifest rebuilds the same house exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from vla_bench.assets import colors, furniture
from vla_bench.envs.navigation.floorplan import FloorPlan, Room, generate_floor_plan
from vla_bench.envs.navigation.geodesic import OccupancyGrid, floor_plan_grid
from vla_bench.envs.navigation.robot import BASE_RADIUS
from vla_bench.task.sampling import FactorSampler

CLEARANCE = 0.15  # the planner keeps the robot's body this far from obstacles
WALL_MARGIN = 0.15  # furniture stands at least this far from walls
PASSAGE = 0.9  # free gap kept between pieces of furniture, so every room stays crossable
DOOR_KEEP_OUT = 1.1  # no furniture this close to a doorway's centre
ITEMS_PER_ROOM = (2, 4)  # inclusive range
UNPAINTED_RGB = (0.35, 0.25, 0.18)  # dark wood: a part that is not painted and names no rgb of its own
LOOKALIKE = 0.3  # RGB distance under which a painted color reads as an unpainted part's color


@dataclass(frozen=True)
class Furnishing:
    kind: str
    color: str
    x: float
    y: float
    yaw: float  # multiple of 90 degrees
    room: str

    @property
    def half_extents(self) -> tuple[float, float]:
        hx, hy = furniture()[self.kind].footprint
        return (hy, hx) if round(self.yaw / (np.pi / 2)) % 2 else (hx, hy)

    def distance(self, x: float, y: float) -> float:
        """Distance from (x, y) to the furnishing's footprint (0 inside it)."""
        hx, hy = self.half_extents
        dx, dy = max(abs(x - self.x) - hx, 0.0), max(abs(y - self.y) - hy, 0.0)
        return float(np.hypot(dx, dy))

    def gap(self, other: "Furnishing") -> float:
        """Free distance between the two footprints (0 when they touch or overlap)."""
        (ax, ay), (bx, by) = self.half_extents, other.half_extents
        dx = max(abs(self.x - other.x) - ax - bx, 0.0)
        dy = max(abs(self.y - other.y) - ay - by, 0.0)
        return float(np.hypot(dx, dy))

    def name(self, with_color: bool = True) -> str:
        return f"{self.color} {self.kind}" if with_color else self.kind


@dataclass(frozen=True)
class House:
    plan: FloorPlan
    furnishings: tuple[Furnishing, ...]
    start: tuple[float, float, float]  # x, y, yaw

    def grid(self, resolution: float = 0.05) -> OccupancyGrid:
        """Walls and furniture, not yet inflated."""
        grid = floor_plan_grid(self.plan, resolution)
        for item in self.furnishings:
            hx, hy = item.half_extents
            grid.block_box(item.x - hx, item.y - hy, item.x + hx, item.y + hy)
        return grid

    def free_space(self, resolution: float = 0.05) -> OccupancyGrid:
        """Where the robot's centre may be: obstacles inflated by its radius plus a clearance."""
        return self.grid(resolution).inflated(BASE_RADIUS + CLEARANCE)


def part_rgb(part: dict[str, Any]) -> tuple[float, float, float]:
    """The fixed color of an unpainted part (its own `rgb`, else dark wood)."""
    return tuple(part.get("rgb", UNPAINTED_RGB))


@lru_cache(maxsize=None)
def lookalike_colors(kind: str) -> frozenset[str]:
    """Colors a kind is never painted: those its unpainted parts already show (the palette color
    nearest to each such part, and any within LOOKALIKE of it), so that "the green plant" cannot
    also be every plant by its green foliage, nor "the brown table" every table by its wooden legs."""
    palette = {name: np.array(rgb) for name, rgb in colors().items()}
    excluded = set()
    for part in furniture()[kind].parts:
        if part["painted"]:
            continue
        rgb = np.array(part_rgb(part))
        gaps = {name: float(np.linalg.norm(value - rgb)) for name, value in palette.items()}
        excluded |= {min(gaps, key=gaps.get)} | {name for name, gap in gaps.items() if gap < LOOKALIKE}
    return frozenset(excluded)


def plan_from_factors(factors: dict[str, Any]) -> FloorPlan:
    spec = factors["floor_plan"]
    return generate_floor_plan(np.random.default_rng(spec["seed"]), spec["columns"], spec["rows"],
                               tuple(spec["room_size"]))


def house_from_factors(factors: dict[str, Any]) -> House:
    return House(plan_from_factors(factors), tuple(Furnishing(**f) for f in factors["furniture"]),
                 tuple(factors["start"]))


def sample_house(rng: np.random.Generator, sampler: FactorSampler) -> tuple[dict[str, Any], House]:
    """Floor plan, furniture (every (color, kind) pair at most once, and never a color that the
    kind's unpainted parts show, so names are unambiguous) and a start pose in free space; returns
    the factors to store and the house they describe."""
    plan_spec = dict(sampler.choice("floor_plan"))
    plan_spec["seed"] = int(rng.integers(2**31))
    plan = plan_from_factors({"floor_plan": plan_spec})
    items: list[Furnishing] = []
    for room in plan.rooms:
        for _ in range(int(rng.integers(ITEMS_PER_ROOM[0], ITEMS_PER_ROOM[1] + 1))):
            kind = _kind_for(room, sampler)
            taken = {i.color for i in items if i.kind == kind} | lookalike_colors(kind)
            if not set(sampler.pool("color")) - taken:
                continue  # every color of this kind is in the house already (small unseen kind pools)
            placed = _place(rng, plan, room, kind, sampler.color(exclude=taken), items)
            if placed is not None:
                items.append(placed)
    house = House(plan, tuple(items), (0.0, 0.0, 0.0))
    free = house.free_space()
    start = _free_point(rng, free)
    house = House(plan, tuple(items), start)
    factors = {"floor_plan": plan_spec, "furniture": [vars(i) for i in items], "start": list(start)}
    return factors, house


def _kind_for(room: Room, sampler: FactorSampler) -> str:
    """A kind from the pool, preferably one found in this kind of room."""
    pool = sampler.pool("furniture_kind")
    fitting = [k for k in pool if room.kind in furniture()[k].rooms] or pool
    return fitting[int(sampler.rng.integers(len(fitting)))]


def _place(rng: np.random.Generator, plan: FloorPlan, room: Room, kind: str, color: str,
           others: list[Furnishing], attempts: int = 60) -> Furnishing | None:
    for _ in range(attempts):
        yaw = float(rng.integers(4)) * np.pi / 2
        probe = Furnishing(kind, color, 0.0, 0.0, yaw, room.kind)
        hx, hy = probe.half_extents
        lo_x, hi_x = room.x0 + hx + WALL_MARGIN, room.x1 - hx - WALL_MARGIN
        lo_y, hi_y = room.y0 + hy + WALL_MARGIN, room.y1 - hy - WALL_MARGIN
        if lo_x >= hi_x or lo_y >= hi_y:
            return None
        item = Furnishing(kind, color, float(rng.uniform(lo_x, hi_x)), float(rng.uniform(lo_y, hi_y)), yaw, room.kind)
        if any(item.distance(*door) < DOOR_KEEP_OUT for door in plan.doors):
            continue
        if any(item.gap(other) < PASSAGE for other in others):
            continue
        return item
    return None


def _free_point(rng: np.random.Generator, free: OccupancyGrid) -> tuple[float, float, float]:
    cells = np.argwhere(~free.blocked)
    i, j = cells[int(rng.integers(len(cells)))]
    x, y = free.point(int(i), int(j))
    return float(x), float(y), float(rng.uniform(-np.pi, np.pi))
