"""--instruction-mode changes exactly the instruction the policy reads, and nothing else."""
import json
from pathlib import Path

import pytest

from vla_bench.cli import main
from vla_bench.leaderboard import leaderboard
from vla_bench.results import read_episodes
from vla_bench.runner.runner import RunConfig, run
from vla_bench.splits import load_manifest
from vla_bench.task.registry import task_entry

POLICY = f"{Path(__file__).with_name('policies.py')}:RecordsInstructions"
TASKS = ("PickUp", "Stack", "GoToObject")


def _run(tmp_path, mode):
    log = tmp_path / f"{mode}.jsonl"
    run_dir = run(RunConfig(policy=POLICY, policy_args={"log": str(log)}, split="train", tasks=TASKS,
                            episodes_per_task=2, workers=1, out=tmp_path / mode, progress=False,
                            instruction_mode=mode))
    seen: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        seen.setdefault(entry["episode"], set()).add(entry["text"])
    return run_dir, seen


@pytest.mark.parametrize("mode", ["original", "blank", "shuffled"])
def test_the_policy_reads_the_instruction_its_mode_gives(tmp_path, mode):
    run_dir, seen = _run(tmp_path, mode)
    records = {r["episode_id"]: r for r in read_episodes(run_dir)}
    manifest = load_manifest("train")
    split_texts = {task_entry(e.task).domain: set() for e in manifest.episodes}
    for e in manifest.episodes:
        split_texts[task_entry(e.task).domain].add(e.instruction)
    assert len(records) == 6 and set(seen) == set(records)
    for episode_id, record in records.items():
        (text,) = seen[episode_id]  # one instruction per episode, at reset and in every observation
        own = next(e for e in manifest.episodes if e.episode_id == episode_id).instruction
        assert record["instruction"] == own and record["instruction_mode"] == mode  # the task is unchanged
        if mode == "original":
            assert text == own and record["policy_instruction"] is None
        elif mode == "blank":
            assert text == "" == record["policy_instruction"]
        else:
            assert text != own and text == record["policy_instruction"]
            assert text in split_texts[task_entry(record["task"]).domain]  # another episode's, same domain
    info = json.loads((run_dir / "run.json").read_text())
    assert info["config"].get("instruction_mode", "original") == mode
    (row,) = leaderboard([run_dir])
    assert row["instruction_mode"] == mode


def test_shuffling_is_the_same_for_any_subset_of_tasks(tmp_path):
    _, everything = _run(tmp_path, "shuffled")
    alone = tmp_path / "alone"
    log = tmp_path / "alone.jsonl"
    run(RunConfig(policy=POLICY, policy_args={"log": str(log)}, split="train", tasks=("GoToObject",),
                  episodes_per_task=2, workers=1, out=alone, progress=False, instruction_mode="shuffled"))
    subset = {json.loads(line)["episode"]: json.loads(line)["text"] for line in log.read_text().splitlines()}
    assert all({text} == everything[episode] for episode, text in subset.items())


def test_resume_refuses_another_instruction_mode(tmp_path, capsys):
    args = ["run", "--policy", "random", "--split", "train", "--tasks", "CloseDrawer", "--episodes-per-task", "1",
            "--workers", "1", "--out", str(tmp_path / "r"), "--no-progress"]
    assert main([*args, "--instruction-mode", "blank"]) == 0
    assert main([*args, "--resume"]) == 2
    assert "instruction_mode" in capsys.readouterr().err
