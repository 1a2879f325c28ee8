"""The report's figures, readable at any number of runs.

Every figure puts one row per policy (its label on the y axis, where labels never collide) and
shows splits as colors, with dots and interval whiskers instead of bars, so a zero is as
visible as any other value. A policy keeps its color in every figure that colors policies, and
a split keeps its color everywhere. Functions return a matplotlib Figure (the caller saves it).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

ROW_INCHES = 0.42  # height per policy row
SPLIT_SPREAD = 0.6  # of a row's height, taken by its splits' dots
# (summary column, panel title, log scale where the values span more than a decade)
EFFICIENCY_METRICS = (("collision_rate", "collision rate", False), ("intervention_rate", "intervention rate", False),
                      ("spl", "SPL", False), ("mean_progress", "progress (0…1)", False),
                      ("mean_completion_s", "time to success (sim. s)", False), ("mean_steps", "steps", False),
                      ("mean_jerk", "RMS jerk (m/s³)", True), ("mean_energy", "energy Σ τ²·dt", True))


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def split_colors(splits: Sequence[str]) -> dict[str, tuple]:
    """A fixed color per split of the suite (in its order), others after them."""
    from matplotlib import colormaps

    from vla_bench.splits import SPLITS

    names = [*SPLITS, *[s for s in splits if s not in SPLITS]]
    palette = colormaps["Dark2"].colors  # all dark enough to read on white
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def policy_colors(labels: Sequence[str]) -> dict[str, tuple]:
    """A color per policy label, by sorted label, so the same runs color the same in every figure."""
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors if len(set(labels)) <= 10 else colormaps["tab20"].colors
    return {label: palette[i % len(palette)] for i, label in enumerate(sorted(set(labels)))}


def _rows_axis(ax, labels: list[str], show_labels: bool = True) -> None:
    ax.set_yticks(range(len(labels)), labels if show_labels else [""] * len(labels), fontsize=8)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first label on top
    ax.grid(axis="x", alpha=0.3)
    for y in np.arange(len(labels) - 1) + 0.5:
        ax.axhline(y, color="0.85", lw=0.6)


def _splits_in_order(splits) -> list[str]:
    """The splits present, in the suite's order (train first), others after them."""
    from vla_bench.splits import SPLITS

    present = set(splits)
    return [s for s in SPLITS if s in present] + sorted(present - set(SPLITS))


def _offsets(count: int) -> np.ndarray:
    return (np.arange(count) - (count - 1) / 2) * (SPLIT_SPREAD / max(count, 1))


def _interval_rows(table: pd.DataFrame, row: str, group: str, colors: dict[str, tuple], value: str,
                   xlim: tuple[float, float], xlabel: str, title: str):
    """A dot with its interval whiskers per (row, group): `row` labels the y axis, `group` picks
    the color and the offset within the row, in the order of `colors`. `table` columns: row,
    group, value, ci_low, ci_high."""
    plt = pyplot()
    rows = list(dict.fromkeys(table[row]))
    groups = list(colors)
    offsets = dict(zip(groups, _offsets(len(groups))))
    fig, ax = plt.subplots(figsize=(7.5, ROW_INCHES * len(rows) + 1.4))
    for name in groups:
        part = table[table[group] == name]
        y = np.array([rows.index(label) for label in part[row]]) + offsets[name]
        center = part[value].to_numpy(float)
        whiskers = np.clip([center - part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float) - center], 0, None)
        ax.errorbar(center, y, xerr=whiskers, fmt="o", ms=4, capsize=2, lw=1, color=colors[name], label=name)
    _rows_axis(ax, rows)
    ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title=group, title_fontsize=7)
    fig.tight_layout()
    return fig, ax


def success_by_split(table: pd.DataFrame, title: str) -> object | None:
    """Success rate with its interval: a row per policy label, a colored dot per split.
    `table` columns: label, split, success_rate, ci_low, ci_high."""
    if table.empty:
        return None
    splits = _splits_in_order(table["split"])
    colors = split_colors(splits)
    fig, _ = _interval_rows(table, "label", "split", {s: colors[s] for s in splits}, "success_rate", (-0.02, 1.02),
                            "success rate (95% interval)", title)
    return fig


