"""Metric definitions (README "Metrics"): success with a Wilson interval, collision rate, SPL,
intervention rate, steps, latency, errors — aggregated from episode records."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Iterable, Mapping, Sequence

import numpy as np

Z_95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion (sane at 0, 1 and small n)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def spl(success: bool, path_length: float, shortest_path_length: float) -> float:
    """Success weighted by path length (Anderson et al. 2018) for one episode: S·L*/max(L, L*)."""
    if not success or shortest_path_length <= 0:
        return 0.0
    return shortest_path_length / max(path_length, shortest_path_length)


@dataclass(frozen=True)
class Summary:
    policy: str
    split: str
    task: str
    episodes: int
    success_rate: float
    success_ci_low: float
    success_ci_high: float
    collision_rate: float
    spl: float
    intervention_rate: float
    mean_steps: float
    errors: int
    interventions_per_episode: float
    latency_ms_mean: float
    latency_ms_p95: float


SUMMARY_COLUMNS = tuple(f.name for f in fields(Summary))


def summarize(records: Sequence[Mapping], policy: str, split: str, task: str) -> Summary:
    """One summary row over episode records (dicts with the episodes.jsonl fields)."""
    n = len(records)
    successes = sum(bool(r["success"]) for r in records)
    low, high = wilson_interval(successes, n)
    steps = sum(r["steps"] for r in records)
    p95 = [r.get("latency_ms_p95", r["latency_ms_mean"]) for r in records if r["steps"] > 0]
    return Summary(
        policy=policy, split=split, task=task, episodes=n,
        success_rate=successes / n if n else 0.0, success_ci_low=low, success_ci_high=high,
        collision_rate=_mean(r["collisions"] > 0 for r in records),
        spl=_mean(r["spl"] for r in records),
        intervention_rate=_mean(r["interventions"] > 0 for r in records),
        mean_steps=_mean(r["steps"] for r in records),
        errors=sum(bool(r["error"]) for r in records),
        interventions_per_episode=_mean(r["interventions"] for r in records),
        latency_ms_mean=sum(r["latency_ms_mean"] * r["steps"] for r in records) / steps if steps else 0.0,
        latency_ms_p95=float(np.percentile(p95, 95)) if p95 else 0.0,  # p95 over episodes of their p95
    )


def summarize_run(records: Sequence[Mapping]) -> list[Summary]:
    """Rows per (policy, split, task) in first-seen order, then one task = ALL row per (policy, split)."""
    groups: dict[tuple[str, str, str], list[Mapping]] = {}
    for r in records:
        groups.setdefault((r["policy"], r["split"], r["task"]), []).append(r)
    rows = [summarize(rs, *key) for key, rs in groups.items()]
    for policy, split in dict.fromkeys((p, s) for p, s, _ in groups):
        rows.append(summarize([r for r in records if r["policy"] == policy and r["split"] == split], policy, split, "ALL"))
    return rows


def _mean(values: Iterable) -> float:
    values = [float(v) for v in values]
    return float(np.mean(values)) if values else 0.0
