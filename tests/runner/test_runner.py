"""vla-bench run: files with their exact columns, determinism across workers, resume, faults."""
import json
from pathlib import Path

import pytest

from vla_bench.cli import main
from vla_bench.errors import UsageError
from vla_bench.metrics import SUMMARY_COLUMNS
from vla_bench.results import EPISODES_FILE, read_episodes, read_run_info, read_summary
from vla_bench.runner.episode import RECORD_FIELDS, TIMING_FIELDS
from vla_bench.runner.runner import RunConfig, run

POLICIES = Path(__file__).with_name("policies.py")
TIMING = set(TIMING_FIELDS)  # differ from run to run


def _run(tmp_path, name, **kwargs):
    defaults = dict(split="train", tasks=("PickUp", "OpenDrawer"), episodes_per_task=2, workers=1,
                    out=tmp_path / name, progress=False)
    return run(RunConfig(**{**defaults, **kwargs}))


def _comparable(run_dir):
    return sorted(({k: v for k, v in r.items() if k not in TIMING} for r in read_episodes(run_dir)),
                  key=lambda r: r["episode_id"])


def test_run_writes_every_file_with_the_contract_columns(tmp_path):
    run_dir = _run(tmp_path, "oracle", policy="oracle", record_video=1)
    records = read_episodes(run_dir)
    assert len(records) == 4
    assert list(records[0])[: len(RECORD_FIELDS)] == list(RECORD_FIELDS)
    rows = read_summary(run_dir)
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    assert [r["task"] for r in rows] == ["PickUp", "OpenDrawer", "ALL"]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["manifest_hash"] and info["suite_version"] and info["ended"] and info["packages"]["mujoco"]
    assert len(list((run_dir / "videos").rglob("*.mp4"))) == 2
    assert all(r["success"] for r in records), records


def test_run_json_records_the_provenance_a_result_needs(tmp_path):
    run_dir = _run(tmp_path, "bcz", policy="bcz", tasks=("PickUp",), episodes_per_task=1, workers=4)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["git_commit"] is None or len(info["git_commit"].split("+")[0]) == 40
    assert info["packages"]["torch"] and info["gl_backend"] in ("egl", "osmesa")
    assert info["checkpoint"]["path"].endswith("bcz.safetensors") and len(info["checkpoint"]["sha256"]) == 64
    assert info["machine"]["cores"] >= 1 and info["machine"]["cpu"]
    assert info["config"]["workers"] == 1  # the processes that ran: one episode needs one, whatever was asked


def test_videos_play_at_the_episodes_control_rate(tmp_path):
    import imageio.v2 as imageio

    run_dir = _run(tmp_path, "videos", policy="random", tasks=("PickUp", "GoToObject"), episodes_per_task=1,
                   record_video=1)
    rates = {}
    for record in read_episodes(run_dir):
        video = next((run_dir / "videos" / record["task"]).glob("*.mp4"))
        rates[record["task"]] = imageio.get_reader(video).get_meta_data()["fps"]
        assert rates[record["task"]] == pytest.approx(record["steps"] / record["sim_seconds"], rel=0.05)
    assert rates["PickUp"] == pytest.approx(10, rel=0.05) and rates["GoToObject"] < 5  # a move takes 0.3-1.2 s


