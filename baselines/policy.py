"""The learned baselines as policies: every registered baseline loads its shipped checkpoint.

Each new frame is encoded once; the features of the last `history` frames and the last `chunk`
predictions are kept per episode (keyed by `episode_id`, so one model can serve many episodes
through `act_batch`). A batch's bookkeeping is a few tensor operations for all its episodes, not
a few per episode: on a GPU each is a kernel launch, and per-episode ensembling took a third of
a batched call's Python time (results/timing/h200-rt1-serving-profile.txt).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vla_bench.baselines.checkpoint import load_checkpoint, pick_device
from vla_bench.baselines.cuda_graphs import GraphedFunction
from vla_bench.baselines.heads import BinnedHead
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
    features: torch.Tensor | None = None  # (history, tokens, D): the last frames' features, oldest first
    proprio: torch.Tensor | None = None  # (history, P)
    predictions: torch.Tensor | None = None  # (chunk, chunk, ...): the last `chunk` distributions over their chunks
    step: int = 0  # decisions made so far


def _pushed(windows: list[torch.Tensor | None], new: torch.Tensor, empty: Callable[[torch.Tensor], torch.Tensor]
            ) -> torch.Tensor:
    """The episodes' windows (oldest first) with their oldest row dropped and `new`'s row appended,
    as one batch; an episode without a window yet starts from `empty(its new row)`."""
    stacked = torch.stack([w if w is not None else empty(row) for w, row in zip(windows, new)])
    return torch.cat([stacked[:, 1:], new[:, None]], dim=1)


class TemporalEnsemble:
    """ACT's temporal ensembling over a batch of episodes: the action for this step averages every
    earlier prediction made for it, weighted exp(-m i) for the i-th oldest. Each episode keeps its
    last `chunk` predicted chunks; the one made k steps ago says this step's in its row k."""

    def __init__(self, chunk: int, device: torch.device) -> None:
        slots = torch.arange(chunk, device=device)
        self.slots, self.ages = slots, chunk - 1 - slots  # slot i of the window was made `ages[i]` steps ago
        self.weights = torch.zeros(chunk + 1, chunk, device=device)  # row n: n predictions made, in the last n slots
        for n in range(1, chunk + 1):
            w = torch.exp(-ENSEMBLE_DECAY * torch.arange(n, dtype=torch.float32, device=device))
            self.weights[n, chunk - n:] = w / w.sum()

    def __call__(self, windows: torch.Tensor, made: list[int]) -> torch.Tensor:
        """windows (B, chunk, chunk, ...), the predictions made so far per episode -> (B, ...)."""
        now = windows[:, self.slots, self.ages]  # (B, chunk, ...): each slot's prediction for this step
        weights = self.weights[torch.as_tensor(made).clamp(max=len(self.slots)).to(windows.device)]
        return (now * weights.reshape(*weights.shape, *[1] * (now.dim() - 2))).sum(dim=1)


class LearnedPolicy(Policy):
    """A baseline checkpoint behind the policy adapter, in every domain the model was trained for."""

    baseline: ClassVar[str]
    observation_keys: ClassVar[dict[str, tuple[str, ...]]]  # per domain; set per baseline by policy_class

    def __init__(self, checkpoint: str | None = None, device: str = "cpu", threads: int = 1,
                 compile: bool = False, graphs: bool | None = None, decode: str = "argmax") -> None:
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
        self.decoders = self._decoders(decode)
        self.encoder = self.model.config.instruction_encoder()
        self.encoder.load()  # a missing encoder fails here, before any episode starts
        # On a GPU a new batch size costs set-up at its first call (96 warm-up calls over sizes 1-16
        # took 31 s on an H100, results/timing/h100x4-rt1-warmup.md), and batched serving meets
        # every size up to the worker count: padded to a power of two, the encoder and the
        # decision meet five sizes for 16 workers (the small heads still see every size). The
        # padding's own cost in a run is not yet timed.
        self.pad_batches = self.device.type == "cuda"
        self._episodes: EpisodeStates[_EpisodeState] = EpisodeStates()
        self.ensemble = TemporalEnsemble(self.model.config.chunk, self.device)

    def batches(self) -> bool:
        """On a GPU one model serves every worker's episodes; on the CPU each worker runs its own
        copy one observation at a time, so results do not depend on how episodes were batched."""
        return self.device.type != "cpu"

    def reset(self, instruction: str, task: TaskInfo) -> None:
        config = self.model.config
        if task.domain not in config.domains:
            raise ValueError(f"{self.checkpoint_path} was trained for {', '.join(config.domains)}, not {task.domain}")
        language = torch.from_numpy(self.encoder.encode([instruction])[0]).to(self.device)
        self._episodes.start(task.episode_id, _EpisodeState(self.model.domain_index(task.domain), language))

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
        frames = self.encode_frames(*self._padded(images, language))[: len(states)]

        def repeated(first: torch.Tensor) -> torch.Tensor:  # a new episode's window, as in training
            return first.expand(config.history, *first.shape)

        features = _pushed([s.features for s in states], frames, repeated)
        proprio = _pushed([s.proprio for s in states], proprio, repeated)
        readouts = self.decide(*self._padded(features, proprio, language,
                                             torch.as_tensor([s.domain for s in states], device=self.device)))
        actions: list[np.ndarray | int] = [0] * len(states)
        for index, name in enumerate(config.domains):
            rows = [i for i, s in enumerate(states) if s.domain == index]
            if not rows:
                continue
            windows = _pushed([states[i].predictions for i in rows], self.model.predict(readouts[rows, -1], name),
                              lambda chunk: chunk.new_zeros(config.chunk, *chunk.shape))
            ensembled = self.ensemble(windows, [states[i].step + 1 for i in rows])
            for i, window, action in zip(rows, windows, self.decoders[name](ensembled).cpu().numpy()):
                state = states[i]
                state.features, state.proprio, state.predictions = features[i], proprio[i], window
                state.step += 1
                actions[i] = int(action) if name == "navigation" else action.astype(np.float32)
        return actions

    def _decoders(self, decode: str) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        """Per domain, how its head's distribution becomes an action: `argmax`, a binned head's most
        probable bin (RT-1's and RT-2's token decoding), or `mean`, its expected value. Other heads
        decode as they do (a navigation move is one of four)."""
        if decode not in ("argmax", "mean"):
            raise UsageError(f"decode takes argmax or mean, got {decode!r}")
        binned = {name for name, head in self.model.heads.items() if isinstance(head, BinnedHead)}
        if decode == "mean" and not binned:
            raise UsageError(f"decode=mean averages a binned action head; {self.baseline}'s heads are not binned")
        return {name: head.expected if decode == "mean" and name in binned else head.decode
                for name, head in self.model.heads.items()}

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
