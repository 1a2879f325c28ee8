"""What manipulation adds to the contract every task passes (tests/envs/test_contract.py):
its observation and action spaces, options, and refused actions."""
import gymnasium as gym
import numpy as np
import pytest

from tests.conftest import MANIPULATION_TASKS


def test_seven_families_are_listed():
    assert set(MANIPULATION_TASKS) == {"PickUp", "PutIn", "PushToRegion", "Stack", "OpenDrawer", "CloseDrawer",
                                       "PutInDrawer"}


@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_observation_and_info_follow_the_contract(task, make_env):
    env = make_env(task)
    obs, info = env.reset(seed=3)
    assert obs["rgb"].shape == obs["wrist_rgb"].shape == (128, 128, 3)
    assert obs["rgb"].dtype == np.uint8
    assert obs["proprio"].shape == (15,) and obs["proprio"].dtype == np.float32
    assert isinstance(obs["instruction"], str) and obs["instruction"] == info["instruction"]
    assert env.action_space == gym.spaces.Box(-1, 1, (7,), np.float32)
    assert info["contact_force"] >= 0.0


def test_make_by_id_with_options(make_env):
    env = make_env("PickUp", image_size=64, depth=True)
    obs, _ = env.reset(seed=0)
    assert obs["rgb"].shape == (64, 64, 3)
    assert obs["depth"].shape == (64, 64) and np.all(obs["depth"] > 0)


@pytest.mark.parametrize("action", [np.full(7, np.nan), np.full(7, np.inf), np.zeros(6), np.zeros((1, 7)), np.zeros((7, 1))])
def test_bad_actions_are_refused_with_a_message(action, make_env):
    env = make_env("PickUp")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="7 finite numbers"):
        env.step(action)


@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_observations_stay_in_their_space(task, make_env):
    env = make_env(task)
    obs, info = env.reset(seed=2)
    assert info["shortest_path_length"] > 0
    for _ in range(3):
        obs, _, _, _, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        assert 0.0 <= info["progress"] <= 1.0
    quat = obs["proprio"][3:7]
    assert np.linalg.norm(quat) == pytest.approx(1.0, abs=1e-4)
    assert 0.0 <= obs["proprio"][7] <= 0.081
