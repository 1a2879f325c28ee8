"""The navigation task families: the Gymnasium contract, reproducible houses, an oracle that
follows the geodesic path, a random policy that fails, collisions and the supervisor."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vla_bench
from vla_bench.metrics import spl
from vla_bench.supervisor import NavigationSupervisor, supervise

NAVIGATION_TASKS = vla_bench.list_tasks(domain="navigation", builtin_only=True)


def _run(env, policy, seed):
    """One episode; `policy(env)` gives the act function once the episode is reset."""
    obs, info = env.reset(seed=seed)
    act = policy(env)
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(act(obs))
        done = terminated or truncated
    return info


def oracle(env):
    expert = env.unwrapped.make_expert()
    return lambda obs: expert.act()


def test_three_families_are_registered_for_navigation():
    assert NAVIGATION_TASKS == ["GoToObject", "GoToRelation", "MultiStepGoTo"]
    assert not set(NAVIGATION_TASKS) & set(vla_bench.list_tasks(domain="manipulation"))


@pytest.mark.parametrize("task", NAVIGATION_TASKS)
@pytest.mark.parametrize("mode", ["discrete", "continuous"])
def test_check_env_passes_in_both_action_modes(task, mode):
    env = gym.make(f"vla_bench/{task}-v0", action_mode=mode)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.observation_space["rgb"].shape == (128, 128, 3) and env.observation_space["depth"].shape == (128, 128)
    assert env.action_space == (gym.spaces.Discrete(4) if mode == "discrete" else gym.spaces.Box(-1, 1, (2,)))


@pytest.mark.parametrize("task", NAVIGATION_TASKS)
def test_a_seed_rebuilds_the_same_house_and_view(task):
    a, b = gym.make(f"vla_bench/{task}-v0"), gym.make(f"vla_bench/{task}-v0")
    (obs_a, info_a), (obs_b, info_b) = a.reset(seed=7), b.reset(seed=7)
    assert info_a["factors"] == info_b["factors"] and obs_a["instruction"] == obs_b["instruction"]
    assert np.array_equal(obs_a["rgb"], obs_b["rgb"]) and np.array_equal(obs_a["depth"], obs_b["depth"])
    assert len(info_a["factors"]["floor_plan"]) and len(a.unwrapped.house.plan.rooms) >= 3
    obs_c, _ = a.reset(seed=8)
    assert obs_c["instruction"] != obs_a["instruction"] or not np.array_equal(obs_c["rgb"], obs_a["rgb"])


@pytest.mark.parametrize("task", NAVIGATION_TASKS)
@pytest.mark.parametrize("mode", ["discrete", "continuous"])
def test_the_oracle_reaches_every_goal_on_a_near_shortest_path(task, mode):
    env = gym.make(f"vla_bench/{task}-v0", action_mode=mode)
    for seed in (1, 2):
        info = _run(env, oracle, seed)
        assert info["is_success"] and info["collisions"] == 0
        assert spl(True, info["path_length"], info["shortest_path_length"]) >= 0.85


@pytest.mark.slow
@pytest.mark.parametrize("task", NAVIGATION_TASKS)
def test_oracle_succeeds_on_fresh_seeds_with_high_spl(task):
    """Acceptance: at least 95% success and SPL at least 0.9 over fresh seeds."""
    env = gym.make(f"vla_bench/{task}-v0")
    successes, spls = 0, []
    for seed in range(50000, 50020):
        info = _run(env, oracle, seed)
        successes += info["is_success"]
        spls.append(spl(info["is_success"], info["path_length"], info["shortest_path_length"]))
    assert successes >= 19 and np.mean(spls) >= 0.9


@pytest.mark.parametrize("task", NAVIGATION_TASKS)
def test_a_random_policy_fails(task):
    """Acceptance: random succeeds in at most 5% of episodes."""
    env = supervise(gym.make(f"vla_bench/{task}-v0"))
    rng = np.random.default_rng(0)
    wins = sum(_run(env, lambda env: lambda obs: int(rng.integers(4)), seed)["is_success"] for seed in range(40))
    assert wins <= 2


def test_stopping_far_from_the_goal_ends_the_episode_as_a_failure():
    env = gym.make("vla_bench/GoToObject-v0")
    env.reset(seed=3)
    assert env.unwrapped.current_goal.distance(*env.unwrapped.pose[:2]) > 1.0  # goals start at least 1 m away
    _, _, terminated, _, info = env.step(0)
    assert terminated and not info["is_success"] and info["progress"] == 0.0


def _drive_into_a_wall(env, seed=4, steps=60):
    env.reset(seed=seed)
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(1)
        if terminated or truncated:
            break
    return info


def test_driving_into_a_wall_is_a_collision_and_the_supervisor_prevents_it():
    off = NavigationSupervisor(gym.make("vla_bench/GoToObject-v0"), enabled=False)
    info = _drive_into_a_wall(off)
    assert info["collisions"] >= 1 and off.counts["obstacle"] >= 1  # disabled: it only counts
    on = NavigationSupervisor(gym.make("vla_bench/GoToObject-v0"), enabled=True)
    info = _drive_into_a_wall(on)
    assert info["collisions"] == 0 and on.counts["obstacle"] >= 1
    assert "obstacle" in info["interventions"] or on.counts["stall"] >= 1


def test_the_supervisor_turns_a_stalled_base_around():
    env = NavigationSupervisor(gym.make("vla_bench/GoToObject-v0"), enabled=True)
    env.reset(seed=5)
    yaw = env.unwrapped.pose[2]
    for _ in range(env.config.stall_steps + 1):
        env.step(1 if env.unwrapped.forward_is_blocked() else 2)  # pushes into the wall or spins in place
    assert env.counts["stall"] >= 1 or env.counts["obstacle"] >= 1
    assert env.unwrapped.pose[2] != pytest.approx(yaw, abs=1e-3)
