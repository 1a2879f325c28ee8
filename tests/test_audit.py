"""vla-bench audit: traces recorded beside videos, the audit's pictures and markdown on real runs,
and the flags on hand-made traces."""
import json

import pytest

from vla_bench.audit import FIGURE_DPI, FIGURE_SIZE, FLAG_HELP, episode_flags, success_step
from vla_bench.cli import main
from vla_bench.results import read_episodes

TASKS = "PickUp,CloseDrawer"


def _run(out, policy):
    code = main(["run", "--policy", policy, "--split", "train", "--tasks", TASKS, "--episodes-per-task", "2",
                 "--workers", "1", "--record-video", "2", "--out", str(out), "--no-progress"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    return {"oracle": _run(root / "oracle", "oracle"), "random": _run(root / "random", "random")}


def _name(episode_id):
    return episode_id.replace("/", "_")


@pytest.mark.slow
def test_a_recorded_episode_has_a_trace_beside_its_video_one_entry_per_frame(runs):
    import imageio.v2 as imageio

    run_dir = runs["oracle"]
    for record in read_episodes(run_dir):
        trace = json.loads((run_dir / "traces" / record["task"] / f"{_name(record['episode_id'])}.json").read_text())
        video = run_dir / "videos" / record["task"] / f"{_name(record['episode_id'])}.mp4"
        steps = trace["trace"]
        assert trace["episode_id"] == record["episode_id"] and trace["success"] == record["success"]
        assert trace["instruction"] == record["instruction"] and trace["factors"]
        assert len(steps) == record["steps"] + 1 == imageio.get_reader(video).count_frames()
        assert [s["step"] for s in steps] == list(range(record["steps"] + 1))
        for entry in steps:
            assert {"success_conditions", "is_success", "progress", "sim_time", "proprio"} <= set(entry)
            assert set(entry["success_conditions"]) == set(record["success_conditions"])
        assert steps[-1]["success_conditions"] == record["success_conditions"]
        assert steps[-1]["is_success"] and not steps[0]["is_success"]
        assert success_step(steps) == record["steps"]  # an oracle success ends its episode


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["oracle", "random"])
def test_audit_writes_a_picture_per_episode_and_lists_each_with_its_outcome(runs, policy, tmp_path, capsys):
    from PIL import Image

    run_dir = runs[policy]
    out = tmp_path / "audit"
    assert main(["audit", str(run_dir), "--per-task", "2", "-o", str(out)]) == 0
    assert str(out / "audit.md") in capsys.readouterr().out
    text = (out / "audit.md").read_text()
    records = read_episodes(run_dir)
    assert len(records) == 4
    for record in records:
        image = out / "images" / record["task"] / f"{_name(record['episode_id'])}.png"
        assert image.exists()
        assert Image.open(image).size == (FIGURE_SIZE[0] * FIGURE_DPI, FIGURE_SIZE[1] * FIGURE_DPI)
        outcome = "success" if record["success"] else "failure"
        section = text.split(f"### {record['episode_id']}\n", 1)[1].split("\n### ", 1)[0]
        assert f"instruction: \"{record['instruction']}\"" in section
        assert f"outcome: **{outcome}**" in section
        assert f"]({image.relative_to(out).as_posix()})" in section
        conditions = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in record["success_conditions"].items())
        assert f"final sub-conditions: {conditions}" in section
    assert all(f"**{code}**" in text for code in FLAG_HELP)  # every flag is explained
    if policy == "oracle":
        assert all(r["success"] for r in records)


