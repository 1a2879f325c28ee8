"""`vla-bench report`: PNG plots and a markdown report from one or more run directories."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from vla_bench.metrics import wilson_interval
from vla_bench.results import check_complete, labelled_summary, policy_label, read_episodes, run_label, timing

SAFETY_METRICS = (("collision_rate", "collision rate"), ("spl", "SPL"),
                  ("intervention_rate", "intervention rate"), ("mean_steps", "mean episode steps"))


def write_report(run_dirs: list[Path], out: Path, allow_partial: bool = False) -> Path:
    """Plots and report.md in `out`; returns the markdown file. Partial runs are refused unless
    `allow_partial`; then the table marks them."""
    import matplotlib

    matplotlib.use("Agg")
    progress = check_complete(run_dirs, allow_partial)
    out.mkdir(parents=True, exist_ok=True)
    counts = {(row["policy"], row["split"]): progress[d] for d in run_dirs for row in labelled_summary(d)}
    rows = [row for d in run_dirs for row in labelled_summary(d)]
    records = {d: read_episodes(d) for d in run_dirs}
    episodes = [{**e, "policy": run_label(d, e["policy"])} for d in run_dirs for e in records[d]]
    overall = [r for r in rows if r["task"] == "ALL"]
    plots = {
        "success_by_split.png": ("Success rate by split (95% Wilson intervals)", _success_by_split(overall)),
        "task_split_heatmap.png": ("Success rate per task and split", _heatmap(rows)),
        "success_by_factor.png": ("Success rate by perturbed factor", _by_factor(episodes)),
        "safety_efficiency.png": ("Safety and efficiency", _safety(overall)),
    }
    lines = ["# vla-bench report", "", f"Runs: {', '.join(str(d) for d in run_dirs)}", "",
             "| policy | split | episodes | success | 95% CI | collisions | SPL | interventions | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in overall:
        run = counts[r["policy"], r["split"]]
        episodes = r["episodes"] if run.complete else f"{run.finished} of {run.planned} (partial)"
        lines.append(f"| {r['policy']} | {r['split']} | {episodes} | {float(r['success_rate']):.3f} | "
                     f"[{float(r['success_ci_low']):.3f}, {float(r['success_ci_high']):.3f}] | "
                     f"{float(r['collision_rate']):.3f} | {float(r['spl']):.3f} | "
                     f"{float(r['intervention_rate']):.3f} | {r['errors']} |")
    lines += _realtime_comparison(records)
    for name, (title, figure) in plots.items():
        if figure is None:
            continue
        figure.savefig(out / name, dpi=120, bbox_inches="tight")
        lines += ["", f"## {title}", "", f"![{title}]({name})"]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _realtime_comparison(records: dict[Path, list[dict]]) -> list[str]:
    """Markdown: each policy and split run both synchronously and in real time, side by side."""
    runs: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(dict)  # (policy, split) -> timing -> episodes
    for run_dir, episodes in records.items():
        if episodes:
            first = episodes[0]
            label = policy_label(first["policy"], first.get("instruction_mode", "original"))
            runs[label, first["split"]][timing(run_dir)] = episodes
    pairs = {key: clocks for key, clocks in runs.items() if "synchronous" in clocks and len(clocks) > 1}
    if not pairs:
        return []
    lines = ["", "## Synchronous vs real time", "",
             "In real time, simulated time runs on while the policy computes (`vla-bench run --realtime`).", "",
             "Latency: the median of the episodes' median call, and the 95th percentile of their 95th.", "",
             "| policy | split | timing | success | latency p50 / p95 (ms) | late steps | decisions per sim. second |",
             "|---|---|---|---|---|---|---|"]
    for (policy, split), clocks in sorted(pairs.items()):
        synchronous = clocks.pop("synchronous")
        for clock, episodes in [("synchronous", synchronous), *sorted(clocks.items())]:
            latencies = [r.get("latency_ms_p50", 0.0) for r in episodes]
            seconds = sum(r.get("completion_s") or r.get("sim_seconds", 0.0) for r in episodes)
            calls = sum(r.get("policy_calls") or r["steps"] for r in episodes)
            success = np.mean([bool(r["success"]) for r in episodes])
            lines.append(f"| {policy} | {split} | {clock} | {success:.3f} | {np.median(latencies):.1f} / "
                         f"{np.percentile([r.get('latency_ms_p95', 0.0) for r in episodes], 95):.1f} | "
                         f"{sum(r.get('late_steps', 0) for r in episodes)} | {calls / max(seconds, 1e-9):.2f} |")
    return lines


def plot_leaderboard(rows: list[dict], path: Path) -> Path:
    """The leaderboard as grouped bars (success with its interval per policy and split), beside the CSV."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vla_bench.splits import SPLITS

    order = {name: i for i, name in enumerate(SPLITS)}
    rows = [{**r, "policy": policy_label(r["policy"], r.get("instruction_mode", "original"),
                                         r.get("timing", "synchronous"))} for r in rows]
    figure = _success_by_split(sorted(rows, key=lambda r: order.get(r["split"], len(order))))
    figure.axes[0].set_title("vla-bench leaderboard: success rate (95% Wilson intervals)")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def _success_by_split(overall):
    """Grouped bars: one group per split, one bar per policy, with the summary's Wilson interval."""
    stats = {(r["policy"], r["split"]): (float(r["success_rate"]), float(r["success_ci_low"]),
                                         float(r["success_ci_high"])) for r in overall}
    return _success_bars(stats, "success rate") if stats else None


