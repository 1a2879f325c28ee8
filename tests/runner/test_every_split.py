"""Acceptance: random and oracle over every split (manipulation and navigation tasks in one run)
end with all files; the oracle is far above random."""
import pytest

import vla_bench
from vla_bench.results import read_summary
from vla_bench.runner.runner import RunConfig, run
from vla_bench.splits import SPLITS


@pytest.mark.slow
@pytest.mark.parametrize("split", list(SPLITS))
def test_oracle_far_above_random_on_every_split(tmp_path, split):
    rates = {}
    for policy in ("oracle", "random"):
        run_dir = run(RunConfig(policy=policy, split=split, episodes_per_task=2, workers=2,
                                out=tmp_path / policy, progress=False))
        for name in ("episodes.jsonl", "summary.csv", "run.json"):
            assert (run_dir / name).exists()
        overall = read_summary(run_dir)[-1]
        assert overall["task"] == "ALL" and overall["episodes"] == str(2 * len(vla_bench.list_tasks(builtin_only=True))) and overall["errors"] == "0"
        rates[policy] = float(overall["success_rate"])
    assert rates["oracle"] >= 0.85 and rates["random"] <= 0.15, rates
