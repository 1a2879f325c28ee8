"""Predicate self-audits: the success predicates mean what the instructions say. Objects start at
rest and upright; pushes must be pushes, placements must reach the floor, the oracle's successes
hold; wrong means (carrying instead of pushing, dropping onto a rim) are not successes; every
instruction names exactly one object of its scene."""
import gymnasium as gym
import numpy as np
import pytest

from tests.conftest import MANIPULATION_TASKS
from vla_bench.assets import catalog, factor_pools
from vla_bench.envs.manipulation import expert
from vla_bench.envs.manipulation.env import answers_to
from vla_bench.envs.manipulation.tasks.push_to_region import UPRIGHT_COS
from vla_bench.specs import PoolSelection
from vla_bench.splits import SPLITS, load_manifest

FRESH = range(700, 706)


def _env(task: str):
    return gym.make(f"vla_bench/{task}-v0", disable_env_checker=True)


def _run(env, act, seed: int, idle_after: int = 0):
    """An episode with `act(base)` until it ends, then `idle_after` zero-motion steps on the
    unwrapped env (the hand holds still, the gripper as it was)."""
    _, info = env.reset(seed=seed)
    base, done = env.unwrapped, False
    while not done:
        action = act(base)
        _, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    for _ in range(idle_after):
        base.step(np.r_[np.zeros(6), action[6]])
    return info, base


def test_every_catalog_object_rests_still_and_upright_at_reset():
    env, seen = _env("PickUp"), set()
    pool = factor_pools()["object_kind"]
    for pools in (PoolSelection(), PoolSelection({"object_kind": "unseen"})):
        for seed in range(200):
            if {*pool["seen"], *pool["unseen"]} <= seen and seed >= 20:
                break
            env.reset(options={"episode": env.unwrapped.sample_episode(seed, pools)})
            base = env.unwrapped
            for role, obj in base.layout.objects.items():
                assert base.object_still(role), (seed, obj.kind)
                assert catalog()[obj.kind].rolls or base.object_up(role) > UPRIGHT_COS, (seed, obj.kind)
                assert abs(base.object_bottom(role)) < 0.003, (seed, obj.kind)  # resting on the table
                seen.add(obj.kind)
    assert {*pool["seen"], *pool["unseen"]} <= seen


@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_no_collision_event_fires_without_the_robot_moving(task):
    env = _env(task)
    for seed in FRESH:
        env.reset(seed=seed)
        for _ in range(10):
            _, _, _, _, info = env.step(np.r_[np.zeros(6), 1.0])
        assert info["collisions"] == 0, seed


@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_the_oracles_successes_still_hold_twenty_idle_steps_later(task):
    env = _env(task)
    for seed in FRESH[:3]:
        def act(base, plan={}):  # noqa: B006  (the episode's expert, made at its first step)
            if "expert" not in plan:
                plan["expert"] = base.make_expert()
            return plan["expert"].act()

        info, base = _run(env, act, seed, idle_after=20)
        assert info["is_success"], (seed, info["success_conditions"])
        assert base.check_success(), (seed, base.success_conditions())


def _carry_to_region(base):
    """Adversarial: lift the object and set it down in the region (the instruction says push)."""
    if not hasattr(base, "_adversary"):
        def plan():
            yield from expert.pick(base, "target", lift_to=0.15)
            goal = np.array([(base.region[0] + base.region[1]) / 2, (base.region[2] + base.region[3]) / 2])
            yield from expert.place(base, "target", goal, 0.003, carry_z=0.15)
            yield from expert.retreat(base, 0.25)
        base.expert_plan = plan
        base._adversary = base.make_expert()
    return base._adversary.act()


def test_carrying_the_object_into_the_region_is_no_push():
    env = _env("PushToRegion")
    arrived = 0
    for seed in FRESH:
        info, base = _run(env, _carry_to_region, seed)
        assert not info["is_success"], (seed, info["success_conditions"])
        conditions = info["success_conditions"]
        arrived += conditions["in_region"] and not conditions["pushed"]
    assert arrived  # the adversary did carry the object into the region at least once


def test_an_object_dropped_on_the_rim_is_not_in():
    env = _env("PutIn")
    outcomes = []
    for seed in FRESH:
        def drop_on_rim(base):
            if not hasattr(base, "_adversary"):
                def plan():
                    carry = 2 * base.object_half_extents("receptacle")[2] + 2 * base.object_half_extents("target")[2] + 0.1
                    yield from expert.pick(base, "target", lift_to=carry)
                    rim = base.object_pos("receptacle")[:2] + [base.object_half_extents("receptacle")[0] - 0.004, 0]
                    yield from expert.place(base, "target", rim, base.object_top("receptacle") + 0.01, carry_z=carry)
                    yield from expert.retreat(base, 0.25)
                base.expert_plan = plan
                base._adversary = base.make_expert()
            return base._adversary.act()

        info, base = _run(env, drop_on_rim, seed)
        on_floor = base.rests_on_floor_of("target", "receptacle")
        outcomes.append((info["is_success"], on_floor))
        assert not info["is_success"] or on_floor, seed  # a success always rests on the floor
    assert any(not success for success, _ in outcomes)


@pytest.mark.parametrize("split", list(SPLITS))
def test_every_committed_instruction_names_exactly_one_object(split):
    for episode in load_manifest(split).episodes:
        objects = episode.factors.get("objects")
        if not objects:
            continue
        named = [o for role, o in objects.items() if not role.startswith("distractor")]
        for role, other in objects.items():
            if role.startswith("distractor"):
                assert not any(o["color"] == other["color"] and answers_to(other["kind"], o["kind"]) for o in named), \
                    (episode.episode_id, other)


@pytest.mark.slow
@pytest.mark.parametrize("split", list(SPLITS))
def test_no_committed_episode_is_solved_at_reset(split):
    envs = {task: _env(task) for task in MANIPULATION_TASKS}
    for episode in load_manifest(split).episodes:
        if episode.task in envs:
            env = envs[episode.task]
            env.reset(options={"episode": episode})
            assert not env.unwrapped.check_success(), episode.episode_id
