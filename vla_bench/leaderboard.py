"""`vla-bench leaderboard`: one row per run (policy, split, instruction mode, timing), ranked
only against rows over the same tasks, with a mark for the policies that cannot be told apart
from the best.

Rows over different task sets (a manipulation-only policy beside one that ran both domains)
answer different questions, so each (split, task set) is its own group: `rank` counts within
it, and `tied_with_best` says whether the exact McNemar test on the episodes both runs share
finds no difference from the group's best row at the 5% level (`p_vs_best`; no correction for
the several comparisons of a group, which makes ties rarer, not more common).

A new policy joins a published leaderboard without its runs (`--add-to`): the file's rows stay as
they are, and the new runs may only open (split, task set) groups the file does not hold, since
ranking within a group needs every run's episodes.
"""
from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from vla_bench.compare import mcnemar_exact, paired_outcomes
from vla_bench.errors import UsageError
from vla_bench.metrics import SUMMARY_COLUMNS, summarize_run
from vla_bench.results import check_complete, instruction_mode, read_episodes, run_info, timing

_FIRST = SUMMARY_COLUMNS[: SUMMARY_COLUMNS.index("latency_ms_p95") + 1]  # the columns of version 0.1
LEADERBOARD_COLUMNS = ("policy", "split", *[c for c in _FIRST if c not in ("policy", "split", "task")],
                       "complete", "instruction_mode", "timing",  # complete: False for a run that finished
                       # fewer episodes than it planned; instruction_mode: what the policy read (--instruction-mode);
                       # timing: synchronous, or realtime (+ its injected latency) (--realtime)
                       *SUMMARY_COLUMNS[len(_FIRST):], "policy_parameters", "task_set", "rank", "tied_with_best",
                       "p_vs_best")
SIGNIFICANCE = 0.05


def task_set(tasks: list[str]) -> str:
    """A name for the tasks a run covered: `all`, a domain's name, or the tasks joined by +."""
    from vla_bench.task.registry import list_tasks

    covered = set(tasks)
    if covered == set(list_tasks(builtin_only=True)):
        return "all"
    for domain in ("manipulation", "navigation"):
        if covered == {t for t in list_tasks(domain) if t in list_tasks(builtin_only=True)}:
            return domain
    return "+".join(sorted(covered))


def split_order(split: str) -> int:
    """Where a split's rows stand: the suite's order, unknown splits last."""
    from vla_bench.splits import SPLITS

    order = list(SPLITS)
    return order.index(split) if split in order else len(order)


def leaderboard(run_dirs: list[Path], allow_partial: bool = False,
                episodes: dict[Path, list[dict]] | None = None) -> list[dict[str, Any]]:
    """The rows, grouped by split (in the suite's order) and task set, best first, each with the
    `run_dir` it came from; partial runs are refused unless `allow_partial`, and then marked in
    `complete`. `episodes`: the runs' records, for a caller that has read them already."""
    run_dirs = list(dict.fromkeys(run_dirs))  # a folder named twice is one run
    progress = check_complete(run_dirs, allow_partial)
    episodes = {run_dir: (episodes or {}).get(run_dir) or read_episodes(run_dir) for run_dir in run_dirs}
    rows, seen = [], {}
    for run_dir in run_dirs:
        twin = _twin(run_dir, episodes)
        summary = [asdict(row) for row in summarize_run(episodes[run_dir], episodes.get(twin) or read_episodes(twin)
                                                        if twin else ())]  # the metrics of this version
        overall = next((row for row in summary if row["task"] == "ALL"), None)
        if overall is None:
            continue
        key = (overall["policy"], overall["split"], instruction_mode(run_dir), timing(run_dir))
        if key in seen:
            raise UsageError(f"two runs of {key[0]} on {key[1]} ({seen[key]} and {run_dir}); give each "
                             "variant its own name (`vla-bench run --name`)")
        seen[key] = run_dir
        rows.append({**overall, "instruction_mode": key[2], "timing": key[3], "complete": progress[run_dir].complete,
                     "policy_parameters": run_info(run_dir).get("policy_parameters") or "",
                     "task_set": task_set([row["task"] for row in summary if row["task"] != "ALL"]),
                     "run_dir": run_dir})
    if not rows:
        return []
    table = pd.DataFrame(rows)
    table["split_order"] = table["split"].map(split_order)
    table = table.sort_values(["split_order", "task_set", "success_rate", "policy"],
                              ascending=[True, True, False, True], kind="stable")
    table["rank"] = table.groupby(["split", "task_set"]).cumcount() + 1
    table["p_vs_best"] = table.groupby(["split", "task_set"], group_keys=False)["run_dir"].apply(
        lambda group: _p_against_first(group, episodes))
    table["tied_with_best"] = table["p_vs_best"].map(lambda p: "" if pd.isna(p) else bool(p >= SIGNIFICANCE))
    table["p_vs_best"] = table["p_vs_best"].map(lambda p: "" if pd.isna(p) else f"{p:.3g}")
    return table.drop(columns=["split_order", "task"]).to_dict("records")  # run_dir: not a CSV column


