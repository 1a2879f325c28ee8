"""The `vla-bench` command line."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict

from vla_bench import __version__
from vla_bench.registry import list_tasks, task_entry

BUILTIN_POLICIES = {"random": "uniformly random actions (the floor)",
                    "oracle": "the scripted expert on privileged state (the ceiling)"}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.handler(args)
    except (KeyError, ValueError) as err:
        print(f"vla-bench: error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vla-bench", description="Simulation benchmark for Vision-Language-Action policies.")
    parser.add_argument("--version", action="version", version=f"vla-bench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    lister = commands.add_parser("list", help="list tasks, splits or built-in policies")
    lister.add_argument("what", choices=["tasks", "splits", "policies"])
    lister.add_argument("--domain", choices=["manipulation", "navigation"], help="only tasks of this domain")
    lister.set_defaults(handler=_list)

    bench = commands.add_parser("bench", help="throughput: env steps/s beside raw MuJoCo steps + renders",
                                description=__import__("vla_bench.bench").bench.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_argument("--tasks", default="PickUp,PutInDrawer", help="comma-separated task names (default: %(default)s)")
    bench.add_argument("--steps", type=int, default=300, help="env steps to time per task (default: %(default)s)")
    bench.add_argument("--image-size", type=int, default=128, help="camera width and height (default: %(default)s)")
    bench.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench.set_defaults(handler=_bench)
    return parser


def _list(args: argparse.Namespace) -> int:
    if args.what == "tasks":
        for name in list_tasks(args.domain):
            entry = task_entry(name)
            print(f"{name:14s} {entry.domain:13s} {entry.env_id:28s} {entry.description}")
    elif args.what == "splits":
        from vla_bench.splits import SPLITS, load_manifest

        for name, split in SPLITS.items():
            manifest = load_manifest(name)
            print(f"{name:20s} {len(manifest.episodes):5d} episodes  v{manifest.version} {manifest.hash[:12]}  {split.description}")
    else:
        for name, description in BUILTIN_POLICIES.items():
            print(f"{name:8s} {description}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from vla_bench.bench import bench_task

    tasks = [t for t in args.tasks.split(",") if t]
    for task in tasks:
        task_entry(task)  # fail early with the list of valid names
    results = [bench_task(task, steps=args.steps, image_size=args.image_size) for task in tasks]
    if args.json:
        print(json.dumps([asdict(r) | {"overhead": r.overhead} for r in results], indent=2))
        return 0
    print(f"{'task':14s} {'image':>6s} {'raw sim':>10s} {'raw+render':>11s} {'env':>8s} {'env/raw cost':>13s} {'reset':>8s}")
    for r in results:
        print(f"{r.task:14s} {r.image_size:>6d} {r.raw_sim_steps_per_s:>8.0f}/s {r.raw_steps_per_s:>9.0f}/s "
              f"{r.env_steps_per_s:>6.0f}/s {r.overhead:>12.2f}x {r.reset_s * 1000:>6.0f}ms")
    print("steps/s are control steps (10 Hz, 50 physics steps each); env and raw+render draw both cameras.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
