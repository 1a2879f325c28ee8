"""The full suite timed end to end on this machine: every committed split of every task for one
policy, each split one `vla-bench run`, then where the time went.

    python scripts/time_full_suite.py --policy rt1 --policy-arg device=cuda --out runs/timing
    python scripts/time_full_suite.py --policy oracle --out runs/timing

Writes OUT/<policy>-<split>/ (the runs) and OUT/timing-<policy>.json and .md: the wall time per
split and in all, and where the workers' time went, from the records: the env's own timers
(scene builds, moving the world, observations with their rendering), the policy as the workers
waited for it, split for a batched policy into its calls and transfer + batching (run.json's
`batching`), and the rest (runner, supervisor, records). `vla-bench bench` on the same machine
goes into the JSON beside them.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from vla_bench.runner.resources import usable_cores

VLA = [sys.executable, "-m", "vla_bench.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--policy-arg", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=Path("runs/timing"))
    parser.add_argument("--splits", default="", help="comma-separated (default: every committed split)")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--executor", default="auto")
    parser.add_argument("--episodes-per-task", type=int, help="a slice of each split (default: all 50), to try it")
    parser.add_argument("--bench-steps", type=int, default=200)
    args = parser.parse_args()

    splits = [s for s in args.splits.split(",") if s] or [
        line.split()[0] for line in subprocess.run([*VLA, "list", "splits"], check=True, capture_output=True,
                                                   text=True).stdout.splitlines() if line.strip()]
    extra = [a for kv in args.policy_arg for a in ("--policy-arg", kv)]
    if args.episodes_per_task:
        extra += ["--episodes-per-task", str(args.episodes_per_task)]
    args.out.mkdir(parents=True, exist_ok=True)
    walls = {}
    for split in splits:
        run_dir = args.out / f"{args.policy.replace(':', '.').replace('/', '_')}-{split}"
        start = time.perf_counter()
        subprocess.run([*VLA, "run", "--policy", args.policy, "--split", split, "--out", str(run_dir), "--workers",
                        str(args.workers), "--executor", args.executor, "--no-progress", *extra], check=True)
        walls[split] = (run_dir, time.perf_counter() - start)
        print(f"{split}: {walls[split][1]:.1f} s", flush=True)

    records = {split: [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
               for split, (run_dir, _) in walls.items()}
    tasks = sorted({r["task"] for rs in records.values() for r in rs})
    bench = json.loads(subprocess.run([*VLA, "bench", "--tasks", ",".join(tasks), "--steps", str(args.bench_steps),
                                       "--json"], check=True, capture_output=True, text=True).stdout)
    breakdown = {"scene builds (resets)": 0.0, "moving the world (controller, physics, bookkeeping)": 0.0,
                 "observations (cameras rendered)": 0.0, "policy calls": 0.0, "transfer and batching": 0.0,
                 "runner, supervisor, records": 0.0}
    worker_s = 0.0
    for split, rs in records.items():
        info = json.loads((walls[split][0] / "run.json").read_text())
        waited_s = sum(r["latency_ms_mean"] * r["policy_calls"] / 1000 for r in rs)
        compute_s = info.get("batching", {}).get("observation_wait_s", waited_s)
        worker_s += sum(r["wall_s"] for r in rs)
        breakdown["policy calls"] += compute_s
        breakdown["transfer and batching"] += waited_s - compute_s
        breakdown["scene builds (resets)"] += sum(r["env_reset_s"] for r in rs)
        breakdown["moving the world (controller, physics, bookkeeping)"] += sum(r["env_step_s"] for r in rs)
        breakdown["observations (cameras rendered)"] += sum(r["env_observation_s"] for r in rs)
    breakdown["runner, supervisor, records"] = worker_s - sum(breakdown.values())
    total_wall = sum(w for _, w in walls.values())
    episodes = sum(len(rs) for rs in records.values())
    workers = json.loads((next(iter(walls.values()))[0] / "run.json").read_text())["config"]["workers"]
    summary = {
        "policy": args.policy, "policy_args": args.policy_arg, "executor": args.executor, "workers": workers,
        "machine": {"cores": usable_cores(),  # the cores it may use (taskset), not the host's
                    "cpu": platform.processor() or platform.machine(),
                    "gl": json.loads((next(iter(walls.values()))[0] / "run.json").read_text())["gl_backend"],
                    "gpu": _gpu()},
        "splits": {s: {"episodes": len(records[s]), "wall_s": round(w, 1),
                       "success": round(sum(r["success"] for r in records[s]) / max(len(records[s]), 1), 3),
                       "steps": sum(r["steps"] for r in records[s])} for s, (_, w) in walls.items()},
        "wall_s": round(total_wall, 1), "episodes": episodes,
        "episodes_per_s": round(episodes / total_wall, 2),
        "steps_per_s": round(sum(r["steps"] for rs in records.values() for r in rs) / total_wall, 1),
        "worker_s": round(worker_s, 1), "breakdown_s": {k: round(v, 1) for k, v in breakdown.items()},
        "bench": bench,
    }
    name = f"timing-{args.policy.replace(':', '.').replace('/', '_')}"
    (args.out / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / f"{name}.md").write_text(_markdown(summary))
    print(_markdown(summary))


def _gpu() -> str | None:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                              text=True, check=True).stdout.strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return None


def _markdown(s: dict) -> str:
    lines = [f"# {' '.join([s['policy'], *s['policy_args']])}: the full suite on {s['machine']['cores']} cores"
             f"{', ' + s['machine']['gpu'] if s['machine']['gpu'] else ''} (GL: {s['machine']['gl']}, "
             f"{s['workers']} workers, executor {s['executor']})", "",
             "| split | episodes | steps | success | wall |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {k} | {v['episodes']} | {v['steps']} | {v['success']:.3f} | {v['wall_s']:.1f} s |"
              for k, v in s["splits"].items()]
    lines += [f"| **all** | {s['episodes']} | | | **{s['wall_s']:.1f} s** |", "",
              f"{s['episodes_per_s']} episodes/s, {s['steps_per_s']} steps/s; the workers' time, "
              f"{s['worker_s']:.1f} worker-seconds, went to:", "", "| where | worker-seconds | share |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.1f} | {v / s['worker_s']:.0%} |" for k, v in s["breakdown_s"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
