"""`vla-bench report`: report.md and a self-contained report.html (figures and episode videos
inside the file) from one or more run directories, with the PNG figures beside them."""
from __future__ import annotations

import base64
import html
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vla_bench.leaderboard import leaderboard
from vla_bench.metrics import summarize
from vla_bench.report import figures
from vla_bench.report.effects import factor_effects
from vla_bench.results import check_complete, policy_label, read_episodes, run_info, run_label, timing
from vla_bench.runner.worker import media_path

GALLERY_PER_OUTCOME = 1  # videos per (task, run) and outcome in the HTML gallery


@dataclass
class Run:
    """One run directory as the report sees it."""

    path: Path
    label: str  # the policy's name with its conditions, `(partial)` for a partial run
    split: str
    episodes: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)


def load_runs(run_dirs: list[Path], allow_partial: bool) -> list[Run]:
    progress = check_complete(run_dirs, allow_partial)
    runs = []
    for run_dir in run_dirs:
        episodes = read_episodes(run_dir)
        if not episodes:
            continue
        label = run_label(run_dir, episodes[0]["policy"]) + ("" if progress[run_dir].complete else " (partial)")
        runs.append(Run(run_dir, label, episodes[0]["split"], episodes, run_info(run_dir)))
    return runs


def write_report(run_dirs: list[Path], out: Path, allow_partial: bool = False,
                 gallery_dirs: list[Path] = ()) -> Path:
    """The figures, report.md and report.html in `out`; returns report.md. Partial runs are
    refused unless `allow_partial`; then they are labelled partial everywhere. The HTML gallery
    shows the recorded episodes of the runs and of `gallery_dirs` (runs made only to record
    videos, e.g. `--episodes-per-task 4 --record-video 4`, which no table counts)."""
    runs = load_runs(run_dirs, allow_partial)
    recorded = runs + load_runs(list(gallery_dirs), allow_partial=True)
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "Overview": overview(run_dirs, allow_partial, runs),
        "Safety and efficiency per domain": per_domain(runs),
        "novel_environments: per-factor effects": effects_table(runs),
        "Synchronous vs real time": realtime_comparison(runs),
    }
    notes = {
        "Overview": "Rows over the same split and tasks are ranked together; `tied` marks those an exact McNemar "
                    "test on the shared episodes cannot tell apart from the best (p ≥ 0.05). Intervals: Wilson, "
                    "and over tasks the stratified bootstrap. `recovery` (novel_disturbances): success over the "
                    "episodes in which the disturbance fired and whose train twin succeeded.",
        "novel_environments: per-factor effects": "Success on episodes that perturb only this factor minus "
                                                  "success on their twin train episodes (same task and seed), "
                                                  "with a paired bootstrap interval stratified by task.",
        "Synchronous vs real time": "In real time, simulated time runs on while the policy computes "
                                    "(`vla-bench run --realtime`).",
    }
    plots = {
        "success_by_split.png": ("Success rate by split", figures.success_by_split(_success_rows(runs),
                                 "Success rate by split (95% Wilson intervals)")),
        "task_split_heatmap.png": ("Success rate per task and split", figures.task_heatmaps(_task_cells(runs))),
        "factor_effects.png": ("Per-factor effects on novel_environments",
                               figures.factor_effects(tables["novel_environments: per-factor effects"])),
        "safety_efficiency.png": ("Safety and efficiency", figures.efficiency(tables["Safety and efficiency per domain"])),
    }
    saved = {}
    for name, (title, figure) in plots.items():
        if figure is not None:
            figure.savefig(out / name, dpi=150, bbox_inches="tight")
            figure.savefig((out / name).with_suffix(".pdf"), bbox_inches="tight")  # vector, for papers
            figures.pyplot().close(figure)
            saved[name] = title
    (out / "report.html").write_text(_html(runs, tables, notes, saved, out, gallery(recorded)))
    path = out / "report.md"
    path.write_text(_markdown(runs, tables, notes, saved))
    return path