@pytest.mark.slow
def test_audit_samples_per_task_and_defaults_to_run_dir_audit(runs, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(runs["oracle"], run_dir)
    assert main(["audit", str(run_dir), "--per-task", "1"]) == 0
    images = sorted(p.parent.name for p in (run_dir / "audit" / "images").rglob("*.png"))
    assert images == ["CloseDrawer", "PickUp"]  # one success per task, and these runs have no failures


def test_a_run_without_videos_is_a_one_line_error(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "episodes.jsonl").write_text("")
    assert main(["audit", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--record-video K" in err
    (run_dir / "videos" / "PickUp").mkdir(parents=True)
    (run_dir / "videos" / "PickUp" / "x.mp4").write_bytes(b"")
    assert main(["audit", str(run_dir)]) == 2  # videos from before traces existed
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no step traces" in err and "--record-video K" in err
    assert main(["audit", str(tmp_path / "missing")]) == 2
    assert not (run_dir / "audit").exists()


# ------------------------------------------------------------------ flags on hand-made traces
def _trace(conditions, success_from=None, progress=None):
    """One trace entry per item of `conditions` (a dict name -> bool each step); `is_success`
    from step `success_from` on; progress 1 where every condition holds unless given."""
    steps = []
    for step, held in enumerate(conditions):
        steps.append({"step": step, "success_conditions": dict(held),
                      "is_success": success_from is not None and step >= success_from,
                      "progress": progress[step] if progress else float(all(held.values()))})
    return steps


def _codes(flags):
    return [f.code for f in flags]


def test_a_clean_success_has_no_flags():
    held = [{"grasped": s >= 10, "lifted": s >= 14} for s in range(17)]
    assert episode_flags(_trace(held, success_from=16), success=True) == []


def test_a_success_while_a_condition_flickers_is_flagged():
    inside = [False] * 10 + [True, False, True, True, True]  # in, out, in: an object rolling through
    steps = _trace([{"in_region": v, "on_table": True} for v in inside], success_from=14)
    flags = episode_flags(steps, success=True)
    assert _codes(flags) == ["FLICKER"]
    assert "`in_region`" in flags[0].detail and "10, 11, 12" in flags[0].detail and "false at" in flags[0].detail
    early = [False, True, False, True] + [True] * 20  # the flicker long before the end is no flag
    assert episode_flags(_trace([{"in_region": v} for v in early], success_from=23), success=True) == []


def test_a_failure_whose_conditions_all_held_is_a_near_miss():
    undone = [{"grasped": 5 <= s <= 8, "lifted": 6 <= s <= 7} for s in range(20)]  # held 2 steps, then dropped
    flags = episode_flags(_trace(undone), success=False)
    assert _codes(flags) == ["NEAR_MISS"]
    assert "steps 6-7 (2 steps)" in flags[0].detail
    assert "`lifted` became false at step 8" in flags[0].detail
    at_end = [{"closed": s >= 58} for s in range(61)]  # ran out of time while holding
    flags = episode_flags(_trace(at_end), success=False)
    assert _codes(flags) == ["NEAR_MISS"] and "held at the end" in flags[0].detail
    never = [{"grasped": s > 3, "lifted": False} for s in range(20)]
    assert episode_flags(_trace(never), success=False) == []


def test_success_with_progress_below_one_solved_at_reset_and_errors_are_flagged():
    held = [{"closed": True}] * 4
    assert _codes(episode_flags(_trace(held, success_from=1), success=True)) == ["SOLVED_AT_RESET"]
    held_from_reset = episode_flags(_trace(held, success_from=3), success=True)  # manipulation's 3-step hold
    assert _codes(held_from_reset) == ["SOLVED_AT_RESET"] and "reset state" in held_from_reset[0].detail
    late = [{"closed": s >= 5} for s in range(8)]
    low = episode_flags(_trace(late, success_from=7, progress=[0.0] * 7 + [0.6]), success=True)
    assert _codes(low) == ["PROGRESS_BELOW_ONE"] and "0.60" in low[0].detail
    disagree = _trace([{"near": s >= 2, "stopped": False} for s in range(6)], success_from=5, progress=[1.0] * 6)
    assert _codes(episode_flags(disagree, success=True)) == ["CONDITIONS_FALSE_AT_SUCCESS"]
    broken = episode_flags(_trace([{"closed": False}] * 3), success=False, error="policy raised ValueError: boom")
    assert _codes(broken) == ["ERROR"] and "boom" in broken[0].detail
    assert _codes(episode_flags([], success=False, error="environment could not be built")) == ["ERROR"]
