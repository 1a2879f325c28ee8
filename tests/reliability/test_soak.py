"""A long run (thousands of episodes, marked slow): the memory of each worker does not grow,
whether its envs draw no camera (the oracle) or build and draw a new scene every episode."""
import statistics
from pathlib import Path

import pytest

from vla_bench.results import read_episodes
from vla_bench.runner.runner import RunConfig, run

POLICIES = Path(__file__).resolve().parents[1] / "runner" / "policies.py"


@pytest.mark.slow
@pytest.mark.parametrize("policy, episodes", [("oracle", 2000), (f"{POLICIES}:SeeingOracle", 600)])
def test_thousands_of_episodes_leave_worker_memory_flat(tmp_path, policy, episodes):
    run_dir = run(RunConfig(policy=policy, split="train", tasks=("CloseDrawer",), episodes_per_task=episodes,
                            seed=11, workers=2, out=tmp_path / "soak", progress=False))
    records = read_episodes(run_dir)  # in the order they finished
    assert len(records) == episodes and not any(r["error"] for r in records)
    assert sum(r["success"] for r in records) > 0.9 * episodes  # the episodes ran to their end
    tenth = episodes // 10
    early = statistics.median(r["worker_rss_mb"] for r in records[tenth: 2 * tenth])  # after warm-up
    late = statistics.median(r["worker_rss_mb"] for r in records[-tenth:])
    print(f"worker resident memory: {early:.1f} MB after {2 * tenth} episodes, {late:.1f} MB after {episodes}")
    assert late < early * 1.05 + 5, (early, late)