def _success_bars(stats: dict[tuple[str, str], tuple[float, float, float]], ylabel: str):
    """Bars of (rate, ci_low, ci_high) keyed by (policy, category), grouped by category."""
    import matplotlib.pyplot as plt

    policies = list(dict.fromkeys(p for p, _ in stats))
    categories = list(dict.fromkeys(c for _, c in stats))
    fig, ax = plt.subplots(figsize=(1.4 * len(categories) + 2, 3.5))
    width = 0.8 / len(policies)
    for i, policy in enumerate(policies):
        present = [(j, stats[(policy, c)]) for j, c in enumerate(categories) if (policy, c) in stats]
        rate, low, high = (np.array([v[k] for _, v in present]) for k in range(3))
        yerr = np.clip([rate - low, high - rate], 0.0, None)  # rounding can put a bound a hair past the rate
        ax.bar([j + i * width for j, _ in present], rate, width, yerr=yerr, capsize=3,
               label=policy)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(categories))], categories, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return fig


def _heatmap(rows):
    import matplotlib.pyplot as plt

    cells = [r for r in rows if r["task"] != "ALL"]
    if not cells:
        return None
    columns = list(dict.fromkeys(f"{r['policy']}\n{r['split']}" for r in cells))
    tasks = list(dict.fromkeys(r["task"] for r in cells))
    grid = np.full((len(tasks), len(columns)), np.nan)
    for r in cells:
        grid[tasks.index(r["task"]), columns.index(f"{r['policy']}\n{r['split']}")] = float(r["success_rate"])
    fig, ax = plt.subplots(figsize=(1.3 * len(columns) + 2, 0.45 * len(tasks) + 1.5))
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(columns)), columns, fontsize=7, rotation=30, ha="right")
    ax.set_yticks(range(len(tasks)), tasks, fontsize=8)
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="w" if value < 0.6 else "k")
    fig.colorbar(image, ax=ax, label="success rate")
    return fig


def _by_factor(episodes):
    """Success per perturbed factor of novel_environments (an episode counts for each factor it changed)."""
    groups: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for e in episodes:
        if e.get("split") == "novel_environments":
            for factor in e.get("perturbed") or []:
                groups[(e["policy"], factor)].append(bool(e["success"]))
    stats = {key: (float(np.mean(s)), *wilson_interval(sum(s), len(s))) for key, s in sorted(groups.items())}
    return _success_bars(stats, "success rate (novel_environments)") if stats else None


def _safety(overall):
    import matplotlib.pyplot as plt

    if not overall:
        return None
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    labels = [f"{r['policy']}\n{r['split']}" for r in overall]
    for ax, (key, title) in zip(axes, SAFETY_METRICS):
        ax.bar(range(len(overall)), [float(r[key]) for r in overall], color="tab:gray")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(overall)), labels, fontsize=6, rotation=45, ha="right")
    fig.tight_layout()
    return fig
