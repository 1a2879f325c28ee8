"""Demonstrations as tensors for training: every frame of the LeRobot datasets `vla-bench collect`
wrote (one per domain), with the bounds of its episode, so the window of the last `history` frames
and the chunk of actions that follow can be gathered for any frame (the first frame repeats
before an episode starts, as a policy's history does; the last action repeats after it ends)."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from vla_bench.baselines.configuration import BaselineConfig, InstructionEncoder
from vla_bench.data.actions import move_indices
from vla_bench.data.cameras import CAMERA_FEATURES
from vla_bench.data.collect import SCHEMAS, dataset_roots
from vla_bench.data.lerobot import LeRobotDataset
from vla_bench.runner.resources import usable_cores


@dataclass
class Demonstrations:
    images: torch.Tensor  # (N, cameras, H, W, 3) uint8
    proprio: torch.Tensor  # (N, P) float32, zero-padded to the longest domain's
    actions: torch.Tensor  # (N, A) float32, zero-padded (navigation: the move's index in column 0)
    domain: torch.Tensor  # (N,) index into the model's `domains`
    task: torch.Tensor  # (N,) index into `task_names`
    instruction: torch.Tensor  # (N,) index into `embeddings`
    embeddings: torch.Tensor  # (K, L): the instruction encoder's rows (embeddings, token ids, or ids then embedding)
    episode: torch.Tensor  # (N,) episode index
    episode_start: torch.Tensor  # (N,) global index of the episode's first frame
    episode_end: torch.Tensor  # (N,) global index of the episode's last frame
    keypoints: torch.Tensor  # (N, K) float32 keypoint offsets, zeros where the dataset records none (K = 0: none does)
    has_keypoints: torch.Tensor  # (N,) bool
    task_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.actions)

    def to(self, device: torch.device) -> "Demonstrations":
        moved = {f: getattr(self, f) for f in self.__dataclass_fields__}
        return Demonstrations(**{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in moved.items()})

    def split_episodes(self, validation_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame indices of training and validation episodes (whole episodes are held out)."""
        episodes = int(self.episode.max()) + 1
        held = np.random.default_rng(seed).permutation(episodes)[: int(round(episodes * validation_fraction))]
        is_validation = torch.isin(self.episode.cpu(), torch.as_tensor(held))
        frames = torch.arange(len(self))
        return frames[~is_validation].to(self.actions.device), frames[is_validation].to(self.actions.device)

    def task_balanced_weights(self, frames: torch.Tensor) -> torch.Tensor:
        """Sampling weights over `frames` that give every task the same share of a batch, so a task
        with short episodes is not drowned by one with long ones."""
        counts = torch.bincount(self.task[frames], minlength=len(self.task_names)).float()
        return 1.0 / counts[self.task[frames]]

    def window(self, frames: torch.Tensor, history: int, chunk: int) -> dict[str, torch.Tensor]:
        """The batch for `frames` (B,): images (B, history, cameras, H, W, 3), proprio (B, history, P)
        of the window ending at each frame, the action chunks (B, history, chunk, A) that follow
        each step of the window, the language embedding (B, L) and the domain (B,)."""
        offsets = torch.arange(history - 1, -1, -1, device=frames.device)
        past = torch.maximum(frames[:, None] - offsets, self.episode_start[frames][:, None])  # (B, history)
        ahead = torch.arange(chunk, device=frames.device)
        future = torch.minimum(past[:, :, None] + ahead, self.episode_end[frames][:, None, None])
        return {"images": self.images[past], "proprio": self.proprio[past], "targets": self.actions[future],
                "language": self.embeddings[self.instruction[frames]], "domain": self.domain[frames],
                "keypoints": self.keypoints[frames],
                "has_keypoints": self.has_keypoints[frames]}


