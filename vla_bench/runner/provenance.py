"""What a result needs to be reproduced, recorded in run.json: which code, which libraries,
which GL backend, which checkpoint, which machine."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import vla_bench
from vla_bench.runner.resources import parameter_count

PACKAGES = ("vla-bench", "mujoco", "gymnasium", "numpy", "pybullet", "torch")


def provenance(policy: Any) -> dict[str, Any]:
    return {
        "suite_version": vla_bench.__version__,
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "gl_backend": os.environ.get("MUJOCO_GL", ""),
        "checkpoint": checkpoint_provenance(policy),
        "policy_parameters": parameter_count(policy),
        "machine": machine(),
        "server": _plain_metadata(getattr(policy, "server_metadata", None)),  # a policy server's own description
    }


def _plain_metadata(metadata: Any) -> Any:
    """What a policy server said about itself at connect time, as JSON can hold it (None if not remote)."""
    if metadata is None:
        return None
    return json.loads(json.dumps(metadata, default=str))


def git_commit() -> str | None:
    """The commit of the checkout vla_bench runs from (suffixed '+dirty' with local changes), or
    None when it runs from an installed wheel (then `suite_version` says which release)."""
    root = Path(vla_bench.__file__).resolve().parents[1]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def checkpoint_provenance(policy: Any) -> dict[str, str] | None:
    """Path and SHA-256 of the policy's `checkpoint_path`, for policies that load one."""
    path = getattr(policy, "checkpoint_path", None)
    if path is None or not Path(path).is_file():
        return None
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return {"path": str(path), "sha256": digest}


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "cpu": _cpu_model(), "cores": os.cpu_count(), "gpus": _gpus()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    """GPU names from nvidia-smi, when the machine has NVIDIA GPUs."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]
