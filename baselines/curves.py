"""Learning curves from runs: success against demonstrations per task and against training steps.

    python -m vla_bench.baselines.curves RUNS_DIR -o results/curves

reads `RUNS_DIR/curves/<policy>-demos-<N>` (a checkpoint trained on N demonstrations per task),
`RUNS_DIR/curves/<policy>-steps-<S>` (a snapshot after S steps) and, as the last point of both
curves, `RUNS_DIR/<policy>-train` (the shipped checkpoint) restricted to the curve runs' episodes,
so every point of a curve is measured on the same episodes. Writes `demonstrations.csv`,
`training_steps.csv` (per task and ALL, with Wilson intervals) and `curves.png`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from vla_bench.errors import UsageError
from vla_bench.metrics import wilson_interval
from vla_bench.results import check_complete, read_episodes, read_run_info, write_rows

CURVE_RUN = re.compile(r"(?P<policy>\w+)-(?P<kind>demos|steps)-(?P<value>\d+)$")
COLUMNS = ("policy", "x", "task", "episodes", "successes", "success_rate", "success_ci_low", "success_ci_high")


def curve_points(runs: Path) -> dict[str, list[dict[str, Any]]]:
    """kind ("demos" or "steps") -> rows of COLUMNS, one per (policy, x, task) and per (policy, x) as ALL."""
    points: dict[str, dict[tuple[str, int], list[dict]]] = {"demos": {}, "steps": {}}
    curve_runs = [d for d in sorted((runs / "curves").glob("*-*-*")) if CURVE_RUN.match(d.name)]
    check_complete(curve_runs, allow_partial=False)  # a point from a cut-off run would mislead
    for run_dir in curve_runs:
        match = CURVE_RUN.match(run_dir.name)
        points[match["kind"]][(match["policy"], int(match["value"]))] = read_episodes(run_dir)
    for kind, curves in points.items():
        for policy in {p for p, _ in curves}:
            final = runs / f"{policy}-train"
            if not final.exists():
                continue
            episode_ids = {r["episode_id"] for (p, _), records in curves.items() if p == policy for r in records}
            training = _training(final)
            x = training["steps_done"] if kind == "steps" else _demonstrations_per_task(training)
            curves[(policy, x)] = [r for r in read_episodes(final) if r["episode_id"] in episode_ids]
    return {kind: [row for (policy, x), records in sorted(curves.items()) for row in _rows(policy, x, records)]
            for kind, curves in points.items()}


def _training(run_dir: Path) -> dict[str, Any]:
    """The training metadata of the checkpoint a run used (read from the file's safetensors header)."""
    from safetensors import safe_open

    from vla_bench.baselines.registry import shipped_checkpoint

    info = read_run_info(run_dir)
    recorded = info["checkpoint"]
    path = Path(recorded["path"])
    if not path.exists():  # made on another machine: the shipped file, if it is the same one
        path = shipped_checkpoint(info["config"]["policy"])
        if hashlib.sha256(path.read_bytes()).hexdigest() != recorded["sha256"]:
            raise FileNotFoundError(f"{run_dir} used {recorded['path']}, which is neither here nor the shipped file")
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["training"])


def _demonstrations_per_task(training: dict[str, Any]) -> int:
    return training["episodes_per_task"] or round(training["episodes"] / len(training["tasks"]))


def _rows(policy: str, x: int, records: list[dict]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["task"], []).append(r)
    groups["ALL"] = records
    rows = []
    for task, group in groups.items():
        successes = sum(bool(r["success"]) for r in group)
        low, high = wilson_interval(successes, len(group))
        rows.append({"policy": policy, "x": x, "task": task, "episodes": len(group), "successes": successes,
                     "success_rate": successes / len(group), "success_ci_low": low, "success_ci_high": high})
    return rows


def plot_curves(curves: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"demos": "demonstrations per task", "steps": "training steps"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (kind, rows) in zip(axes, curves.items()):
        for policy in sorted({r["policy"] for r in rows}):
            mine = sorted((r for r in rows if r["policy"] == policy and r["task"] == "ALL"), key=lambda r: r["x"])
            xs = [r["x"] for r in mine]
            ax.plot(xs, [r["success_rate"] for r in mine], "o-", label=policy)
            ax.fill_between(xs, [r["success_ci_low"] for r in mine], [r["success_ci_high"] for r in mine], alpha=0.2)
        ax.set_xlabel(labels[kind])
        ax.set_ylabel("success rate, all tasks (95% Wilson)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.suptitle("Learned baselines on train: success against data and training (same episodes per curve)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the runs folder (with curves/ inside)")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        curves = curve_points(args.runs)
    except UsageError as err:
        parser.exit(2, f"error: {err}\n")
    args.out.mkdir(parents=True, exist_ok=True)
    for kind, name in (("demos", "demonstrations.csv"), ("steps", "training_steps.csv")):
        write_rows(args.out / name, COLUMNS, curves[kind])
    print(plot_curves(curves, args.out / "curves.png"))


if __name__ == "__main__":
    main()
