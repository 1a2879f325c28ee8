"""Where does a batched GPU call of rt1 spend its time inside a run? `vla-bench bench` times a
batch of 8 at about 9 ms on an H100, yet in a run with 16 workers the same call took 46 ms at the
mean, warmed up or not (results/timing/h100x4-rt1-warmup.md). This rt1 profiles calls
`skip`+1 to `skip`+`calls` of `act_batch` with cProfile (on the serving thread) and writes, to
`profile` (a path prefix):

- PREFIX.txt: the mean time inside `act_batch` per call and batch size, then cProfile's top
  functions by cumulative and by own time; the run's `run.json` "batching" gives the time per
  call as the executor saw it, so the difference is the handoff to and from the serving thread;
- PREFIX.prof: the raw cProfile stats (python -m pstats PREFIX.prof).

    vla-bench run --policy scripts/experiments/serving_profile.py:ProfiledRT1 --policy-arg device=cuda \\
        --policy-arg profile=/tmp/rt1-serving --split novel_objects --episodes-per-task 7 --workers 16

It always serves batched (one copy for every worker), also on the CPU, so it runs anywhere.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections import Counter
from typing import Any

from vla_bench.baselines.policy import policy_class


class ProfiledRT1(policy_class("rt1")):
    def __init__(self, profile: str = "rt1-serving", skip: int = 100, calls: int = 300, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prefix, self.skip, self.calls = profile, skip, calls
        self.profiler, self.seen = cProfile.Profile(), 0
        self.inside_s, self.sizes = 0.0, Counter()

    def batches(self) -> bool:
        return True

    def act_batch(self, observations: list[dict[str, Any]]) -> list:
        self.seen += 1
        if not self.skip < self.seen <= self.skip + self.calls:
            return super().act_batch(observations)
        start = time.perf_counter()
        self.profiler.enable()
        try:
            return super().act_batch(observations)
        finally:
            self.profiler.disable()
            self.inside_s += time.perf_counter() - start
            self.sizes[len(observations)] += 1
            if self.seen == self.skip + self.calls:
                self._write()

    def _write(self) -> None:
        self.profiler.dump_stats(f"{self.prefix}.prof")
        report = io.StringIO()
        report.write(f"calls {self.skip + 1}-{self.seen} on {self.device}: {1000 * self.inside_s / self.calls:.2f} ms "
                     f"inside act_batch per call (cProfile on); batch sizes {dict(sorted(self.sizes.items()))}\n")
        for order in ("cumulative", "tottime"):
            report.write(f"\n== by {order}\n")
            pstats.Stats(self.profiler, stream=report).sort_stats(order).print_stats(35)
        with open(f"{self.prefix}.txt", "w") as out:
            out.write(report.getvalue())
