"""The one registry of learned baselines (LeRobot's policy factory, in small).

A baseline is a folder `baselines/<name>/` whose `configuration.py` registers its configuration
class with `@register_baseline("<name>", summary=...)` and whose `modeling.py` holds the
`BaselineModel` subclass built from that configuration. Everything that names baselines reads
this registry: `vla-bench train` choices, `vla-bench list policies`, the policy loader, and
checkpoint loading. It imports no PyTorch: only `model_class` reaches for `modeling.py`.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from vla_bench.baselines.configuration import ACTION_MODES, BaselineConfig
from vla_bench.errors import UnknownName

if TYPE_CHECKING:
    from vla_bench.baselines.model import BaselineModel

PACKAGE = "vla_bench.baselines"
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
EXTRA_HINT = "pip install 'vla-bench[baselines]'"


@dataclass(frozen=True)
class BaselineEntry:
    name: str
    summary: str  # one line for `vla-bench list policies`
    config_class: type[BaselineConfig]

    @property
    def observation_keys(self) -> dict[str, tuple[str, ...]]:
        """What the policy reads in each domain: its default cameras, the proprio state and the instruction."""
        config = self.config_class()
        return {domain: (*config.camera_keys(domain), "proprio", "instruction") for domain in config.domains}

    @property
    def action_modes(self) -> tuple[str, ...]:
        return tuple(ACTION_MODES[domain] for domain in self.config_class().domains)

    @property
    def shipped_checkpoint(self) -> Path:
        return CHECKPOINT_DIR / f"{self.name}.safetensors"


_BASELINES: dict[str, BaselineEntry] = {}
C = TypeVar("C", bound=type)


def register_baseline(name: str, summary: str) -> Callable[[C], C]:
    """Decorator for a baseline's configuration class."""

    def decorate(config_class: C) -> C:
        _BASELINES[name] = BaselineEntry(name, summary, config_class)
        return config_class

    return decorate


def baseline_names() -> list[str]:
    _discover()
    return sorted(_BASELINES)


def baseline_entry(name: str) -> BaselineEntry:
    _discover()
    if name not in _BASELINES:
        raise UnknownName(f"unknown baseline {name!r}; valid: {', '.join(sorted(_BASELINES))}")
    return _BASELINES[name]


def model_class(name: str) -> type[BaselineModel]:
    """The model class of a baseline (imports PyTorch)."""
    entry = baseline_entry(name)
    module = importlib.import_module(f"{PACKAGE}.{name}.modeling")
    from vla_bench.baselines.model import BaselineModel

    for _, cls in inspect.getmembers(module, inspect.isclass):
        if issubclass(cls, BaselineModel) and cls.config_class is entry.config_class:
            return cls
    raise TypeError(f"{PACKAGE}.{name}.modeling has no BaselineModel with config_class {entry.config_class.__name__}")


def make_model(name: str, **overrides) -> BaselineModel:
    """A freshly initialized model; `overrides` replace fields of its default configuration."""
    cls = model_class(name)
    fields = cls.config_class.__dataclass_fields__
    unknown = [key for key in overrides if key not in fields]
    if unknown:
        raise UnknownName(f"{name} has no configuration field {', '.join(unknown)}; valid: {', '.join(fields)}")
    return cls(cls.config_class(**overrides))


def shipped_checkpoint(name: str) -> Path:
    return baseline_entry(name).shipped_checkpoint


def _discover() -> None:
    """Import every baseline folder's package, which registers its configuration."""
    for module in pkgutil.iter_modules([str(Path(__file__).resolve().parent)]):
        if module.ispkg:
            importlib.import_module(f"{PACKAGE}.{module.name}")
