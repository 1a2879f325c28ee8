"""Learned baselines (RT-1 and BC-Z style), their training and their shipped checkpoints.

Each baseline is a folder with its configuration and its model (LeRobot's layout); this
module is the one factory that maps a name to them.
"""
from __future__ import annotations

from pathlib import Path

from vla_bench.baselines.bcz import BCZ, BCZConfig
from vla_bench.baselines.model import BaselineConfig, BaselineModel
from vla_bench.baselines.rt1 import RT1, RT1Config
from vla_bench.errors import UnknownName

MODELS: dict[str, type[BaselineModel]] = {"rt1": RT1, "bcz": BCZ}
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


def model_class(name: str) -> type[BaselineModel]:
    if name not in MODELS:
        raise UnknownName(f"unknown baseline {name!r}; valid: {', '.join(MODELS)}")
    return MODELS[name]


def make_model(name: str, **overrides) -> BaselineModel:
    """A freshly initialized model; `overrides` replace fields of its default configuration."""
    cls = model_class(name)
    fields = cls.config_class.__dataclass_fields__
    unknown = [key for key in overrides if key not in fields]
    if unknown:
        raise UnknownName(f"{name} has no configuration field {', '.join(unknown)}; valid: {', '.join(fields)}")
    return cls(cls.config_class(**overrides))


def shipped_checkpoint(name: str) -> Path:
    return CHECKPOINT_DIR / f"{name}.safetensors"


__all__ = ["BCZ", "BCZConfig", "BaselineConfig", "BaselineModel", "MODELS", "RT1", "RT1Config", "make_model",
           "model_class", "shipped_checkpoint"]
