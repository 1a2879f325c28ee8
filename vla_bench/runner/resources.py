"""Memory and parameters: a worker's resident memory (`worker_rss_mb`) and what a policy costs to
run, the resource-use metrics of README "Metrics", measured in the process that holds the policy
(a worker, the runner for a batched policy)."""
from __future__ import annotations

import os
import resource
import sys
from pathlib import Path
from typing import Any


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as `taskset` or a container's CPU set
    leaves it), not the host's: what a default worker count is made of."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resident_memory_mb() -> float:
    """This process's resident memory now (Linux /proc; elsewhere its peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_resident_mb() -> float:
    """This process's peak resident memory so far: Linux's VmHWM, the high-water mark of its own
    memory (getrusage's ru_maxrss would not do: Linux carries it across exec, so a spawned worker
    would report its parent's peak), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_gpu_mb() -> float:
    """PyTorch's peak GPU memory allocated by this process, or 0 when it used no GPU (PyTorch is
    never imported here for it)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return 0.0
    return sum(torch.cuda.max_memory_allocated(d) for d in range(torch.cuda.device_count())) / 2**20


def parameter_count(policy: Any) -> int | None:
    """Parameters of the PyTorch modules a policy holds as attributes (each module counted once),
    `policy.num_parameters` if it declares it, or None when neither says (a remote policy, a
    scripted expert)."""
    declared = getattr(policy, "num_parameters", None)
    if declared is not None:
        return int(declared)
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    modules = [v for v in vars(policy).values() if isinstance(v, torch.nn.Module)]
    if not modules:
        return None
    unique = {id(p): p for m in modules for p in m.parameters()}
    return sum(p.numel() for p in unique.values())
