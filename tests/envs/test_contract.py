"""One contract over every registered task (as Gymnasium's and dm_control's suites test theirs):
the built-in families and a family defined outside the package, the template of
CONTRIBUTING.md, which gets the same checks for free by registering."""
import gc
import json
from dataclasses import asdict

import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tests.envs.task_template  # noqa: F401  (registers HoverOver, a family outside the package)
import vla_bench
from vla_bench.specs import EpisodeSpec
from vla_bench.task.registry import task_entry

TASKS = vla_bench.list_tasks()
INFO_KEYS = {"unsafe_contacts", "collisions", "path_length", "shortest_path_length", "progress", "is_success",
             "success_conditions", "sim_time"}
FRESH_SEED = 424242  # far from every seed the committed manifests use


def _same_obs(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] if k == "instruction" else np.array_equal(a[k], b[k]) for k in a)


def test_the_external_family_is_registered_and_listed():
    assert "HoverOver" in TASKS and not task_entry("HoverOver").builtin
    assert "HoverOver" not in vla_bench.list_tasks(builtin_only=True)
    assert {"PickUp", "GoToObject"} <= set(vla_bench.list_tasks(builtin_only=True))


@pytest.mark.parametrize("task", TASKS)
def test_env_checker_passes(task, make_env):
    check_env(make_env(task).unwrapped, skip_render_check=False)


@pytest.mark.parametrize("task", TASKS)
def test_registered_with_a_string_entry_point(task, make_env):
    env = make_env(task)
    assert isinstance(env.spec.entry_point, str)
    assert json.loads(env.spec.to_json())["id"] == task_entry(task).env_id
    assert env.spec.max_episode_steps == task_entry(task).max_episode_steps


@pytest.mark.parametrize("task", TASKS)
def test_an_episode_spec_survives_json_and_rebuilds_the_seeded_state(task, make_env):
    by_seed, _ = make_env(task).reset(seed=21)
    spec = make_env(task).unwrapped.sample_episode(21)
    stored = json.loads(json.dumps(asdict(spec)))  # as a manifest stores it
    rebuilt = EpisodeSpec(**{**stored, "perturbed": tuple(stored["perturbed"])})
    by_spec, _ = make_env(task).reset(options={"episode": rebuilt})
    assert _same_obs(by_seed, by_spec)


@pytest.mark.parametrize("task", TASKS)
def test_the_same_seed_gives_the_same_first_observation(task, make_env):
    first, info_a = make_env(task).reset(seed=5)
    second, info_b = make_env(task).reset(seed=5)
    assert _same_obs(first, second) and info_a["factors"] == info_b["factors"]


@pytest.mark.parametrize("task", TASKS)
def test_info_carries_what_the_metrics_read_and_the_documented_success_conditions(task, make_env):
    env = make_env(task)
    obs, info = env.reset(seed=2)
    assert obs["instruction"] == info["instruction"] and "factors" in info
    documented = [name for name, _ in task_entry(task).doc.success_conditions]
    for _ in range(2):
        assert INFO_KEYS <= set(info)
        assert list(info["success_conditions"]) == documented
        assert all(isinstance(v, bool) for v in info["success_conditions"].values())
        assert 0.0 <= info["progress"] <= 1.0
        obs, _, _, _, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        # a step evaluates its conditions once; they are those of the state it left
        assert info["success_conditions"] == env.unwrapped.success_conditions()
        assert info["progress"] == env.unwrapped.progress()


def test_between_steps_the_success_conditions_read_the_state_afresh(make_env):
    """A step evaluates its predicate once for all its readers; an edit after the step (a test,
    an expert) must still be seen."""
    base = make_env("PickUp").unwrapped
    base.reset(seed=2)
    _, _, _, _, info = base.step(np.zeros(7, dtype=np.float32))
    assert not info["success_conditions"]["lifted"] and info["progress"] == 0.0
    adr = base.model.jnt_qposadr[base.model.body_jntadr[base._bodies["target"]]]
    base.data.qpos[adr + 2] += 0.3  # the object, lifted by hand
    mujoco.mj_forward(base.model, base.data)
    assert base.success_conditions()["lifted"] and base.current_conditions()["lifted"]


@pytest.mark.parametrize("task", TASKS)
def test_the_docstring_states_the_episode_length(task):
    entry = task_entry(task)
    assert entry.doc.episode_steps == entry.max_episode_steps
    assert entry.doc.summary and entry.doc.randomizations and entry.doc.expert


def test_stepping_before_reset_is_refused(make_env):
    with pytest.raises(RuntimeError, match="reset"):
        make_env("PickUp").unwrapped.step(np.zeros(7))


@pytest.mark.parametrize("task", TASKS)
def test_the_oracle_solves_a_fresh_seed_episode(task, make_env):
    env = make_env(task)
    _, info = env.reset(seed=FRESH_SEED)
    expert = env.unwrapped.make_expert()
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(expert.act())
        done = terminated or truncated
    assert info["is_success"] and all(info["success_conditions"].values())


@pytest.mark.parametrize("task", TASKS)
def test_an_env_made_for_fewer_observations_steps_the_same_world(task, make_env):
    """`observations=` leaves entries out of the space and the observation (they are never
    rendered); the world and every info key stay what the full env gives."""
    full, lean = make_env(task), make_env(task, observations=("proprio", "instruction"))
    assert set(lean.observation_space.spaces) == {"proprio", "instruction"}
    (obs_full, info_full), (obs_lean, info_lean) = full.reset(seed=3), lean.reset(seed=3)
    for _ in range(4):
        assert lean.observation_space.contains(obs_lean) and set(obs_lean) == {"proprio", "instruction"}
        assert np.array_equal(obs_lean["proprio"], obs_full["proprio"]) and info_lean == info_full
        action = full.action_space.sample()
        obs_full, _, _, _, info_full = full.step(action)
        obs_lean, _, _, _, info_lean = lean.step(action)


def test_an_unknown_observation_is_refused_with_the_valid_ones(make_env):
    with pytest.raises(ValueError, match=r"unknown observations \['lidar'\]; GoToObject has \['rgb', 'depth'"):
        make_env("GoToObject", observations=("rgb", "lidar"))


@pytest.mark.parametrize("task, kwargs", [("GoToObject", {}), ("PickUp", {"depth": True})])
def test_depth_alone_is_the_depth_beside_the_colour_image(task, kwargs, make_env):
    """Depth reuses the colour image's scene when both are rendered; alone it builds its own."""
    full, alone = make_env(task, **kwargs), make_env(task, observations=("depth",), **kwargs)
    assert np.array_equal(full.reset(seed=1)[0]["depth"], alone.reset(seed=1)[0]["depth"])
    action = full.action_space.sample()
    assert np.array_equal(full.step(action)[0]["depth"], alone.step(action)[0]["depth"])


@pytest.mark.parametrize("task", TASKS)
def test_a_replaced_scene_is_freed_at_once(task, make_env):
    """Resets and steps leave no reference cycle: an episode's scene (its MjSpec with the meshes,
    its model, its render context) goes as soon as the next reset replaces it, not at Python's
    rare full garbage collection, which let each worker's memory swing by 80 MB."""
    env = make_env(task, image_size=32)
    env.reset(seed=0)
    gc.collect()
    gc.disable()
    try:
        for seed in (1, 2):
            env.reset(seed=seed)
            for _ in range(3):
                env.step(env.action_space.sample())
        assert gc.collect() == 0
    finally:
        gc.enable()
