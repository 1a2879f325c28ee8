"""Turns `--policy` and `--policy-arg` into a Policy instance.

Accepted forms: a built-in name (`random`, `oracle`, or a learned baseline of
`vla_bench.baselines`' registry such as `rt1`), `package.module:Class`, `path/to/file.py:Class`,
a name registered under the entry-point group `vla_bench.policies`, `ws://HOST:PORT` (a policy
server, `vla_bench.serving.client`), or `lerobot:DIR` (a LeRobot checkpoint,
`vla_bench.policy.lerobot_checkpoint`).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from vla_bench.baselines.registry import EXTRA_HINT, baseline_names
from vla_bench.errors import UnknownName, UsageError
from vla_bench.policy.base import Policy
from vla_bench.policy.lerobot_checkpoint import is_lerobot, lerobot_policy_class

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

    def policy_class(self) -> type:
        """The class `build` instantiates; for a policy server, one that declares what its
        profile reads (so the runner leaves out the tasks that lack it)."""
        if is_remote(self.reference):
            from vla_bench.serving.client import remote_policy_class

            return remote_policy_class(self.args.get("profile", "vla_bench"))
        if is_lerobot(self.reference):
            return lerobot_policy_class(self.reference, self.args.get("cameras"))
        return resolve_policy_class(self.reference)

    def build(self) -> Policy:
        cls = self.policy_class()
        args = {"url": self.reference, **self.args} if is_remote(self.reference) else self.args
        try:
            policy = cls(**args)
        except UsageError:
            raise
        except Exception as err:  # wrong arguments, a checkpoint that does not load: the policy's, not ours
            raise PolicyLoadError(f"cannot construct {self.reference} with {self.args}: {_where(err)}") from err
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
                              "or package.module:Class, path/to/file.py:Class, ws://HOST:PORT or lerobot:DIR")
    return _import_class(reference, reference)


def is_remote(reference: str) -> bool:
    """A policy server's address rather than a policy to build here."""
    return reference.startswith(("ws://", "wss://"))


def _learned_policy_class(name: str) -> type:
    try:
        from vla_bench.baselines.policy import policy_class
    except ImportError as err:
        raise PolicyLoadError(f"the learned baseline {name!r} needs PyTorch and the sentence encoder "
                              f"({err.name or err} is not installed): {EXTRA_HINT}") from err
    return policy_class(name)


def _import_class(target: str, reference: str) -> type:
    module_ref, _, class_name = target.rpartition(":")
    module = _import_file(Path(module_ref)) if module_ref.endswith(".py") else _import_module(module_ref, reference)
    cls = getattr(module, class_name, None)
    if cls is None or not inspect.isclass(cls):
        raise PolicyLoadError(f"{module_ref} has no class {class_name!r}")
    return cls


def _import_module(name: str, reference: str) -> ModuleType:
    """`package.module` as `python -m` would find it: the current folder is searched too."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise PolicyLoadError(f"cannot import {name!r} for policy {reference!r}: {err}") from err
    except Exception as err:  # the module's own code failed while it was imported
        raise PolicyLoadError(f"importing {name!r} for policy {reference!r} failed: {_where(err)}") from err


def _import_file(path: Path) -> ModuleType:
    """A policy file as a module registered in sys.modules (dataclasses and pickling look it up there)."""
    if not path.is_file():
        raise PolicyLoadError(f"policy file {path} does not exist")
    name = f"vla_bench_policy_file_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # a syntax error, a failing import, any error at import time
        del sys.modules[name]
        raise PolicyLoadError(f"policy file {path} does not import: {_where(err, path)}") from err
    return module


def _where(err: BaseException, path: Path | None = None) -> str:
    """'SyntaxError at line 3: invalid syntax' or 'ValueError at my_policy.py line 7: ...'."""
    if isinstance(err, SyntaxError):
        return f"{type(err).__name__} at line {err.lineno}: {err.msg}"
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if path is not None and Path(f.filename).resolve() == path.resolve()] or frames[-1:]
    location = f" at {Path(mine[-1].filename).name} line {mine[-1].lineno}" if mine else ""
    return f"{type(err).__name__}{location}: {err}"


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
