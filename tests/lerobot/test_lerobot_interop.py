"""LeRobot itself, not a mock: LeRobot's LeRobotDataset reads what the suite collects, LeRobot's
training script trains ACT on it, and `--policy lerobot:DIR` evaluates that checkpoint.

LeRobot 0.4.4 pins PyTorch below 2.11, so these tests run it in a virtual environment of its own,
built by scripts/lerobot_env.sh and kept between runs at $VLA_BENCH_LEROBOT_VENV (default
~/.cache/vla-bench/lerobot-0.4.4): the first run downloads about 3 GB, later runs only point it at
this checkout.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from vla_bench.data.collect import SCHEMAS, collect, record_demonstration
from vla_bench.data.lerobot import LeRobotWriter
from vla_bench.splits import committed_seeds, generate_manifest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
OFFLINE = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "disabled"}


@pytest.fixture(scope="module")
def lerobot_bin() -> Path:
    venv = Path(os.environ.get("VLA_BENCH_LEROBOT_VENV", Path.home() / ".cache" / "vla-bench" / "lerobot-0.4.4"))
    subprocess.run(["bash", "scripts/lerobot_env.sh", str(venv)], cwd=REPO, check=True, timeout=1800)
    return venv / "bin"


def _demonstrations(task: str, count: int):
    env = gym.make(f"vla_bench/{task}-v0")
    episodes = generate_manifest("train", count, seed=7, tasks=[task], exclude_seeds=committed_seeds()).episodes
    return [record_demonstration(env, e) for e in episodes], env.unwrapped.metadata["render_fps"]


def _write(root: Path, domain: str, demos, fps: int, video: bool) -> None:
    schema = SCHEMAS[domain]
    writer = LeRobotWriter(root, fps=fps, robot_type=schema.robot_type, state_names=schema.state_names,
                           action_names=schema.action_names, video=video)
    for demo in demos:
        writer.add(demo)
    writer.close()


def _read_with_lerobot(lerobot_bin: Path, root: Path, tmp_path: Path) -> dict:
    out = tmp_path / f"{root.name}.npz"
    subprocess.run([lerobot_bin / "python", REPO / "tests" / "lerobot" / "read_with_lerobot.py", root, out],
                   check=True, env=OFFLINE, timeout=600)
    return dict(np.load(out))


@pytest.mark.parametrize("video", [True, False], ids=["video", "lossless"])
@pytest.mark.parametrize("task, domain", [("PickUp", "manipulation"), ("GoToObject", "navigation")])
def test_lerobots_dataset_class_reads_what_the_environment_produced(lerobot_bin, tmp_path, task, domain, video):
    demos, fps = _demonstrations(task, 2)
    _write(tmp_path / "ds", domain, demos, fps, video)
    seen = _read_with_lerobot(lerobot_bin, tmp_path / "ds", tmp_path)

    assert int(seen["total_episodes"]) == 2 and int(seen["fps"]) == fps
    assert list(seen["task"]) == [d.instruction for d in demos for _ in range(len(d))]
    assert np.array_equal(seen["episode_index"], np.repeat([0, 1], [len(d) for d in demos]))
    assert np.array_equal(seen["frame_index"], np.concatenate([np.arange(len(d)) for d in demos]))
    assert np.allclose(seen["timestamp"], seen["frame_index"] / fps)
    assert np.array_equal(seen["observation.state"], np.concatenate([d.state for d in demos]).astype(np.float32))
    actions = np.concatenate([d.action for d in demos]).astype(np.float32)
    assert np.array_equal(seen["action"].reshape(len(actions), -1), actions)
    assert seen["next.done"].sum() == 2
    for key in demos[0].images:
        rendered = np.concatenate([d.images[key] for d in demos]).astype(float)
        error = np.abs(seen[key].astype(float) - rendered).mean(axis=(1, 2, 3))
        if video:  # AV1 through LeRobot's own decoder, each frame at its timestamp
            assert error.max() < 4.0, key
        else:
            assert error.max() < 0.5, key  # PNG is exact; LeRobot's float round trip can move a level


@pytest.mark.parametrize("domain, tasks", [("manipulation", "PickUp,OpenDrawer"), ("navigation", "GoToObject")])
def test_lerobot_trains_act_on_collected_data_and_the_suite_evaluates_the_checkpoint(lerobot_bin, tmp_path, domain,
                                                                                      tasks):
    """`vla-bench collect` -> LeRobot's lerobot-train (a small ACT, CPU, a local root, no Hub) ->
    `vla-bench run --policy lerobot:DIR` in the same environment, in both domains."""
    collect("train", tmp_path / "demos", episodes_per_task=2, tasks=tasks.split(","), seed=7, workers=2,
            progress=False)
    trained = subprocess.run(
        [lerobot_bin / "lerobot-train", "--dataset.repo_id=local/vla-bench", f"--dataset.root={tmp_path / 'demos' / domain}",
         "--dataset.video_backend=pyav", "--policy.type=act", "--policy.device=cpu", "--policy.push_to_hub=false",
         "--policy.pretrained_backbone_weights=null", "--policy.dim_model=64", "--policy.n_heads=2",
         "--policy.dim_feedforward=128", "--policy.n_encoder_layers=1", "--policy.n_decoder_layers=1",
         "--policy.chunk_size=10", "--policy.n_action_steps=10", "--steps=40", "--batch_size=8", "--num_workers=0",
         "--log_freq=10", "--save_freq=40", f"--output_dir={tmp_path / 'act'}", "--wandb.enable=false", "--seed=1"],
        capture_output=True, text=True, env=OFFLINE, timeout=900)
    assert trained.returncode == 0, trained.stderr[-3000:]
    losses = [float(x) for x in re.findall(r"step:\d+ .*?loss:([\d.]+)", trained.stdout + trained.stderr)]
    assert len(losses) == 4 and losses[-1] < losses[0], losses
    checkpoint = tmp_path / "act" / "checkpoints" / "last" / "pretrained_model"
    assert (checkpoint / "config.json").exists()

    evaluated = subprocess.run(
        [lerobot_bin / "vla-bench", "run", "--policy", f"lerobot:{checkpoint}", "--split", "train", "--tasks", tasks,
         "--episodes-per-task", "2", "--workers", "2", "--out", tmp_path / "run", "--no-progress"],
        capture_output=True, text=True, env=OFFLINE, timeout=900)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 2 * len(tasks.split(",")) and all(r["error"] == "" for r in records)
    assert all(r["policy"] == "lerobot-act" and r["steps"] > 0 for r in records)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["checkpoint"]["path"].endswith("model.safetensors") and run["policy_parameters"] > 0

    # one model serving both episodes at once (the GPU path) acts as each episode's own
    # select_action does, across a chunk's end (10 actions) and with ACT's temporal ensemble
    served = subprocess.run([lerobot_bin / "python", REPO / "tests" / "lerobot" / "batched_like_select_action.py",
                             checkpoint, tasks.split(",")[0], tmp_path, "14"],
                            capture_output=True, text=True, env=OFFLINE, timeout=600)
    assert served.returncode == 0, served.stderr[-3000:]
    differences = json.loads(served.stdout.strip().splitlines()[-1])
    assert set(differences) == {"queue", "ensemble"} and max(differences.values()) < 1e-4, differences
