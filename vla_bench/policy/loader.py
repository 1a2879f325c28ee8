"""Turns `--policy` and `--policy-arg` into a Policy instance.

Accepted forms: a built-in name (`random`, `oracle`), `package.module:Class`,
`path/to/file.py:Class`, or a name registered under the entry-point group `vla_bench.policies`.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from vla_bench.errors import UnknownName
from vla_bench.policy.base import Policy
from vla_bench.policy.builtin import OraclePolicy, RandomPolicy

BUILTIN = {"random": RandomPolicy, "oracle": OraclePolicy}
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
    names = {name: f"built-in ({cls.__doc__.strip().splitlines()[0]})" for name, cls in BUILTIN.items()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, f"entry point {ep.value}")
    return names


def resolve_policy_class(reference: str) -> type:
    if reference in BUILTIN:
        return BUILTIN[reference]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == reference:
            return ep.load()
    if ":" not in reference:
        raise PolicyLoadError(f"unknown policy {reference!r}; valid names: {', '.join(registered_policies())}, "
                              "or package.module:Class, or path/to/file.py:Class")
    module_ref, _, class_name = reference.rpartition(":")
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
