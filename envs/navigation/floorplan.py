"""Procedural indoor floor plans: rectangular rooms on a grid, joined by doorways.

A floor plan is data (rooms, wall segments with their doorway gaps) drawn from a seed; the
scene builder turns it into MuJoCo walls and the occupancy grid (geodesic.py) into free space.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WALL_THICKNESS = 0.1  # metres
DOOR_WIDTH = 1.0
ROOM_KINDS = ("living room", "kitchen", "bedroom", "office", "bathroom", "dining room")


@dataclass(frozen=True)
class Room:
    kind: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        return self.x0 + margin <= x <= self.x1 - margin and self.y0 + margin <= y <= self.y1 - margin


@dataclass(frozen=True)
class Wall:
    """A straight wall from (x0, y0) to (x1, y1), axis-aligned, WALL_THICKNESS thick."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class FloorPlan:
    rooms: tuple[Room, ...]
    walls: tuple[Wall, ...]
    doors: tuple[tuple[float, float], ...]  # doorway centres

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (min(r.x0 for r in self.rooms), min(r.y0 for r in self.rooms),
                max(r.x1 for r in self.rooms), max(r.y1 for r in self.rooms))

    def room_at(self, x: float, y: float) -> Room | None:
        return next((r for r in self.rooms if r.contains(x, y)), None)


def generate_floor_plan(rng: np.random.Generator, columns: int = 2, rows: int = 2,
                        size_range: tuple[float, float] = (3.0, 4.5)) -> FloorPlan:
    """Rooms on a `columns` x `rows` grid with random column widths and row depths, every room
    reachable: a random spanning tree of neighbouring rooms gets doorways, plus one extra door."""
    widths = rng.uniform(*size_range, size=columns)
    depths = rng.uniform(*size_range, size=rows)
    xs, ys = np.concatenate([[0.0], np.cumsum(widths)]), np.concatenate([[0.0], np.cumsum(depths)])
    kinds = rng.permutation(ROOM_KINDS)[: columns * rows]
    cells = [(c, r) for r in range(rows) for c in range(columns)]
    rooms = {cell: Room(str(kinds[i]), xs[cell[0]], ys[cell[1]], xs[cell[0] + 1], ys[cell[1] + 1])
             for i, cell in enumerate(cells)}
    neighbours = [(a, b) for a in cells for b in cells if a < b and abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1]
    linked = _spanning_tree(rng, cells, neighbours)
    extra = [pair for pair in neighbours if pair not in linked]
    if extra:
        linked.add(extra[int(rng.integers(len(extra)))])
    doors: dict[tuple, tuple[float, float]] = {}
    for a, b in sorted(linked):
        doors[(a, b)] = _door_between(rng, rooms[a], rooms[b])
    walls = _walls(xs, ys, rooms, doors)
    return FloorPlan(tuple(rooms[c] for c in cells), tuple(walls), tuple(doors.values()))


def _spanning_tree(rng, cells, neighbours) -> set[tuple]:
    """Random spanning tree over the room grid (randomised Kruskal)."""
    parent = {c: c for c in cells}

    def root(c):
        while parent[c] != c:
            c = parent[c]
        return c

    tree = set()
    for i in rng.permutation(len(neighbours)):
        a, b = neighbours[i]
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
            tree.add((a, b))
    return tree


def _door_between(rng, a: Room, b: Room) -> tuple[float, float]:
    """A doorway centre on the wall the two rooms share, clear of the corners."""
    margin = DOOR_WIDTH / 2 + 0.3
    if a.x1 == b.x0 or b.x1 == a.x0:  # side by side: shared wall is vertical
        x = a.x1 if a.x1 == b.x0 else a.x0
        lo, hi = max(a.y0, b.y0) + margin, min(a.y1, b.y1) - margin
        return float(x), float(rng.uniform(lo, hi))
    y = a.y1 if a.y1 == b.y0 else a.y0
    lo, hi = max(a.x0, b.x0) + margin, min(a.x1, b.x1) - margin
    return float(rng.uniform(lo, hi)), float(y)


def _walls(xs, ys, rooms, doors) -> list[Wall]:
    """Every grid line becomes wall segments, cut where a doorway crosses it."""
    walls = []
    for x in xs:
        gaps = sorted(dy for (dx, dy) in doors.values() if dx == x)
        walls += _cut(x, ys[0], x, ys[-1], [(g - DOOR_WIDTH / 2, g + DOOR_WIDTH / 2) for g in gaps], vertical=True)
    for y in ys:
        gaps = sorted(dx for (dx, dy) in doors.values() if dy == y)
        walls += _cut(xs[0], y, xs[-1], y, [(g - DOOR_WIDTH / 2, g + DOOR_WIDTH / 2) for g in gaps], vertical=False)
    return walls


def _cut(x0, y0, x1, y1, gaps, vertical: bool) -> list[Wall]:
    start, end = (y0, y1) if vertical else (x0, x1)
    pieces, cursor = [], start
    for lo, hi in gaps:
        if lo > cursor:
            pieces.append((cursor, lo))
        cursor = max(cursor, hi)
    if cursor < end:
        pieces.append((cursor, end))
    if vertical:
        return [Wall(float(x0), float(a), float(x0), float(b)) for a, b in pieces]
    return [Wall(float(a), float(y0), float(b), float(y0)) for a, b in pieces]
