"""Systematic failures stop a run early with one clear error; sporadic ones only fail their
episode; partial runs are never ranked or reported as complete ones."""
import csv
import json
from pathlib import Path

import gymnasium as gym
import pytest

from vla_bench.cli import main
from vla_bench.errors import SystematicFailure
from vla_bench.policy import RandomPolicy
from vla_bench.results import EPISODES_FILE, read_episodes
from vla_bench.runner.episode import EpisodeRecord, run_episode
from vla_bench.runner.runner import EARLY_STOP_EPISODES, FailureWatch
from vla_bench.specs import EpisodeSpec

POLICIES = Path(__file__).resolve().parents[1] / "runner" / "policies.py"
EIGHT = ["--split", "train", "--tasks", "PickUp,OpenDrawer", "--episodes-per-task", "4", "--workers", "2",
         "--no-progress"]


@pytest.mark.parametrize("policy,message", [
    ("SixFloats", "act returned a list of 6 floats [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]; manipulation expects shape (7,) "
                  "in [-1, 1]"),
    ("ReturnsInt", "act returned int 1; manipulation expects shape (7,) in [-1, 1]"),
])
def test_a_policy_that_breaks_the_contract_stops_the_run_with_one_error(policy, message, tmp_path, capsys):
    out = tmp_path / policy
    code = main(["run", "--policy", f"{POLICIES}:{policy}", *EIGHT, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count(message) == 1 and f"the first {EARLY_STOP_EPISODES} episodes all failed" in err
    assert "Traceback" not in err
    records = read_episodes(out)
    assert EARLY_STOP_EPISODES <= len(records) < 8 and all(message in r["error"] for r in records)
    assert json.loads((out / "run.json").read_text())["stopped"].startswith("the first")


def test_sporadic_failures_fail_only_their_episodes(tmp_path, capsys):
    out = tmp_path / "sporadic"
    assert main(["run", "--policy", f"{POLICIES}:FailsOnOddSeeds", *EIGHT, "--out", str(out)]) == 0
    records = read_episodes(out)
    failed = [r for r in records if r["error"]]
    assert len(records) == 8 and 0 < len(failed) < 8
    assert all(r["seed"] % 2 == 1 and "odd seed" in r["error"] for r in failed)
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("every error is in")


def test_an_environment_that_cannot_be_built_fails_its_episode_and_identical_failures_stop_the_run(tmp_path):
    env = gym.make("vla_bench/PickUp-v0", disable_env_checker=True)  # as the runner's workers make it
    good = env.unwrapped.sample_episode(0)
    broken = EpisodeSpec(good.task, good.seed, {**good.factors, "objects": {"target": {"kind": "teapot"}}},
                         good.instruction, episode_id="train/PickUp/000")
    record = run_episode(env, RandomPolicy(), broken)
    assert record.error.startswith("environment could not be reset: InvalidEpisode") and not record.success
    watch = FailureWatch(tmp_path)
    with pytest.raises(SystematicFailure, match="environment could not be reset"):
        for _ in range(EARLY_STOP_EPISODES):
            watch.see(record.to_json())
    healthy = run_episode(env, RandomPolicy(), good)  # the same env still works afterwards
    assert healthy.error == ""


def test_mixed_errors_in_the_first_episodes_do_not_stop_a_run(tmp_path):
    watch = FailureWatch(tmp_path)
    for index in range(3 * EARLY_STOP_EPISODES):
        error = "a" if index % 2 else "b"
        watch.see(EpisodeRecord("p", "train", "PickUp", str(index), 0, "", error=error).to_json())


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory) -> Path:
    """A finished 4-episode run, then its last line cut as an interruption leaves it."""
    out = tmp_path_factory.mktemp("runs") / "oracle"
    assert main(["run", "--policy", "oracle", "--split", "train", "--tasks", "PickUp,CloseDrawer",
                 "--episodes-per-task", "2", "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    lines = (out / EPISODES_FILE).read_text().splitlines(keepends=True)
    (out / EPISODES_FILE).write_text("".join(lines[:3]))
    return out


def test_leaderboard_refuses_a_partial_run_unless_allowed_and_then_marks_it(partial_run, tmp_path, capsys):
    assert main(["leaderboard", str(partial_run), "-o", str(tmp_path / "board.csv")]) == 2
    assert f"incomplete runs: {partial_run} (3 of 4 episodes)" in capsys.readouterr().err
    assert main(["leaderboard", str(partial_run), "-o", str(tmp_path / "board.csv"), "--allow-partial"]) == 0
    assert "(partial run)" in capsys.readouterr().out
    (row,) = csv.DictReader(open(tmp_path / "board.csv"))
    assert row["complete"] == "False" and row["instruction_mode"] == "original"


def test_report_refuses_a_partial_run_unless_allowed_and_then_marks_it(partial_run, tmp_path, capsys):
    assert main(["report", str(partial_run), "-o", str(tmp_path / "report")]) == 2
    assert "incomplete runs" in capsys.readouterr().err
    assert main(["report", str(partial_run), "-o", str(tmp_path / "report"), "--allow-partial"]) == 0
    assert "| 3 of 4 (partial) |" in (tmp_path / "report" / "report.md").read_text()
