"""Collected demonstrations round-trip through the loader as the environment produced them: exactly
with PNG frames, within the codec's error and in their place with video; v2.1 datasets still load."""
import json
import os
import signal
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from vla_bench.cli import main
from vla_bench.data.actions import MOVES, move_indices
from vla_bench.data.cameras import depth_image
from vla_bench.data.collect import SCHEMAS, DemonstrationExecutor, collect, record_demonstration
from vla_bench.data.lerobot import LeRobotDataset, LeRobotWriter
from vla_bench.data.lerobot import writer as layout
from vla_bench.splits import SPLITS, committed_seeds, generate_manifest, load_manifest

V21_FIXTURE = Path(__file__).parent / "fixtures" / "lerobot_v21"


def _written(root, demos, domain="manipulation", fps=10, video=False):
    """`demos` written to a dataset at `root` by LeRobotWriter, read back by LeRobotDataset."""
    schema = SCHEMAS[domain]
    writer = LeRobotWriter(root, fps=fps, robot_type=schema.robot_type, state_names=schema.state_names,
                           action_names=schema.action_names, video=video, keypoint_names=schema.keypoint_names)
    for demo in demos:
        writer.add(demo)
    writer.close()
    return LeRobotDataset(root)


def test_demonstrations_round_trip(tmp_path):
    manifest = load_manifest("train")
    env = gym.make("vla_bench/PickUp-v0")
    demos = [record_demonstration(env, e) for e in manifest.for_task("PickUp")[:2]]
    dataset = _written(tmp_path / "ds", demos)
    assert len(dataset) == 2 and dataset.info["total_frames"] == sum(len(d) for d in demos)
    for demo, loaded in zip(demos, dataset):
        assert loaded.instruction == demo.instruction and loaded.success == demo.success
        assert np.array_equal(loaded.action, demo.action.astype(np.float32))
        assert np.array_equal(loaded.state, demo.state)
        for key, frames in demo.images.items():
            assert np.array_equal(loaded.images[key], frames)  # PNG is lossless
        assert loaded.keypoints.shape == (len(demo), 6) and np.array_equal(loaded.keypoints, demo.keypoints)
    # what the environment produced: replaying the episode gives the stored observations
    # (with the expert's float64 actions; the file stores them as float32, as LeRobot does)
    obs, _ = env.reset(options={"episode": manifest.for_task("PickUp")[0]})
    first = dataset.episode(0)
    for t in range(len(first)):
        assert np.array_equal(obs["rgb"], first.images["observation.images.front"][t])
        assert np.array_equal(obs["wrist_rgb"], first.images["observation.images.wrist"][t])
        assert np.array_equal(obs["proprio"], first.state[t])
        assert np.array_equal(env.unwrapped.keypoint_offsets(), first.keypoints[t])
        obs, *_ = env.step(demos[0].action[t])
    # the grasp point starts where the hand is not, and the hand has reached it by the end
    assert np.linalg.norm(first.keypoints[0, :3]) > 0.05 > np.linalg.norm(first.keypoints[-1, :3])


def test_navigation_demonstrations_round_trip(tmp_path):
    """The geodesic oracle's episodes: colour and depth frames, odometry, discrete moves."""
    episode = generate_manifest("train", 1, seed=9, tasks=["GoToObject"]).episodes[0]
    env = gym.make("vla_bench/GoToObject-v0")
    demo = record_demonstration(env, episode)
    loaded = _written(tmp_path / "nav", [demo], "navigation", fps=1).episode(0)
    assert loaded.success and loaded.action.shape == (len(demo), 4) and loaded.state.shape == (len(demo), 4)
    assert loaded.keypoints.shape == (len(demo), 6) and np.array_equal(loaded.keypoints, demo.keypoints)
    assert np.array_equal(loaded.action.sum(axis=1), np.ones(len(demo)))  # one-hot over the moves
    moves = move_indices(loaded.action)
    assert moves.shape == (len(demo), 1) and moves[-1, 0] == MOVES.index("stop") and set(moves[:, 0]) > {0, 1}
    obs, _ = env.reset(options={"episode": episode})
    for t in range(len(loaded)):
        assert np.array_equal(obs["rgb"], loaded.images["observation.images.front"][t])
        assert np.array_equal(depth_image(obs["depth"]), loaded.images["observation.images.depth"][t])
        assert np.array_equal(obs["proprio"], loaded.state[t])
        assert np.array_equal(env.unwrapped.keypoint_offsets(), loaded.keypoints[t])
        obs, *_ = env.step(int(moves[t, 0]))
    assert np.array_equal(move_indices(moves), moves)  # an index (v2.1 datasets) passes through
    # the goal's centre ends within the success distance of its footprint (single goal: both rows alike)
    reach = 1.0 + np.hypot(*env.unwrapped.goals[-1].half_extents)
    goal = np.linalg.norm(loaded.keypoints[:, :2], axis=1)
    assert goal[-1] <= reach < goal[0] and np.array_equal(loaded.keypoints[:, :3], loaded.keypoints[:, 3:])


