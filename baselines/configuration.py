"""What every learned baseline's configuration shares (torch-free, so the registry, the CLI and
`vla-bench list policies` read it without importing PyTorch)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CAMERAS = ("rgb", "wrist_rgb")

@dataclass(frozen=True)
class BaselineConfig:
    """Inputs and outputs every baseline shares; each model's config adds its architecture."""

    cameras: tuple[str, ...] = ("rgb",)  # observation keys of the images the model sees, in order
    history: int = 1  # control steps of observations per decision (the current one included)
    image_size: int = 128  # pixels, width and height of every camera image
    language_dim: int = 384  # the instruction embedding's size (all-MiniLM-L6-v2)
    proprio_dim: int = 15  # the manipulation proprio vector
    action_dim: int = 7  # end-effector delta and gripper

    def __post_init__(self) -> None:
        unknown = [c for c in self.cameras if c not in CAMERAS]
        if not self.cameras or unknown:
            raise ValueError(f"cameras must be a non-empty subset of {CAMERAS}, got {self.cameras}")
        for name in ("history", "image_size", "language_dim", "proprio_dim", "action_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "BaselineConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
