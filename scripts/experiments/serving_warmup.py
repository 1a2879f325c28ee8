"""Is batched GPU serving's start-up stall the GPU meeting new batch shapes? rt1 that, at its first
reset, answers batches of every size from 1 to `warm_up` in each domain (on recorded observations,
as `vla-bench bench --batch-sizes` does). The batched executor calls `reset` on the thread that
serves every later batch, so that thread's cuBLAS and cuDNN handles are warm too. Run beside
plain rt1 on one slice:

    vla-bench run --policy rt1 --policy-arg device=cuda --split novel_objects --episodes-per-task 7 --workers 16
    vla-bench run --policy scripts/experiments/serving_warmup.py:WarmRT1 --name rt1-warm \\
        --policy-arg device=cuda --split novel_objects --episodes-per-task 7 --workers 16

The warmed run prints how long its warm-up took. If its first episodes then wait no longer per
step than its last ones (episodes.jsonl's latency_ms_mean, in the order they finished), and its
wall time (run.json's started to ended) less the warm-up is about plain rt1's less its stall, the
stall is first-call cost per shape, and bucketing batch sizes or warming up in the policy is the
fix; if it stalls anyway, the cause is elsewhere.
"""
from __future__ import annotations

import time
from dataclasses import replace

from vla_bench.baselines.policy import policy_class
from vla_bench.policy.base import TaskInfo
from vla_bench.policy.latency import recorded_observations

DOMAIN_TASKS = {"manipulation": "PickUp", "navigation": "GoToObject"}


class WarmRT1(policy_class("rt1")):
    def __init__(self, warm_up: int = 16, **kwargs) -> None:
        super().__init__(**kwargs)
        self.warm_up, self.warmed = warm_up, not self.batches()

    def reset(self, instruction: str, task: TaskInfo) -> None:
        if not self.warmed:
            self.warmed = True
            self._answer_every_batch_size()
        super().reset(instruction, task)

    def _answer_every_batch_size(self) -> None:
        start = time.perf_counter()
        for domain in self.model.config.domains:
            observations, info = recorded_observations(DOMAIN_TASKS[domain], 3, self.model.config.image_size)
            for size in range(1, self.warm_up + 1):
                episodes = [f"warm-up/{domain}/{size}/{i}" for i in range(size)]
                for episode_id in episodes:
                    super().reset(observations[0]["instruction"], replace(info, episode_id=episode_id))
                for observation in observations:
                    self.act_batch([{**observation, "episode_id": e} for e in episodes])
        print(f"warm-up: batches of 1 to {self.warm_up} in {', '.join(self.model.config.domains)} "
              f"took {time.perf_counter() - start:.1f} s", flush=True)
