"""vla-bench compare: paired success differences with exact McNemar and bootstrap intervals."""
import json

import pytest

from vla_bench.cli import main
from vla_bench.compare import compare_runs, mcnemar_exact


def _write_run(path, outcomes, split="train"):
    path.mkdir()
    with open(path / "episodes.jsonl", "w") as f:
        for episode_id, task, success in outcomes:
            f.write(json.dumps({"episode_id": episode_id, "task": task, "success": success, "policy": path.name,
                                "split": split}) + "\n")
    return path


def test_mcnemar_exact_gives_the_textbook_p_value():
    # 2 vs 8 discordant pairs: p = 2 * P(X <= 2 | n = 10, 1/2) = 2 * (1 + 10 + 45) / 1024
    assert mcnemar_exact(2, 8) == pytest.approx(112 / 1024)
    assert mcnemar_exact(8, 2) == mcnemar_exact(2, 8)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)


def test_runs_are_paired_by_episode_per_task_and_overall(tmp_path):
    # PickUp: 20 pairs, A alone solves 2, B alone 8, both 5, neither 5. OpenDrawer: both solve all 10.
    pick = [(True, False)] * 2 + [(False, True)] * 8 + [(True, True)] * 5 + [(False, False)] * 5
    a = [(f"train/PickUp/{i:03d}", "PickUp", x) for i, (x, _) in enumerate(pick)]
    b = [(f"train/PickUp/{i:03d}", "PickUp", y) for i, (_, y) in enumerate(pick)]
    a += [(f"train/OpenDrawer/{i:03d}", "OpenDrawer", True) for i in range(10)]
    b += [(f"train/OpenDrawer/{i:03d}", "OpenDrawer", True) for i in range(10)]
    a.append(("train/PickUp/999", "PickUp", True))  # B never ran it: left out
    rows, unpaired = compare_runs([_write_run(tmp_path / "a", a)], [_write_run(tmp_path / "b", list(reversed(b)))])
    by_task = {r.task: r for r in rows}
    pick_row = by_task["PickUp"]
    assert (pick_row.pairs, pick_row.only_a, pick_row.only_b) == (20, 2, 8)
    assert pick_row.difference == pytest.approx(7 / 20 - 13 / 20)
    assert pick_row.p_value == pytest.approx(112 / 1024)
    assert pick_row.ci_low < pick_row.difference < pick_row.ci_high < 0.05
    assert by_task["OpenDrawer"].p_value == 1.0 and by_task["OpenDrawer"].ci_low == by_task["OpenDrawer"].ci_high == 0
    overall = by_task["ALL"]
    assert overall.pairs == 30 and overall.p_value == pytest.approx(112 / 1024)
    assert overall.difference == pytest.approx(-6 / 30)
    assert unpaired == {"only_in_a": 1, "only_in_b": 0}


def test_the_command_prints_the_table_and_refuses_runs_without_shared_episodes(tmp_path, capsys):
    a = _write_run(tmp_path / "a", [("e1", "PickUp", True), ("e2", "PickUp", False)])
    b = _write_run(tmp_path / "b", [("e1", "PickUp", False), ("e2", "PickUp", False)])
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "McNemar p" in out and "PickUp" in out and "ALL" in out
    other = _write_run(tmp_path / "c", [("x9", "PickUp", True)])
    assert main(["compare", str(a), str(other)]) == 2
    assert "share no episode" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "missing")]) == 2


def test_runs_of_several_splits_pool_into_one_comparison(tmp_path, capsys):
    """Each side's runs (one per split) pool by episode: the pairs add up across splits, the same
    task in two splits is one row, and an episode held by two runs of one side is refused."""
    sides = {}
    for side, wins in (("a", (4, 6)), ("b", (1, 2))):  # PickUp successes of 10 in train, then novel_objects
        sides[side] = [_write_run(tmp_path / f"{side}-{split}", [(f"{split}/PickUp/{i:03d}", "PickUp", i < won)
                                                                  for i in range(10)], split)
                       for split, won in zip(("train", "novel_objects"), wins)]
    rows, unpaired = compare_runs(sides["a"], sides["b"])
    overall = rows[-1]
    assert [r.task for r in rows] == ["PickUp", "ALL"] and overall.pairs == 20
    assert (overall.only_a, overall.only_b) == (7, 0) and overall.difference == pytest.approx(7 / 20)
    assert overall.p_value == pytest.approx(2 / 2**7) and 0 < overall.ci_low < overall.ci_high
    assert unpaired == {"only_in_a": 0, "only_in_b": 0}

    assert main(["compare", *map(str, sides["a"]), "--against", *map(str, sides["b"])]) == 0
    assert "+0.350" in capsys.readouterr().out
    assert main(["compare", str(sides["a"][0]), str(sides["a"][0]), "--against", str(sides["b"][0])]) == 2
    assert "is in both" in capsys.readouterr().err
    assert main(["compare", *map(str, sides["a"]), str(sides["b"][0])]) == 2  # three runs, no --against
    assert "--against" in capsys.readouterr().err
