"""Writes demonstrations in LeRobot's dataset layout v3.0 (see the package's docstring)."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vla_bench.data.lerobot import stats, video
from vla_bench.data.lerobot.episode import KEYPOINTS, EncodedFrames, Episode

CODEBASE_VERSION = "v3.0"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
CHUNKS_SIZE = 1000  # files per chunk folder
DATA_FILE_MB, VIDEO_FILE_MB = 100, 200  # a file takes episodes until it would pass this size
OWN_FIELDS = ("task", "episode_id", "seed")  # Episode.meta kept per episode as vla_bench/<name>
SCALARS = {"timestamp": "float32", "frame_index": "int64", "episode_index": "int64", "index": "int64",
           "task_index": "int64", "next.done": "bool", "next.success": "bool"}


@dataclass
class _File:
    """The data or video file that episodes are being appended to."""

    number: int = 0  # files written before this one
    frames: int = 0  # frames in it so far
    megabytes: float = 0.0
    parts: list[Path] = field(default_factory=list)  # a video file's episodes, concatenated on close

    @property
    def indices(self) -> dict[str, int]:
        return {"chunk_index": self.number // CHUNKS_SIZE, "file_index": self.number % CHUNKS_SIZE}

    def make_room(self, megabytes: float, limit: float) -> bool:
        """Whether an episode of `megabytes` starts the next file."""
        full = self.frames > 0 and self.megabytes + megabytes > limit
        if full:
            self.number, self.frames, self.megabytes, self.parts = self.number + 1, 0, 0.0, []
        return full


class LeRobotWriter:
    """Appends episodes to a new dataset folder and writes the metadata on `close()`.

    `video=True` stores each camera as MP4 video (what LeRobot users expect, a fraction of the
    size), `video=False` as lossless PNG images in the data files."""

    def __init__(self, root: Path, fps: int, robot_type: str, state_names: tuple[str, ...],
                 action_names: tuple[str, ...], video: bool = True,
                 keypoint_names: tuple[str, ...] = ()) -> None:
        if fps != int(fps):
            raise ValueError(f"LeRobot datasets have a whole number of frames per second, not {fps}")
        self.root, self.fps, self.robot_type, self.video = Path(root), int(fps), robot_type, video
        if (self.root / "meta" / "info.json").exists():
            raise FileExistsError(f"{self.root} already holds a dataset; choose another --out")
        self.names = {"observation.state": list(state_names), "action": list(action_names)}
        if keypoint_names:
            self.names[KEYPOINTS] = list(keypoint_names)
        self.tasks: dict[str, int] = {}
        self.episodes: list[dict[str, Any]] = []
        self.features: dict[str, Any] | None = None
        self.data = _File()
        self.videos: dict[str, _File] = {}
        self._parquet = None  # the open data file's writer
        self.frames = 0

    def add(self, episode: Episode, frames: EncodedFrames | None = None) -> None:
        """Append an episode; `frames` replaces `episode.images` when they were encoded already."""
        frames = frames or EncodedFrames.of(episode, self.fps, self.video)
        index, steps = len(self.episodes), len(episode)
        task_index = self.tasks.get(episode.instruction, len(self.tasks))
        values = self._values(episode, index, task_index)
        self.features = self._checked_features(values, frames)  # before anything is written
        self.tasks[episode.instruction] = task_index
        table = self._rows(values, frames)
        record: dict[str, Any] = {"episode_index": index, "tasks": [episode.instruction], "length": steps,
                                  **self._append_rows(table, steps),
                                  "dataset_from_index": self.frames, "dataset_to_index": self.frames + steps}
        for key, data in frames.mp4.items():
            record |= self._append_video(key, index, data, steps)
        record |= {"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}
        episode_stats = {name: stats.stats(v.reshape(steps, -1)) for name, v in values.items()} | frames.stats
        record |= {f"stats/{name}/{key}": value for name, s in episode_stats.items() for key, value in s.items()}
        record |= {f"vla_bench/{k}": episode.meta[k] for k in OWN_FIELDS if k in episode.meta}
        record["vla_bench/success"] = bool(episode.success)
        self.episodes.append(record)
        self.frames += steps

    def close(self) -> None:
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.episodes:
            raise ValueError(f"no episodes were added to {self.root}: a dataset needs at least one")
        if self._parquet is not None:
            self._parquet.close()
        for key, current in self.videos.items():
            self._finish_video(key, current)
        shutil.rmtree(self.root / "videos" / ".parts", ignore_errors=True)
        meta = self.root / "meta"
        path = self.root / EPISODES_PATH.format(chunk_index=0, file_index=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(self.episodes), path)
        pd.DataFrame({"task_index": list(self.tasks.values())}, index=list(self.tasks)).to_parquet(
            meta / "tasks.parquet")
        merged = {name: stats.merged([{k: e[f"stats/{name}/{k}"] for k in stats.STATS} for e in self.episodes])
                  for name in self.features if f"stats/{name}/mean" in self.episodes[0]}
        (meta / "stats.json").write_text(json.dumps(merged, indent=2) + "\n")
        info = {
            "codebase_version": CODEBASE_VERSION, "robot_type": self.robot_type,
            "total_episodes": len(self.episodes), "total_frames": self.frames, "total_tasks": len(self.tasks),
            "chunks_size": CHUNKS_SIZE, "data_files_size_in_mb": DATA_FILE_MB, "video_files_size_in_mb": VIDEO_FILE_MB,
            "fps": self.fps, "splits": {"train": f"0:{len(self.episodes)}"}, "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self.video else None, "features": self.features,
        }
        (meta / "info.json").write_text(json.dumps(info, indent=2) + "\n")

    def _checked_features(self, values: dict[str, np.ndarray], frames: EncodedFrames) -> dict[str, Any]:
        """The episode's features, which must be the first episode's: LeRobot reads one schema per dataset."""
        for key, names in self.names.items():
            if values[key].shape[1] != len(names):
                raise ValueError(f"{key} has {values[key].shape[1]} values per step; the dataset's features name "
                                 f"{len(names)}: {names}")
        features = self._features(frames.shapes)
        if self.features is not None and features != self.features:
            differ = sorted(k for k in features.keys() | self.features.keys() if features.get(k) != self.features.get(k))
            raise ValueError(f"this episode's cameras differ from the dataset's first episode in {differ}")
        return features

    def _values(self, episode: Episode, index: int, task_index: int) -> dict[str, np.ndarray]:
        """An episode's non-image columns, as the data file stores them (and its statistics describe)."""
        steps = len(episode)
        last = np.arange(steps) == steps - 1
        if KEYPOINTS in self.names and episode.keypoints is None:
            raise ValueError(f"the dataset records {KEYPOINTS}; this episode has none")
        keypoints = ({KEYPOINTS: np.asarray(episode.keypoints, dtype=np.float32).reshape(steps, -1)}
                     if KEYPOINTS in self.names else {})
        return {
            "observation.state": np.asarray(episode.state, dtype=np.float32).reshape(steps, -1),
            "action": np.asarray(episode.action, dtype=np.float32).reshape(steps, -1),
            "timestamp": np.arange(steps, dtype=np.float32) / np.float32(self.fps),
            "frame_index": np.arange(steps, dtype=np.int64),
            "episode_index": np.full(steps, index, dtype=np.int64),
            "index": np.arange(self.frames, self.frames + steps, dtype=np.int64),
            "task_index": np.full(steps, task_index, dtype=np.int64),
            "next.done": last, "next.success": last & bool(episode.success),
        } | keypoints

    @staticmethod
    def _rows(values: dict[str, np.ndarray], frames: EncodedFrames):
        import pyarrow as pa

        image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
        columns: dict[str, Any] = {name: pa.array([{"bytes": b, "path": None} for b in pngs], type=image)
                                   for name, pngs in frames.png.items()}
        for name, column in values.items():
            # LeRobot reads a feature of shape (1,) as a plain column, longer ones as fixed-size lists
            columns[name] = (pa.FixedSizeListArray.from_arrays(pa.array(column.ravel()), column.shape[1])
                             if column.ndim == 2 and column.shape[1] > 1 else pa.array(column.reshape(-1)))
        return pa.table(columns)

    def _append_rows(self, table, steps: int) -> dict[str, int]:
        """Append an episode's rows (one row group) to the current data file, or start the next."""
        import pyarrow.parquet as pq

        megabytes = table.nbytes / 2**20
        if self.data.make_room(megabytes, DATA_FILE_MB) and self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._parquet is None:
            path = self.root / DATA_PATH.format(**self.data.indices)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._parquet = pq.ParquetWriter(path, table.schema, compression="snappy")
        self._parquet.write_table(table)
        self.data.frames += steps
        self.data.megabytes += megabytes
        return {f"data/{k}": v for k, v in self.data.indices.items()}

    def _append_video(self, key: str, index: int, data: bytes, steps: int) -> dict[str, Any]:
        """Keep an episode's MP4 for its camera's current video file (or start the next), and say
        where in that file the episode's frames will lie."""
        current = self.videos.setdefault(key, _File())
        previous = _File(current.number, current.frames, current.megabytes, current.parts)
        if current.make_room(len(data) / 2**20, VIDEO_FILE_MB):
            self._finish_video(key, previous)
        part = self.root / "videos" / ".parts" / key / f"episode-{index:06d}.mp4"
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(data)
        start = current.frames
        current.parts.append(part)
        current.frames += steps
        current.megabytes += len(data) / 2**20
        return {f"videos/{key}/chunk_index": current.indices["chunk_index"],
                f"videos/{key}/file_index": current.indices["file_index"],
                f"videos/{key}/from_timestamp": start / self.fps, f"videos/{key}/to_timestamp": current.frames / self.fps}

    def _finish_video(self, key: str, file: _File) -> None:
        if file.parts:
            video.concatenate(file.parts, self.root / VIDEO_PATH.format(video_key=key, **file.indices))
            for part in file.parts:  # not the dataset's video twice on disk while collecting goes on
                part.unlink()

    def _features(self, image_shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
        features: dict[str, Any] = {}
        for name, (height, width, channels) in image_shapes.items():
            features[name] = {"dtype": "video" if self.video else "image", "shape": [height, width, channels],
                              "names": ["height", "width", "channels"]}
            if self.video:
                features[name]["info"] = video.feature_info(height, width, self.fps)
        features |= {key: {"dtype": "float32", "shape": [len(labels)], "names": labels}
                     for key, labels in self.names.items()}
        features |= {name: {"dtype": dtype, "shape": [1], "names": None} for name, dtype in SCALARS.items()}
        return features
