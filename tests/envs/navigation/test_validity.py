"""Navigation predicates audited against what a user checks: the oracle's successful stops have no
wall between the base and the goal, a stop behind a wall within 1 m (straight line) of the goal is
a failure, L* ends inside the success region, every color an instruction can name singles out one
object, and MultiStepGoTo's goals ask for two separate stops.

The wall checks here are independent of `envs/navigation/region.py`: they sample the segment
against the wall boxes, and fall back to Dijkstra on a wall-only grid."""
import gymnasium as gym
import numpy as np
import pytest

import vla_bench
from vla_bench.assets import colors, furniture
from vla_bench.envs.navigation.env import SUCCESS_DISTANCE, _closest_in_region
from vla_bench.envs.navigation.floorplan import WALL_THICKNESS
from vla_bench.envs.navigation.geodesic import floor_plan_grid
from vla_bench.envs.navigation.layout import house_from_factors
from vla_bench.envs.navigation.robot import wrap_angle
from vla_bench.metrics import spl
from vla_bench.specs import PoolSelection

NAVIGATION_TASKS = vla_bench.list_tasks(domain="navigation", builtin_only=True)
WOOD = (0.35, 0.25, 0.18)  # furniture.json: unpainted parts without an rgb are dark wood


def _nearest_on_footprint(goal, point):
    hx, hy = goal.half_extents
    return np.clip(point[0], goal.x - hx, goal.x + hx), np.clip(point[1], goal.y - hy, goal.y + hy)


def _segment_hits_wall(plan, a, b) -> bool:
    """Whether the straight segment a-b passes through a wall (sampled every 5 mm)."""
    half = WALL_THICKNESS / 2 - 1e-3
    n = int(np.hypot(b[0] - a[0], b[1] - a[1]) / 0.005) + 2
    t = np.linspace(0, 1, n)
    xs, ys = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
    for w in plan.walls:
        inside = ((xs > min(w.x0, w.x1) - half) & (xs < max(w.x0, w.x1) + half)
                  & (ys > min(w.y0, w.y1) - half) & (ys < max(w.y0, w.y1) + half))
        if inside.any():
            return True
    return False


def _wall_grid_distance(plan, goal, point) -> float:
    """Dijkstra on a 5 cm wall-only grid from the point to the goal's footprint (overestimates the
    true length by up to 8%)."""
    grid = floor_plan_grid(plan)
    distances = grid.distances_to(*point)
    hx, hy = goal.half_extents
    (i0, j0), (i1, j1) = grid.cell(goal.x - hx, goal.y - hy), grid.cell(goal.x + hx, goal.y + hy)
    return float(np.min(distances[i0:i1 + 1, j0:j1 + 1]))


def _no_wall_between(plan, goal, point) -> bool:
    """The base's centre reaches the goal's footprint within the success distance without crossing
    a wall: the straight segment is clear, or the wall-only grid finds a detour that short."""
    nearest = _nearest_on_footprint(goal, point)
    if np.hypot(point[0] - nearest[0], point[1] - nearest[1]) > SUCCESS_DISTANCE + 1e-6:
        return False
    return not _segment_hits_wall(plan, point, nearest) or _wall_grid_distance(plan, goal, point) <= 1.09 * SUCCESS_DISTANCE


def _oracle_episode(env, seed):
    """The oracle's episode: its final info and the pose and goal at every stop it calls."""
    env.reset(seed=seed)
    base = env.unwrapped
    expert, stops, done = base.make_expert(), [], False
    while not done:
        action = expert.act()
        if int(np.all(np.asarray(action) == 0)):
            stops.append((base.pose[:2], base.current_goal))
        _, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return info, stops


@pytest.mark.slow
@pytest.mark.parametrize("task", NAVIGATION_TASKS)
def test_the_oracle_succeeds_on_fresh_seeds_and_never_stops_behind_a_wall(task):
    """(a) and (e): 20 fresh seeds per task, at least 95% success, SPL at least 0.9, and every stop
    that counted has the goal on its side of the walls."""
    env = gym.make(f"vla_bench/{task}-v0", observations=("instruction", "proprio"))
    successes, spls = 0, []
    for seed in range(71000, 71020):
        info, stops = _oracle_episode(env, seed)
        successes += info["is_success"]
        spls.append(spl(info["is_success"], info["path_length"], info["shortest_path_length"]))
        if info["is_success"]:
            assert len(stops) == len(env.unwrapped.goals)
            for point, goal in stops:
                assert _no_wall_between(env.unwrapped.house.plan, goal, point), (task, seed, point, goal)
    assert successes >= 19 and np.mean(spls) >= 0.9, (successes, np.mean(spls))


