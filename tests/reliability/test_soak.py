"""A long run (thousands of episodes, marked slow): the memory of each worker does not grow."""
import statistics

import pytest

from vla_bench.results import read_episodes
from vla_bench.runner.runner import RunConfig, run

EPISODES = 2000


@pytest.mark.slow
def test_thousands_of_episodes_leave_worker_memory_flat(tmp_path):
    run_dir = run(RunConfig(policy="oracle", split="train", tasks=("CloseDrawer",), episodes_per_task=EPISODES,
                            seed=11, workers=2, out=tmp_path / "soak", progress=False))
    records = read_episodes(run_dir)  # in the order they finished
    assert len(records) == EPISODES and not any(r["error"] for r in records)
    tenth = EPISODES // 10
    early = statistics.median(r["worker_rss_mb"] for r in records[tenth: 2 * tenth])  # after warm-up
    late = statistics.median(r["worker_rss_mb"] for r in records[-tenth:])
    print(f"worker resident memory: {early:.1f} MB after {2 * tenth} episodes, {late:.1f} MB after {EPISODES}")
    assert late < early * 1.05 + 5, (early, late)
