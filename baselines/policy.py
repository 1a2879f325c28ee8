"""The learned baselines as policies: every registered baseline loads its shipped checkpoint.

Each new frame is encoded once; the features of the last `history` frames are kept per
episode (keyed by `episode_id`, so one model can serve many episodes through `act_batch`).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vla_bench.baselines.checkpoint import load_checkpoint, pick_device
from vla_bench.baselines.cuda_graphs import GraphedFunction
from vla_bench.baselines.layers import normalize_images
from vla_bench.baselines.model import compile_repeated_blocks
from vla_bench.baselines.registry import baseline_entry
from vla_bench.data.cameras import camera_frame
from vla_bench.errors import UsageError
from vla_bench.policy.base import Policy, TaskInfo
from vla_bench.policy.batching import EpisodeStates

ENSEMBLE_DECAY = 0.01  # ACT's temporal ensembling: weight exp(-m i) for the i-th oldest prediction of a step


@dataclass
class _EpisodeState:
    domain: int  # index into the model's domains
    language: torch.Tensor  # (L,): the instruction as the model reads it
    features: deque  # of (tokens, D) tensors
    proprio: deque  # of (P,) tensors
    predictions: deque  # of (step it was made at, distribution over the chunk that followed)
    step: int = 0

    def ensembled(self) -> torch.Tensor:
        """Every earlier prediction for this step, averaged with ACT's weights (oldest first)."""
        made = [(dist[self.step - at]) for at, dist in self.predictions if self.step - at < len(dist)]
        weights = torch.exp(-ENSEMBLE_DECAY * torch.arange(len(made), dtype=torch.float32, device=made[0].device))
        stacked = torch.stack(made)
        return (stacked * (weights / weights.sum()).reshape(-1, *[1] * (stacked.dim() - 1))).sum(dim=0)