def test_navigation_keypoints_are_in_the_bases_own_frame():
    """A quarter turn to the left moves the goal a quarter turn to the right in the base's frame:
    what the camera sees, not where the goal is in the house."""
    episode = generate_manifest("train", 1, seed=9, tasks=["GoToObject"]).episodes[0]
    env = gym.make("vla_bench/GoToObject-v0")
    env.reset(options={"episode": episode})
    before, yaw_before = env.unwrapped.keypoint_offsets()[:2], env.unwrapped.pose[2]
    env.step(MOVES.index("turn_left"))
    after, turned = env.unwrapped.keypoint_offsets()[:2], env.unwrapped.pose[2] - yaw_before
    rotation = np.array([[np.cos(turned), np.sin(turned)], [-np.sin(turned), np.cos(turned)]])
    assert abs(turned) > 0.1 and np.allclose(after, rotation @ before, atol=0.05)


def test_collect_command_writes_a_dataset_per_domain(tmp_path, capsys):
    out = tmp_path / "demos"
    assert main(["collect", "--split", "train", "--tasks", "PickUp,OpenDrawer,GoToObject", "--episodes-per-task", "1",
                 "--out", str(out), "--workers", "1"]) == 0
    info = json.loads((out / "manipulation" / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == 2 and info["fps"] == 10
    assert {"observation.images.front", "observation.images.wrist", "observation.state", "action"} <= set(info["features"])
    assert info["features"]["observation.images.front"]["dtype"] == "video"
    navigation = json.loads((out / "navigation" / "meta" / "info.json").read_text())
    assert navigation["total_episodes"] == 1 and navigation["features"]["action"]["shape"] == [4]
    assert navigation["features"]["action"]["names"] == ["stop", "forward", "turn_left", "turn_right"]
    assert "observation.images.depth" in navigation["features"]
    # both episodes in one data file, one row per step; one video file per camera
    table = pq.read_table(out / "manipulation" / "data" / "chunk-000" / "file-000.parquet")
    assert table.num_rows == info["total_frames"] and set(table.column("episode_index").to_pylist()) == {0, 1}
    for camera in ("front", "wrist"):
        assert (out / "manipulation" / "videos" / f"observation.images.{camera}" / "chunk-000" / "file-000.mp4").exists()
    assert not (out / "manipulation" / "videos" / ".parts").exists()
    assert len(pd.read_parquet(out / "manipulation" / "meta" / "tasks.parquet")) == 2
    assert main(["collect", "--split", "train", "--tasks", "PickUp", "--episodes-per-task", "1", "--out", str(out)]) == 2


def test_video_frames_come_back_close_and_in_their_place(tmp_path):
    """AV1 is lossy: each decoded frame is near what was rendered, and nearer to its own step than
    to the steps beside it, in the second episode of a file too (its frames start mid-video)."""
    env = gym.make("vla_bench/PickUp-v0")
    demos = [record_demonstration(env, e) for e in load_manifest("train").for_task("PickUp")[:2]]
    dataset = _written(tmp_path / "ds", demos, video=True)
    for demo, loaded in zip(demos, dataset):
        assert np.array_equal(loaded.action, demo.action.astype(np.float32))
        for key, frames in demo.images.items():
            decoded = loaded.images[key].astype(float)
            assert decoded.shape == frames.shape
            error = np.abs(decoded - frames).mean(axis=(1, 2, 3))
            assert error.max() < 4.0, key  # grey levels out of 255
            for t in range(1, len(frames) - 1):
                own, *beside = (np.abs(decoded[t] - frames[s]).mean() for s in (t, t - 1, t + 1))
                changed = [np.abs(frames[t].astype(float) - frames[s]).mean() > 2 * own for s in (t - 1, t + 1)]
                assert all(own < b for b, c in zip(beside, changed) if c), (key, t)


def test_files_roll_over_at_their_size_limit(tmp_path, monkeypatch):
    """Data and video files take episodes until the next would pass the limit, as LeRobot's do."""
    monkeypatch.setattr(layout, "DATA_FILE_MB", 0.001)
    monkeypatch.setattr(layout, "VIDEO_FILE_MB", 0.001)
    env = gym.make("vla_bench/CloseDrawer-v0")
    demos = [record_demonstration(env, e) for e in generate_manifest("train", 3, seed=4, tasks=["CloseDrawer"]).episodes]
    for video in (False, True):
        root = tmp_path / f"video-{video}"
        dataset = _written(root, demos, video=video)
        assert len(list((root / "data").glob("*/*.parquet"))) == 3
        if video:
            assert len(list((root / "videos" / "observation.images.front").glob("*/*.mp4"))) == 3
        for demo, loaded in zip(demos, dataset):
            assert np.array_equal(loaded.state, demo.state.astype(np.float32))
            assert np.abs(loaded.images["observation.images.wrist"].astype(float) - demo.images[
                "observation.images.wrist"]).mean() < (4.0 if video else 1e-9)


def test_datasets_of_the_v21_layout_still_load():
    """What `collect` wrote before LeRobot's v3.0 (PNG frames, an episode per file, jsonl metadata)."""
    dataset = LeRobotDataset(V21_FIXTURE)
    assert dataset.version == "v2.1" and len(dataset) == 2
    episode = dataset.episode(1)
    assert episode.images["observation.images.front"].shape == (3, 128, 128, 3) and episode.action.shape == (3, 7)
    assert episode.meta["task"] == "CloseDrawer" and episode.meta["episode_id"] == "train/CloseDrawer/001"
    assert episode.instruction == dataset.tasks[1] and episode.success


def test_demonstrations_never_repeat_an_evaluation_episode():
    """Even the draw that starts on the committed episodes themselves (seed 0) skips every one of them."""
    committed = committed_seeds()
    assert all({e.seed for e in load_manifest(split).episodes} <= committed for split in SPLITS)
    fresh = generate_manifest("train", 60, seed=0, tasks=["PickUp"], exclude_seeds=committed)
    assert len(fresh.episodes) == 60 and not {e.seed for e in fresh.episodes} & committed


def test_an_interrupted_collection_leaves_nothing_behind(tmp_path, monkeypatch):
    written = []

    def write_then_interrupt(self, demo, images=None):
        if written:
            raise KeyboardInterrupt
        written.append(demo)
        return original(self, demo, images)

    original = LeRobotWriter.add
    monkeypatch.setattr(LeRobotWriter, "add", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        collect("train", tmp_path / "demos", episodes_per_task=2, tasks=["CloseDrawer"], progress=False)
    assert written and not list(tmp_path.iterdir())  # neither demos/ nor demos.partial/
    monkeypatch.setattr(LeRobotWriter, "add", original)
    collect("train", tmp_path / "demos", episodes_per_task=1, tasks=["CloseDrawer"], progress=False)
    assert LeRobotDataset(tmp_path / "demos" / "manipulation").info["total_episodes"] == 1


@pytest.mark.parametrize("fault", [signal.SIGSTOP, signal.SIGKILL], ids=["hangs", "dies"])
def test_a_recording_that_hangs_or_dies_is_left_out_and_collection_goes_on(tmp_path, monkeypatch, caplog, fault):
    """A worker stopped mid-episode (an expert that never returns) or killed costs that episode,
    not the collection: the worker is replaced and the other episodes are written in order."""
    lost = []
    on_message = DemonstrationExecutor._on_message

    def fault_the_first_to_step(self, kind, worker_id, payload, busy):
        if not lost and kind == "step" and payload >= 3:
            lost.append(busy[worker_id].episode.episode_id)
            os.kill(self.workers[worker_id][0].pid, fault)
        return on_message(self, kind, worker_id, payload, busy)

    monkeypatch.setattr(DemonstrationExecutor, "_on_message", fault_the_first_to_step)
    out = collect("train", tmp_path / "demos", episodes_per_task=3, tasks=["CloseDrawer"], workers=2, seed=5,
                  only_successful=False, progress=False, step_timeout=2)
    drawn = generate_manifest("train", 3, seed=5, tasks=["CloseDrawer"], exclude_seeds=committed_seeds()).episodes
    written = [e.meta["episode_id"] for e in LeRobotDataset(out / "manipulation")]
    assert lost and written == [e.episode_id for e in drawn if e.episode_id not in lost]
    assert f"episode {lost[0]} left out of the dataset" in caplog.text


def test_the_meta_files_lerobot_v30_reads_are_there(tmp_path):
    env = gym.make("vla_bench/OpenDrawer-v0")
    demos = [record_demonstration(env, e) for e in load_manifest("train").for_task("OpenDrawer")[:2]]
    _written(tmp_path / "ds", demos, video=True)
    meta = tmp_path / "ds" / "meta"
    for name in ("info.json", "tasks.parquet", "stats.json", "episodes/chunk-000/file-000.parquet"):
        assert (meta / name).exists(), name
    episodes = pq.read_table(meta / "episodes" / "chunk-000" / "file-000.parquet").to_pylist()
    first, second = episodes
    assert first["dataset_from_index"] == 0 and first["dataset_to_index"] == second["dataset_from_index"] == len(demos[0])
    key = "videos/observation.images.front"
    assert first[f"{key}/to_timestamp"] == second[f"{key}/from_timestamp"] == pytest.approx(len(demos[0]) / 10)
    assert np.allclose(first["stats/action/mean"], demos[0].action.mean(axis=0)) and first["stats/action/count"] == [
        len(demos[0])]
    assert second["vla_bench/task"] == "OpenDrawer" and second["vla_bench/success"] is True
    # the dataset's statistics are those of all its frames together
    merged = json.loads((meta / "stats.json").read_text())
    actions = np.concatenate([d.action for d in demos])
    assert np.allclose(merged["action"]["mean"], actions.mean(axis=0)) and np.allclose(merged["action"]["std"],
                                                                                      actions.std(axis=0))
    assert merged["action"]["count"] == [len(actions)]
    assert np.allclose(first["stats/action/q99"], np.quantile(demos[0].action, 0.99, axis=0))  # pi0.5 needs them
    assert {"q01", "q99"} <= set(merged["observation.state"]) and "next.success" in merged
    image = merged["observation.images.front"]
    assert np.array(image["mean"]).shape == (3, 1, 1) and 0 <= np.min(image["min"]) <= np.max(image["max"]) <= 1


def test_parallel_noisy_collection_is_the_same_for_any_worker_count(tmp_path):
    """Fresh episodes (--seed) with DART noise, recorded by 1 or 2 processes, give one dataset."""
    datasets = [LeRobotDataset(collect("train", tmp_path / f"w{w}", episodes_per_task=2, tasks=["PickUp"], seed=3,
                                       workers=w, action_noise=0.2, only_successful=False,
                                       progress=False) / "manipulation")
                for w in (1, 2)]
    assert len(datasets[0]) == len(datasets[1]) == 2
    for a, b in zip(*datasets):
        assert a.instruction == b.instruction and np.array_equal(a.action, b.action)
        assert all(np.array_equal(a.images[k], b.images[k]) for k in a.images)
    clean = LeRobotDataset(collect("train", tmp_path / "clean", episodes_per_task=1, tasks=["PickUp"], seed=3,
                                   only_successful=False, progress=False) / "manipulation")
    assert not np.array_equal(clean.episode(0).state[:10], datasets[0].episode(0).state[:10])  # the noise moved the hand


def test_an_episode_unlike_the_first_is_refused_and_the_dataset_stays_whole(tmp_path):
    """LeRobot reads one schema per dataset: an episode with other cameras or another state width
    is refused before anything of it is written, and the episodes before it still close."""
    env = gym.make("vla_bench/CloseDrawer-v0")
    demo = record_demonstration(env, load_manifest("train").for_task("CloseDrawer")[0])
    schema = SCHEMAS["manipulation"]
    writer = LeRobotWriter(tmp_path / "ds", fps=10, robot_type=schema.robot_type, state_names=schema.state_names,
                           action_names=schema.action_names, video=False)
    writer.add(demo)
    small = replace(demo, images={k: v[:, :64, :64] for k, v in demo.images.items()})
    with pytest.raises(ValueError, match="observation.images.front"):
        writer.add(small)
    with pytest.raises(ValueError, match="observation.state has 3 values per step"):
        writer.add(replace(demo, state=demo.state[:, :3]))
    writer.close()
    dataset = LeRobotDataset(tmp_path / "ds")
    assert len(dataset) == 1 and dataset.info["total_frames"] == len(demo)
    (data_file,) = (tmp_path / "ds" / "data").glob("*/*.parquet")
    assert pq.read_metadata(data_file).num_rows == len(demo)  # no row of the refused episodes


def test_a_dataset_without_episodes_is_refused(tmp_path):
    schema = SCHEMAS["navigation"]
    writer = LeRobotWriter(tmp_path / "ds", fps=10, robot_type=schema.robot_type, state_names=schema.state_names,
                           action_names=schema.action_names)
    with pytest.raises(ValueError, match="no episodes"):
        writer.close()
    assert not (tmp_path / "ds" / "meta" / "info.json").exists()


def test_video_files_are_joined_under_a_path_with_a_quote(tmp_path):
    """ffmpeg's concat list quotes paths; a quote in the output folder must not break it."""
    env = gym.make("vla_bench/CloseDrawer-v0")
    demos = [record_demonstration(env, e) for e in load_manifest("train").for_task("CloseDrawer")[:2]]
    dataset = _written(tmp_path / "it's here", demos, video=True)
    assert len(dataset) == 2
    assert all(len(loaded.images["observation.images.front"]) == len(demo) for demo, loaded in zip(demos, dataset))
