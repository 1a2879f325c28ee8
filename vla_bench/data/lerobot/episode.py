"""One demonstration as arrays, and its frames encoded for a dataset file."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vla_bench.data.lerobot import video
from vla_bench.data.lerobot.stats import image_stats

# privileged state for training-time supervision: where the task's keypoints lie relative to the
# hand. Not under `observation.`: LeRobot's policies take every such feature (and its
# `observation.environment_state`) as an input, which evaluation cannot give them.
KEYPOINTS = "vla_bench.keypoints"


@dataclass
class Episode:
    """One demonstration as arrays: images (T, H, W, 3) uint8, state (T, D), action (T, A), and the
    privileged keypoint offsets (T, K) where the dataset records them."""

    instruction: str
    images: dict[str, np.ndarray]  # LeRobot feature name -> frames
    state: np.ndarray
    action: np.ndarray
    success: bool
    meta: dict[str, Any] = field(default_factory=dict)  # task, episode_id, seed
    keypoints: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.action)


@dataclass
class EncodedFrames:
    """An episode's frames encoded as the dataset stores them (an MP4 per camera, or PNG per frame),
    with their statistics: the costly part of writing, which collecting processes do in parallel
    before the writer appends the episode."""

    shapes: dict[str, tuple[int, ...]]
    stats: dict[str, dict[str, list]]
    mp4: dict[str, bytes] = field(default_factory=dict)
    png: dict[str, list[bytes]] = field(default_factory=dict)

    @classmethod
    def of(cls, episode: Episode, fps: int, as_video: bool) -> "EncodedFrames":
        frames = episode.images
        encoded = cls(shapes={name: v.shape[1:] for name, v in frames.items()},
                      stats={name: image_stats(v) for name, v in frames.items()})
        if as_video:
            encoded.mp4 = {name: video.encode(v, fps) for name, v in frames.items()}
        else:
            encoded.png = {name: [png(frame) for frame in v] for name, v in frames.items()}
        return encoded


def png(frame: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def unpng(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
