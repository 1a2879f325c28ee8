"""Run directories written from chosen outcomes (episodes.jsonl, summary.csv, run.json), for
testing what reads runs (leaderboard, report) without running episodes."""
from __future__ import annotations

from pathlib import Path

from vla_bench.results import append_episode, write_run_info, write_summary
from vla_bench.runner.episode import EpisodeRecord


def write_run(path: Path, policy: str, split: str, outcomes: dict[str, list[bool]], planned: int | None = None,
              perturbed: dict[str, list[list[str]]] | None = None, effort: float = 1.0, **config) -> Path:
    """A run of `policy` on `split`: `outcomes[task][k]` is episode k's success (its id
    `split/task/k`, as the manifests name them); `planned` more than given makes it partial;
    `effort` scales its energy and jerk."""
    path.mkdir(parents=True)
    records = []
    for task, successes in outcomes.items():
        for k, success in enumerate(successes):
            record = EpisodeRecord(policy, split, task, f"{split}/{task}/{k:03d}", k, f"do {task}", success=success,
                                   steps=10 + k, progress=1.0 if success else 0.5, completion_s=1.0 + k,
                                   energy=100.0 * (k + 1) * effort, jerk=(1.0 + k) * effort,
                                   perturbed=(perturbed or {}).get(task, [[]] * len(successes))[k]).to_json()
            append_episode(path, record)
            records.append(record)
    write_summary(path, records)
    total = sum(len(s) for s in outcomes.values())
    write_run_info(path, {"episodes": planned or total, "config": config, "manifest_hash": "made"})
    return path