def test_the_closing_line_names_the_most_common_error(tmp_path, capsys):
    code = main(["run", "--policy", f"{POLICIES}:WrongShape", "--split", "train", "--tasks", "PickUp",
                 "--episodes-per-task", "2", "--workers", "1", "--out", str(tmp_path / "errors"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "errors: 2 episodes; most common (2x): act returned an array of shape (3,)" in out
    assert "episodes.jsonl (field 'error')" in out


def test_results_do_not_depend_on_the_number_of_workers(tmp_path):
    one = _run(tmp_path, "one", policy="random", workers=1)
    two = _run(tmp_path, "two", policy="random", workers=2)
    again = _run(tmp_path, "again", policy="random", workers=2)
    assert _comparable(one) == _comparable(two) == _comparable(again)


def test_batched_inference_gives_what_act_gives(tmp_path):
    single = _run(tmp_path, "single", policy=f"{POLICIES}:Greedy", workers=2)
    batched = _run(tmp_path, "batched", policy=f"{POLICIES}:BatchedGreedy", workers=2)
    assert _comparable(single) == _comparable(batched)


def test_an_interrupted_run_resumes_without_repeats_or_losses(tmp_path):
    full = _run(tmp_path, "full", policy="random")
    partial_dir = tmp_path / "partial"
    _run(tmp_path, "partial", policy="random")
    lines = (partial_dir / EPISODES_FILE).read_text().splitlines()
    (partial_dir / EPISODES_FILE).write_text("\n".join(lines[:2]) + "\n" + lines[2][:25])  # killed mid-write
    with pytest.raises(ValueError, match="--resume"):
        _run(tmp_path, "partial", policy="random")
    _run(tmp_path, "partial", policy="random", resume=True)
    resumed = _comparable(partial_dir)
    assert [r["episode_id"] for r in resumed] == sorted({r["episode_id"] for r in resumed})
    assert resumed == _comparable(full)


@pytest.mark.parametrize("policy, message", [
    ("Raises", "policy raised RuntimeError: model exploded"),
    ("ReturnsNaN", "non-finite"),
    ("WrongShape", "act returned an array of shape (3,) and dtype float64 [0.0, 0.0, 0.0]; manipulation expects "
                   "shape (7,) in [-1, 1]"),
    ("WrongType", "act returned str 'forward'; manipulation expects shape (7,)"),
])
def test_a_faulty_policy_is_recorded_per_episode_and_the_run_goes_on(tmp_path, policy, message):
    run_dir = _run(tmp_path, policy, policy=f"{POLICIES}:{policy}")
    records = read_episodes(run_dir)
    assert len(records) == 4
    assert all(message in r["error"] and not r["success"] for r in records)
    assert read_summary(run_dir)[-1]["errors"] == "4"


def test_a_hanging_policy_times_out_per_episode(tmp_path):
    run_dir = _run(tmp_path, "hangs", policy=f"{POLICIES}:Hangs", tasks=("PickUp",), step_timeout=1.0)
    records = read_episodes(run_dir)
    assert len(records) == 2
    assert all("exceeded --step-timeout of 1s" in r["error"] for r in records)


def test_bad_names_exit_nonzero_listing_valid_ones(capsys, tmp_path):
    assert main(["run", "--policy", "nope", "--split", "train", "--out", str(tmp_path / "x")]) == 2
    assert "valid names: random, oracle" in capsys.readouterr().err
    assert main(["run", "--policy", "random", "--split", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "valid splits: train, novel_objects" in capsys.readouterr().err
    assert main(["run", "--policy", "random", "--split", "train", "--tasks", "Juggle", "--out", str(tmp_path / "x")]) == 2
    assert "valid tasks:" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # a refused command leaves no empty run folder behind


def test_an_out_folder_under_a_file_is_refused_and_nothing_is_made(capsys, tmp_path):
    (tmp_path / "notes").write_text("a file")
    out = tmp_path / "notes" / "run"
    assert main(["run", "--policy", "random", "--split", "train", "--out", str(out)]) == 2
    assert f"cannot write into --out {out}" in capsys.readouterr().err
    assert (tmp_path / "notes").read_text() == "a file"


@pytest.mark.parametrize("policy, message", [("NeedsDepth", "point_cloud"), ("Navigates", "'discrete' mode")])
def test_a_policy_that_does_not_fit_the_tasks_is_refused_before_running(tmp_path, policy, message):
    with pytest.raises(ValueError, match=message):
        _run(tmp_path, policy, policy=f"{POLICIES}:{policy}")
    assert not (tmp_path / policy / EPISODES_FILE).exists()


def test_leaderboard_and_report(tmp_path, capsys):
    oracle = _run(tmp_path, "oracle", policy="oracle", tasks=("PickUp",))
    rand = _run(tmp_path, "random", policy="random", tasks=("PickUp",))
    board = tmp_path / "leaderboard.csv"
    assert main(["leaderboard", str(oracle), str(rand), "-o", str(board)]) == 0
    lines = board.read_text().splitlines()
    assert lines[0].startswith("policy,split,episodes,success_rate")
    assert lines[1].startswith("oracle,train") and lines[2].startswith("random,train")
    assert main(["report", str(oracle), str(rand), "-o", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "success_by_split.png" in report and (tmp_path / "report" / "task_split_heatmap.png").stat().st_size > 0


def test_batched_faults_are_per_episode(tmp_path):
    run_dir = _run(tmp_path, "batched_raises", policy=f"{POLICIES}:BatchedRaisesOnOne", workers=2)
    records = {r["episode_id"]: r for r in read_episodes(run_dir)}
    failed = sorted(i for i, r in records.items() if r["error"])
    assert failed == ["train/OpenDrawer/001", "train/PickUp/001"], failed
    assert all("ValueError: bad episode" in records[i]["error"] for i in failed)


def test_a_hanging_batched_policy_times_out_and_the_run_ends(tmp_path):
    import time
    start = time.monotonic()
    run_dir = _run(tmp_path, "batched_hangs", policy=f"{POLICIES}:BatchedHangs", tasks=("PickUp",), step_timeout=1.0)
    assert all("exceeded --step-timeout of 1s" in r["error"] for r in read_episodes(run_dir))
    assert time.monotonic() - start < 120


@pytest.mark.parametrize("policy", ["ResetRaises", "BatchedResetRaises"])
def test_a_policy_whose_reset_raises_fails_each_episode(tmp_path, policy):
    run_dir = _run(tmp_path, policy, policy=f"{POLICIES}:{policy}", tasks=("PickUp",))
    records = read_episodes(run_dir)
    assert len(records) == 2 and all("policy reset raised KeyError" in r["error"] for r in records)


def test_resume_refuses_other_settings(tmp_path):
    _run(tmp_path, "r", policy="random", tasks=("PickUp",), episodes_per_task=1)
    with pytest.raises(ValueError, match="different settings"):
        _run(tmp_path, "r", policy="random", tasks=("PickUp",), episodes_per_task=1, supervisor=False, resume=True)
    records = read_episodes(tmp_path / "r")
    records[0]["instruction"] = "an episode the split no longer holds"
    (tmp_path / "r" / EPISODES_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    info["manifest_hash"] = "0" * 64
    (tmp_path / "r" / "run.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="episodes changed"):
        _run(tmp_path, "r", policy="random", tasks=("PickUp",), episodes_per_task=1, resume=True)


def test_a_run_resumes_onto_a_manifest_that_only_gained_episodes(tmp_path):
    """A split that gains a task family keeps its old episodes: --resume runs only the new ones."""
    run_dir = _run(tmp_path, "r", policy="random", tasks=(), episodes_per_task=1)
    info = json.loads((run_dir / "run.json").read_text())
    info["manifest_hash"] = "0" * 64  # the run began on an older manifest
    (run_dir / "run.json").write_text(json.dumps(info))
    records = read_episodes(run_dir)
    (run_dir / EPISODES_FILE).write_text("".join(json.dumps(r) + "\n" for r in records if r["task"] != "GoToObject"))
    _run(tmp_path, "r", policy="random", tasks=(), episodes_per_task=1, resume=True)
    resumed = read_episodes(run_dir)
    assert sorted(r["episode_id"] for r in resumed) == sorted(r["episode_id"] for r in records)
    assert json.loads((run_dir / "run.json").read_text())["manifest_hash"] != "0" * 64


def test_one_run_holds_manipulation_and_navigation_tasks(tmp_path):
    run_dir = _run(tmp_path, "mixed", policy="oracle", split="novel_environments", tasks=("PickUp", "GoToRelation"))
    records = read_episodes(run_dir)
    assert {r["task"] for r in records} == {"PickUp", "GoToRelation"} and all(r["success"] for r in records)
    assert all(r["spl"] > 0.5 for r in records if r["task"] == "GoToRelation")


def test_a_policy_is_run_on_the_tasks_it_fits_when_none_are_named(tmp_path):
    """A manipulation-only policy on a split that also holds navigation leaves navigation out."""
    run_dir = _run(tmp_path, "manip", policy=f"{POLICIES}:NeedsWrist", tasks=(), episodes_per_task=1)
    tasks = {r["task"] for r in read_episodes(run_dir)}
    assert tasks == set(__import__("vla_bench").list_tasks(domain="manipulation", builtin_only=True))
    assert json.loads((run_dir / "run.json").read_text())["tasks_left_out"] == ["GoToObject", "GoToRelation",
                                                                                "MultiStepGoTo"]
    with pytest.raises(ValueError, match="does not provide"):
        _run(tmp_path, "named", policy=f"{POLICIES}:NeedsWrist", tasks=("GoToObject",), episodes_per_task=1)


def test_leaderboard_refuses_two_runs_of_one_policy_and_split(tmp_path, capsys):
    a = _run(tmp_path, "a", policy="random", tasks=("PickUp",), episodes_per_task=1)
    b = _run(tmp_path, "b", policy="random", tasks=("PickUp",), episodes_per_task=1)
    assert main(["leaderboard", str(a), str(b), "-o", str(tmp_path / "l.csv")]) == 2
    err = capsys.readouterr().err
    assert "two runs of random on train" in err and "vla-bench run --name" in err


def test_name_tells_two_runs_of_one_policy_apart(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("random-a", "random-b"):
        assert main(["run", "--policy", "random", "--split", "train", "--tasks", "PickUp", "--episodes-per-task", "1",
                     "--workers", "1", "--no-progress", "--name", name]) == 0
    assert {r["policy"] for r in read_episodes(tmp_path / "runs" / "random-a-train")} == {"random-a"}
    assert main(["leaderboard", "-o", "l.csv"]) == 0  # every run under runs/
    assert "random-a" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["run", "--policy", "random", "--split", "train", "--name", "../escape"])
    assert "use up to 64 letters" in capsys.readouterr().err


def test_records_carry_the_policy_process_resources_and_run_json_its_parameters(tmp_path):
    import numpy as np

    from vla_bench.runner.resources import peak_resident_mb

    ballast = np.ones(600 * 2**20 // 8)  # this process peaks 600 MB higher: a spawned worker must not inherit it
    del ballast
    local = _run(tmp_path, "greedy", policy=f"{POLICIES}:Greedy", tasks=("PickUp",), episodes_per_task=1)
    batched = _run(tmp_path, "rt1", policy="rt1", tasks=("PickUp",), episodes_per_task=1)
    (greedy,), (learned,) = read_episodes(local), read_episodes(batched)
    assert 50 < greedy["policy_peak_rss_mb"] < peak_resident_mb() - 400 and greedy["policy_gpu_mb"] == 0.0
    assert learned["policy_peak_rss_mb"] > greedy["policy_peak_rss_mb"]  # batched: this process's peak
    assert json.loads((local / "run.json").read_text())["policy_parameters"] is None
    assert json.loads((batched / "run.json").read_text())["policy_parameters"] > 1_000_000
    assert greedy["energy"] > 0 and greedy["jerk"] > 0


def test_numeric_options_are_checked(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--policy", "random", "--split", "train", "--workers", "-1"])
    assert "must be at least 0" in capsys.readouterr().err


def test_a_disturbed_run_pairs_with_the_train_run_beside_it_for_the_recovery_rate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = dict(policy="oracle", tasks=("PickUp",), episodes_per_task=2, workers=1, progress=False)
    alone = run(RunConfig(split="novel_disturbances", out=tmp_path / "elsewhere", **common))
    assert read_summary(alone)[-1]["recovery_rate"] == ""  # no train run to pair with
    run(RunConfig(split="train", **common))
    disturbed = run(RunConfig(split="novel_disturbances", **common))
    assert disturbed == Path("runs/oracle-novel_disturbances")
    overall = read_summary(disturbed)[-1]
    assert float(overall["recovery_episodes"]) == 2 and float(overall["recovery_rate"]) == 1.0
    assert float(overall["disturbance_fired"]) > 0
    assert json.loads((disturbed / "run.json").read_text())["recovery_twin_run"] == str(tmp_path / "runs/oracle-train")
    with pytest.raises(UsageError, match="holds no episodes.jsonl"):
        run(RunConfig(split="novel_disturbances", out=tmp_path / "typo", twin_run=tmp_path / "runs/oracle-trian",
                      **common))
    assert all(r["disturbance"] is None or r["disturbance"]["step"] >= 1 for r in read_episodes(disturbed))


@pytest.mark.parametrize("record_video, extra", [(0, []), (1, ["rgb"])])
def test_the_envs_render_only_what_the_policy_and_the_runner_read(tmp_path, record_video, extra):
    """A policy that declares its observations gets those, plus the proprio and the instruction
    the runner reads, plus the front camera where episodes are recorded; nothing else is rendered."""
    log = tmp_path / "keys.jsonl"
    run_dir = _run(tmp_path, "keys", policy=f"{POLICIES}:LogsObservationKeys", tasks=("PickUp",),
                   episodes_per_task=1, policy_args={"log": str(log)}, record_video=record_video)
    seen = {tuple(json.loads(line)) for line in log.read_text().splitlines()}
    assert seen == {tuple(sorted(["instruction", "proprio", "wrist_rgb", *extra]))}
    assert read_run_info(run_dir)["observations"] == {"manipulation": ["wrist_rgb", "instruction", "proprio", *extra]}


def test_records_split_the_envs_time_into_scene_builds_moves_and_observations(tmp_path):
    """Each record says how much of its wall time the env spent building the scene, moving the
    world and observing it; observing includes rendering, so a policy that reads a camera pays it
    and the oracle, which reads none, does not."""
    blind = _run(tmp_path, "oracle", policy="oracle", tasks=("PickUp",), episodes_per_task=1)
    seeing = _run(tmp_path, "camera", policy=f"{POLICIES}:LogsObservationKeys", tasks=("PickUp",),
                  episodes_per_task=1, policy_args={"log": str(tmp_path / "keys.jsonl")})
    (oracle,), (camera,) = read_episodes(blind), read_episodes(seeing)
    for record in (oracle, camera):
        parts = record["env_reset_s"], record["env_step_s"], record["env_observation_s"]
        assert min(parts) > 0 and sum(parts) < record["wall_s"]
    per_step = {r["policy"]: r["env_observation_s"] / r["steps"] for r in (oracle, camera)}
    assert per_step["logs_observation_keys"] > 10 * per_step["oracle"]
