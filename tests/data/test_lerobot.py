"""Collected demonstrations round-trip through the loader exactly as the environment produced them."""
import json

import gymnasium as gym
import numpy as np
import pyarrow.parquet as pq

from vla_bench.cli import main
from vla_bench.data.collect import record_demonstration
from vla_bench.data.lerobot import LeRobotDataset, LeRobotWriter
from vla_bench.splits import load_manifest


def test_demonstrations_round_trip(tmp_path):
    manifest = load_manifest("train")
    env = gym.make("vla_bench/PickUp-v0")
    demos = [record_demonstration(env, e) for e in manifest.for_task("PickUp")[:2]]
    writer = LeRobotWriter(tmp_path / "ds", fps=10)
    for demo in demos:
        writer.add(demo)
    writer.close()

    dataset = LeRobotDataset(tmp_path / "ds")
    assert len(dataset) == 2 and dataset.info["total_frames"] == sum(len(d) for d in demos)
    for demo, loaded in zip(demos, dataset):
        assert loaded.instruction == demo.instruction and loaded.success == demo.success
        assert np.array_equal(loaded.action, demo.action.astype(np.float32))
        assert np.array_equal(loaded.state, demo.state)
        for key, frames in demo.images.items():
            assert np.array_equal(loaded.images[key], frames)  # PNG is lossless
    # what the environment produced: replaying the episode gives the stored observations
    # (with the expert's float64 actions; the file stores them as float32, as LeRobot does)
    obs, _ = env.reset(options={"episode": manifest.for_task("PickUp")[0]})
    first = dataset.episode(0)
    for t in range(len(first)):
        assert np.array_equal(obs["rgb"], first.images["observation.images.front"][t])
        assert np.array_equal(obs["wrist_rgb"], first.images["observation.images.wrist"][t])
        assert np.array_equal(obs["proprio"], first.state[t])
        obs, *_ = env.step(demos[0].action[t])


def test_collect_command_writes_the_lerobot_layout(tmp_path, capsys):
    out = tmp_path / "demos"
    assert main(["collect", "--split", "train", "--tasks", "PickUp,OpenDrawer", "--episodes-per-task", "1",
                 "--out", str(out)]) == 0
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v2.1" and info["total_episodes"] == 2 and info["fps"] == 10
    assert {"observation.images.front", "observation.images.wrist", "observation.state", "action"} <= set(info["features"])
    table = pq.read_table(out / "data" / "chunk-000" / "episode_000001.parquet")
    assert table.num_rows == info["total_frames"] - pq.read_table(out / "data/chunk-000/episode_000000.parquet").num_rows
    assert len((out / "meta" / "tasks.jsonl").read_text().splitlines()) == 2
    assert main(["collect", "--split", "train", "--tasks", "PickUp", "--episodes-per-task", "1", "--out", str(out)]) == 2


def test_the_meta_files_lerobot_v21_reads_are_there(tmp_path):
    env = gym.make("vla_bench/OpenDrawer-v0")
    demo = record_demonstration(env, load_manifest("train").for_task("OpenDrawer")[0])
    writer = LeRobotWriter(tmp_path / "ds", fps=10)
    writer.add(demo)
    writer.close()
    meta = tmp_path / "ds" / "meta"
    for name in ("info.json", "tasks.jsonl", "episodes.jsonl", "episodes_stats.jsonl"):
        assert (meta / name).exists(), name
    (stats,) = [json.loads(line) for line in (meta / "episodes_stats.jsonl").read_text().splitlines()]
    action = stats["stats"]["action"]
    assert np.allclose(action["mean"], demo.action.mean(axis=0)) and action["count"] == [len(demo)]
    image = stats["stats"]["observation.images.front"]
    assert np.array(image["mean"]).shape == (3, 1, 1) and 0 <= np.min(image["min"]) <= np.max(image["max"]) <= 1


def test_parallel_noisy_collection_is_the_same_for_any_worker_count(tmp_path):
    """Fresh episodes (--seed) with DART noise, recorded by 1 or 2 processes, give one dataset."""
    from vla_bench.data.collect import collect

    datasets = [LeRobotDataset(collect("train", tmp_path / f"w{w}", episodes_per_task=2, tasks=["PickUp"], seed=3,
                                       workers=w, action_noise=0.2, only_successful=False, progress=False))
                for w in (1, 2)]
    assert len(datasets[0]) == len(datasets[1]) == 2
    for a, b in zip(*datasets):
        assert a.instruction == b.instruction and np.array_equal(a.action, b.action)
        assert all(np.array_equal(a.images[k], b.images[k]) for k in a.images)
    clean = LeRobotDataset(collect("train", tmp_path / "clean", episodes_per_task=1, tasks=["PickUp"], seed=3,
                                   only_successful=False, progress=False))
    assert not np.array_equal(clean.episode(0).state[:10], datasets[0].episode(0).state[:10])  # the noise moved the hand
