"""What serving a policy over WebSocket adds per step: the same policy and observations, once in
process and once through `vla-bench serve` (a real server process) on this machine."""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from vla_bench.policy.latency import recorded_observations
from vla_bench.policy.loader import PolicySpec


@dataclass(frozen=True)
class OverheadResult:
    task: str
    image_size: int
    calls: int
    message_kb: float  # one observation as sent
    local_ms_p50: float
    local_ms_p95: float
    remote_ms_p50: float
    remote_ms_p95: float

    @property
    def added_ms_p50(self) -> float:
        return self.remote_ms_p50 - self.local_ms_p50

    @property
    def added_ms_p95(self) -> float:
        return self.remote_ms_p95 - self.local_ms_p95


def measure_overhead(task: str = "PickUp", policy: str = "random", calls: int = 300,
                     image_size: int = 128) -> OverheadResult:
    """Time `act` on `calls` recorded observations of `task` (both cameras), in process and remote."""
    from vla_bench.serving.client import RemotePolicy
    from vla_bench.serving.wire import pack

    observations, info = recorded_observations(task, calls, image_size)

    def timed(model) -> np.ndarray:
        model.reset(observations[0]["instruction"], info)
        times = []
        for observation in observations:
            start = time.perf_counter()
            model.act(observation)
            times.append((time.perf_counter() - start) * 1000)
        return np.asarray(times)

    local = timed(PolicySpec(policy).build())
    server = subprocess.Popen([sys.executable, "-m", "vla_bench.cli", "serve", "--policy", policy, "--host",
                               "127.0.0.1", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        address = line.split(" on ", 1)[1].split()[0]
        remote_policy = RemotePolicy(address)
        remote = timed(remote_policy)
        remote_policy.close()
    finally:
        server.kill()
        server.wait()
    size = len(pack(dict(observations[0]))) / 1024
    return OverheadResult(task, image_size, calls, size, *np.percentile(local, [50, 95]).tolist(),
                          *np.percentile(remote, [50, 95]).tolist())