# ------------------------------------------------------------------------------------------ tables
def overview(run_dirs: list[Path], allow_partial: bool, runs: list[Run]) -> pd.DataFrame:
    planned = {run.path: run.info.get("episodes", len(run.episodes)) for run in runs}
    rows = []
    for r in leaderboard(run_dirs, allow_partial, {run.path: run.episodes for run in runs}):
        episodes = str(r["episodes"]) if r["complete"] else f"{r['episodes']} of {planned[r['run_dir']]} (partial)"
        rows.append({"policy": policy_label(r["policy"], r["instruction_mode"], r["timing"]), "split": r["split"],
                     "tasks": r["task_set"], "episodes": episodes, "success": r["success_rate"],
                     "Wilson 95%": _interval(r["success_ci_low"], r["success_ci_high"]),
                     "bootstrap 95%": _interval(r["success_boot_low"], r["success_boot_high"]),
                     "rank": r["rank"], "tied": "yes" if r["tied_with_best"] is True and r["rank"] > 1 else "",
                     "recovery": r["recovery_rate"],
                     "collisions": r["collision_rate"], "SPL": r["spl"], "interventions": r["intervention_rate"],
                     "errors": r["errors"], "parameters": r["policy_parameters"]})
    table = pd.DataFrame(rows)
    return table.drop(columns=["recovery"]) if not table.empty and table["recovery"].isna().all() else table


def per_domain(runs: list[Run]) -> pd.DataFrame:
    """Every run's safety, efficiency and effort metrics per domain (jerk, energy and time are
    not comparable across domains)."""
    from vla_bench.task.registry import task_entry

    rows = []
    for run in runs:
        by_domain: dict[str, list[dict]] = defaultdict(list)
        for e in run.episodes:
            by_domain[task_entry(e["task"]).domain].append(e)
        for domain, episodes in by_domain.items():
            summary = asdict(summarize(episodes, run.label, run.split, domain))
            rows.append({"label": run.label, "split": run.split, "domain": domain,
                         **{k: summary[k] for k in ("episodes", "success_rate", *[m for m, _, _ in
                                                                                 figures.EFFICIENCY_METRICS],
                                                   "peak_policy_rss_mb", "peak_policy_gpu_mb")}})
    return pd.DataFrame(rows)


def effects_table(runs: list[Run]) -> pd.DataFrame:
    """Per-factor effects for every policy label with both a train and a novel_environments run."""
    by_label = {(run.label, run.split): run for run in runs}
    rows = []
    for (label, split), run in by_label.items():
        twin = by_label.get((label, "train"))
        if split == "novel_environments" and twin is not None:
            rows += [asdict(e) for e in factor_effects(label, run.episodes, twin.episodes)]
    return pd.DataFrame(rows)


def realtime_comparison(runs: list[Run]) -> pd.DataFrame:
    """Each policy and split run both synchronously and in real time, side by side."""
    grouped: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(dict)  # (policy, split) -> timing -> episodes
    for run in runs:
        first = run.episodes[0]
        grouped[policy_label(first["policy"], first.get("instruction_mode", "original")), run.split][
            timing(run.path)] = run.episodes
    rows = []
    for (policy, split), clocks in sorted(grouped.items()):
        if "synchronous" not in clocks or len(clocks) < 2:
            continue
        for clock in ["synchronous", *sorted(c for c in clocks if c != "synchronous")]:
            episodes = clocks[clock]
            seconds = sum(r.get("completion_s") or r.get("sim_seconds", 0.0) for r in episodes)
            calls = sum(r.get("policy_calls") or r["steps"] for r in episodes)
            rows.append({"policy": policy, "split": split, "timing": clock,
                         "success": float(np.mean([bool(r["success"]) for r in episodes])),
                         "latency p50 (ms)": float(np.median([r.get("latency_ms_p50", 0.0) for r in episodes])),
                         "latency p95 (ms)": float(np.percentile([r.get("latency_ms_p95", 0.0) for r in episodes], 95)),
                         "late steps": sum(r.get("late_steps", 0) for r in episodes),
                         "decisions per sim. second": calls / max(seconds, 1e-9)})
    return pd.DataFrame(rows)


def _success_rows(runs: list[Run]) -> pd.DataFrame:
    rows = []
    for run in runs:
        s = summarize(run.episodes, run.label, run.split, "ALL")
        rows.append({"label": run.label, "split": run.split, "success_rate": s.success_rate,
                     "ci_low": s.success_ci_low, "ci_high": s.success_ci_high})
    return pd.DataFrame(rows)