@pytest.mark.slow
@pytest.mark.parametrize("task", NAVIGATION_TASKS)
def test_the_reference_path_ends_inside_every_success_region(task):
    """(c): L* is the sum of the legs to points inside each goal's region, none behind a wall."""
    env = gym.make(f"vla_bench/{task}-v0", observations=("instruction", "proprio"))
    base = env.unwrapped
    for seed in range(72000, 72030):
        env.reset(seed=seed)
        total, here = 0.0, base.nearest_free(base.house.start[:2])
        for index, goal in enumerate(base.goals):
            length, here = _closest_in_region(base.free_space.distances_to(*here), base.free_space, base._fields[index])
            assert np.isfinite(length)
            assert base.goal_distance(index, here) <= SUCCESS_DISTANCE
            assert _no_wall_between(base.house.plan, goal, here), (task, seed, here, goal)
            total += length
        assert base.shortest_path_length == pytest.approx(total)


def _behind_a_wall(env, seeds):
    """A seed and a free point reachable from its start whose straight line to the goal's
    footprint is under 0.8 m, while every path around the walls is longer than 1.5 m."""
    base = env.unwrapped
    for seed in seeds:
        env.reset(seed=seed)
        goal, free = base.current_goal, base.free_space
        reachable = np.isfinite(free.distances_to(*base.nearest_free(base.house.start[:2])))
        for i, j in np.argwhere(reachable):
            point = free.point(int(i), int(j))
            if goal.distance(*point) < 0.8 and _segment_hits_wall(base.house.plan, point, _nearest_on_footprint(goal, point)):
                if _wall_grid_distance(base.house.plan, goal, point) > 1.5:
                    return seed, point
    raise AssertionError("no house with a free point just behind the goal's wall")


def _drive_to(env, target, within=0.15, max_steps=250):
    """Drive there with the discrete actions along the planner's path (turn, then step)."""
    base = env.unwrapped
    path = base.free_space.path(base.nearest_free(base.pose[:2]), target)[1:] or [target]
    for _ in range(max_steps):
        x, y, yaw = base.pose
        while len(path) > 1 and np.hypot(path[0][0] - x, path[0][1] - y) < 0.2:
            path.pop(0)
        if len(path) == 1 and np.hypot(target[0] - x, target[1] - y) < within:
            return
        error = wrap_angle(np.arctan2(path[0][1] - y, path[0][0] - x) - yaw)
        half_turn = base.drive_config.turn_step / 2
        if len(path) == 1 and abs(error) > np.pi / 2 and np.hypot(target[0] - x, target[1] - y) < 0.3:
            return  # overshot by less than a step: close enough
        action = 2 if error > half_turn else 3 if error < -half_turn else 1
        _, _, terminated, truncated, _ = env.step(action)
        assert not (terminated or truncated)
    raise AssertionError(f"did not reach {target}")


@pytest.mark.slow
def test_a_stop_behind_a_wall_is_not_a_success():
    """(b): a scripted policy drives to a point within 1 m of the goal in a straight line but in
    the next room, and stops: the old straight-line rule would have counted it, the new one does not."""
    env = gym.make("vla_bench/GoToObject-v0", observations=("instruction", "proprio"))
    base = env.unwrapped
    seed, point = _behind_a_wall(env, range(0, 60))
    env.reset(seed=seed)
    _drive_to(env, point)
    goal, here = base.current_goal, base.pose[:2]
    assert goal.distance(*here) < SUCCESS_DISTANCE  # the straight-line disc reaches here
    assert _segment_hits_wall(base.house.plan, here, _nearest_on_footprint(goal, here))
    assert not base.within_goal() and base.goal_distance() > SUCCESS_DISTANCE
    _, _, terminated, _, info = env.step(0)
    assert terminated and not info["is_success"] and not info["success_conditions"]["within_radius"]


def _shown_colors(kind: str) -> list[np.ndarray]:
    return [np.array(part.get("rgb", WOOD)) for part in furniture()[kind].parts if not part["painted"]]


@pytest.mark.parametrize("pools", [PoolSelection(), PoolSelection({"furniture_kind": "unseen"}),
                                   PoolSelection({"color": "unseen", "floor_plan": "unseen"})])
