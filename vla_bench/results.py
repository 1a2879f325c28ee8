"""Result files (their columns and fields are a contract: add, never rename)."""
from __future__ import annotations

import csv
import json
import math
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from vla_bench.errors import UsageError
from vla_bench.metrics import SUMMARY_COLUMNS, Summary, summarize_run

EPISODES_FILE, SUMMARY_FILE, RUN_FILE = "episodes.jsonl", "summary.csv", "run.json"


@dataclass(frozen=True)
class RunProgress:
    """How much of a run finished: a run with fewer episodes than planned is partial."""

    run_dir: Path
    finished: int
    planned: int

    @property
    def complete(self) -> bool:
        return self.finished >= self.planned


def run_progress(run_dir: Path) -> RunProgress:
    finished = len({r["episode_id"] for r in read_episodes(run_dir)})
    planned = run_info(run_dir).get("episodes", finished)
    return RunProgress(run_dir, finished, planned)


def check_complete(run_dirs: list[Path], allow_partial: bool) -> dict[Path, RunProgress]:
    """Each run's progress; partial runs are refused unless `allow_partial` (then they are marked)."""
    for run_dir in run_dirs:
        if not (run_dir / SUMMARY_FILE).is_file():
            raise UsageError(f"{run_dir} has no {SUMMARY_FILE}; is it a vla-bench run directory?")
    progress = {d: run_progress(d) for d in run_dirs}
    partial = [p for p in progress.values() if not p.complete]
    if partial and not allow_partial:
        listed = "; ".join(f"{p.run_dir} ({p.finished} of {p.planned} episodes)" for p in partial)
        raise UsageError(f"incomplete runs: {listed}. Finish them with `vla-bench run ... --resume`, or pass "
                         "--allow-partial to include them, marked as partial")
    return progress


def check_output_dir(path: Path, option: str) -> None:
    """Fail at once, in one line, when `path` cannot be a folder to write results into (before
    any policy or model is built)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file, not a folder; choose another {option}")
    # the nearest folder that exists must take files; nothing is created yet, so a command that
    # stops at a later check (an unknown policy, say) leaves no empty folder behind
    existing = next(p for p in (path, *path.parents) if p.exists())
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"{existing} is a file")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise UsageError(f"cannot write into {option} {path}: {err.strerror or err}; choose another {option}") from err


def check_output_file(path: Path, option: str) -> None:
    """As `check_output_dir`, for a file to (over)write."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name")
    check_output_dir(path.parent, option)  # "cannot write into -o FOLDER: ...; choose another -o"


@contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """A file beside `path` to write instead, renamed onto `path` once the block ends: a process
    killed while writing leaves the previous file (or none) whole, never half of a new one, and a
    block that raises leaves the previous file and no `.partial` beside it."""
    partial = Path(path).with_name(Path(path).name + ".partial")
    try:
        yield partial
    except BaseException:  # a failed write leaves nothing behind: the next one starts clean
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


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


def write_summary(run_dir: Path, records: list[Mapping[str, Any]], twin_records: list[Mapping[str, Any]] = ()
                  ) -> list[Summary]:
    rows = summarize_run(records, twin_records)
    write_rows(run_dir / SUMMARY_FILE, SUMMARY_COLUMNS, [asdict(r) for r in rows])
    return rows


def write_rows(path: Path, columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> None:
    columns = list(columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row[k]) for k in columns})


def read_summary(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / SUMMARY_FILE, newline="") as f:
        return list(csv.DictReader(f))


def _config(run_dir: Path) -> dict[str, Any]:
    return run_info(run_dir).get("config", {})


def instruction_mode(run_dir: Path) -> str:
    """What the run's policy read (`vla-bench run --instruction-mode`); runs made before it: original."""
    return _config(run_dir).get("instruction_mode", "original")


def timing(run_dir: Path) -> str:
    """`synchronous`, or `realtime` with its injected latency (`realtime+50ms`): `vla-bench run --realtime`."""
    config = _config(run_dir)
    if not config.get("realtime"):
        return "synchronous"
    latency = float(config.get("latency_ms", 0.0))
    return f"realtime+{latency:g}ms" if latency else "realtime"


def policy_label(policy: str, mode: str, clock: str = "synchronous") -> str:
    """How plots and reports name a policy run under other conditions: `rt1 [blank]`, `rt1 [realtime]`."""
    conditions = [c for c in (mode, clock) if c not in ("original", "synchronous")]
    return f"{policy} [{', '.join(conditions)}]" if conditions else policy


def run_label(run_dir: Path, policy: str) -> str:
    return policy_label(policy, instruction_mode(run_dir), timing(run_dir))


def write_run_info(run_dir: Path, info: Mapping[str, Any]) -> None:
    (run_dir / RUN_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def run_info(run_dir: Path) -> dict[str, Any]:
    """The run's run.json, or {} for a run folder without one (made by hand, or before it existed)."""
    return read_run_info(run_dir) if (run_dir / RUN_FILE).exists() else {}


def read_run_info(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / RUN_FILE).read_text())
    except json.JSONDecodeError as err:
        raise UsageError(f"{run_dir / RUN_FILE} is not valid JSON ({err}); restore it or start the run again "
                         "in another folder") from err


def _fmt(value: Any) -> Any:
    """Floats to 4 decimals; nan (a metric the episodes lack) as an empty cell."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return value