def _task_cells(runs: list[Run]) -> pd.DataFrame:
    rows = []
    for run in runs:
        tasks: dict[str, list[bool]] = defaultdict(list)
        for e in run.episodes:
            tasks[e["task"]].append(bool(e["success"]))
        rows += [{"label": run.label, "task": t, "split": run.split, "success_rate": float(np.mean(s))}
                 for t, s in tasks.items()]
    return pd.DataFrame(rows)


def _interval(low: float, high: float) -> str:
    return "" if pd.isna(low) else f"[{low:.3f}, {high:.3f}]"


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        return f"{value:.3g}" if abs(value) >= 1000 else f"{value:.3f}"
    return "" if value is None else str(value)


# ------------------------------------------------------------------------------------------ gallery
def gallery(runs: list[Run]) -> dict[str, list[dict[str, Any]]]:
    """Per task, the recorded episodes to show: for each run with videos, up to
    GALLERY_PER_OUTCOME successes and as many failures, in episode order."""
    shown: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        taken: dict[tuple[str, bool], int] = defaultdict(int)
        for e in run.episodes:
            video = media_path(run.path, "videos", e["task"], e["episode_id"], ".mp4")
            outcome = bool(e["success"])
            if taken[e["task"], outcome] < GALLERY_PER_OUTCOME and video.is_file():
                taken[e["task"], outcome] += 1
                shown[e["task"]].append({"label": run.label, "split": run.split, "success": outcome,
                                         "episode_id": e["episode_id"], "video": video, "error": e["error"]})
    return dict(sorted(shown.items()))


# ------------------------------------------------------------------------------------------ documents
def _markdown(runs: list[Run], tables: dict[str, pd.DataFrame], notes: dict[str, str], saved: dict[str, str]) -> str:
    lines = ["# vla-bench report", "", f"Runs: {', '.join(str(run.path) for run in runs)}", "",
             "The same report with episode videos: report.html."]
    for title, table in tables.items():
        if table.empty:
            continue
        lines += ["", f"## {title}", ""] + ([notes[title], ""] if title in notes else [])
        lines += ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    for name, title in saved.items():
        lines += ["", f"## {title}", "", f"![{title}]({name})"]
    return "\n".join(lines) + "\n"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}img{max-width:100%}.row{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;text-align:center;font-size:12px}figure.success figcaption{color:#176117}
figure.failure figcaption{color:#a11}video{width:256px;height:256px;background:#000}"""


def _html(runs: list[Run], tables: dict[str, pd.DataFrame], notes: dict[str, str], saved: dict[str, str],
          out: Path, videos: dict[str, list[dict[str, Any]]]) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>vla-bench report</title>",
             f"<style>{STYLE}</style></head><body><h1>vla-bench report</h1>",
             f"<p>Runs: {html.escape(', '.join(str(run.path) for run in runs))}</p>"]
    for title, table in tables.items():
        if not table.empty:
            parts += [f"<h2>{html.escape(title)}</h2>", f"<p>{html.escape(notes[title])}</p>" if title in notes else "",
                      table.map(_cell).to_html(index=False, escape=True, border=0)]
    for name, title in saved.items():
        data = base64.b64encode((out / name).read_bytes()).decode()
        parts += [f"<h2>{html.escape(title)}</h2>", f"<img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"]
    if videos:
        parts += ["<h2>Episodes</h2>", "<p>Recorded episodes (<code>vla-bench run --record-video K</code>): per task "
                  "and run, a success and a failure where there are both; the instruction is written on the frames.</p>"]
        for task, shown in videos.items():
            parts += [f"<h3>{html.escape(task)}</h3><div class='row'>"]
            for item in shown:
                outcome = "success" if item["success"] else "failure"
                data = base64.b64encode(item["video"].read_bytes()).decode()
                caption = f"{item['label']} · {item['split']} · {outcome}" + (f" ({item['error']})" if item["error"] else "")
                parts += [f"<figure class='{outcome}'><video controls loop muted playsinline preload='metadata' "
                          f"src='data:video/mp4;base64,{data}'></video><figcaption>{html.escape(caption)}<br>"
                          f"{html.escape(item['episode_id'])}</figcaption></figure>"]
            parts += ["</div>"]
    parts += ["</body></html>"]
    return "\n".join(parts) + "\n"
