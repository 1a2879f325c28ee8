"""Demonstrations in the LeRobotDataset v2.1 layout, so LeRobot users can train on them directly.

    DIR/meta/info.json          schema, fps, counts, path templates
    DIR/meta/tasks.jsonl        instruction text -> task_index
    DIR/meta/episodes.jsonl     episode_index, its instruction(s), length, vla-bench episode id
    DIR/meta/episodes_stats.jsonl  per-episode min/max/mean/std/count of every feature
    DIR/data/chunk-000/episode_000000.parquet   one row per control step

Camera frames are stored in the parquet files as PNG images (LeRobot's `image` dtype, a
struct of bytes and path as Hugging Face `datasets` writes it), which keeps them lossless.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

CODEBASE_VERSION = "v2.1"
CHUNK_SIZE = 1000
DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"


@dataclass
class Episode:
    """One demonstration as arrays: images (T, H, W, 3) uint8, state (T, D), action (T, A)."""

    instruction: str
    images: dict[str, np.ndarray]  # LeRobot feature name -> frames
    state: np.ndarray
    action: np.ndarray
    success: bool
    meta: dict[str, Any] = field(default_factory=dict)  # task, episode_id, seed, split

    def __len__(self) -> int:
        return len(self.action)


@dataclass
class EncodedImages:
    """An episode's frames as PNG bytes with their statistics: the costly part of writing, which
    collecting processes do in parallel before the writer appends the episode."""

    png: dict[str, list[bytes]]
    stats: dict[str, dict[str, list]]
    shapes: dict[str, tuple[int, ...]]

    @classmethod
    def of(cls, episode: Episode) -> "EncodedImages":
        return cls(png={name: [_png(f) for f in frames] for name, frames in episode.images.items()},
                   stats={name: _image_stats(frames) for name, frames in episode.images.items()},
                   shapes={name: frames.shape[1:] for name, frames in episode.images.items()})


class LeRobotWriter:
    """Appends episodes to a dataset directory and writes the metadata on `close()`."""

    def __init__(self, root: Path, fps: float, robot_type: str, state_names: tuple[str, ...],
                 action_names: tuple[str, ...]) -> None:
        self.root, self.fps, self.robot_type = Path(root), fps, robot_type
        self.names = {"observation.state": list(state_names), "action": list(action_names)}
        if (self.root / "meta" / "info.json").exists():
            raise FileExistsError(f"{self.root} already holds a dataset; choose another --out")
        self.tasks: dict[str, int] = {}
        self.episodes: list[dict[str, Any]] = []
        self.features: dict[str, Any] | None = None
        self.stats: list[dict[str, Any]] = []
        self.frames = 0

    def add(self, episode: Episode, images: EncodedImages | None = None) -> None:
        """Append an episode; `images` replaces `episode.images` when its frames were encoded already."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        images = images or EncodedImages.of(episode)
        index = len(self.episodes)
        task_index = self.tasks.setdefault(episode.instruction, len(self.tasks))
        steps = len(episode)
        columns: dict[str, Any] = {
            name: pa.array([{"bytes": png, "path": None} for png in frames],
                           type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
            for name, frames in images.png.items()
        }
        columns |= {
            "observation.state": pa.array(list(episode.state.astype(np.float32)), type=pa.list_(pa.float32())),
            "action": pa.array(list(episode.action.astype(np.float32)), type=pa.list_(pa.float32())),
            "timestamp": pa.array(np.arange(steps, dtype=np.float32) / self.fps),
            "frame_index": pa.array(np.arange(steps, dtype=np.int64)),
            "episode_index": pa.array(np.full(steps, index, dtype=np.int64)),
            "index": pa.array(np.arange(self.frames, self.frames + steps, dtype=np.int64)),
            "task_index": pa.array(np.full(steps, task_index, dtype=np.int64)),
            "next.done": pa.array(np.arange(steps) == steps - 1),
            "next.success": pa.array((np.arange(steps) == steps - 1) & episode.success),
        }
        path = self.root / DATA_PATH.format(episode_chunk=index // CHUNK_SIZE, episode_index=index)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns), path)
        self.features = self.features or _features(self.names, images.shapes)
        self.episodes.append({"episode_index": index, "tasks": [episode.instruction], "length": steps,
                              "success": bool(episode.success), **episode.meta})
        numeric = {"observation.state": episode.state, "action": episode.action,
                   "timestamp": np.arange(steps) / self.fps, "frame_index": np.arange(steps),
                   "episode_index": np.full(steps, index), "index": np.arange(self.frames, self.frames + steps),
                   "task_index": np.full(steps, task_index)}
        self.stats.append({"episode_index": index, "stats": {
            **{name: _stats(np.asarray(values, dtype=np.float64).reshape(steps, -1), axis=0)
               for name, values in numeric.items()},
            **images.stats,
        }})
        self.frames += steps

    def close(self) -> None:
        meta = self.root / "meta"
        meta.mkdir(parents=True, exist_ok=True)
        info = {
            "codebase_version": CODEBASE_VERSION, "robot_type": self.robot_type,
            "total_episodes": len(self.episodes), "total_frames": self.frames, "total_tasks": len(self.tasks),
            "total_videos": 0, "total_chunks": (len(self.episodes) - 1) // CHUNK_SIZE + 1 if self.episodes else 0,
            "chunks_size": CHUNK_SIZE, "fps": self.fps, "splits": {"train": f"0:{len(self.episodes)}"},
            "data_path": DATA_PATH, "video_path": None, "features": self.features or {},
        }
        (meta / "info.json").write_text(json.dumps(info, indent=2) + "\n")
        (meta / "tasks.jsonl").write_text("".join(json.dumps({"task_index": i, "task": t}) + "\n"
                                                  for t, i in self.tasks.items()))
        (meta / "episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in self.episodes))
        (meta / "episodes_stats.jsonl").write_text("".join(json.dumps(e) + "\n" for e in self.stats))


class LeRobotDataset:
    """Reads a dataset written by LeRobotWriter (or any v2.x dataset with image features)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.info = json.loads((self.root / "meta" / "info.json").read_text())
        self.episodes = [json.loads(line) for line in (self.root / "meta" / "episodes.jsonl").read_text().splitlines()]
        tasks = [json.loads(line) for line in (self.root / "meta" / "tasks.jsonl").read_text().splitlines()]
        self.tasks = {t["task_index"]: t["task"] for t in tasks}

    def __len__(self) -> int:
        return len(self.episodes)

    def episode(self, index: int) -> Episode:
        import pyarrow.parquet as pq

        path = self.root / self.info["data_path"].format(episode_chunk=index // self.info["chunks_size"],
                                                         episode_index=index)
        table = pq.read_table(path).to_pydict()
        image_keys = [k for k, f in self.info["features"].items() if f["dtype"] == "image"]
        meta = {k: v for k, v in self.episodes[index].items() if k not in ("episode_index", "tasks", "length", "success")}
        return Episode(
            instruction=self.tasks[table["task_index"][0]],
            images={k: np.stack([_unpng(cell["bytes"]) for cell in table[k]]) for k in image_keys},
            state=np.asarray(table["observation.state"], dtype=np.float32),
            action=np.asarray(table["action"], dtype=np.float32),
            success=bool(self.episodes[index]["success"]),
            meta=meta,
        )

    def __iter__(self) -> Iterator[Episode]:
        return (self.episode(i) for i in range(len(self)))


def _features(names: dict[str, list[str]], image_shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    features = {name: {"dtype": "image", "shape": list(shape), "names": ["height", "width", "channels"]}
                for name, shape in image_shapes.items()}
    features |= {key: {"dtype": "float32", "shape": [len(labels)], "names": labels} for key, labels in names.items()}
    for name, dtype in (("timestamp", "float32"), ("frame_index", "int64"), ("episode_index", "int64"),
                        ("index", "int64"), ("task_index", "int64"), ("next.done", "bool"), ("next.success", "bool")):
        features[name] = {"dtype": dtype, "shape": [1], "names": None}
    return features


def _stats(values: np.ndarray, axis) -> dict[str, list]:
    return {"min": np.min(values, axis=axis).tolist(), "max": np.max(values, axis=axis).tolist(),
            "mean": np.mean(values, axis=axis).tolist(), "std": np.std(values, axis=axis).tolist(),
            "count": [int(values.shape[0])]}


def _image_stats(frames: np.ndarray) -> dict[str, list]:
    """Per-channel statistics of frames scaled to [0, 1], shaped (3, 1, 1) as LeRobot keeps them."""
    pixels = frames.reshape(-1, frames.shape[-1]) / 255.0
    stats = _stats(pixels, axis=0)
    stats = {k: ([[[v]] for v in values] if k != "count" else [int(frames.shape[0])]) for k, values in stats.items()}
    return stats


def _png(frame: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def _unpng(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
