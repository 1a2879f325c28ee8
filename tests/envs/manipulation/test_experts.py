"""The oracle solves every family on fresh seeds; a random policy does not; grasps hold by friction."""
import mujoco
import numpy as np
import pytest

from tests.conftest import MANIPULATION_TASKS
from vla_bench.policy import OraclePolicy, RandomPolicy
from vla_bench.runner.episode import run_episode, task_info

FRESH_SEEDS = range(50_000, 50_020)  # never used while the experts were tuned


@pytest.mark.slow
@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_oracle_succeeds_at_least_95_percent(task, make_env):
    env = make_env(task)
    outcomes = [run_episode(env, OraclePolicy(), env.unwrapped.sample_episode(s)) for s in FRESH_SEEDS]
    failed = [o.seed for o in outcomes if not o.success]
    assert len(failed) <= 0.05 * len(outcomes), f"oracle failed seeds {failed}"


@pytest.mark.slow
@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_random_policy_rarely_succeeds(task, make_env):
    env = make_env(task)
    outcomes = [run_episode(env, RandomPolicy(seed=s), env.unwrapped.sample_episode(s)) for s in range(60_000, 60_010)]
    assert sum(o.success for o in outcomes) <= 1


def test_oracle_solves_a_pick_and_its_path_is_near_the_reference(make_env):
    env = make_env("PickUp")
    outcome = run_episode(env, OraclePolicy(), env.unwrapped.sample_episode(3))
    assert outcome.success and outcome.collisions == 0
    assert outcome.shortest_path_length <= outcome.path_length < 2 * outcome.shortest_path_length


def test_grasp_holds_by_friction_and_lets_go_when_opened(make_env):
    env = make_env("PickUp")
    base = env.unwrapped
    obs, _ = env.reset(seed=4)
    policy = OraclePolicy()
    policy.reset(obs["instruction"], task_info(env, base.episode, privileged=True))
    terminated = False
    while not terminated:
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
        assert not truncated
    # Nothing attaches the object to the hand: only joint couplings (the fingers) are constrained,
    # and the lifted object touches the robot at its fingers alone.
    assert set(base.model.eq_type) == {int(mujoco.mjtEq.mjEQ_JOINT)}
    touching = base._touching_bodies(base._bodies["target"])
    assert touching & base.panda.body_ids == base.panda.finger_body_ids
    held_height = base.object_bottom("target")
    open_gripper = np.array([0, 0, 0, 0, 0, 0, 1.0])
    for _ in range(10):
        env.step(open_gripper)
    assert base.object_bottom("target") < held_height - 0.05


def test_action_moves_the_end_effector_as_commanded(make_env):
    env = make_env("PickUp")
    env.reset(seed=0)
    base = env.unwrapped
    start = base.ee_pos.copy()
    for _ in range(3):
        env.step(np.array([1.0, 0, 0, 0, 0, 0, 1.0]))
    moved = base.ee_pos - start
    expected = 3 * base.controller_config.max_translation
    assert moved[0] == pytest.approx(expected, abs=0.02)
    assert abs(moved[1]) < 0.01 and abs(moved[2]) < 0.01
