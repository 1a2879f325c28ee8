"""Vector envs: every sub-env's instruction and image is the one the single env gives for the
same seed, in both vectorization modes, after reset, step and autoreset; and a process that has
rendered can still start async workers (through `vla_bench.task.vector.make_vec`)."""
import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

import vla_bench  # noqa: F401  (registers the tasks)
from vla_bench.task.instruction import instruction_space
from vla_bench.task.vector import make_vec

# One task per domain, with an action that neither ends the episode nor leaves the image as it was.
ACTIONS = {"vla_bench/PickUp-v0": np.full(7, 0.5, np.float32), "vla_bench/GoToObject-v0": 2}  # turn left
SEEDS = [3, 11]
MODES = ("sync", "async")
SMALL = {"image_size": 32}

Frame = tuple[Any, np.ndarray]  # (instruction(s), rgb image(s)) of one reset or step


def vector_rollout(env_id: str, mode: str, steps: int, **kwargs: Any) -> list[Frame]:
    """Reset with SEEDS and step: `gym.make_vec`'s observations, copied out of the vector env."""
    env = gym.make_vec(env_id, num_envs=len(SEEDS), vectorization_mode=mode, **kwargs)
    try:
        frames = [env.reset(seed=SEEDS)[0]]
        frames += [env.step([ACTIONS[env_id]] * len(SEEDS))[0] for _ in range(steps)]
    finally:
        env.close()
    return [(obs["instruction"], obs["rgb"]) for obs in frames]


def single_rollout(env_id: str, seed: int, steps: int, **kwargs: Any) -> list[Frame]:
    """The same for one env, resetting where the vector env autoresets (the step after an end)."""
    env = gym.make(env_id, **kwargs)
    try:
        frames, ended = [env.reset(seed=seed)[0]], False
        for _ in range(steps):
            if ended:
                obs, ended = env.reset()[0], False
            else:
                obs, _, terminated, truncated, _ = env.step(ACTIONS[env_id])
                ended = terminated or truncated
            frames.append(obs)
    finally:
        env.close()
    return [(obs["instruction"], obs["rgb"]) for obs in frames]


def in_fresh_process(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in a process that has never rendered: default async workers are
    forked, and forks of a process holding a GL context (this one, once any test rendered) hang."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args, **kwargs).result(timeout=240)


def assert_same_frames(vector: list[Frame], singles: list[list[Frame]]) -> None:
    for t, (instructions, rgb) in enumerate(vector):
        assert type(instructions) is tuple, "a copy, as the sync vector env returns, not a view of shared memory"
        assert instructions == tuple(single[t][0] for single in singles), f"instructions at frame {t}"
        assert np.array_equal(rgb, np.stack([single[t][1] for single in singles])), f"rgb at frame {t}"


def test_instructions_survive_shared_memory_on_every_write():
    space = instruction_space()
    memory = create_shared_memory(space, n=2)
    batch = read_from_shared_memory(space, memory, n=2)  # read once, as AsyncVectorEnv does
    for first, second in [("go to the sofa", "pick up the red cube"), ("stack it, then stop", "go")]:
        write_to_shared_memory(space, 0, first, memory)
        write_to_shared_memory(space, 1, second, memory)
        assert batch == (first, second) and list(batch) == [first, second] and batch[1] == second
        snapshot = copy.deepcopy(batch)
        assert type(snapshot) is tuple and snapshot == (first, second)
        assert pickle.loads(pickle.dumps(batch)) == snapshot


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", ACTIONS)
def test_make_vec_with_default_arguments_gives_the_single_env_instructions(env_id, mode):
    vector = in_fresh_process(vector_rollout, env_id, mode, steps=1)
    assert_same_frames(vector, [single_rollout(env_id, seed, steps=1) for seed in SEEDS])


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", ACTIONS)
def test_instructions_and_images_follow_steps_and_autoreset(env_id, mode):
    kwargs = SMALL | {"max_episode_steps": 2}  # frames: reset, step, step (truncated), autoreset
    vector = in_fresh_process(vector_rollout, env_id, mode, steps=3, **kwargs)
    assert_same_frames(vector, [single_rollout(env_id, seed, steps=3, **kwargs) for seed in SEEDS])
    assert vector[3][0] != vector[0][0], "the autoreset drew new episodes (else this test shows nothing)"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("env_id", ACTIONS)
def test_a_process_that_has_rendered_can_start_and_step_async_workers(env_id):
    env = gym.make(env_id, **SMALL)
    env.reset(seed=0)
    assert env.render() is not None  # this process now holds a GL context
    vector = make_vec(env_id, num_envs=len(SEEDS), mode="async", **SMALL)
    try:
        frames = [vector.reset(seed=SEEDS)[0], vector.step([ACTIONS[env_id]] * len(SEEDS))[0]]
    finally:
        vector.close()
        env.close()
    assert_same_frames([(obs["instruction"], obs["rgb"]) for obs in frames],
                       [single_rollout(env_id, seed, steps=1, **SMALL) for seed in SEEDS])


def _reset_pick_up() -> None:
    gym.make("vla_bench/PickUp-v0", image_size=32).reset(seed=0)


@pytest.mark.timeout(120)
def test_a_fork_of_a_rendering_process_gets_a_clear_error_instead_of_hanging():
    env = gym.make("vla_bench/PickUp-v0", image_size=32)
    env.reset(seed=0)  # this process now holds a GL context
    with multiprocessing.get_context("fork").Pool(1) as pool:
        with pytest.raises(RuntimeError, match="forked from one that has rendered"):
            pool.apply(_reset_pick_up)
    env.close()
