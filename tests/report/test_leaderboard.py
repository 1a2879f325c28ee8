"""The leaderboard: groups by split and task set, ranks within a group, marks the policies an
exact McNemar test cannot tell apart from the best, and reads runs/ when given no run."""
import csv
from pathlib import Path

import pytest

import vla_bench
from tests.report.made_runs import write_run
from vla_bench.cli import main
from vla_bench.leaderboard import leaderboard, task_set
from vla_bench.splits.definitions import SPLITS

MANIPULATION = vla_bench.list_tasks(domain="manipulation", builtin_only=True)
EVERY_TASK = vla_bench.list_tasks(builtin_only=True)


def test_task_sets_are_named_by_what_they_cover():
    assert task_set(EVERY_TASK) == "all"
    assert task_set(MANIPULATION) == "manipulation"
    assert task_set(["Stack", "PickUp"]) == "PickUp+Stack"


def test_ties_with_the_best_follow_the_exact_mcnemar_test(tmp_path):
    best = [True] * 12 + [False] * 8
    close = [True] * 11 + [False] * 9  # one discordant pair: p = 1
    far = [False] * 20  # 12 discordant pairs, all the best's: p = 2 / 2**12
    runs = [write_run(tmp_path / name, name, "train", {"PickUp": outcomes})
            for name, outcomes in (("far", far), ("best", best), ("close", close))]
    rows = leaderboard(runs)
    assert [r["policy"] for r in rows] == ["best", "close", "far"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [r["tied_with_best"] for r in rows] == [True, True, False]
    assert float(rows[2]["p_vs_best"]) == pytest.approx(2 / 2**12, rel=1e-3)


def test_runs_over_other_task_sets_are_ranked_apart(tmp_path):
    both = write_run(tmp_path / "both", "generalist", "train", {t: [False] * 2 for t in EVERY_TASK})
    manip = write_run(tmp_path / "manip", "specialist", "train", {t: [True] * 2 for t in MANIPULATION})
    rows = {r["policy"]: r for r in leaderboard([both, manip])}
    assert rows["generalist"]["task_set"] == "all" and rows["specialist"]["task_set"] == "manipulation"
    assert rows["generalist"]["rank"] == rows["specialist"]["rank"] == 1  # each is alone in its group


def test_the_command_reads_every_run_under_runs_when_given_none(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", "-o", "board.csv"]) == 2
    assert "no runs under runs/" in capsys.readouterr().err
    for name in ("a", "b"):
        write_run(tmp_path / "runs" / f"{name}-train", name, "train", {"PickUp": [name == "a"] * 8})  # p = 2 / 2**8
    assert main(["leaderboard", "-o", "board.csv"]) == 0
    with open(tmp_path / "board.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["policy"] for r in rows] == ["a", "b"]
    assert rows[0]["mean_energy"] and rows[0]["task_set"] == "PickUp" and rows[1]["tied_with_best"] == "False"
    assert (tmp_path / "board.png").stat().st_size > 0


def test_a_policy_joins_a_published_leaderboard_without_its_runs(tmp_path, capsys):
    board = tmp_path / "board.csv"
    published = [write_run(tmp_path / f"{name}-{split}", name, split, {t: [name == "a"] * 2 for t in EVERY_TASK})
                 for name in ("a", "b") for split in ("train", "novel_objects")]
    assert main(["leaderboard", *map(str, published), "-o", str(board)]) == 0
    before = board.read_text().splitlines()

    specialist = write_run(tmp_path / "c", "c", "train", {t: [True] * 2 for t in MANIPULATION})
    (tmp_path / "board.png").unlink()
    assert main(["leaderboard", str(specialist), "--add-to", str(board), "-o", str(board)]) == 0
    after = board.read_text().splitlines()
    assert [line for line in after if not line.startswith("c,")] == before  # the published rows, untouched
    rows = list(csv.DictReader(after))
    assert [(r["policy"], r["split"], r["task_set"]) for r in rows] == [
        ("a", "train", "all"), ("b", "train", "all"), ("c", "train", "manipulation"),
        ("a", "novel_objects", "all"), ("b", "novel_objects", "all")]  # in the leaderboard's order
    assert (tmp_path / "board.png").stat().st_size > 0

    # a run in a group the file ranks would need that group's episodes: refused, the file kept
    rival = write_run(tmp_path / "d", "d", "train", {t: [True] * 2 for t in EVERY_TASK})
    assert main(["leaderboard", str(rival), "--add-to", str(board), "-o", str(board)]) == 2
    assert "already ranks train over all tasks" in capsys.readouterr().err
    assert board.read_text().splitlines() == after

    # a file that is not a leaderboard of this version is refused before anything is written
    other = tmp_path / "other.csv"
    other.write_text("policy,split,success_rate\nc,train,1.0\n")
    assert main(["leaderboard", str(specialist), "--add-to", str(other), "-o", str(tmp_path / "new.csv")]) == 2
    assert "not a leaderboard of this version" in capsys.readouterr().err
    assert not (tmp_path / "new.csv").exists()


def test_the_published_lerobot_act_rows_are_what_its_committed_episodes_give(tmp_path):
    """results/leaderboard.csv's lerobot-act rows are recomputed from results/lerobot_act/runs/,
    not typed in: the leaderboard of those runs alone gives the same rows, to the last digit."""
    repo = Path(__file__).resolve().parents[2]
    runs = sorted((repo / "results" / "lerobot_act" / "runs").glob("lerobot-act-*"))
    assert [r.name.removeprefix("lerobot-act-") for r in runs] == sorted(SPLITS)
    assert main(["leaderboard", *map(str, runs), "-o", str(tmp_path / "board.csv")]) == 0
    with (repo / "results" / "leaderboard.csv").open() as published, (tmp_path / "board.csv").open() as alone:
        published_rows = [r for r in csv.DictReader(published) if r["policy"] == "lerobot-act"]
        assert published_rows == list(csv.DictReader(alone))
