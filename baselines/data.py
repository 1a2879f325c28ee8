"""Demonstrations as tensors for training: every frame of a LeRobot dataset, with the index of
its episode's first frame, so a window of the last `history` frames can be gathered for any
frame (repeating the first frame before an episode starts, as a policy's history does)."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from vla_bench.baselines.language import SentenceEncoder
from vla_bench.data.lerobot import IMAGE_KEYS, LeRobotDataset


@dataclass
class Demonstrations:
    images: torch.Tensor  # (N, cameras, H, W, 3) uint8
    proprio: torch.Tensor  # (N, P) float32
    actions: torch.Tensor  # (N, A) float32
    instruction: torch.Tensor  # (N,) index into `embeddings`
    embeddings: torch.Tensor  # (K, L) float32
    episode: torch.Tensor  # (N,) episode index
    episode_start: torch.Tensor  # (N,) global index of the episode's first frame

    def __len__(self) -> int:
        return len(self.actions)

    def to(self, device: torch.device) -> "Demonstrations":
        return Demonstrations(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))

    def split_episodes(self, validation_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame indices of training and validation episodes (whole episodes are held out)."""
        episodes = int(self.episode.max()) + 1
        held = np.random.default_rng(seed).permutation(episodes)[: int(round(episodes * validation_fraction))]
        is_validation = torch.isin(self.episode.cpu(), torch.as_tensor(held))
        frames = torch.arange(len(self))
        return frames[~is_validation].to(self.actions.device), frames[is_validation].to(self.actions.device)

    def window(self, frames: torch.Tensor, history: int) -> dict[str, torch.Tensor]:
        """The batch for `frames` (B,): images (B, history, cameras, H, W, 3), proprio (B, history, P)
        and actions (B, history, A) of the window ending at each frame, and its language embedding."""
        offsets = torch.arange(history - 1, -1, -1, device=frames.device)
        past = torch.maximum(frames[:, None] - offsets, self.episode_start[frames][:, None])
        return {"images": self.images[past], "proprio": self.proprio[past],
                "language": self.embeddings[self.instruction[frames]], "actions": self.actions[past]}


def load_demonstrations(root: Path, cameras: tuple[str, ...], encoder: SentenceEncoder | None = None,
                        processes: int | None = None) -> Demonstrations:
    """Decode a dataset (PNG frames in parallel) into CPU tensors."""
    dataset = LeRobotDataset(root)
    if len(dataset) == 0:
        raise ValueError(f"{root} holds no episodes")
    processes = processes or min(len(dataset), os.cpu_count() or 1)
    if processes > 1:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            episodes = list(pool.map(_read_episode, [(root, i, cameras) for i in range(len(dataset))], chunksize=8))
    else:
        episodes = [_read_episode((root, i, cameras)) for i in range(len(dataset))]
    instructions = list(dict.fromkeys(e[3] for e in episodes))
    embeddings = (encoder or SentenceEncoder()).encode(instructions)
    lengths = [len(e[2]) for e in episodes]
    starts = np.repeat(np.cumsum([0, *lengths[:-1]]), lengths)
    return Demonstrations(
        images=torch.from_numpy(np.concatenate([e[0] for e in episodes])),
        proprio=torch.from_numpy(np.concatenate([e[1] for e in episodes])),
        actions=torch.from_numpy(np.concatenate([e[2] for e in episodes])),
        instruction=torch.as_tensor(np.repeat([instructions.index(e[3]) for e in episodes], lengths)),
        embeddings=torch.from_numpy(embeddings),
        episode=torch.as_tensor(np.repeat(np.arange(len(episodes)), lengths)),
        episode_start=torch.as_tensor(starts),
    )


@lru_cache(maxsize=4)
def _dataset(root: Path) -> LeRobotDataset:
    """One reading of the metadata per process, not one per episode."""
    return LeRobotDataset(root)


def _read_episode(job: tuple[Path, int, tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    root, index, cameras = job
    episode = _dataset(root).episode(index)
    images = np.stack([episode.images[IMAGE_KEYS[camera]] for camera in cameras], axis=1)
    return images, episode.state.astype(np.float32), episode.action.astype(np.float32), episode.instruction
