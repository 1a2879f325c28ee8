"""Geodesic distances on hand-made floor plans with known answers, and generated plans are connected."""
import numpy as np
import pytest

from vla_bench.envs.navigation.floorplan import FloorPlan, Room, Wall, generate_floor_plan
from vla_bench.envs.navigation.geodesic import OccupancyGrid, floor_plan_grid


def test_straight_line_in_an_empty_room():
    grid = OccupancyGrid.empty((0, 0, 4, 4), resolution=0.05)
    assert grid.geodesic((0.5, 0.5), (3.5, 0.5)) == pytest.approx(3.0, abs=0.06)
    assert grid.geodesic((0.5, 0.5), (3.5, 3.5)) == pytest.approx(3 * 2 ** 0.5, abs=0.08)
    assert grid.geodesic((0.5, 0.5), (3.5, 1.7)) == pytest.approx(np.hypot(3.0, 1.2), abs=0.06)  # any angle


def test_detour_through_a_doorway():
    """Two 4 x 4 m rooms side by side; the shared wall at x = 4 has a 1 m door at y = 3.5."""
    rooms = (Room("a", 0, 0, 4, 4), Room("b", 4, 0, 8, 4))
    outer = (Wall(0, 0, 8, 0), Wall(0, 4, 8, 4), Wall(0, 0, 0, 4), Wall(8, 0, 8, 4))
    plan = FloorPlan(rooms, (*outer, Wall(4, 0, 4, 3.0)), doors=((4.0, 3.5),))
    grid = floor_plan_grid(plan, resolution=0.05)
    # from (3, 1) to (5, 1): around the wall's end (half a wall thickness past y = 3) and back down
    expected = 2 * np.hypot(1.0, 2.05)
    assert grid.geodesic((3.0, 1.0), (5.0, 1.0)) == pytest.approx(expected, rel=0.04)  # 5 cm cells
    # inflating by the robot's radius keeps it away from the wall end: a little longer
    assert grid.inflated(0.2).geodesic((3.0, 1.0), (5.0, 1.0)) > expected


def test_a_closed_wall_makes_the_goal_unreachable():
    plan = FloorPlan((Room("a", 0, 0, 4, 4), Room("b", 4, 0, 8, 4)), (Wall(4, -0.1, 4, 4.1),), doors=())
    grid = floor_plan_grid(plan)
    assert grid.geodesic((1.0, 1.0), (6.0, 1.0)) == np.inf
    with pytest.raises(ValueError, match="not in free space"):
        grid.distances_to(4.0, 2.0)


def test_path_descends_the_distance_field_to_the_goal():
    grid = OccupancyGrid.empty((0, 0, 3, 3), resolution=0.1)
    grid.block_box(1.2, 0.0, 1.4, 2.2)
    path = grid.path((0.5, 0.5), (2.5, 0.5))
    assert path[-1] == pytest.approx(grid.point(*grid.cell(2.5, 0.5)))
    assert all(not grid.blocked[grid.cell(x, y)] for x, y in path)
    for a, b in zip(path, path[1:]):  # every straight leg stays in free space
        for t in np.linspace(0, 1, 50):
            assert not grid.blocked[grid.cell(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))]
    # over the obstacle as rasterised on 10 cm cells (x 1.2..1.5, y up to 2.3)
    expected = np.hypot(0.7, 1.8) + 0.3 + np.hypot(1.0, 1.8)
    assert grid.geodesic((0.5, 0.5), (2.5, 0.5)) == pytest.approx(expected, rel=0.04)


@pytest.mark.parametrize("seed", range(10))
def test_generated_plans_connect_every_room(seed):
    plan = generate_floor_plan(np.random.default_rng(seed))
    assert len(plan.rooms) >= 3 and len(plan.doors) >= len(plan.rooms) - 1
    grid = floor_plan_grid(plan).inflated(0.2)
    start = plan.rooms[0].center
    distances = grid.distances_to(*start)
    for room in plan.rooms:
        assert np.isfinite(distances[grid.cell(*room.center)]), f"{room.kind} is unreachable"


def _reference_distances(grid: OccupancyGrid, x: float, y: float) -> np.ndarray:
    """Dijkstra over cell tuples with `_moves`, the textbook form of `distances_to`."""
    import heapq

    goal = grid.cell(x, y)
    dist = np.full(grid.blocked.shape, np.inf)
    dist[goal] = 0.0
    frontier = [(0.0, goal)]
    while frontier:
        d, cell = heapq.heappop(frontier)
        if d > dist[cell]:
            continue
        for n, step in grid._moves(cell):
            if d + step * grid.resolution < dist[n]:
                dist[n] = d + step * grid.resolution
                heapq.heappush(frontier, (dist[n], n))
    return dist


@pytest.mark.parametrize("seed", range(3))
def test_distances_equal_the_textbook_search_bit_for_bit(seed):
    """SPL's reference lengths come from these distances, so the fast search must give the same
    floats, unreachable cells and corners that may not be cut included."""
    rng = np.random.default_rng(seed)
    grid = floor_plan_grid(generate_floor_plan(rng))
    x0, y0 = grid.x0, grid.y0
    for _ in range(12):  # furniture-sized boxes, some touching only at a corner
        x, y = x0 + rng.uniform(0.5, grid.blocked.shape[0] * grid.resolution - 1), y0 + rng.uniform(0.5, 3)
        grid.block_box(x, y, x + rng.uniform(0.1, 0.8), y + rng.uniform(0.1, 0.8))
    free = grid.inflated(0.2)
    goal = free.point(*map(int, np.argwhere(~free.blocked)[rng.integers((~free.blocked).sum())]))
    fast = free.distances_to(*goal)
    assert np.isinf(fast).any() and np.isfinite(fast).sum() > 100
    np.testing.assert_array_equal(fast, _reference_distances(free, *goal))
