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