def load_demonstrations(root: Path, config: BaselineConfig, episodes_per_task: int | None = None,
                        encoder: InstructionEncoder | None = None, processes: int | None = None) -> Demonstrations:
    """Decode the datasets under `root` (PNG frames in parallel) of the domains `config` acts in
    into CPU tensors; `episodes_per_task` keeps each task's first N episodes."""
    jobs, domains = [], []
    for dataset_root in dataset_roots(root):
        dataset = LeRobotDataset(dataset_root)
        domain = _domain(dataset)
        if domain not in config.domains:
            continue
        kept: dict[str, int] = {}
        for index, meta in enumerate(dataset.episodes):
            task = meta.get("task", "")
            kept[task] = kept.get(task, 0) + 1
            if episodes_per_task is None or kept[task] <= episodes_per_task:
                jobs.append((dataset_root, index, tuple(CAMERA_FEATURES[c] for c in config.camera_keys(domain))))
                domains.append(config.domains.index(domain))
    if not jobs:
        raise ValueError(f"{root} holds no episodes of the domains {', '.join(config.domains)}")
    processes = processes or min(len(jobs), usable_cores())
    if processes > 1:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            episodes = list(pool.map(_read_episode, jobs, chunksize=8))
    else:
        episodes = [_read_episode(job) for job in jobs]
    instructions = list(dict.fromkeys(e[3] for e in episodes))
    task_names = tuple(dict.fromkeys(e[4] for e in episodes))
    embeddings = (encoder or config.instruction_encoder()).encode(instructions)
    lengths = np.array([len(e[2]) for e in episodes])
    width = max((e[5].shape[1] for e in episodes if e[5] is not None), default=0)
    offsets = [e[5] if e[5] is not None else np.zeros((len(e[2]), width), np.float32) for e in episodes]
    starts = np.repeat(np.cumsum([0, *lengths[:-1]]), lengths)
    return Demonstrations(
        images=torch.from_numpy(np.concatenate([e[0] for e in episodes])),
        proprio=torch.from_numpy(np.concatenate([_pad(e[1], config.proprio_dim) for e in episodes])),
        actions=torch.from_numpy(np.concatenate([_pad(e[2], max(e[2].shape[1] for e in episodes))
                                                 for e in episodes])),
        domain=torch.as_tensor(np.repeat(domains, lengths)),
        task=torch.as_tensor(np.repeat([task_names.index(e[4]) for e in episodes], lengths)),
        instruction=torch.as_tensor(np.repeat([instructions.index(e[3]) for e in episodes], lengths)),
        embeddings=torch.from_numpy(embeddings),
        episode=torch.as_tensor(np.repeat(np.arange(len(episodes)), lengths)),
        episode_start=torch.as_tensor(starts),
        episode_end=torch.as_tensor(starts + np.repeat(lengths, lengths) - 1),
        keypoints=torch.from_numpy(np.concatenate([_pad(o, width) for o in offsets])),
        has_keypoints=torch.as_tensor(np.repeat([e[5] is not None for e in episodes], lengths)),
        task_names=task_names,
    )


def _domain(dataset: LeRobotDataset) -> str:
    robot_type = dataset.info.get("robot_type")
    for domain, schema in SCHEMAS.items():
        if schema.robot_type == robot_type:
            return domain
    raise ValueError(f"{dataset.root}: robot type {robot_type!r} is none of vla-bench's "
                     f"({', '.join(s.robot_type for s in SCHEMAS.values())})")


def _pad(values: np.ndarray, width: int) -> np.ndarray:
    return np.pad(values.astype(np.float32), ((0, 0), (0, width - values.shape[1])))


@lru_cache(maxsize=4)
def _dataset(root: Path) -> LeRobotDataset:
    """One reading of the metadata per process, not one per episode."""
    return LeRobotDataset(root)


def _read_episode(job: tuple[Path, int, tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str,
                                                                  np.ndarray | None]:
    root, index, features = job
    dataset = _dataset(root)
    episode = dataset.episode(index)
    images = np.stack([episode.images[feature] for feature in features], axis=1)
    actions = move_indices(episode.action) if _domain(dataset) == "navigation" else episode.action
    return (images, episode.state.astype(np.float32), actions.astype(np.float32), episode.instruction,
            episode.meta.get("task", ""), episode.keypoints)