def task_heatmaps(cells: pd.DataFrame) -> object | None:
    """Success per task and split, one small panel per policy label (five to a row).
    `cells` columns: label, task, split, success_rate."""
    if cells.empty:
        return None
    plt = pyplot()
    labels = list(dict.fromkeys(cells["label"]))
    tasks = list(dict.fromkeys(cells["task"]))
    splits = _splits_in_order(cells["split"])
    columns = min(len(labels), 5)
    rows = int(np.ceil(len(labels) / columns))
    panel = max(0.3 * len(splits), 0.075 * max(len(label) for label in labels) + 0.2)  # inches: fit the title
    fig, axes = plt.subplots(rows, columns, squeeze=False, sharey=True,
                             figsize=(1.8 + (panel + 0.25) * columns, 0.3 * len(tasks) * rows + 1.3 * rows))
    image = None
    for ax, label in zip(axes.flat, labels):
        grid = np.full((len(tasks), len(splits)), np.nan)
        for _, c in cells[cells["label"] == label].iterrows():
            grid[tasks.index(c["task"]), splits.index(c["split"])] = float(c["success_rate"])
        image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_title(label, fontsize=8)
        ax.set_xticks(range(len(splits)), [s.replace("novel_", "n. ") for s in splits], fontsize=6, rotation=90)
        ax.set_yticks(range(len(tasks)), tasks, fontsize=7)
        for (i, j), value in np.ndenumerate(grid):
            if not np.isnan(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=5.5,
                        color="w" if value < 0.6 else "k")
    for ax in list(axes.flat)[len(labels):]:
        ax.axis("off")
    fig.colorbar(image, ax=axes, label="success rate", shrink=0.8)
    return fig


def efficiency(table: pd.DataFrame) -> object | None:
    """Safety and efficiency per domain: a panel per metric, a row per policy label, a dot per
    split. `table` columns: label, split, domain and the metrics of EFFICIENCY_METRICS."""
    if table.empty:
        return None
    plt = pyplot()
    domains = list(dict.fromkeys(table["domain"]))
    labels = list(dict.fromkeys(table["label"]))
    splits = _splits_in_order(table["split"])
    colors, offsets = split_colors(splits), dict(zip(splits, _offsets(len(splits))))
    per_row = 4
    panel_rows = int(np.ceil(len(EFFICIENCY_METRICS) / per_row))
    fig, axes = plt.subplots(panel_rows * len(domains), per_row, squeeze=False,
                             figsize=(13, (ROW_INCHES * len(labels) + 0.9) * panel_rows * len(domains)))
    for d, domain in enumerate(domains):
        part = table[table["domain"] == domain]
        for m, (key, title, log) in enumerate(EFFICIENCY_METRICS):
            ax = axes[d * panel_rows + m // per_row, m % per_row]
            shown = part[part[key].notna() & ((part[key] > 0) if log else True)]
            for split in splits:
                values = shown[shown["split"] == split]
                y = np.array([labels.index(label) for label in values["label"]]) + offsets[split]
                ax.plot(values[key].to_numpy(float), y, "o", ms=4, color=colors[split], label=split)
            _rows_axis(ax, labels, show_labels=m % per_row == 0)
            values = shown[key].to_numpy(float)
            if log and len(values) and values.max() > 10 * values.min():  # a log scale only across decades
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(numticks=4))
                ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks crowd the panel
            else:
                ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            if shown.empty:
                ax.text(0.5, 0.5, "not recorded in these runs", transform=ax.transAxes, ha="center", fontsize=7,
                        color="0.5")
            ax.set_title(f"{domain}: {title}", fontsize=8)
            ax.tick_params(axis="x", labelsize=7)
    handles = [plt.Line2D([], [], marker="o", ls="", color=colors[s], label=s) for s in splits]
    fig.legend(handles=handles, loc="upper center", ncol=len(splits), fontsize=7, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def factor_effects(effects: pd.DataFrame) -> object | None:
    """Success on novel_environments minus the twin train episodes', per perturbed factor, with
    the paired bootstrap interval: a row per factor, a colored dot per policy.
    `effects` columns: policy, factor, difference, ci_low, ci_high."""
    if effects.empty:
        return None
    policies = list(dict.fromkeys(effects["policy"]))
    colors = policy_colors(policies)
    fig, ax = _interval_rows(effects, "factor", "policy", {p: colors[p] for p in policies}, "difference", (-1.02, 1.02),
                             "success difference against the twin train episodes (95% paired bootstrap)",
                             "novel_environments: effect of each unseen factor")
    ax.axvline(0, color="k", lw=0.8)
    return fig


def plot_leaderboard(rows: list[dict], path: Path) -> Path:
    """The leaderboard's success rates with their intervals, beside the CSV."""
    from vla_bench.results import policy_label

    table = pd.DataFrame([{
        "label": policy_label(r["policy"], r.get("instruction_mode", "original"), r.get("timing", "synchronous"))
        + ("" if r.get("task_set", "all") == "all" else f" ({r['task_set']})")
        + ("" if r.get("complete", True) in (True, "True") else " (partial)"),
        "split": r["split"], "success_rate": float(r["success_rate"]),
        "ci_low": float(r["success_ci_low"]), "ci_high": float(r["success_ci_high"])} for r in rows])
    figure = success_by_split(table, "vla-bench leaderboard: success rate (95% Wilson intervals)")
    if figure is not None:
        figure.savefig(path, dpi=150, bbox_inches="tight")
        pyplot().close(figure)
    return path
