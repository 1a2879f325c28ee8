"""--realtime: simulated time runs on while the policy computes."""
import gymnasium as gym
import numpy as np
import pytest

from tests.runner.test_runner import POLICIES
from vla_bench.cli import main
from vla_bench.results import read_episodes
from vla_bench.runner.realtime import held_action, late_steps, start_late
from vla_bench.runner.runner import RunConfig, run

BOX = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)


def _run(tmp_path, name, policy, tasks=("PickUp",), **kwargs):
    return read_episodes(run(RunConfig(policy=f"{POLICIES}:{policy}", split="train", tasks=tasks,
                                       episodes_per_task=1, workers=1, out=tmp_path / name, progress=False,
                                       **kwargs)))


def test_late_steps_held_commands_and_late_chunks():
    assert [late_steps(s, 0.1) for s in (0.05, 0.1, 0.25, 0.3)] == [0, 1, 2, 3]
    np.testing.assert_array_equal(held_action(None, BOX), [0, 0, 0, 0, 0, 0, 1])  # still, gripper open
    assert held_action(np.ones(7), BOX) is not None and held_action(2, gym.spaces.Discrete(4)) == 2
    assert held_action(0, gym.spaces.Discrete(4)) is None and held_action(None, gym.spaces.Discrete(4)) is None
    assert start_late([1, 2, 3, 4], 2) == [3, 4] and start_late([1, 2], 5) == [2]


def test_a_policy_slower_than_the_control_period_acts_late(tmp_path):
    (record,) = _run(tmp_path, "slow", "Sleeps150ms", realtime=True)
    assert record["realtime"] and not record["error"]
    assert record["latency_ms_p50"] > 100  # above the 100 ms control period
    assert record["late_steps"] > 0 and record["policy_calls"] < record["steps"]
    assert record["policy_calls"] / record["completion_s"] < 10 * 0.7  # fewer decisions per simulated second


def test_a_fast_policy_succeeds_as_in_synchronous_mode_on_the_same_episodes(tmp_path):
    for policy, tasks in (("Greedy", ("PickUp", "OpenDrawer")), ("Navigates", ("GoToObject",))):
        sync = _run(tmp_path, f"sync-{policy}", policy, tasks=tasks)
        real = _run(tmp_path, f"real-{policy}", policy, tasks=tasks, realtime=True)
        key = lambda r: r["episode_id"]  # noqa: E731
        assert [(r["success"], r["steps"], r["late_steps"]) for r in sorted(sync, key=key)] == \
               [(r["success"], r["steps"], 0) for r in sorted(real, key=key)]


def test_injected_latency_delays_navigation_too(tmp_path):
    (record,) = _run(tmp_path, "nav", "Navigates", tasks=("GoToObject",), realtime=True, latency_ms=1500)
    assert record["latency_ms_p50"] >= 1500 and record["late_steps"] > 0
    assert record["completion_s"] > record["sim_seconds"]  # it waited for its first command, with none to hold


def test_resume_refuses_other_timing_or_replanning(tmp_path, capsys):
    args = ["run", "--policy", f"{POLICIES}:Greedy", "--split", "train", "--tasks", "PickUp", "--episodes-per-task",
            "1", "--workers", "1", "--out", str(tmp_path / "r"), "--no-progress"]
    assert main([*args, "--realtime"]) == 0
    for other in ([], ["--realtime", "--latency-ms", "50"], ["--realtime", "--replan-every", "2"]):
        assert main([*args, "--resume", *other]) == 2
        assert "different settings" in capsys.readouterr().err
    assert main([*args, "--resume", "--realtime"]) == 0


def test_latency_without_realtime_is_a_usage_error(tmp_path, capsys):
    assert main(["run", "--policy", "random", "--split", "train", "--latency-ms", "50", "--out",
                 str(tmp_path / "r")]) == 2
    assert "needs --realtime" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-5", "abc", "inf"])
def test_latency_must_be_a_non_negative_number(value, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--policy", "random", "--split", "train", "--realtime", "--latency-ms", value])
    assert "milliseconds" in capsys.readouterr().err


def test_leaderboard_and_report_tell_real_time_runs_apart(tmp_path):
    from vla_bench.leaderboard import leaderboard
    from vla_bench.report import write_report

    runs = []
    for name, kwargs in (("sync", {}), ("real", {"realtime": True}), ("late", {"realtime": True, "latency_ms": 250})):
        run(RunConfig(policy=f"{POLICIES}:Greedy", split="train", tasks=("PickUp",), episodes_per_task=1,
                      workers=1, out=tmp_path / name, progress=False, **kwargs))
        runs.append(tmp_path / name)
    rows = leaderboard(runs)
    assert sorted(r["timing"] for r in rows) == ["realtime", "realtime+250ms", "synchronous"]
    report = write_report(runs, tmp_path / "report").read_text()
    assert "## Synchronous vs real time" in report
    table = [line for line in report.splitlines() if line.startswith("| greedy | train |")]
    assert [line.split(" | ")[2] for line in table][-3:] == ["synchronous", "realtime", "realtime+250ms"]
    assert "greedy [realtime+250ms]" in report


def test_late_steps_run_the_rest_of_the_chunk_first(tmp_path):
    """With --replan-every 2 of 5-action chunks and every call 150 ms late (one step at 10 Hz),
    each call costs one late step (the first stands still, the others run the last chunk's third
    action), then two planned ones."""
    (record,) = _run(tmp_path, "rest", "Chunks", realtime=True, latency_ms=150, replan_every=2)
    assert not record["error"] and record["late_steps"] == record["policy_calls"]
    assert record["steps"] in (3 * record["policy_calls"] - 1, 3 * record["policy_calls"])