class LearnedPolicy(Policy):
    """A baseline checkpoint behind the policy adapter, in every domain the model was trained for."""

    baseline: ClassVar[str]
    observation_keys: ClassVar[dict[str, tuple[str, ...]]]  # per domain; set per baseline by policy_class

    def __init__(self, checkpoint: str | None = None, device: str = "cpu", threads: int = 1,
                 compile: bool = False, graphs: bool | None = None) -> None:
        if threads > 0:  # on a GPU too: its CPU side (the instruction encoder) must leave the cores to the workers
            torch.set_num_threads(threads)
        self.device = pick_device(device)
        self.checkpoint_path = path = Path(checkpoint) if checkpoint else baseline_entry(self.baseline).shipped_checkpoint
        if not checkpoint and not path.is_file():
            raise UsageError(f"{self.baseline} ships no checkpoint yet: train one (`vla-bench train {self.baseline} "
                             f"--data DIR --out PATH`) and pass --policy-arg checkpoint=PATH")
        name, self.model, self.training = load_checkpoint(path, str(self.device))
        if name != self.baseline:
            raise ValueError(f"{path} holds a {name} checkpoint, not {self.baseline}")
        if not isinstance(compile, bool):
            raise UsageError(f"compile takes true or false, got {compile!r}")
        if compile:  # rt2's and palme's language-model blocks: fewer kernel launches per call on a GPU
            compile_repeated_blocks(self.model)
        self.encode_frames, self.decide = self._forward_passes(compile, graphs)
        self.encoder = self.model.config.instruction_encoder()
        self.encoder.load()  # a missing encoder fails here, before any episode starts
        # On a GPU a new batch size costs set-up at its first call (96 warm-up calls over sizes 1-16
        # took 31 s on an H100, results/timing/h100x4-rt1-warmup.md), and batched serving meets
        # every size up to the worker count: padded to a power of two, the encoder and the
        # decision meet five sizes for 16 workers (the small heads still see every size). The
        # padding's own cost in a run is not yet timed.
        self.pad_batches = self.device.type == "cuda"
        self._episodes: EpisodeStates[_EpisodeState] = EpisodeStates()

    def batches(self) -> bool:
        """On a GPU one model serves every worker's episodes; on the CPU each worker runs its own
        copy one observation at a time, so results do not depend on how episodes were batched."""
        return self.device.type != "cpu"

    def reset(self, instruction: str, task: TaskInfo) -> None:
        config = self.model.config
        if task.domain not in config.domains:
            raise ValueError(f"{self.checkpoint_path} was trained for {', '.join(config.domains)}, not {task.domain}")
        language = torch.from_numpy(self.encoder.encode([instruction])[0]).to(self.device)
        self._episodes.start(task.episode_id, _EpisodeState(
            self.model.domain_index(task.domain), language, deque(maxlen=config.history), deque(maxlen=config.history),
            deque(maxlen=config.chunk)))

    def act(self, observation: dict[str, Any]) -> np.ndarray | int:
        return self.act_batch([observation])[0]

    @torch.inference_mode()
    def act_batch(self, observations: list[dict[str, Any]]) -> list[np.ndarray | int]:
        """Actions for many episodes in one pass. On a GPU the inputs cross to the device in one
        copy each and the actions come back in one copy per domain: every synchronisation waits
        for the GPU's turn, which the workers' renderers share (a copy per episode made a batch of
        16 take seconds there)."""
        config = self.model.config
        states = self._episodes.of(observations)
        domains = [config.domains[s.domain] for s in states]
        images = np.stack([np.stack([camera_frame(obs, camera) for camera in config.camera_keys(domain)])
                           for obs, domain in zip(observations, domains)])
        images = normalize_images(torch.from_numpy(images).to(self.device))
        proprio = np.zeros((len(observations), config.proprio_dim), dtype=np.float32)
        for row, obs in zip(proprio, observations):
            row[: len(obs["proprio"])] = obs["proprio"]
        proprio = torch.from_numpy(proprio).to(self.device)
        language = torch.stack([s.language for s in states])
        features = self.encode_frames(*self._padded(images, language))[: len(states)]
        for state, frame, now in zip(states, features, proprio):
            if not state.features:  # before the first frame the history repeats it, as in training
                state.features.extend([frame] * (config.history - 1))
                state.proprio.extend([now] * (config.history - 1))
            state.features.append(frame)
            state.proprio.append(now)
        domain_rows = torch.as_tensor([s.domain for s in states])  # on the host: predict picks rows by it
        domain = domain_rows.to(self.device)
        readouts = self.decide(*self._padded(torch.stack([torch.stack(list(s.features)) for s in states]),
                                             torch.stack([torch.stack(list(s.proprio)) for s in states]),
                                             language, domain))[: len(states)]
        ensembled = []
        for state, chunk in zip(states, self.model.predict(readouts[:, -1], domain_rows)):
            state.predictions.append((state.step, chunk))
            ensembled.append(state.ensembled())
            state.step += 1
        actions: list[np.ndarray | int] = [0] * len(states)
        for name in dict.fromkeys(domains):
            rows = [i for i, d in enumerate(domains) if d == name]
            decoded = self.model.heads[name].decode(torch.stack([ensembled[i] for i in rows])).cpu().numpy()
            for i, action in zip(rows, decoded):
                actions[i] = int(action) if name == "navigation" else action.astype(np.float32)
        return actions

    def _forward_passes(self, compile: bool, graphs: bool | None) -> tuple[Callable, Callable]:
        """The model's `encode_frames` and `decide`, replayed as CUDA graphs (`graphs`, on by default
        on a GPU unless `compile` is asked for) or called as they are."""
        if graphs is None:
            graphs = self.device.type == "cuda" and not compile
        if not isinstance(graphs, bool):
            raise UsageError(f"graphs takes true or false, got {graphs!r}")
        if graphs and self.device.type != "cuda":
            raise UsageError(f"graphs=true replays CUDA graphs: it needs device=cuda, not {self.device.type}")
        if graphs and compile:
            raise UsageError("compile=true and graphs=true both cut kernel launches: choose one")
        if not graphs:
            return self.model.encode_frames, self.model.decide
        return GraphedFunction(self.model.encode_frames), GraphedFunction(self.model.decide)

    def _padded(self, *batches: torch.Tensor) -> list[torch.Tensor]:
        """The batches, their last row repeated up to the next power of two when `pad_batches`
        (rows do not interact: the padding changes no other row's output)."""
        rows = len(batches[0])
        size = 1 << (rows - 1).bit_length() if self.pad_batches else rows
        return [torch.cat([b, b[-1:].expand(size - rows, *b.shape[1:])]) if size > rows else b for b in batches]


@lru_cache(maxsize=None)
def policy_class(name: str) -> type[LearnedPolicy]:
    """The policy class of a registered baseline (what `--policy NAME` builds): its observation
    keys come from the baseline's default configuration, so they can be checked before loading."""
    entry = baseline_entry(name)
    return type(f"{name.upper()}Policy", (LearnedPolicy,), {
        "__doc__": entry.summary, "__module__": __name__, "name": name, "baseline": name,
        "observation_keys": entry.observation_keys, "action_mode": entry.action_modes})


def __getattr__(name: str) -> type[LearnedPolicy]:
    """`vla_bench.baselines.policy:RT1Policy` (any registered baseline's `<NAME>Policy`) loads by name."""
    from vla_bench.baselines.registry import baseline_names

    for baseline in baseline_names():
        if name == f"{baseline.upper()}Policy":
            return policy_class(baseline)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
