"""A goal's success region: where the base's centre is within a distance of the goal's footprint
along a path that does not cross a wall.

The distance is the exact length of the shortest path from a point to the footprint (an
axis-aligned rectangle) that avoids the walls' boxes (the same boxes as the MuJoCo walls: 0.1 m
thick, reaching half a thickness past each end). Walls are the only obstacles: furniture is low
enough to reach over and to see past, and a stop beside a sofa that stands between the robot and
the goal is still next to the goal; a wall between them puts the robot in another room. The path
is that of a point (not inflated by the robot's radius): it says how far the goal is, not how the
robot gets there (the planner's inflated grid does that).

Shortest paths among polygonal obstacles are straight lines that bend only at obstacle corners,
so the distance is the minimum of the straight segment to the footprint's nearest point (when no
wall crosses it) and, over the wall corners that see the point, the corner's own distance plus
the straight line from it. Only walls and corners within the horizon of the footprint can lie on
a path no longer than the horizon, so this is a handful of segment tests per point.
"""
from __future__ import annotations

import numpy as np

from vla_bench.envs.navigation.floorplan import WALL_THICKNESS, FloorPlan
from vla_bench.envs.navigation.geodesic import OccupancyGrid

_TOUCH = 1e-6  # a segment may run along a wall's face or through its corner, not into it


def wall_boxes(plan: FloorPlan) -> np.ndarray:
    """(n, 4) array of the walls' boxes (x0, y0, x1, y1), as built into the scene."""
    half = WALL_THICKNESS / 2
    return np.array([[min(w.x0, w.x1) - half, min(w.y0, w.y1) - half, max(w.x0, w.x1) + half,
                      max(w.y0, w.y1) + half] for w in plan.walls], dtype=float).reshape(-1, 4)


def segments_clear(p: np.ndarray, q: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Whether each segment p[k] -> q[k] stays out of the inside of every box (Liang-Barsky)."""
    p, q = np.atleast_2d(p).astype(float), np.atleast_2d(q).astype(float)
    clear = np.ones(len(p), dtype=bool)
    if not len(boxes) or not len(p):
        return clear
    d = q - p
    inner = boxes + np.array([_TOUCH, _TOUCH, -_TOUCH, -_TOUCH])
    t_lo, t_hi = np.zeros((len(p), len(boxes))), np.ones((len(p), len(boxes)))
    for axis in (0, 1):
        lo, hi = inner[None, :, axis], inner[None, :, axis + 2]
        start, step = p[:, axis, None], d[:, axis, None]
        moving = np.abs(step) > 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = (lo - start) / step, (hi - start) / step
        enter, leave = np.minimum(a, b), np.maximum(a, b)
        inside = (start > lo) & (start < hi)  # a segment parallel to this axis' faces
        enter = np.where(moving, enter, np.where(inside, -np.inf, np.inf))
        leave = np.where(moving, leave, np.where(inside, np.inf, -np.inf))
        t_lo, t_hi = np.maximum(t_lo, enter), np.minimum(t_hi, leave)
    return ~np.any(t_lo < t_hi, axis=1) & clear


class GoalRegion:
    """Distances to one furnishing's footprint that do not cross walls, up to `horizon` metres."""

    def __init__(self, plan: FloorPlan, center: tuple[float, float], half_extents: tuple[float, float],
                 horizon: float) -> None:
        self.lo = np.array([center[0] - half_extents[0], center[1] - half_extents[1]])
        self.hi = np.array([center[0] + half_extents[0], center[1] + half_extents[1]])
        self.horizon = float(horizon)
        boxes = wall_boxes(plan)
        gap = np.hypot(np.maximum(np.maximum(boxes[:, 0] - self.hi[0], self.lo[0] - boxes[:, 2]), 0),
                       np.maximum(np.maximum(boxes[:, 1] - self.hi[1], self.lo[1] - boxes[:, 3]), 0))
        self.walls = boxes[gap <= self.horizon]
        corners = np.concatenate([self.walls[:, [0, 1]], self.walls[:, [0, 3]], self.walls[:, [2, 1]],
                                  self.walls[:, [2, 3]]]) if len(self.walls) else np.zeros((0, 2))
        inner = self.walls + np.array([_TOUCH, _TOUCH, -_TOUCH, -_TOUCH])
        buried = np.zeros(len(corners), dtype=bool)
        for box in inner:
            buried |= (corners[:, 0] > box[0]) & (corners[:, 0] < box[2]) & (corners[:, 1] > box[1]) & (corners[:, 1] < box[3])
        corners = corners[~buried & (self._straight(corners) <= self.horizon)]
        # each corner's own distance: straight to the footprint, or around other corners (Bellman-Ford)
        n = len(corners)
        cost = np.where(segments_clear(corners, self._nearest(corners), self.walls), self._straight(corners), np.inf)
        if n:
            a, b = np.repeat(corners, n, axis=0), np.tile(corners, (n, 1))
            hop = np.where(segments_clear(a, b, self.walls), np.hypot(*(a - b).T), np.inf).reshape(n, n)
            for _ in range(n):
                relaxed = np.minimum(cost, np.min(cost[:, None] + hop, axis=0))
                if np.array_equal(relaxed, cost):
                    break
                cost = relaxed
        useful = cost < self.horizon
        self.corners, self.corner_cost = corners[useful], cost[useful]

    def _nearest(self, points: np.ndarray) -> np.ndarray:
        return np.clip(points, self.lo, self.hi)

    def _straight(self, points: np.ndarray) -> np.ndarray:
        return np.hypot(*(points - self._nearest(points)).T)

    def distance(self, points) -> np.ndarray:
        """Shortest wall-free path length from each point to the footprint; inf beyond the horizon."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        straight = self._straight(points)
        near = straight <= self.horizon
        result = np.full(len(points), np.inf)
        if not np.any(near):
            return result
        p = points[near]
        best = np.where(segments_clear(p, self._nearest(p), self.walls), straight[near], np.inf)
        for corner, cost in zip(self.corners, self.corner_cost):
            around = cost + np.hypot(*(p - corner).T)
            candidates = around < best
            if np.any(candidates):
                seen = segments_clear(p[candidates], np.broadcast_to(corner, (int(candidates.sum()), 2)), self.walls)
                best[np.flatnonzero(candidates)[seen]] = around[candidates][seen]
        result[near] = np.where(best <= self.horizon, best, np.inf)
        return result

    def field(self, grid: OccupancyGrid) -> np.ndarray:
        """`distance` at every cell centre of the grid (inf beyond the horizon)."""
        field = np.full(grid.blocked.shape, np.inf)
        i0, j0 = grid.cell(*(self.lo - self.horizon))
        i1, j1 = grid.cell(*(self.hi + self.horizon))
        i0, j0 = max(i0, 0), max(j0, 0)
        i1, j1 = min(i1 + 1, grid.blocked.shape[0]), min(j1 + 1, grid.blocked.shape[1])
        if i0 >= i1 or j0 >= j1:
            return field
        ii, jj = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), indexing="ij")
        points = np.stack([grid.x0 + (ii.ravel() + 0.5) * grid.resolution,
                           grid.y0 + (jj.ravel() + 0.5) * grid.resolution], axis=1)
        field[i0:i1, j0:j1] = self.distance(points).reshape(ii.shape)
        return field
