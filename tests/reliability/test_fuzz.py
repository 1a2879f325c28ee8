"""Property-based tests over the inputs a user or a policy controls: actions, EpisodeSpecs and
command lines. Each gives its documented outcome: a valid action, a PolicyFault, InvalidEpisode
(or SimulationUnstable) for a corrupted episode, exit status 0 or 2 for a command line; never
another exception. The counts of inputs tried are in the README's reliability section."""
import contextlib
import copy
import json

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vla_bench.cli import main
from vla_bench.runner.episode import PolicyFault, check_action
from vla_bench.specs import EpisodeSpec
from vla_bench.task import InvalidEpisode, SimulationUnstable

MANIPULATION = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)
NAVIGATION = gym.spaces.Discrete(4)
SLOW_EXAMPLES = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

scalars = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12), st.booleans(),
                    st.text(max_size=5), st.none())
arrays = hnp.arrays(dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int64, np.bool_,
                                           np.complex64, np.dtype("U3"), np.dtype("O")]),
                    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=9))
actions = st.one_of(scalars, arrays, st.lists(scalars, max_size=9), st.dictionaries(st.text(max_size=3), scalars))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(action=actions)
def test_any_value_a_policy_returns_is_a_valid_action_or_a_policy_fault(action):
    for space, domain in ((MANIPULATION, "manipulation"), (NAVIGATION, "navigation")):
        try:
            checked = check_action(action, space, domain)
        except PolicyFault as fault:
            assert str(fault).startswith("act returned") and domain in str(fault)
            continue
        if space is NAVIGATION:
            assert isinstance(checked, int) and 0 <= checked < 4
        else:
            assert checked.shape == (7,) and np.all(np.isfinite(checked))


@pytest.fixture(scope="module")
def pick_up():
    env = gym.make("vla_bench/PickUp-v0", image_size=32)
    yield env
    env.close()


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(action=hnp.arrays(np.float64, (7,), elements=st.floats(-1e30, 1e30)))
def test_any_finite_action_steps_the_env(pick_up, action):
    if pick_up.unwrapped.data is None:
        pick_up.reset(seed=0)
    obs, _, terminated, truncated, _ = pick_up.step(check_action(action, MANIPULATION, "manipulation"))
    assert pick_up.observation_space.contains(obs)
    if terminated or truncated:
        pick_up.reset(seed=0)


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                                     st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=6)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                           max_leaves=6)


def _paths(value, prefix=()):
    """Every path into a JSON value (dict keys and list indices)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@st.composite
def corrupted_factors(draw, factors):
    """The factors with one value replaced by an arbitrary JSON value, or one key removed."""
    corrupted = copy.deepcopy(json.loads(json.dumps(factors)))
    path = draw(st.sampled_from([p for p in _paths(corrupted) if p]))
    parent = corrupted
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return corrupted


@pytest.mark.parametrize("task", ["PickUp", "GoToObject"])
def test_a_corrupted_episode_spec_builds_or_is_refused_as_invalid(task):
    env = gym.make(f"vla_bench/{task}-v0", image_size=32, disable_env_checker=True)  # as the runner's workers
    spec = env.unwrapped.sample_episode(3)
    outcomes = {"built": 0, "refused": 0}

    @SLOW_EXAMPLES
    @given(factors=corrupted_factors(spec.factors))
    def check(factors):
        try:
            obs, _ = env.reset(options={"episode": EpisodeSpec(spec.task, spec.seed, factors, spec.instruction)})
        except (InvalidEpisode, SimulationUnstable):
            outcomes["refused"] += 1
            return
        assert env.observation_space.contains(obs)
        env.step(env.action_space.sample())
        outcomes["built"] += 1

    check()
    env.close()
    assert outcomes["refused"] > 0  # the strategy does reach broken specs


COMMANDS = st.sampled_from(["run", "list", "leaderboard", "report", "frobnicate"])
TOKENS = st.sampled_from(["--policy", "random", "oracle", "rt1", "nope", "x.py:Y", "--split", "train", "tests",
                          "--tasks", "PickUp", "Nope,", ",", "--episodes-per-task", "0", "-1", "1", "1e9", "--workers",
                          "--step-timeout", "nan", "--record-video", "--seed", "abc", "--resume", "-o", "/proc/x",
                          "--policy-arg", "=", "k=v", "k", "--supervisor", "maybe", "tasks", "splits", "policies",
                          "--domain", "space", "--markdown", "--allow-partial", "", " ", "--", "-"])


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(command=COMMANDS, tokens=st.lists(TOKENS, max_size=8))
def test_any_command_line_gives_a_result_or_a_usage_error(command, tokens, tmp_path_factory, capsys):
    argv = [command, *tokens]
    if command == "run":  # never start a real evaluation: an unwritable --out ends every run that parses
        argv += ["--out", "/proc/vla-bench-fuzz"]
    try:
        with contextlib.chdir(tmp_path_factory.getbasetemp()):  # whatever a command writes lands there
            code = main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, err)
    assert "Traceback" not in err
