"""Turns `--policy` and `--policy-arg` into a Policy instance.

Accepted forms: a built-in name (`random`, `oracle`, or a learned baseline of
`vla_bench.baselines`' registry such as `rt1`), `package.module:Class`, `path/to/file.py:Class`,
or a name registered under the entry-point group `vla_bench.policies`.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from vla_bench.baselines.registry import EXTRA_HINT, baseline_names
from vla_bench.errors import UnknownName
from vla_bench.policy.base import Policy

# reference policies; the learned baselines come from their registry (imported on use: they need torch)
REFERENCE = {
    "random": "vla_bench.policy.builtin:RandomPolicy",
    "oracle": "vla_bench.policy.builtin:OraclePolicy",
}
ENTRY_POINT_GROUP = "vla_bench.policies"


class PolicyLoadError(UnknownName):
    """The --policy value names nothing loadable; the message says what is valid."""


@dataclass(frozen=True)
class PolicySpec:
    """How to build a policy anywhere (in a worker process too): its reference and its arguments."""

    reference: str
    args: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Policy:
        cls = resolve_policy_class(self.reference)
        try:
            policy = cls(**self.args)
        except TypeError as err:
            raise PolicyLoadError(f"cannot construct {self.reference} with {self.args}: {err}") from err
        if not hasattr(policy, "act"):
            raise PolicyLoadError(f"{self.reference} has no act(observation) method")
        return policy


def registered_policies() -> dict[str, str]:
    """Built-in and entry-point policy names with where they come from."""
    names = {}
    for name in builtin_policies():
        try:
            names[name] = f"built-in ({resolve_policy_class(name).__doc__.strip().splitlines()[0]})"
        except PolicyLoadError as err:
            names[name] = f"built-in, unavailable here: {err}"
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, f"entry point {ep.value}")
    return names


def builtin_policies() -> list[str]:
    return [*REFERENCE, *baseline_names()]


def resolve_policy_class(reference: str) -> type:
    if reference in REFERENCE:
        return _import_class(REFERENCE[reference], reference)
    if reference in baseline_names():
        return _learned_policy_class(reference)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == reference:
            return ep.load()
    if ":" not in reference:
        raise PolicyLoadError(f"unknown policy {reference!r}; valid names: {', '.join(registered_policies())}, "
                              "or package.module:Class, or path/to/file.py:Class")
    return _import_class(reference, reference)


def _learned_policy_class(name: str) -> type:
    try:
        from vla_bench.baselines.policy import policy_class
    except ImportError as err:
        raise PolicyLoadError(f"the learned baseline {name!r} needs PyTorch and the sentence encoder "
                              f"({err.name or err} is not installed): {EXTRA_HINT}") from err
    return policy_class(name)


def _import_class(target: str, reference: str) -> type:
    module_ref, _, class_name = target.rpartition(":")
    if module_ref.endswith(".py"):
        path = Path(module_ref)
        if not path.is_file():
            raise PolicyLoadError(f"policy file {path} does not exist")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_ref)
        except ImportError as err:
            raise PolicyLoadError(f"cannot import {module_ref!r} for policy {reference!r}: {err}") from err
    cls = getattr(module, class_name, None)
    if cls is None or not inspect.isclass(cls):
        raise PolicyLoadError(f"{module_ref} has no class {class_name!r}")
    return cls


def parse_policy_args(pairs: list[str]) -> dict[str, Any]:
    """`key=value` strings to keyword arguments; values are parsed as JSON when they can be."""
    import json

    args = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PolicyLoadError(f"--policy-arg takes key=value, got {pair!r}")
        try:
            args[key] = json.loads(value)
        except json.JSONDecodeError:
            args[key] = value
    return args
