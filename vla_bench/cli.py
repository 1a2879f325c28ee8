"""The `vla-bench` command line."""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from dataclasses import asdict
from pathlib import Path

from vla_bench import __version__
from vla_bench.baselines.registry import baseline_names
from vla_bench.errors import SystematicFailure, UsageError
from vla_bench.results import (
    check_output_dir,
    check_output_file,
    read_summary,
    run_progress,
    write_rows,
    written_whole,
)
from vla_bench.runner.executors import EXECUTORS
from vla_bench.runner.instructions import INSTRUCTION_MODES
from vla_bench.runner.resources import usable_cores
from vla_bench.splits.definitions import split_definition
from vla_bench.task.registry import list_tasks, task_entry


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.handler(args)
    except UsageError as err:
        print(f"vla-bench: error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    except SystematicFailure as err:
        print(f"vla-bench: error: {err}", file=sys.stderr)
        return 1


def _finite(unit: str, positive: bool):
    """A finite number of `unit`: above 0 if `positive`, else at least 0."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number of {unit}, got {text!r}") from None
        if not (value > 0 if positive else value >= 0) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a {'positive' if positive else 'non-negative'} number of "
                                             f"{unit}, got {text}")
        return value
    return parse


def _fraction(text: str) -> float:
    """A number from 0 to 1."""
    value = _finite("a fraction", positive=False)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def _run_name(text: str) -> str:
    """A policy name for results: letters, digits and . _ - + only (it names folders and plot labels)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}", text):
        raise argparse.ArgumentTypeError(f"{text!r}: use up to 64 letters, digits, '.', '_', '-' or '+', "
                                         "starting with a letter or digit")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vla-bench", description="Simulation benchmark for Vision-Language-Action policies.")
    parser.add_argument("--version", action="version", version=f"vla-bench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    lister = commands.add_parser("list", help="list tasks, splits or built-in policies")
    lister.add_argument("what", choices=["tasks", "splits", "policies"])
    lister.add_argument("--domain", choices=["manipulation", "navigation"], help="only tasks of this domain")
    lister.add_argument("--markdown", action="store_true",
                        help="tasks as the README's table, from their docstrings (one table per domain)")
    lister.set_defaults(handler=_list)

    runner = commands.add_parser("run", help="evaluate a policy on a split",
                                 description="Evaluate a policy on every task of a split; writes RUN_DIR/episodes.jsonl, "
                                             "summary.csv and run.json.")
    runner.add_argument("--policy", required=True, help="random, oracle, rt1, bcz, package.module:Class, "
                                                       "path/to/file.py:Class, a name from the vla_bench.policies "
                                                       "entry points, or ws://HOST:PORT (a policy server speaking "
                                                       "openpi's protocol; --policy-arg profile=NAME|FILE maps keys)")
    runner.add_argument("--split", required=True, help="train, novel_objects, novel_instructions, "
                                                      "novel_compositions, novel_environments or novel_disturbances")
    runner.add_argument("--policy-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="constructor argument for the policy (repeatable; values parse as JSON when they can)")
    runner.add_argument("--tasks", default="", help="comma-separated subset of tasks (default: all of the split)")
    runner.add_argument("--episodes-per-task", type=_at_least(1), help="the first N episodes per task (default: all, 50)")
    runner.add_argument("--workers", type=_at_least(0), default=0,
                        help="worker processes (default, or 0: one per core this process may use, two per core for a "
                             "policy served in batches; never more than the episodes to run; run.json records how many ran)")
    runner.add_argument("--name", type=_run_name,
                        help="what results call the policy (default: its own name, e.g. rt1); give each variant "
                             "of a policy (another checkpoint, other --policy-arg) its own")
    runner.add_argument("--out", type=Path, help="run directory (default: runs/<name or policy>-<split>)")
    runner.add_argument("--twin-run", type=Path, metavar="RUN_DIR",
                        help="novel_disturbances: the same policy's train run, whose successes the recovery rate "
                             "pairs episode by episode (default: the train run beside this one)")
    runner.add_argument("--resume", action="store_true", help="finish an interrupted run in the same directory")
    runner.add_argument("--record-video", type=_at_least(0), default=0, metavar="K", help="save MP4s of the first K episodes per task")
    runner.add_argument("--supervisor", choices=["on", "off"], default="on",
                        help="on: the safety supervisor intervenes; off: it only observes and counts (default: on)")
    runner.add_argument("--step-timeout", type=_finite("seconds", positive=True), default=30.0, metavar="SECONDS",
                        help="fail an episode whose policy takes longer than this for one step (default: 30)")
    runner.add_argument("--seed", type=int, help="draw a fresh episode set from the split's definition instead of "
                                                "the committed manifest")
    runner.add_argument("--instruction-mode", choices=INSTRUCTION_MODES, default="original",
                        help="what the policy reads: the episode's instruction, an empty one (blank) or another "
                             "episode's of the same domain (shuffled); the language-reliance control "
                             "(default: %(default)s)")
    runner.add_argument("--replan-every", type=_at_least(1), metavar="K",
                        help="for a policy that returns action chunks, execute the first K actions of each before "
                             "calling it again (default: the whole chunk)")
    runner.add_argument("--realtime", action="store_true",
                        help="simulated time runs on while the policy computes: each call's latency becomes control "
                             "steps in which the robot executes the rest of its chunk, then its last command")
    runner.add_argument("--latency-ms", type=_finite("milliseconds", positive=False), default=0.0, metavar="MS",
                        help="with --realtime, add this fixed delay to every call's measured latency (default: 0)")
    runner.add_argument("--executor", choices=EXECUTORS, default="auto",
                        help="where episodes run: local (worker processes, each with its own copy of the policy), "
                             "batched (workers step environments, this process serves the policy to all of them "
                             "through act_batch), ray (actors on a Ray cluster; needs vla-bench[ray]), or auto: "
                             "batched for a policy that batches (a learned baseline on a GPU), else local "
                             "(default: %(default)s)")
    runner.add_argument("--ray-address", metavar="auto|HOST:PORT",
                        help="with --executor ray, the cluster to join: auto for the one `ray start` began on this "
                             "machine, or its head's HOST:PORT (default: start a cluster on this machine)")
    runner.add_argument("--batch-wait-ms", type=_finite("milliseconds", positive=False), default=5.0, metavar="MS",
                        help="a batching policy's call waits at most this long for episodes that are not yet "
                             "waiting for an action (default: %(default)g)")
    runner.add_argument("--no-progress", action="store_true", help="no progress bar")
    runner.set_defaults(handler=_run)

    server = commands.add_parser("serve", help="serve a policy over WebSocket in openpi's protocol",
                                 description="Serve any vla-bench policy over WebSocket in openpi's protocol "
                                             "(msgpack-numpy frames; metadata on connect; GET /healthz), so "
                                             "`vla-bench run --policy ws://HOST:PORT` or openpi's own "
                                             "WebsocketClientPolicy can use it. Concurrent clients of a batching "
                                             "policy share one act_batch call.")
    server.add_argument("--policy", required=True, help="any --policy of `vla-bench run` but ws://")
    server.add_argument("--policy-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="constructor argument for the policy (repeatable; values parse as JSON when they can)")
    server.add_argument("--host", default="0.0.0.0", help="(default: %(default)s)")
    server.add_argument("--port", type=_at_least(0), default=8000, help="(default: %(default)s; 0: any free port)")
    server.set_defaults(handler=_serve)

    board = commands.add_parser("leaderboard", help="merge runs into one row per (policy, split), with a PNG plot",
                                description="One row per run, grouped by split and by the tasks it covered (rows "
                                            "over other task sets are never ranked together), best first, with "
                                            "the policies that an exact McNemar test cannot tell apart from the "
                                            "best marked tied_with_best.")
    board.add_argument("run_dirs", nargs="*", type=Path, metavar="RUN_DIR",
                       help="run directories (default: every run under runs/)")
    board.add_argument("-o", "--output", type=Path, default=Path("leaderboard.csv"), help="(default: %(default)s)")
    board.add_argument("--allow-partial", action="store_true",
                       help="include runs that finished fewer episodes than planned (marked complete=False)")
    board.add_argument("--add-to", type=Path, metavar="CSV",
                       help="a leaderboard to add the runs to, keeping its rows (the runs may only open "
                            "split and task-set groups it does not rank); -o may name the same file, whose PNG "
                            "is redrawn")
    board.set_defaults(handler=_leaderboard)

    report = commands.add_parser("report", help="PNG plots and a markdown report of runs")
    report.add_argument("run_dirs", nargs="*", type=Path, metavar="RUN_DIR",
                        help="run directories (default: every run under runs/)")
    report.add_argument("-o", "--output", type=Path,
                        help="report folder (default: RUN_DIR/report for one run, ./report for several)")
    report.add_argument("--allow-partial", action="store_true",
                        help="include runs that finished fewer episodes than planned (marked partial)")
    report.add_argument("--gallery", nargs="+", type=Path, default=[], metavar="RUN_DIR",
                        help="more runs whose recorded videos (--record-video) join report.html's gallery, "
                             "without entering any table (e.g. short runs made only to record episodes)")
    report.set_defaults(handler=_report)

    comparer = commands.add_parser("compare", help="paired comparison of two runs (or two sets of runs) on the same "
                                                   "episodes", usage="vla-bench compare RUN_A RUN_B [--json]\n"
                                                                     "       vla-bench compare RUN_A... --against RUN_B... [--json]",
                                   description="Pair two runs' episodes by id and report, per task and overall, "
                                               "the success difference A - B with a paired bootstrap 95%% "
                                               "interval (stratified by split and task overall) and the exact McNemar "
                                               "p-value. `compare A B` compares two runs; `compare A1 A2 ... "
                                               "--against B1 B2 ...` pools each side's runs (one per split, say) "
                                               "into one comparison.")
    comparer.add_argument("runs_a", type=Path, nargs="+", metavar="RUN",
                          help="A's run and B's run; or, with --against, A's runs")
    comparer.add_argument("--against", type=Path, nargs="+", metavar="RUN_B", help="B's runs, pooled against A's")
    comparer.add_argument("--json", action="store_true", help="print JSON instead of a table")
    comparer.set_defaults(handler=_compare)

    auditor = commands.add_parser("audit", help="check a run's success predicates against its videos",
                                  description="For up to N successes and N failures per task among the episodes "
                                              "recorded with --record-video, a PNG of the frames around the success "
                                              "(or the end) above the success predicate's parts over time, and "
                                              "audit.md listing each with its flags.")
    auditor.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    auditor.add_argument("--per-task", type=_at_least(1), default=3, metavar="N",
                         help="successes and failures audited per task (default: %(default)s)")
    auditor.add_argument("-o", "--output", type=Path, help="audit folder (default: RUN_DIR/audit)")
    auditor.set_defaults(handler=_audit)

    collector = commands.add_parser("collect", help="record the oracle's demonstrations as LeRobot datasets",
                                    description="Run the scripted expert on fresh episodes drawn from a split's "
                                                "definition (never an episode of a committed manifest) and write "
                                                "OUT/manipulation and OUT/navigation as LeRobot datasets (format "
                                                "v3.0: parquet data, MP4 video per camera), which LeRobot's own "
                                                "LeRobotDataset and training script read. OUT appears only once "
                                                "complete.")
    collector.add_argument("--split", default="train", help="(default: %(default)s)")
    collector.add_argument("--episodes-per-task", type=_at_least(1), default=50, help="(default: %(default)s)")
    collector.add_argument("--seed", type=int, default=1, help="which fresh draw (default: %(default)s)")
    collector.add_argument("--workers", type=_at_least(0), default=0, help="processes (default: one per core this process may use)")
    collector.add_argument("--tasks", default="", help="comma-separated subset of tasks (default: all)")
    collector.add_argument("--out", type=Path, required=True, help="output folder (must not exist or be empty)")
    collector.add_argument("--keep-failures", action="store_true", help="also keep demonstrations that failed")
    collector.add_argument("--action-noise", type=float, default=0.0, metavar="SIGMA",
                           help="perturb what is executed, not what is recorded, so the data shows recoveries "
                                "(DART): manipulation, Gaussian noise of this standard deviation on the hand's "
                                "motion; navigation, the probability that a random move replaces the expert's "
                                "(default: %(default)s)")
    collector.add_argument("--missed-grasps", type=_fraction, default=0.0, metavar="FRACTION",
                           help="the fraction of manipulation demonstrations whose expert closes its first grasp "
                                "beside the object on purpose, then lifts, opens and grasps again, so the data "
                                "shows a recovery from a miss (default: %(default)s)")
    collector.add_argument("--step-timeout", type=_finite("seconds", positive=True), default=30.0, metavar="SECONDS",
                           help="leave out (with a warning) an episode whose expert takes longer than this for one "
                                "step, or whose worker dies; its worker is replaced (default: 30)")
    collector.add_argument("--lossless", action="store_true",
                           help="store camera frames as PNG images in the data files, exactly as rendered, instead "
                                "of AV1 video (several times larger)")
    collector.add_argument("--no-progress", action="store_true", help="no progress bar")
    collector.set_defaults(handler=_collect)

    trainer = commands.add_parser("train", help="train a learned baseline on collected demonstrations",
                                  description="Behaviour cloning on a LeRobot dataset; writes the checkpoint "
                                              "(safetensors), CKPT.loss.png and CKPT.log.json. Deterministic "
                                              "given --seed on a given device.")
    trainer.add_argument("model", choices=baseline_names(), help="the baseline to train")
    trainer.add_argument("--data", type=Path, required=True, help="folder written by `vla-bench collect` (its "
                                                                  "manipulation/ and navigation/ datasets) or one dataset")
    trainer.add_argument("--episodes-per-task", type=_at_least(1), help="train on each task's first N demonstrations "
                                                                        "(default: all)")
    trainer.add_argument("--snapshot-every", type=_at_least(1), metavar="STEPS",
                         help="also keep the weights every STEPS steps as CKPT.step-N.safetensors (success against "
                              "training steps)")
    trainer.add_argument("--out", type=Path, required=True, help="checkpoint file to write (.safetensors)")
    trainer.add_argument("--init", type=Path, metavar="CKPT",
                         help="continue from this checkpoint (same model and configuration) with a fresh optimizer "
                              "and learning-rate schedule over --steps")
    trainer.add_argument("--vision-from", type=Path, metavar="CKPT",
                         help="start rt2's or palme's image encoder (--config vision=film_resnet "
                              "--config film_language=sentence) from this bcz checkpoint's FiLM-ResNet, fine-tuned "
                              "from there, as RT-2 and PaLM-E start from pretrained vision")
    trainer.add_argument("--compile", action="store_true",
                         help="compile the model's repeated blocks with torch.compile (rt2's and palme's language-model "
                              "blocks): fewer kernel launches per step on a GPU, after a minute of compiling")
    trainer.add_argument("--steps", type=_at_least(1), default=4000, help="(default: %(default)s)")
    trainer.add_argument("--batch-size", type=_at_least(1), default=128, help="(default: %(default)s)")
    trainer.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (default: %(default)s)")
    trainer.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    trainer.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    trainer.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                         help="override a field of the model's configuration (repeatable; JSON values)")
    trainer.add_argument("--no-progress", action="store_true", help="no progress bar")
    trainer.set_defaults(handler=_train)

    bench = commands.add_parser("bench", help="throughput: env steps/s beside raw MuJoCo steps + renders",
                                description="Times env.step() with its cameras against raw mj_step and mj_step "
                                            "+ renders of the same scene, in the same run.")
    bench.add_argument("--tasks", default="PickUp,PutInDrawer,GoToObject", help="comma-separated task names (default: %(default)s)")
    bench.add_argument("--steps", type=_at_least(1), default=300, help="env steps to time per task (default: %(default)s)")
    bench.add_argument("--image-size", type=int, default=128, help="camera width and height (default: %(default)s)")
    bench.add_argument("--serving", action="store_true",
                       help="instead: per-step latency of a policy served by `vla-bench serve` on this machine "
                            "against the same policy in process, on the same observations (p50/p95)")
    bench.add_argument("--batch-sizes", metavar="N,N,...",
                       help="instead: the policy's latency per call answering this many episodes at once (act_batch "
                            "where it batches, else one act after another), e.g. 1,4,16")
    bench.add_argument("--policy", default="random",
                       help="the policy --serving or --batch-sizes times (default: %(default)s)")
    bench.add_argument("--policy-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="constructor argument for that policy, e.g. device=cuda (repeatable)")
    bench.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench.set_defaults(handler=_bench)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from vla_bench.policy.loader import PolicySpec, is_remote, parse_policy_args
    from vla_bench.serving.server import PolicyServer

    if is_remote(args.policy):
        raise UsageError("serve a policy that runs here; ws:// addresses are for `vla-bench run`")
    spec = PolicySpec(args.policy, parse_policy_args(args.policy_arg))
    if getattr(spec.policy_class(), "privileged", False):
        raise UsageError(f"{args.policy} reads the simulator's state, which does not travel over the network; "
                         "run it in process")
    server = PolicyServer(spec, args.host, args.port)

    def ready(listening) -> None:
        host, port = next(iter(listening.sockets)).getsockname()[:2]
        print(f"serving {args.policy} on ws://{host}:{port} (Ctrl-C stops)", flush=True)

    try:
        server.serve_forever(ready)
    except KeyboardInterrupt:
        pass
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.what == "tasks" and args.markdown:
        from vla_bench.task.docs import markdown_table

        domains = [args.domain] if args.domain else list(dict.fromkeys(task_entry(t).domain for t in list_tasks()))
        print("\n\n".join(markdown_table([task_entry(t) for t in list_tasks(d)]) for d in domains))
    elif args.what == "tasks":
        for name in list_tasks(args.domain):
            entry = task_entry(name)
            print(f"{name:14s} {entry.domain:13s} {entry.env_id:28s} {entry.description}")
    elif args.what == "splits":
        from vla_bench.splits import SPLITS, load_manifest

        for name, split in SPLITS.items():
            manifest = load_manifest(name)
            print(f"{name:20s} {len(manifest.episodes):5d} episodes  v{manifest.version} {manifest.hash[:12]}  {split.description}")
    else:
        from vla_bench.policy.loader import registered_policies

        for name, description in registered_policies().items():
            print(f"{name:10s} {description}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.latency_ms and not args.realtime:
        raise UsageError("--latency-ms delays the robot's clock: it needs --realtime")
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address names the Ray cluster of --executor ray")
    from vla_bench.policy.loader import parse_policy_args
    from vla_bench.runner.runner import RunConfig, run

    config = RunConfig(policy=args.policy, split=args.split, policy_args=parse_policy_args(args.policy_arg),
                       tasks=tuple(t for t in args.tasks.split(",") if t), episodes_per_task=args.episodes_per_task,
                       workers=args.workers, out=args.out, resume=args.resume, record_video=args.record_video,
                       supervisor=args.supervisor == "on", step_timeout=args.step_timeout, seed=args.seed,
                       progress=not args.no_progress, instruction_mode=args.instruction_mode,
                       replan_every=args.replan_every, realtime=args.realtime, latency_ms=args.latency_ms,
                       name=args.name, twin_run=args.twin_run, executor=args.executor,
                       ray_address=args.ray_address, batch_wait_ms=args.batch_wait_ms)
    try:
        run_dir = run(config)
    except KeyboardInterrupt:
        if not (config.run_dir / "run.json").exists():
            print("\ninterrupted before the run started: nothing was written", file=sys.stderr)
            return 130
        progress = run_progress(config.run_dir)
        print(f"\ninterrupted: a partial run, {progress.finished} of {progress.planned} episodes finished and kept in "
              f"{config.run_dir}; run the same command with --resume to finish", file=sys.stderr)
        return 130
    for row in read_summary(run_dir):
        if row["task"] == "ALL":
            print(f"{row['policy']} on {row['split']}: success {float(row['success_rate']):.3f} "
                  f"[{float(row['success_ci_low']):.3f}, {float(row['success_ci_high']):.3f}] over {row['episodes']} "
                  f"episodes, collisions {float(row['collision_rate']):.3f}, SPL {float(row['spl']):.3f}, "
                  f"interventions {float(row['intervention_rate']):.3f}, errors {row['errors']}")
    print(f"results: {run_dir / 'summary.csv'}")
    progress = run_progress(run_dir)
    if not progress.complete:
        print(f"PARTIAL: {progress.finished} of {progress.planned} episodes finished; run the same command with "
              "--resume to finish")
    _report_errors(run_dir)  # last: a broken policy's error is what the user sees first
    return 0


def _report_errors(run_dir: Path) -> None:
    """Name the most common episode error, so a broken policy is not mistaken for a weak one."""
    from collections import Counter

    from vla_bench.results import read_episodes

    errors = Counter(r["error"] for r in read_episodes(run_dir) if r["error"])
    if errors:
        message, count = errors.most_common(1)[0]
        print(f"errors: {sum(errors.values())} episodes; most common ({count}x): {message}\n"
              f"every error is in {run_dir / 'episodes.jsonl'} (field 'error')")


def _leaderboard(args: argparse.Namespace) -> int:
    from vla_bench.leaderboard import LEADERBOARD_COLUMNS, add_to, leaderboard, read_leaderboard
    from vla_bench.report import plot_leaderboard
    from vla_bench.results import policy_label

    published = read_leaderboard(args.add_to) if args.add_to is not None else None
    check_output_file(args.output, "-o")
    rows = leaderboard(_run_dirs(args.run_dirs), allow_partial=args.allow_partial)
    if published is not None:
        rows = add_to(published, rows, args.add_to)
    with written_whole(args.output) as written:  # -o may be the --add-to file: never half-written
        write_rows(written, LEADERBOARD_COLUMNS, rows)
    plot_leaderboard(rows, args.output.with_suffix(".png"))
    for row in rows:
        partial = "" if row["complete"] in (True, "True") else "  (partial run)"
        tied = "  (tied with the best)" if row["tied_with_best"] in (True, "True") and int(row["rank"]) > 1 else ""
        label = policy_label(row["policy"], row["instruction_mode"], row["timing"])
        print(f"{int(row['rank']):>3d} {label:24s} {row['split']:20s} {row['task_set']:13s} "
              f"success {float(row['success_rate']):.3f}{tied}{partial}")
    print(f"leaderboard: {args.output} (plot: {args.output.with_suffix('.png')})")
    return 0


def _run_dirs(given: list[Path]) -> list[Path]:
    """The run directories named, or every run under runs/ (a folder with a summary.csv)."""
    if given:
        return given
    found = sorted(path.parent for path in Path("runs").glob("*/summary.csv"))
    if not found:
        raise UsageError("no runs under runs/ (folders with a summary.csv); name run directories, "
                         "or make one with `vla-bench run`")
    return found


def _compare(args: argparse.Namespace) -> int:
    from vla_bench.compare import compare_runs, run_names

    if args.against:
        runs_a, runs_b = args.runs_a, args.against
    elif len(args.runs_a) == 2:
        runs_a, runs_b = args.runs_a[:1], args.runs_a[1:]
    else:
        raise UsageError(f"compare takes two runs (A B), or A's runs followed by --against and B's; got "
                         f"{len(args.runs_a)} run(s) and no --against")
    for run_dir in (*runs_a, *runs_b):
        if not (run_dir / "episodes.jsonl").is_file():
            raise UsageError(f"{run_dir} holds no episodes.jsonl (a run directory of `vla-bench run`)")
    rows, unpaired = compare_runs(runs_a, runs_b)
    if args.json:
        print(json.dumps({"rows": [asdict(r) for r in rows], **unpaired}, indent=2))
        return 0
    print(f"A = {run_names(runs_a)}\nB = {run_names(runs_b)}")
    print(f"{'task':14s} {'pairs':>5s} {'A':>6s} {'B':>6s} {'A - B':>7s} {'95% CI (bootstrap)':>19s} "
          f"{'A only':>6s} {'B only':>6s} {'McNemar p':>9s}")
    for r in rows:
        print(f"{r.task:14s} {r.pairs:>5d} {r.success_a:>6.3f} {r.success_b:>6.3f} {r.difference:>+7.3f} "
              f"[{r.ci_low:>+6.3f}, {r.ci_high:>+6.3f}] {r.only_a:>8d} {r.only_b:>6d} {r.p_value:>9.3g}")
    if unpaired["only_in_a"] or unpaired["only_in_b"]:
        print(f"left out, having no partner: {unpaired['only_in_a']} episodes of A, {unpaired['only_in_b']} of B")
    return 0


def _report(args: argparse.Namespace) -> int:
    from vla_bench.report import write_report

    run_dirs = _run_dirs(args.run_dirs)
    out = args.output or (run_dirs[0] / "report" if len(run_dirs) == 1 else Path("report"))
    check_output_dir(out, "-o")
    path = write_report(run_dirs, out, allow_partial=args.allow_partial, gallery_dirs=args.gallery)
    print(f"report: {path}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from vla_bench.audit import audit, sample, traced_episodes

    episodes = traced_episodes(args.run_dir)  # a run without videos or traces fails before -o is made
    out = args.output or args.run_dir / "audit"
    check_output_dir(out, "-o")
    path = audit(args.run_dir, out, per_task=args.per_task, episodes=episodes)
    chosen = sample(episodes, args.per_task)
    flagged = sum(1 for e in chosen if e.flags)
    print(f"audited {len(chosen)} of the {len(episodes)} episodes with a video and a trace, {flagged} flagged")
    print(f"audit: {path}")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from vla_bench.data.collect import collect, dataset_roots
    from vla_bench.data.lerobot import LeRobotDataset

    split_definition(args.split)
    tasks = [t for t in args.tasks.split(",") if t]
    for task in tasks:
        task_entry(task)
    out = collect(args.split, args.out, args.episodes_per_task, tasks or None, only_successful=not args.keep_failures,
                  seed=args.seed, workers=args.workers or usable_cores(), action_noise=args.action_noise,
                  progress=not args.no_progress, step_timeout=args.step_timeout, lossless=args.lossless,
                  missed_grasps=args.missed_grasps)
    for root in dataset_roots(out):
        dataset = LeRobotDataset(root)
        print(f"{len(dataset)} episodes, {dataset.info['total_frames']} frames: {root}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from vla_bench.baselines.train import TrainConfig, train
    from vla_bench.data.collect import dataset_roots
    from vla_bench.policy.loader import parse_policy_args

    if not dataset_roots(args.data):
        raise UsageError(f"{args.data} holds no dataset; make one with `vla-bench collect --out DIR`")
    overrides = parse_policy_args(args.config)
    config = TrainConfig(model=args.model, data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size,
                         learning_rate=args.lr, seed=args.seed, device=args.device, model_overrides=overrides,
                         episodes_per_task=args.episodes_per_task, snapshot_every=args.snapshot_every,
                         init=args.init, vision_from=args.vision_from, compile=args.compile)
    path = train(config, progress=not args.no_progress)
    print(f"checkpoint: {path} (loss curves: {path.with_suffix('.loss.png')})")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from vla_bench.bench import bench_task

    tasks = [t for t in args.tasks.split(",") if t]
    for task in tasks:
        task_entry(task)  # fail early with the list of valid names
    if args.serving:
        return _bench_serving(args, tasks)
    if args.batch_sizes:
        return _bench_batches(args, tasks)
    if args.json:
        results = [bench_task(task, steps=args.steps, image_size=args.image_size) for task in tasks]
        print(json.dumps([asdict(r) | {"overhead": r.overhead, "sim_overhead": r.sim_overhead} for r in results],
                         indent=2))
        return 0
    print(f"{'task':14s} {'image':>6s} {'raw sim':>10s} {'raw+render':>11s} {'env':>8s} {'env/raw cost':>13s} "
          f"{'env no cam':>11s} {'/raw sim':>9s} {'reset':>8s} {'no cam':>7s}", flush=True)
    for task in tasks:  # a row as each task finishes: all ten take minutes on a small CPU
        r = bench_task(task, steps=args.steps, image_size=args.image_size)
        print(f"{r.task:14s} {r.image_size:>6d} {r.raw_sim_steps_per_s:>8.0f}/s {r.raw_steps_per_s:>9.0f}/s "
              f"{r.env_steps_per_s:>6.0f}/s {r.overhead:>12.2f}x {r.env_sim_steps_per_s:>9.0f}/s "
              f"{r.sim_overhead:>8.2f}x {r.reset_s * 1000:>6.0f}ms {r.reset_no_cam_s * 1000:>5.0f}ms", flush=True)
    print("steps/s are control steps (manipulation: 10 Hz, 50 physics steps each; navigation: one move each); "
          "env and raw+render draw the same images; env no cam renders none, beside raw sim: the suite's own "
          "work without the renderer's noise; a reset with cameras includes uploading the new scene and its "
          "first frames.")
    return 0


def _bench_batches(args: argparse.Namespace, tasks: list[str]) -> int:
    from vla_bench.policy.latency import measure_batches
    from vla_bench.policy.loader import PolicySpec, parse_policy_args

    try:
        sizes = [int(n) for n in args.batch_sizes.split(",") if n]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise UsageError(f"--batch-sizes takes positive integers separated by commas, got {args.batch_sizes!r}")
    spec = PolicySpec(args.policy, parse_policy_args(args.policy_arg))
    results = [r for task in tasks for r in measure_batches(spec, task, sizes, calls=args.steps,
                                                            image_size=args.image_size)]
    if args.json:
        print(json.dumps([asdict(r) | {"hz_per_episode": r.hz_per_episode} for r in results], indent=2))
        return 0
    print(f"{'task':14s} {'batch':>6s} {'call p50/p95':>16s} {'Hz per episode':>15s} {'observations/s':>15s}")
    for r in results:
        print(f"{r.task:14s} {r.batch:>6d} {r.ms_p50:>7.2f}/{r.ms_p95:<7.2f}ms {r.hz_per_episode:>14.1f} "
              f"{r.observations_per_s:>15.0f}")
    print(f"{args.policy} {' '.join(args.policy_arg)}: {args.steps} calls per batch size, the policy alone "
          f"(no simulation); torch threads: {_torch_threads()}.")
    return 0


def _torch_threads() -> str:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return "no torch"
    import torch

    return str(torch.get_num_threads())


def _bench_serving(args: argparse.Namespace, tasks: list[str]) -> int:
    from vla_bench.serving.overhead import measure_overhead

    results = [measure_overhead(task, args.policy, calls=args.steps, image_size=args.image_size) for task in tasks]
    if args.json:
        print(json.dumps([asdict(r) | {"added_ms_p50": r.added_ms_p50, "added_ms_p95": r.added_ms_p95}
                          for r in results], indent=2))
        return 0
    print(f"{'task':14s} {'message':>8s} {'in process p50/p95':>19s} {'served p50/p95':>16s} {'added p50/p95':>15s}")
    for r in results:
        print(f"{r.task:14s} {r.message_kb:>6.0f}kB {r.local_ms_p50:>8.2f}/{r.local_ms_p95:<6.2f}ms "
              f"{r.remote_ms_p50:>7.2f}/{r.remote_ms_p95:<6.2f}ms {r.added_ms_p50:>6.2f}/{r.added_ms_p95:<6.2f}ms")
    print(f"{args.policy} over {args.steps} observations per task, served on this machine (localhost).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
