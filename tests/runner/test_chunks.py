"""Action chunks: act may return (H, A); the runner executes K of them per call, in every executor."""
import gymnasium as gym
import numpy as np
import pytest

from tests.runner.test_runner import POLICIES
from vla_bench.results import read_episodes
from vla_bench.runner.episode import PolicyFault, planned_actions
from vla_bench.runner.runner import RunConfig, run

BOX = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)
MOVES = gym.spaces.Discrete(4)


def test_a_chunk_is_split_into_its_actions():
    chunk = np.linspace(-1, 1, 35).reshape(5, 7)
    actions = planned_actions(chunk, BOX)
    assert len(actions) == 5 and np.array_equal(actions[1], chunk[1])
    assert planned_actions([1, 2, 0], MOVES) == [1, 2, 0]
    assert planned_actions(3, MOVES) == [3]
    assert len(planned_actions(np.zeros(7), BOX)) == 1  # one action is not a chunk of seven


@pytest.mark.parametrize("raw, message", [
    (np.zeros((0, 7)), "empty action chunk"),
    (np.full((3, 7), np.nan), "non-finite"),
    (np.zeros((3, 6)), "shape (7,)"),
    ([1, 7], "an int in [0, 4)"),
])
def test_a_broken_chunk_is_a_policy_fault_that_says_why(raw, message):
    space = MOVES if isinstance(raw, list) else BOX
    with pytest.raises(PolicyFault, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        planned_actions(raw, space)


@pytest.mark.parametrize("policy", ["Chunks", "BatchedChunks"])
def test_the_runner_calls_the_policy_once_per_replan_every_actions(tmp_path, policy):
    def calls(replan_every):
        run_dir = run(RunConfig(policy=f"{POLICIES}:{policy}", split="train", tasks=("PickUp", "GoToObject"),
                                episodes_per_task=1, workers=1, out=tmp_path / f"{replan_every}", progress=False,
                                replan_every=replan_every))
        return {r["task"]: (r["steps"], r["policy_calls"], r["error"]) for r in read_episodes(run_dir)}

    whole, every_two = calls(None), calls(2)
    for task, (steps, policy_calls, error) in whole.items():
        assert not error
        assert policy_calls == -(-steps // 5), (task, steps, policy_calls)  # ceil: the last chunk may be cut short
    for task, (steps, policy_calls, error) in every_two.items():
        assert not error and policy_calls == -(-steps // 2), (task, steps, policy_calls)
