"""`vla-bench compare RUN_A RUN_B`: is A's success different from B's on the same episodes?
(`vla-bench compare A1 A2 ... --against B1 B2 ...` pools each side's runs, e.g. one per split.)

Episodes are paired by `episode_id` and seed, so the comparison sees only what differs between the
policies, not which episodes each happened to run. Per task and overall it reports the success
difference with the exact McNemar test (a two-sided binomial test on the discordant pairs:
episodes one policy solved and the other did not) and a paired bootstrap interval; the overall
interval resamples episodes within each task of each split (stratified), so every bootstrap
sample keeps the task mix of the split or splits compared.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from vla_bench.errors import UsageError
from vla_bench.metrics import BOOTSTRAP_SAMPLES
from vla_bench.results import read_episodes

OVERALL = "ALL"


@dataclass(frozen=True)
class PairedComparison:
    task: str
    pairs: int
    success_a: float
    success_b: float
    only_a: int  # episodes A solved and B did not
    only_b: int
    difference: float  # success_a - success_b
    ci_low: float  # paired bootstrap, 95%
    ci_high: float
    p_value: float  # exact McNemar, two-sided


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: under no difference, each discordant pair is A's with
    probability 1/2, so min(b, c) is Binomial(b + c, 1/2) and p = 2 P(X <= min(b, c)), at most 1."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2**n
    return min(1.0, 2 * tail)


def compare_runs(runs_a: Sequence[Path], runs_b: Sequence[Path], seed: int = 0
                 ) -> tuple[list[PairedComparison], dict[str, int]]:
    """Per task (in A's order) and overall, each side's runs pooled (episode ids name their split,
    so runs of several splits pool into one comparison); with how many episodes only one side has."""
    a, b = pooled_episodes(runs_a), pooled_episodes(runs_b)
    tasks = paired_outcomes(a, b)
    strata = paired_outcomes(a, b, group=lambda r: (r.get("split"), r["task"]))
    if not tasks:
        raise UsageError(f"{run_names(runs_a)} and {run_names(runs_b)} share no episode (pairs are matched by episode_id)")
    shared = sum(len(pairs) for pairs in tasks.values())
    unpaired = {"only_in_a": len({episode_key(r) for r in a}) - shared,
                "only_in_b": len({episode_key(r) for r in b}) - shared}
    return compare_pairs(tasks, seed, strata), unpaired


def pooled_episodes(runs: Sequence[Path]) -> list[dict]:
    """The records of all `runs`, refusing an episode that two of them hold (it would count twice)."""
    records, seen = [], {}
    for index, run in enumerate(runs):
        for record in read_episodes(run):
            first = seen.setdefault(episode_key(record), index)
            if first != index:
                raise UsageError(f"episode {record['episode_id']} is in both {runs[first]} and {run}: "
                                 f"pool runs of different splits or episodes")
            records.append(record)
    return records


def run_names(runs: Sequence[Path]) -> str:
    """One side's runs as the comparison names them."""
    return " + ".join(str(run) for run in runs)


def episode_key(record: dict) -> tuple[str, int | None]:
    """What makes two records the same episode: its id and seed (runs on other `--seed` draws
    reuse the ids, never the seeds)."""
    return record["episode_id"], record.get("seed")


def paired_outcomes(a: list[dict], b: list[dict], key: Callable[[dict], object] = episode_key,
                    group: Callable[[dict], object] = lambda r: r["task"]) -> dict:
    """(A's success, B's success) per task (or per `group` of A's record) for the episodes both
    hold, matched by `key` (the same episode; for twins from two splits,
    `vla_bench.metrics.twin_id`), in A's order."""
    b_by_key = {key(r): r for r in b}
    tasks: dict[str, list[tuple[bool, bool]]] = {}
    for r in {key(r): r for r in a}.values():
        partner = b_by_key.get(key(r))
        if partner is not None:
            tasks.setdefault(group(r), []).append((bool(r["success"]), bool(partner["success"])))
    return tasks


def compare_pairs(tasks: dict[str, list[tuple[bool, bool]]], seed: int = 0, strata: dict | None = None
                  ) -> list[PairedComparison]:
    """Per task and, last, overall (task ALL, its interval resampled within each of `strata`, the
    same pairs grouped by split and task; by default the tasks)."""
    rng = np.random.default_rng(seed)
    outcomes = {task: np.array(pairs, dtype=float) for task, pairs in tasks.items()}
    rows = [_compare(task, pairs, [_resample(pairs, rng)]) for task, pairs in outcomes.items()]
    groups = [np.array(pairs, dtype=float) for pairs in (strata or tasks).values()]
    rows.append(_compare(OVERALL, np.concatenate(groups), [_resample(pairs, rng) for pairs in groups]))
    return rows


def _resample(pairs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """BOOTSTRAP_SAMPLES resamples of the pairs' (A - B) outcomes: (samples, len(pairs))."""
    picks = rng.integers(0, len(pairs), (BOOTSTRAP_SAMPLES, len(pairs)))
    return (pairs[:, 0] - pairs[:, 1])[picks]


def _compare(task: str, pairs: np.ndarray, resampled: list[np.ndarray]) -> PairedComparison:
    """`resampled`: per stratum, its resampled differences (samples, stratum size), kept side by side."""
    means = np.concatenate(resampled, axis=1).mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    only_a = int(((pairs[:, 0] == 1) & (pairs[:, 1] == 0)).sum())
    only_b = int(((pairs[:, 0] == 0) & (pairs[:, 1] == 1)).sum())
    success_a, success_b = float(pairs[:, 0].mean()), float(pairs[:, 1].mean())
    return PairedComparison(task, len(pairs), success_a, success_b, only_a, only_b, success_a - success_b,
                            float(low), float(high), mcnemar_exact(only_a, only_b))
