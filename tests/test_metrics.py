"""Metric formulas: Wilson interval, SPL, and the summary rows."""
import pytest

from vla_bench.metrics import spl, summarize_run, wilson_interval


def test_wilson_interval_known_values():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(0, 20)[1] == pytest.approx(0.1611, abs=1e-4)
    assert wilson_interval(20, 20)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_spl_is_success_weighted_by_path_length():
    assert spl(True, 2.0, 1.0) == 0.5
    assert spl(True, 0.8, 1.0) == 1.0
    assert spl(False, 1.0, 1.0) == 0.0


def _record(task, success, collisions=0, interventions=0, error=""):
    return {"policy": "p", "split": "s", "task": task, "success": success, "steps": 10, "collisions": collisions,
            "spl": 0.5 if success else 0.0, "interventions": interventions, "latency_ms_mean": 2.0,
            "latency_ms_p95": 3.0, "error": error}


def test_summary_rows_per_task_and_all():
    records = [_record("A", True, collisions=2), _record("A", False, interventions=3), _record("B", False, error="x")]
    rows = {r.task: r for r in summarize_run(records)}
    assert set(rows) == {"A", "B", "ALL"}
    assert rows["A"].success_rate == 0.5 and rows["A"].collision_rate == 0.5 and rows["A"].intervention_rate == 0.5
    assert rows["ALL"].episodes == 3 and rows["ALL"].errors == 1
    assert rows["ALL"].interventions_per_episode == 1.0 and rows["ALL"].spl == pytest.approx(1 / 6)


def test_latency_is_averaged_over_steps_not_episodes():
    records = [{**_record("A", True), "steps": 10, "latency_ms_mean": 1.0},
               {**_record("A", True), "steps": 30, "latency_ms_mean": 5.0}]
    (row, _) = summarize_run(records)
    assert row.latency_ms_mean == pytest.approx(4.0)


def test_stratified_bootstrap_keeps_each_tasks_share():
    from vla_bench.metrics import stratified_bootstrap_interval

    low, high = stratified_bootstrap_interval([(10, 10), (0, 10)])  # one task always, one never: no variance
    assert low == high == 0.5
    low, high = stratified_bootstrap_interval([(5, 10), (5, 10)])
    assert low < 0.5 < high and high - low < 2 * 1.96 * (0.25 / 20) ** 0.5 + 0.05
    assert stratified_bootstrap_interval([]) == (0.0, 0.0)


def test_recovery_rate_counts_fired_disturbances_whose_train_twin_succeeded():
    def record(split, k, success, fired=True):
        return {**_record("A", success), "split": split, "episode_id": f"{split}/A/{k:03d}", "seed": 100 + k,
                "perturbed": ["disturbance"] if split == "novel_disturbances" else [],
                "disturbance": {"kind": "push_arm"} if fired and split == "novel_disturbances" else None}

    train = [record("train", k, k < 3) for k in range(4)]  # the twins of 0, 1, 2 succeeded
    disturbed = [record("novel_disturbances", 0, True), record("novel_disturbances", 1, False),
                 record("novel_disturbances", 2, True, fired=False), record("novel_disturbances", 3, True)]
    (row, overall) = summarize_run(disturbed, train)  # 2 never fired, 3's twin failed: 0 and 1 count
    assert row.recovery_rate == 0.5 and row.recovery_episodes == 2
    assert row.disturbance_fired == 0.75 and overall.recovery_rate == row.recovery_rate
    other_seeds = [{**r, "seed": r["seed"] + 1000} for r in train]  # a fresh --seed draw: no twins
    assert summarize_run(disturbed, other_seeds)[0].recovery_episodes == 0
    (alone, _) = summarize_run(disturbed)  # no twin run: no recovery rate, but the fire rate
    assert alone.recovery_rate != alone.recovery_rate and alone.disturbance_fired == 0.75  # nan
    (plain, _) = summarize_run(train, train)
    assert plain.recovery_rate != plain.recovery_rate  # nan: not a disturbed split
