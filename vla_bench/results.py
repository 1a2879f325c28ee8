"""Result files (their columns and fields are a contract: add, never rename)."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Mapping

from vla_bench.errors import UsageError
from vla_bench.metrics import SUMMARY_COLUMNS, Summary, summarize_run

EPISODES_FILE, SUMMARY_FILE, RUN_FILE = "episodes.jsonl", "summary.csv", "run.json"
LEADERBOARD_COLUMNS = ("policy", "split", *[c for c in SUMMARY_COLUMNS if c not in ("policy", "split", "task")])


def append_episode(run_dir: Path, record: Mapping[str, Any]) -> None:
    """Append one finished episode and flush it to disk at once (an interrupted run keeps it)."""
    with open(run_dir / EPISODES_FILE, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


def read_episodes(run_dir: Path) -> list[dict[str, Any]]:
    """Every complete line of episodes.jsonl (a line cut off by a kill is ignored)."""
    path = run_dir / EPISODES_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def write_summary(run_dir: Path, records: list[Mapping[str, Any]]) -> list[Summary]:
    rows = summarize_run(records)
    write_rows(run_dir / SUMMARY_FILE, SUMMARY_COLUMNS, [asdict(r) for r in rows])
    return rows


def write_rows(path: Path, columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> None:
    columns = list(columns)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row[k]) for k in columns})


def read_summary(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / SUMMARY_FILE, newline="") as f:
        return list(csv.DictReader(f))


def leaderboard(run_dirs: list[Path]) -> list[dict[str, Any]]:
    """One row per (policy, split) from the runs' ALL rows, best success rate first."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for run_dir in run_dirs:
        if not (run_dir / SUMMARY_FILE).exists():
            raise UsageError(f"{run_dir} has no {SUMMARY_FILE}; is it a vla-bench run directory?")
        for row in read_summary(run_dir):
            if row["task"] == "ALL":
                key = (row["policy"], row["split"])
                if key in rows:
                    raise UsageError(f"two runs of {key[0]} on {key[1]} ({run_dir} and an earlier one); "
                                     "give each policy variant its own name")
                rows[key] = {k: row[k] for k in LEADERBOARD_COLUMNS}
    return sorted(rows.values(), key=lambda r: (-float(r["success_rate"]), r["policy"], r["split"]))


def write_run_info(run_dir: Path, info: Mapping[str, Any]) -> None:
    (run_dir / RUN_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_run_info(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / RUN_FILE).read_text())


def _fmt(value: Any) -> Any:
    return f"{value:.4f}" if isinstance(value, float) else value