def test_every_color_name_singles_out_one_object(pools):
    """(d): in every sampled house each (color, kind) is unique, and no object of a kind shows a
    color that names another object of that kind on its unpainted parts (a plant's green leaves
    are not 'the green plant', a table's wooden legs not 'the brown table')."""
    palette = {name: np.array(rgb) for name, rgb in colors().items()}
    for task in NAVIGATION_TASKS:
        env = gym.make(f"vla_bench/{task}-v0", observations=("instruction", "proprio")).unwrapped
        for seed in range(40):
            spec = env.sample_episode(seed, pools)
            items = house_from_factors(spec.factors).furnishings
            names = [(item.color, item.kind) for item in items]
            assert len(set(names)) == len(names)
            for item in items:
                for shown in _shown_colors(item.kind):
                    gaps = {name: float(np.linalg.norm(rgb - shown)) for name, rgb in palette.items()}
                    assert item.color != min(gaps, key=gaps.get) and gaps[item.color] >= 0.3, (task, seed, item)
            for index in spec.factors["goals"]:
                goal = items[index]
                if task != "GoToRelation":  # named by color and kind (synonyms in unseen templates)
                    assert goal.color in spec.instruction


def test_multi_step_goals_ask_for_two_separate_stops():
    """No point lies in both goals' success regions, so a stop counts for one goal only and the
    second goal needs its own move; a stop at the second goal first is a failure."""
    env = gym.make("vla_bench/MultiStepGoTo-v0", observations=("instruction", "proprio"))
    for seed in range(30):
        spec = env.unwrapped.sample_episode(seed)
        items = house_from_factors(spec.factors).furnishings
        first, second = (items[i] for i in spec.factors["goals"])
        assert first.gap(second) >= 2 * SUCCESS_DISTANCE


def test_next_to_never_reaches_through_a_wall():
    env = gym.make("vla_bench/GoToRelation-v0", observations=("instruction", "proprio")).unwrapped
    checked = 0
    for seed in range(60):
        spec = env.sample_episode(seed)
        items = house_from_factors(spec.factors).furnishings
        goal = items[spec.factors["goals"][0]]
        if "next to" not in spec.instruction:
            continue
        anchors = [o for o in items if o.kind != goal.kind and o.gap(goal) <= 1.5 and o.color in spec.instruction
                   and o.kind in spec.instruction]
        assert anchors and all(a.room == goal.room for a in anchors), (seed, spec.instruction)
        checked += 1
    assert checked >= 5


def test_the_success_region_follows_walls_on_a_known_plan():
    """Two rooms, a wall at x = 4 with a doorway at y 3..4: a point 0.72 m from the goal through the
    wall is out, one around the wall's end within 1 m is in, one around it beyond 1 m is out."""
    from vla_bench.envs.navigation.floorplan import FloorPlan, Room, Wall
    from vla_bench.envs.navigation.region import GoalRegion

    rooms = (Room("a", 0, 0, 4, 4), Room("b", 4, 0, 8, 4))
    outer = (Wall(0, 0, 8, 0), Wall(0, 4, 8, 4), Wall(0, 0, 0, 4), Wall(8, 0, 8, 4))
    plan = FloorPlan(rooms, (*outer, Wall(4, 0, 4, 3.0)), doors=((4.0, 3.5),))
    region = GoalRegion(plan, (3.5, 2.6), (0.2, 0.2), SUCCESS_DISTANCE)  # footprint x 3.3..3.7, y 2.4..2.8
    d = region.distance([(3.0, 2.6), (4.3, 2.0), (4.2, 3.2), (4.6, 2.6), (3.5, 3.5)])
    assert d[0] == pytest.approx(0.3) and d[4] == pytest.approx(0.7)  # same room: straight line
    assert d[1] == np.inf  # 0.72 m straight, through the wall; 1.53 m around its end
    # around the wall's end (3.95, 3.05): hypot(0.25, 0.25) + hypot(0.25, 0.15)
    assert d[2] == pytest.approx(np.hypot(0.25, 0.25) + np.hypot(0.25, 0.15))
    assert d[3] == np.inf  # 0.9 m straight, 1.17 m around the wall's end


def test_render_mode_none_still_gives_camera_observations():
    """render_mode is about env.render(); the cameras a policy observes render either way (they
    were silently black with render_mode=None)."""
    env = gym.make("vla_bench/GoToObject-v0", render_mode=None)
    obs, _ = env.reset(seed=0)
    assert obs["rgb"].std() > 0 and obs["depth"].max() > 0
    assert env.render() is None
    env.close()
