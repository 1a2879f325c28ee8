"""Is batched GPU serving's start-up stall the GPU meeting new batch shapes? rt1 that, before its
first episode, answers batches of every size from 1 to `warm_up` in each domain (on recorded
observations, as `vla-bench bench --batch-sizes` does). Run beside plain rt1 on one slice:

    vla-bench run --policy rt1 --policy-arg device=cuda --split novel_objects --episodes-per-task 7 --workers 16
    vla-bench run --policy scripts/experiments/serving_warmup.py:WarmRT1 --name rt1-warm \\
        --policy-arg device=cuda --split novel_objects --episodes-per-task 7 --workers 16

If the warmed run has no stall (its first episodes wait as long per step as its last ones) and its
wall time minus the warm-up matches, the stall is first-call cost per shape, and bucketing batch
sizes or warming up in the policy is the fix; if it stalls anyway, the cause is elsewhere.
"""
from __future__ import annotations

import time
from dataclasses import replace

from vla_bench.baselines.policy import policy_class
from vla_bench.policy.latency import recorded_observations

DOMAIN_TASKS = {"manipulation": "PickUp", "navigation": "GoToObject"}


class WarmRT1(policy_class("rt1")):
    def __init__(self, warm_up: int = 16, **kwargs) -> None:
        super().__init__(**kwargs)
        if not self.batches():
            return
        start = time.perf_counter()
        for domain in self.model.config.domains:
            observations, info = recorded_observations(DOMAIN_TASKS[domain], 3)
            for size in range(1, warm_up + 1):
                episodes = [f"warm-up/{domain}/{size}/{i}" for i in range(size)]
                for episode_id in episodes:
                    self.reset(observations[0]["instruction"], replace(info, episode_id=episode_id))
                for observation in observations:
                    self.act_batch([{**observation, "episode_id": e} for e in episodes])
        print(f"warm-up: batches of 1 to {warm_up} in {', '.join(self.model.config.domains)} "
              f"took {time.perf_counter() - start:.1f} s", flush=True)
