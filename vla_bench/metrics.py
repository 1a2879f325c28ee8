"""Metric definitions (README "Metrics"): success with a Wilson interval (and, over tasks, a
stratified bootstrap interval), collision rate, SPL, intervention rate, steps, latency, errors,
completion time, progress, jerk, energy and the policy's resource use, aggregated from episode
records."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Iterable, Mapping, Sequence

import numpy as np

Z_95 = 1.959963984540054
BOOTSTRAP_SAMPLES = 10_000


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion (sane at 0, 1 and small n)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def stratified_bootstrap_interval(counts: Sequence[tuple[int, int]], seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the pooled success rate over strata (tasks), resampling episodes
    with replacement within each stratum (rliable's stratified bootstrap, Agarwal et al. 2021), so
    every resample keeps the split's task mix. `counts`: (successes, episodes) per stratum.
    Resampling n outcomes of which s succeeded gives Binomial(n, s/n) successes, which is drawn directly."""
    counts = [(s, n) for s, n in counts if n > 0]
    if not counts:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    successes = sum(rng.binomial(n, s / n, BOOTSTRAP_SAMPLES) for s, n in counts)
    low, high = np.percentile(successes / sum(n for _, n in counts), [2.5, 97.5])
    return float(low), float(high)


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
    # added since (README "Metrics"); nan where the episodes predate a field
    success_boot_low: float  # stratified bootstrap interval over tasks (ALL rows; nan on a task's row)
    success_boot_high: float
    mean_completion_s: float  # over successes: simulated seconds to success
    mean_progress: float
    mean_jerk: float  # over episodes without an error
    mean_energy: float
    peak_policy_rss_mb: float
    peak_policy_gpu_mb: float
    # novel_disturbances (nan elsewhere): success over the episodes whose train twin succeeded, how many
    # those were, and the share of episodes in which the disturbance fired
    recovery_rate: float
    recovery_episodes: float
    disturbance_fired: float


SUMMARY_COLUMNS = tuple(f.name for f in fields(Summary))


def summarize(records: Sequence[Mapping], policy: str, split: str, task: str,
              twins: Mapping[str, Mapping] | None = None) -> Summary:
    """One summary row over episode records (dicts with the episodes.jsonl fields); a row over
    several tasks (task = ALL) also gets the stratified bootstrap interval. `twins`: the same
    policy's train records by `twin_id`, for the recovery rate of disturbed episodes."""
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
        **dict(zip(("success_boot_low", "success_boot_high"),
                   stratified_bootstrap_interval(_per_task_counts(records)) if task == "ALL" else (math.nan,) * 2)),
        mean_completion_s=_mean_of([{"completion_s": r.get("sim_seconds"), **r} for r in records if r["success"]],
                                   "completion_s"),  # runs before completion_s were synchronous: sim_seconds
        mean_progress=_mean_of(records, "progress"),
        mean_jerk=_mean_of([r for r in records if not r["error"]], "jerk"),
        mean_energy=_mean_of([r for r in records if not r["error"]], "energy"),
        peak_policy_rss_mb=max((r["policy_peak_rss_mb"] for r in records if r.get("policy_peak_rss_mb") is not None),
                               default=math.nan),  # None: measured elsewhere (a policy server's client)
        peak_policy_gpu_mb=max((r["policy_gpu_mb"] for r in records if r.get("policy_gpu_mb") is not None),
                               default=math.nan),
        **recovery(records, twins),
    )


def twin_id(record: Mapping) -> str:
    """What an episode shares with its twin in another split: its task and environment seed (the
    committed manifests draw episode k of a task from the same seed in every split, and a fresh
    draw with `--seed` from other seeds, so it never pairs with a committed episode)."""
    return f"{record['task']}/{record.get('seed')}"


def recovery(records: Sequence[Mapping], twins: Mapping[str, Mapping] | None) -> dict[str, float]:
    """Over the episodes of a disturbed split (records with the `disturbance` factor perturbed):
    the success rate of those in which the disturbance fired and whose undisturbed twin succeeded
    (recovery_rate), how many those were, and the share in which the disturbance fired. All nan
    for records of other splits."""
    disturbed = [r for r in records if "disturbance" in (r.get("perturbed") or ())]
    if not disturbed:
        return {"recovery_rate": math.nan, "recovery_episodes": math.nan, "disturbance_fired": math.nan}
    paired = [r for r in disturbed if r.get("disturbance") is not None and twins
              and (t := twins.get(twin_id(r))) and t["success"]]
    return {"recovery_rate": float(np.mean([bool(r["success"]) for r in paired])) if paired else math.nan,
            "recovery_episodes": float(len(paired)) if twins else math.nan,
            "disturbance_fired": float(np.mean([r.get("disturbance") is not None for r in disturbed]))}


def _per_task_counts(records: Sequence[Mapping]) -> list[tuple[int, int]]:
    tasks: dict[str, list[bool]] = {}
    for r in records:
        tasks.setdefault(r["task"], []).append(bool(r["success"]))
    return [(sum(s), len(s)) for s in tasks.values()]


def _mean_of(records: Sequence[Mapping], key: str) -> float:
    """The mean of `key` over the records that have it; nan when none has (older runs)."""
    values = [float(r[key]) for r in records if r.get(key) is not None]
    return float(np.mean(values)) if values else math.nan


def summarize_run(records: Sequence[Mapping], twin_records: Sequence[Mapping] = ()) -> list[Summary]:
    """Rows per (policy, split, task) in first-seen order, then one task = ALL row per (policy,
    split). `twin_records`: the same policy's train run, for the recovery rate of disturbed episodes."""
    twins = {twin_id(r): r for r in twin_records} or None
    groups: dict[tuple[str, str, str], list[Mapping]] = {}
    for r in records:
        groups.setdefault((r["policy"], r["split"], r["task"]), []).append(r)
    rows = [summarize(rs, *key, twins=twins) for key, rs in groups.items()]
    for policy, split in dict.fromkeys((p, s) for p, s, _ in groups):
        rows.append(summarize([r for r in records if r["policy"] == policy and r["split"] == split], policy, split,
                              "ALL", twins=twins))
    return rows


def _mean(values: Iterable) -> float:
    values = [float(v) for v in values]
    return float(np.mean(values)) if values else 0.0
