"""Reads a LeRobot dataset back as `Episode` arrays: the v3.0 layout `LeRobotWriter` writes, and
the v2.1 layout of datasets that vla-bench wrote before (PNG frames in per-episode files)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from vla_bench.data.lerobot import video
from vla_bench.data.lerobot.episode import KEYPOINTS, Episode, unpng

OWN_PREFIX = "vla_bench/"


class LeRobotDataset:
    """A dataset folder; `episodes` holds each episode's metadata (`length`, `success`, `task`,
    `episode_id`, `seed`) and `episode(i)` its arrays."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.info = json.loads((self.root / "meta" / "info.json").read_text())
        self.version = self.info["codebase_version"]
        if self.version == "v3.0":
            self.episodes, self.tasks = _v30_episodes(self.root), _v30_tasks(self.root)
        elif self.version.startswith("v2"):
            self.episodes, self.tasks = _v2_episodes(self.root), _v2_tasks(self.root)
        else:
            raise ValueError(f"{self.root}: LeRobot dataset version {self.version} is not supported (v2.1, v3.0)")
        self.image_keys = [k for k, f in self.info["features"].items() if f["dtype"] in ("image", "video")]

    def __len__(self) -> int:
        return len(self.episodes)

    def __iter__(self) -> Iterator[Episode]:
        return (self.episode(i) for i in range(len(self)))

    def episode(self, index: int) -> Episode:
        import pyarrow.parquet as pq

        entry = self.episodes[index]
        if self.version == "v3.0":
            path = self.root / self.info["data_path"].format(chunk_index=entry["data/chunk_index"],
                                                             file_index=entry["data/file_index"])
            table = pq.read_table(path, filters=[("episode_index", "=", entry["episode_index"])])
        else:
            path = self.root / self.info["data_path"].format(episode_chunk=index // self.info["chunks_size"],
                                                             episode_index=index)
            table = pq.read_table(path)
        rows = table.to_pydict()
        return Episode(
            instruction=self.tasks[rows["task_index"][0]],
            images={key: self._frames(key, entry, rows) for key in self.image_keys},
            state=np.asarray(rows["observation.state"], dtype=np.float32).reshape(len(rows["index"]), -1),
            action=np.asarray(rows["action"], dtype=np.float32).reshape(len(rows["index"]), -1),
            success=bool(entry["success"]),
            meta={k: entry[k] for k in ("task", "episode_id", "seed") if k in entry},
            keypoints=(np.asarray(rows[KEYPOINTS], dtype=np.float32).reshape(len(rows["index"]), -1)
                       if KEYPOINTS in self.info["features"] else None),
        )

    def _frames(self, key: str, entry: dict[str, Any], rows: dict[str, list]) -> np.ndarray:
        feature = self.info["features"][key]
        if feature["dtype"] == "image":
            return np.stack([unpng(cell["bytes"]) for cell in rows[key]])
        path = self.root / self.info["video_path"].format(video_key=key, chunk_index=entry[f"videos/{key}/chunk_index"],
                                                          file_index=entry[f"videos/{key}/file_index"])
        height, width = feature["shape"][:2]
        return video.decode(path, entry[f"videos/{key}/from_timestamp"], entry["length"], height, width)


def _v30_episodes(root: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    episodes = []
    for path in sorted((root / "meta" / "episodes").glob("*/*.parquet")):
        columns = [c for c in pq.read_schema(path).names if not c.startswith("stats/")]
        episodes += pq.read_table(path, columns=columns).to_pylist()
    episodes.sort(key=lambda e: e["episode_index"])
    for entry in episodes:  # vla-bench's own fields under their plain names
        entry |= {k[len(OWN_PREFIX):]: v for k, v in list(entry.items()) if k.startswith(OWN_PREFIX)}
        entry.setdefault("success", True)  # a dataset made elsewhere: LeRobot keeps demonstrations
    return episodes


def _v30_tasks(root: Path) -> dict[int, str]:
    import pandas as pd

    tasks = pd.read_parquet(root / "meta" / "tasks.parquet")
    return {int(i): str(task) for task, i in zip(tasks.index, tasks["task_index"])}


def _v2_episodes(root: Path) -> list[dict[str, Any]]:
    lines = (root / "meta" / "episodes.jsonl").read_text().splitlines()
    return [{"success": True, **json.loads(line)} for line in lines]


def _v2_tasks(root: Path) -> dict[int, str]:
    lines = (root / "meta" / "tasks.jsonl").read_text().splitlines()
    return {t["task_index"]: t["task"] for t in map(json.loads, lines)}
