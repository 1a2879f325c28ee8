"""The command line: listing, bench, and clear errors for bad names."""
import json

import pytest

from vla_bench.cli import main


def test_list_tasks_names_every_manipulation_task(capsys):
    assert main(["list", "tasks", "--domain", "manipulation"]) == 0
    out = capsys.readouterr().out
    for task in ("PickUp", "PutIn", "PushToRegion", "Stack", "OpenDrawer", "CloseDrawer", "PutInDrawer"):
        assert task in out


def test_bench_reports_env_and_raw_throughput(capsys):
    assert main(["bench", "--tasks", "PickUp", "--steps", "5", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["task"] == "PickUp"
    for key in ("env_steps_per_s", "raw_steps_per_s", "raw_sim_steps_per_s", "overhead", "env_sim_steps_per_s",
                "sim_overhead", "reset_s", "reset_no_cam_s"):
        assert result[key] > 0
    assert result["reset_no_cam_s"] < result["reset_s"]  # a camera-less env uploads no scene to GL


def test_bench_prints_each_tasks_row_as_soon_as_it_is_measured(capsys, monkeypatch):
    """All ten tasks take minutes on a small CPU: a bench cut short keeps the rows it measured."""
    from vla_bench import bench

    measure = bench.bench_task

    def cut_short(task, **kwargs):
        if task == "PickUp":
            raise KeyboardInterrupt
        return measure(task, **kwargs)

    monkeypatch.setattr(bench, "bench_task", cut_short)
    with pytest.raises(KeyboardInterrupt):
        main(["bench", "--tasks", "GoToObject,PickUp", "--steps", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["task", "image"]
    assert len(lines) == 2 and lines[1].split()[0] == "GoToObject"
    assert lines[1].split()[1] == "128" and lines[1].split()[5].endswith("x")  # image size, env/raw cost


def test_unknown_task_lists_the_valid_ones(capsys):
    assert main(["bench", "--tasks", "Juggle"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'Juggle'" in err and "PickUp" in err


def test_list_tasks_markdown_renders_the_docstrings(capsys):
    assert main(["list", "tasks", "--markdown", "--domain", "navigation"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| task | what it asks |") and "| `MultiStepGoTo` |" in out and "`stopped`:" in out
    assert "PickUp" not in out
