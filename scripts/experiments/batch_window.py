"""How much of a batched episode's wait is the batch window (issue 14)?

On one H200 (results/timing/h200-gl-workers.md) a batched rt1 step waited 12.7 ms for its action
with 16 workers, of which the policy call was about 6 ms: the rest is the executor's window
(`--batch-wait-ms`, default 5: a batch fires once every running episode waits or once the first
has waited that long) and the transfers. This probe isolates the executor's share on any machine:
real environments and workers, served by `FixedLatencyPolicy`, which reads rt1's cameras (so
the same images travel) and answers every batch after a fixed time whatever its size, as a GPU
call of a small model nearly does. It runs the same manipulation slice once per window and
prints the wall time, the mean wait a step saw and the mean batch.

    python scripts/experiments/batch_window.py --call-ms 4 --windows-ms 0,1,2,5 --workers 2
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vla_bench.policy.base import Policy, TaskInfo


class FixedLatencyPolicy(Policy):
    """Zero end-effector motion, answered for a whole batch after `call_ms` (a sleep, which frees
    the serving thread as a GPU call does); it reads rt1's manipulation observations."""

    name = "fixed-latency"
    action_mode = "ee_delta"
    observation_keys = ("rgb", "wrist_rgb", "proprio", "instruction")

    def __init__(self, call_ms: float = 4.0) -> None:
        self.call_s = call_ms / 1000

    def reset(self, instruction: str, task: TaskInfo) -> None:
        self._shape, self._dtype = task.action_space.shape, task.action_space.dtype

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        return self.act_batch([observation])[0]

    def act_batch(self, observations: list[dict[str, Any]]) -> list[np.ndarray]:
        time.sleep(self.call_s)
        return [np.zeros(self._shape, self._dtype) for _ in observations]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--call-ms", type=float, default=4.0, help="the policy's time per call, any batch size")
    parser.add_argument("--windows-ms", default="0,1,2,5", help="--batch-wait-ms values to run, comma-separated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", default="PickUp,OpenDrawer", help="manipulation tasks of novel_objects")
    parser.add_argument("--episodes-per-task", type=int, default=4)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    print(f"call {args.call_ms:g} ms, {args.workers} workers, novel_objects {args.tasks} x {args.episodes_per_task}")
    print("window   wall    steps   mean wait   mean batch   calls")
    for window in args.windows_ms.split(","):
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-m", "vla_bench.cli", "run", "--policy", "batch_window:FixedLatencyPolicy",
                       "--policy-arg", f"call_ms={args.call_ms}", "--executor", "batched", "--batch-wait-ms", window,
                       "--split", "novel_objects", "--tasks", args.tasks, "--episodes-per-task",
                       str(args.episodes_per_task), "--workers", str(args.workers), "--no-progress", "--out", out]
            start = time.perf_counter()
            paths = [str(here), *filter(None, [os.environ.get("PYTHONPATH")])]  # where the policy is, then the rest
            finished = subprocess.run(command, capture_output=True, text=True,
                                      env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)})
            if finished.returncode:
                raise SystemExit(f"the run with a {window} ms window failed:\n{finished.stderr[-3000:]}")
            wall = time.perf_counter() - start
            rows = [json.loads(line) for line in open(Path(out) / "episodes.jsonl")]
            batching = json.load(open(Path(out) / "run.json"))["batching"]
        steps = sum(r["steps"] for r in rows)
        wait = sum(r["latency_ms_mean"] * r["steps"] for r in rows) / steps
        print(f"{window:>4} ms {wall:6.1f} s {steps:7d} {wait:8.1f} ms {batching['mean_batch']:10.2f} "
              f"{batching['calls']:7d}")


if __name__ == "__main__":
    main()
