"""The supervisor triggers on purpose-built misbehaviour, never on the oracle, and only counts when off."""
import gymnasium as gym
import pytest

import vla_bench
from tests.runner.policies import DrivesIntoTable, LeavesWorkspace, StandsStill
from vla_bench.policy import OraclePolicy
from vla_bench.runner.episode import run_episode
from vla_bench.supervisor import ManipulationSupervisor


def _supervised(task, enabled=True):
    return ManipulationSupervisor(gym.make(f"vla_bench/{task}-v0"), enabled=enabled)


@pytest.mark.parametrize("policy, reason", [(DrivesIntoTable(), "table"), (LeavesWorkspace(), "workspace"),
                                            (StandsStill(), "stall")])
def test_supervisor_triggers_on_misbehaviour(policy, reason):
    env = _supervised("PickUp")
    record = run_episode(env, policy, env.unwrapped.sample_episode(0))
    assert record.interventions > 0 and record.intervention_reasons.get(reason, 0) > 0, record.intervention_reasons


def test_supervisor_keeps_the_hand_off_the_table_and_off_only_counts():
    heights = {}
    for enabled in (True, False):
        env = _supervised("PickUp", enabled)
        env.reset(seed=0)
        for _ in range(15):
            env.step(DrivesIntoTable().act({}))
        heights[enabled] = env.unwrapped.ee_pos[2]
        assert env.counts["table"] > 0
    assert heights[True] > 0.005 > heights[False] - 0.01
    assert heights[True] > heights[False]


@pytest.mark.parametrize("task", vla_bench.list_tasks(domain="manipulation", builtin_only=True))
def test_supervisor_never_intervenes_on_the_oracle(task):
    """No intervention in an episode the oracle solves. The oracle fails a few percent of
    episodes (its strokes topple a PushToRegion object now and then, and which episodes depends
    on the CPU's floating point: seed 70001 toppled its bunny on one machine and not on
    another); left standing after such a failure, it is a stall, which is the supervisor's to report."""
    env = _supervised(task)
    records = [run_episode(env, OraclePolicy(), env.unwrapped.sample_episode(70_000 + seed)) for seed in range(3)]
    assert sum(r.success for r in records) >= 2, [r.success_conditions for r in records]
    for seed, record in enumerate(records):
        if record.success:
            assert record.interventions == 0, (seed, record.intervention_reasons)
        else:
            assert set(record.intervention_reasons) <= {"stall"}, (seed, record.intervention_reasons)
