"""What every learned baseline's configuration shares (torch-free, so the registry, the CLI and
`vla-bench list policies` read it without importing PyTorch)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

import numpy as np

from vla_bench.data.cameras import DOMAIN_CAMERAS

DOMAINS = tuple(DOMAIN_CAMERAS)
PROPRIO_DIMS = {"manipulation": 15, "navigation": 4}  # each domain's proprio vector; shorter ones are zero-padded
MANIPULATION_ACTION_DIM = 7  # end-effector delta and gripper
NAVIGATION_ACTIONS = 4  # stop, forward, turn left, turn right
ACTION_MODES = {"manipulation": "ee_delta", "navigation": "discrete"}
# manipulation demonstrations' keypoint offsets: where two of the task's keypoints
# lie relative to the hand (vla_bench.data.collect.SCHEMAS)
KEYPOINT_DIM = 6
KEYPOINT_INPUTS = ("readout", "frame")
REGRESSION_LOSSES = ("smooth_l1", "mse")


class InstructionEncoder(Protocol):
    def load(self) -> None:
        """Load now what encoding needs, so a missing install fails before the first episode."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text: a float embedding, token ids, or (rt2's and palme's sentence FiLM)
        token ids then a float embedding, in one float32 row."""


@dataclass(frozen=True)
class BaselineConfig:
    """Inputs and outputs every baseline shares; each model's config adds its architecture.

    One model serves every domain in `domains`: the trunk is shared, and each domain has its
    own proprio projection and action head (RT-1's and Gato's way of mixing embodiments).
    Camera slot i is camera i of the episode's domain (`DOMAIN_CAMERAS`), so a model with
    `cameras=2` sees front and wrist in manipulation, colour and depth in navigation."""

    domains: tuple[str, ...] = DOMAINS
    cameras: int = 2  # the first N cameras of each domain
    history: int = 1  # control steps of observations per decision (the current one included)
    chunk: int = 1  # future actions predicted per decision (ACT's action chunk; executed with temporal ensembling)
    image_size: int = 128  # pixels, width and height of every camera image
    language_dim: int = 384  # the instruction embedding's size (all-MiniLM-L6-v2)
    # weight of an auxiliary loss in training: a head predicts where the task's keypoints lie
    # relative to the hand (recorded with the demonstrations), so the encoder must find them in
    # the images; 0 builds no such head. Acting never reads it.
    keypoint_weight: float = 0.0
    # what that head reads: "readout", the decision's last readout (proprio and history in it:
    # once the hand moves, its motion gives the target away), or "frame", the newest frame's
    # image features alone, so that only the pixels can say where things are
    keypoint_input: str = "readout"
    # a continuous action head's loss: "smooth_l1" (β = 0.1, BC-Z's: robust to the expert's rare
    # jumps, but a frame's gradient is the same size for every miss above β) or "mse"
    regression_loss: str = "smooth_l1"

    def __post_init__(self) -> None:
        unknown = [d for d in self.domains if d not in DOMAINS]
        if not self.domains or unknown:
            raise ValueError(f"domains must be a non-empty subset of {DOMAINS}, got {self.domains}")
        if not 1 <= self.cameras <= min(len(DOMAIN_CAMERAS[d]) for d in self.domains):
            raise ValueError(f"cameras must be between 1 and the cameras every domain has, got {self.cameras}")
        for name in ("history", "chunk", "image_size", "language_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for field in fields(self):  # `--config words_first=False` would otherwise pass as the truthy string "False"
            value = getattr(self, field.name)
            if field.type in (bool, "bool") and not isinstance(value, bool):
                raise ValueError(f"{field.name} must be true or false, got {value!r}")
        if self.keypoint_weight < 0:
            raise ValueError(f"keypoint_weight must not be negative, got {self.keypoint_weight}")
        if self.keypoint_input not in KEYPOINT_INPUTS:
            raise ValueError(f"keypoint_input must be one of {KEYPOINT_INPUTS}, got {self.keypoint_input!r}")
        if self.regression_loss not in REGRESSION_LOSSES:
            raise ValueError(f"regression_loss must be one of {REGRESSION_LOSSES}, got {self.regression_loss!r}")

    @property
    def proprio_dim(self) -> int:
        return max(PROPRIO_DIMS[d] for d in self.domains)

    def instruction_encoder(self) -> InstructionEncoder:
        """What turns instructions into the `language` rows the model reads: all-MiniLM-L6-v2's
        sentence embeddings (language_dim wide)."""
        from vla_bench.baselines.language import SentenceEncoder

        return SentenceEncoder()

    def camera_keys(self, domain: str) -> tuple[str, ...]:
        return DOMAIN_CAMERAS[domain][: self.cameras]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "BaselineConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