def read_leaderboard(path: Path) -> list[dict[str, str]]:
    """The rows of a leaderboard CSV this version writes, as strings; anything else is refused."""
    if not path.is_file():
        raise UsageError(f"--add-to {path}: no such leaderboard file")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    if reader.fieldnames != list(LEADERBOARD_COLUMNS) or not rows:
        raise UsageError(f"--add-to {path}: not a leaderboard of this version (its columns differ from "
                         "`vla-bench leaderboard`'s, or it holds no row); regenerate it from its runs")
    if not all(r["rank"].isdigit() and int(r["rank"]) > 0 for r in rows):
        raise UsageError(f"--add-to {path}: a row has no rank; regenerate it from its runs")
    return rows


def add_to(published: list[dict[str, str]], rows: list[dict[str, Any]], source: Path) -> list[dict[str, Any]]:
    """`rows` (from runs) beside a leaderboard's rows as its CSV `source` holds them, in the
    leaderboard's order; a run in a group the file already ranks is refused."""
    held = {(r["split"], r["task_set"]) for r in published}
    for row in rows:
        if (row["split"], row["task_set"]) in held:
            raise UsageError(f"{row['run_dir']}: {source} already ranks {row['split']} over {row['task_set']} "
                             "tasks, and a run joins a group only with the group's other runs (give every run, "
                             "without --add-to)")
    return sorted([*published, *rows], key=lambda r: (split_order(r["split"]), r["task_set"], int(r["rank"])))


def _twin(run_dir: Path, episodes: dict[Path, list[dict]]) -> Path | None:
    """For a run of disturbed episodes: the same policy's train run under the same conditions among
    the runs, else the one its run.json names (None for other runs)."""
    records = episodes[run_dir]
    if not records or not any("disturbance" in (r.get("perturbed") or ()) for r in records):
        return None
    conditions = (records[0]["policy"], instruction_mode(run_dir), timing(run_dir))
    for other, others in episodes.items():
        if others and others[0]["split"] == "train" and (others[0]["policy"], instruction_mode(other),
                                                          timing(other)) == conditions:
            return other
    named = run_info(run_dir).get("recovery_twin_run")
    return Path(named) if named and Path(named).is_dir() else None


def _p_against_first(run_dirs: pd.Series, episodes: dict[Path, list[dict]]) -> pd.Series:
    """The exact McNemar p-value of each run against the group's first (best) run, on the episodes
    both hold (1 for the best itself; nan when they share none, e.g. runs on other seeds)."""
    best = episodes[run_dirs.iloc[0]]
    values = []
    for run_dir in run_dirs:
        pairs = [p for task in paired_outcomes(best, episodes[run_dir]).values() for p in task]
        only_best = sum(a and not b for a, b in pairs)
        only_other = sum(b and not a for a, b in pairs)
        values.append(mcnemar_exact(only_best, only_other) if pairs else float("nan"))
    return pd.Series(values, index=run_dirs.index)
