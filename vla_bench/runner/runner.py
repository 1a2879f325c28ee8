"""`vla-bench run`: evaluate a policy on a split over a pool of worker processes.

Each episode is fixed by its EpisodeSpec (and seeds its own randomness), so results do not
depend on the number of workers or on the order episodes finish. Every finished episode is
appended to episodes.jsonl at once; `--resume` skips the episodes already there. A policy
that overrides `act_batch` is served from this process: the workers send observations, and
one call answers all the episodes that are waiting at that moment.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vla_bench.errors import SystematicFailure, UsageError
from vla_bench.policy.loader import PolicySpec
from vla_bench.results import (
    EPISODES_FILE,
    append_episode,
    check_output_dir,
    read_episodes,
    read_run_info,
    write_run_info,
    write_summary,
)
from vla_bench.runner.executors import connect_ray, make_executor
from vla_bench.runner.instructions import policy_instructions
from vla_bench.runner.provenance import provenance
from vla_bench.runner.video import check_mp4_writer
from vla_bench.runner.worker import WorkerConfig
from vla_bench.specs import EpisodeSpec
from vla_bench.splits import Manifest, generate_manifest, load_manifest, split_definition
from vla_bench.task.registry import task_entry

log = logging.getLogger(__name__)
EARLY_STOP_EPISODES = 5  # a run whose first this many episodes all fail with one error stops


@dataclass(frozen=True)
class RunConfig:
    policy: str
    split: str
    policy_args: dict[str, Any] = field(default_factory=dict)
    tasks: tuple[str, ...] = ()
    episodes_per_task: int | None = None
    workers: int = 0  # 0: one per core
    out: Path | None = None
    resume: bool = False
    record_video: int = 0
    supervisor: bool = True
    step_timeout: float = 30.0
    seed: int | None = None
    progress: bool = True
    instruction_mode: str = "original"  # what the policy reads: see vla_bench.runner.instructions
    replan_every: int | None = None  # of a returned action chunk, how many actions run before the next call
    realtime: bool = False  # simulated time runs on while the policy computes: see vla_bench.runner.realtime
    latency_ms: float = 0.0  # real time: a fixed delay added to every call's measured latency
    name: str | None = None  # what results call the policy (default: its own name); tells two variants apart
    twin_run: Path | None = None  # novel_disturbances: the policy's train run, for the recovery rate
    executor: str = "auto"  # where episodes run: see vla_bench.runner.executors.make_executor
    ray_address: str | None = None  # --executor ray: the cluster to join (None: start one here)
    batch_wait_ms: float = 5.0  # a batching policy's call waits at most this long for more episodes

    @property
    def run_dir(self) -> Path:
        mode = "" if self.instruction_mode == "original" else f"-{self.instruction_mode}"
        mode += "-realtime" if self.realtime else ""
        policy = self.name or self.policy.replace('/', '_').replace(':', '.')
        return self.out or Path("runs") / f"{policy}-{self.split}{mode}"

    def identity(self) -> dict[str, Any]:
        """What must match for --resume to continue a run (settings added later appear only when
        they are not their default, so runs made before them still resume)."""
        identity = {"policy": self.policy, "split": self.split, "policy_args": self.policy_args,
                    "tasks": list(self.tasks), "episodes_per_task": self.episodes_per_task,
                    "supervisor": self.supervisor, "seed": self.seed}
        return identity | {k: getattr(self, k) for k, default in LATER_SETTINGS.items() if getattr(self, k) != default}


# settings added after runs existed, with their defaults: a run.json without one had the default
LATER_SETTINGS = {"instruction_mode": "original", "replan_every": None, "realtime": False, "latency_ms": 0.0,
                  "name": None}


def select_episodes(config: RunConfig) -> tuple[list[EpisodeSpec], Manifest]:
    """The split's episodes for this run, and the manifest they come from."""
    split_definition(config.split)
    for task in config.tasks:
        task_entry(task)
    if config.seed is None:
        manifest = load_manifest(config.split)
    else:
        manifest = generate_manifest(config.split, config.episodes_per_task or 50, seed=config.seed,
                                     tasks=list(config.tasks) or None)
    tasks = list(dict.fromkeys(config.tasks)) or manifest.tasks
    episodes = [e for t in tasks for e in manifest.for_task(t)[: config.episodes_per_task]]
    return episodes, manifest


def unfit_tasks(policy_cls: type, tasks: list[str]) -> dict[str, str]:
    """Tasks whose observations or action mode the policy's declarations lack, with the reason."""
    import gymnasium as gym

    keys = getattr(policy_cls, "observation_keys", None) or ()
    declared = getattr(policy_cls, "action_mode", "ee_delta")
    modes = (declared,) if isinstance(declared, str) else tuple(declared)
    reasons = {}
    for task in dict.fromkeys(tasks):
        entry = task_entry(task)
        wanted = keys.get(entry.domain, ()) if isinstance(keys, dict) else keys  # a dict: per domain
        env = gym.make(entry.env_id)
        missing = [k for k in wanted if k not in env.observation_space.spaces]
        task_mode = "discrete" if isinstance(env.action_space, gym.spaces.Discrete) else "ee_delta"
        if missing:
            reasons[task] = (f"policy reads observations {missing} that task {task} does not provide "
                             f"(it has {list(env.observation_space.spaces)})")
        elif task_mode not in modes:
            reasons[task] = f"policy acts in {declared!r} mode but task {task} takes {task_mode!r} actions"
        env.close()
    return reasons


def produced_observations(policy_cls: type, episodes: list[EpisodeSpec],
                          recording: bool) -> dict[str, tuple[str, ...]] | None:
    """Per domain of the run, the observations its envs produce: those the policy declares it
    reads (`observation_keys`), and those the runner reads itself (the instruction, the proprio
    of audit traces, the front camera of recorded episodes). The rest is never rendered: the
    oracle and random read no image, a one-camera policy leaves the wrist camera dark. None: the
    policy declares nothing, so it gets everything."""
    declared = getattr(policy_cls, "observation_keys", None)
    if declared is None:
        return None
    own = ("instruction", "proprio", *(("rgb",) if recording else ()))
    produced = {}
    for domain in dict.fromkeys(task_entry(e.task).domain for e in episodes):
        keys = declared.get(domain) if isinstance(declared, dict) else declared
        if keys is not None:
            produced[domain] = tuple(dict.fromkeys((*keys, *own)))
    return produced


def check_policy_fits(policy_cls: type, episodes: list[EpisodeSpec], tasks_named: bool) -> list[EpisodeSpec]:
    """The episodes the policy can run. Tasks it does not fit are refused when the user named
    them, and left out with a warning when they came with the split (a manipulation policy on a
    split that also holds navigation tasks); refused too when nothing would be left."""
    unfit = unfit_tasks(policy_cls, [e.task for e in episodes])
    fitting = [e for e in episodes if e.task not in unfit]
    if unfit and (tasks_named or not fitting):
        raise UsageError(next(iter(unfit.values())))
    if unfit:
        log.warning("leaving out tasks this policy does not fit: %s", "; ".join(unfit.values()))
    return fitting


def run(config: RunConfig) -> Path:
    """Evaluate; returns the run directory (episodes.jsonl, summary.csv, run.json, videos/).
    Raises SystematicFailure when the run's first episodes all fail with one error."""
    episodes, manifest = select_episodes(config)
    manifest_hash = manifest.hash
    _check_run_dir(config)  # before any policy or model is built
    if config.executor == "ray":
        connect_ray(config.ray_address)
    if config.twin_run is not None:
        if not split_definition(config.split).disturbed:
            raise UsageError(f"--twin-run pairs disturbed episodes with their train twins; {config.split} has none")
        if not (config.twin_run / EPISODES_FILE).is_file():
            raise UsageError(f"--twin-run {config.twin_run} holds no {EPISODES_FILE} (a train run of `vla-bench run`)")
    if config.record_video:
        check_mp4_writer()
    policy_cls = PolicySpec(config.policy, config.policy_args).policy_class()
    offered = list(dict.fromkeys(e.task for e in episodes))
    episodes = check_policy_fits(policy_cls, episodes, tasks_named=bool(config.tasks))
    left_out = [t for t in offered if t not in {e.task for e in episodes}]
    policy = PolicySpec(config.policy, config.policy_args).build()  # constructor errors surface before workers start

    run_dir = config.run_dir
    done, started = _prepare_run_dir(run_dir, config, manifest_hash, episodes)
    video_ids = {e.episode_id for t in dict.fromkeys(e.task for e in episodes)
                 for e in [x for x in episodes if x.task == t][: config.record_video]}
    shown = policy_instructions(config.instruction_mode, episodes, manifest.episodes)
    todo = [(i, e, e.episode_id in video_ids, shown.get(e.episode_id)) for i, e in enumerate(episodes)
            if e.episode_id not in done]
    observations = produced_observations(policy_cls, episodes, recording=config.record_video > 0)
    worker_config = WorkerConfig(PolicySpec(config.policy, config.policy_args), policy_name(config, policy_cls),
                                 config.split, config.supervisor, run_dir, instruction_mode=config.instruction_mode,
                                 replan_every=config.replan_every, realtime=config.realtime,
                                 latency_ms=config.latency_ms, observations=observations)
    pool = make_executor(config.executor, worker_config, policy, config.workers, len(todo), config.step_timeout,
                         config.batch_wait_ms / 1000, config.ray_address)
    info = {"config": {**config.identity(), "workers": pool.size, "executor": type(pool).__name__,
                       "record_video": config.record_video, "step_timeout": config.step_timeout},
            "manifest_hash": manifest_hash, "episodes": len(episodes), "tasks_left_out": left_out,
            "observations": observations,
            **provenance(policy), "started": started, "ended": None}
    write_run_info(run_dir, info)

    if getattr(pool, "policy", None) is not policy and hasattr(policy, "close"):
        policy.close()  # workers or actors build their own; this one was for the checks (a server connection, say)
    progress = _progress_bar(len(episodes), len(episodes) - len(todo), config.progress)
    watch = FailureWatch(run_dir)
    try:
        for record in pool.run(todo):
            append_episode(run_dir, record)
            progress.update(1)
            progress.set_postfix(success=f"{record['success']}", refresh=False)
            watch.see(record)
    except SystematicFailure as failure:
        info["stopped"] = str(failure)
        raise
    finally:
        pool.close()
        progress.close()
        twin = twin_run(config, worker_config.policy_name)
        info["recovery_twin_run"] = str(twin.resolve()) if twin else None
        if hasattr(pool, "stats"):
            info["batching"] = pool.stats.to_json()
        write_summary(run_dir, read_episodes(run_dir), read_episodes(twin) if twin else [])
        info["ended"] = datetime.now(timezone.utc).isoformat()
        write_run_info(run_dir, info)
    return run_dir


def twin_run(config: RunConfig, policy: str) -> Path | None:
    """For a split of disturbed episodes, the same policy's train run that pairs them for the
    recovery rate: `twin_run`, else the train run beside this one (same folder, `train` in place of
    the split's name), if it holds the same policy's episodes."""
    if not split_definition(config.split).disturbed:
        return None
    run_dir = config.run_dir
    twin = config.twin_run or run_dir.with_name(run_dir.name.replace(config.split, "train"))
    records = read_episodes(twin) if twin != run_dir else []
    if not records or records[0]["policy"] != policy or records[0]["split"] != "train":
        log.warning("no train run of %s at %s: recovery_rate is left empty (pass --twin-run)", policy, twin)
        return None
    return twin


def policy_name(config: RunConfig, policy_cls: type) -> str:
    """What the run's records call the policy: `--name`, else the class's `name`, else `--policy`."""
    if config.name:
        return config.name
    return policy_cls.name if getattr(policy_cls, "name", "policy") != "policy" else config.policy


class FailureWatch:
    """Stops a run whose first EARLY_STOP_EPISODES episodes all fail with the same error (a policy
    that breaks the contract, a server that refuses every request, an environment that cannot be
    built): one clear error instead of the same failure recorded for every episode. Sporadic
    failures only fail their episode."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.first_errors: list[str] = []

    def see(self, record: dict[str, Any]) -> None:
        if len(self.first_errors) >= EARLY_STOP_EPISODES:
            return
        self.first_errors.append(record["error"])
        errors = set(self.first_errors)
        if len(self.first_errors) == EARLY_STOP_EPISODES and len(errors) == 1 and "" not in errors:
            raise SystematicFailure(
                f"the first {EARLY_STOP_EPISODES} episodes all failed with the same error, so the run stopped: "
                f"{self.first_errors[0]}\n(their records are in {self.run_dir / EPISODES_FILE}; fix the cause and "
                "start again with another --out, or delete that folder)")


def _check_run_dir(config: RunConfig) -> None:
    """The run directory can be written, and holds no run unless --resume continues it."""
    check_output_dir(config.run_dir, "--out")
    existing = read_episodes(config.run_dir)
    if existing and not config.resume:
        raise UsageError(f"{config.run_dir} already holds {len(existing)} episodes; pass --resume to finish that run "
                         "or --out to start a new one")


def _prepare_run_dir(run_dir: Path, config: RunConfig, manifest_hash: str,
                     episodes: list[EpisodeSpec]) -> tuple[set[str], str]:
    """Create the run directory; with --resume, the episode ids already finished and when the
    run first started. A resumed run must have the same settings, and every finished episode must
    still be in the split as it was (a manifest that only gained episodes, say of a new task
    family, resumes by running just those)."""
    existing = read_episodes(run_dir)
    started = datetime.now(timezone.utc).isoformat()
    if config.resume and (run_dir / "run.json").exists():
        previous = read_run_info(run_dir)
        identity = config.identity()
        before = {**LATER_SETTINGS, **previous["config"]}
        now = {**LATER_SETTINGS, **identity}
        differs = {k: (before.get(k), now.get(k)) for k in (*identity, *LATER_SETTINGS) if before.get(k) != now.get(k)}
        if differs:
            raise UsageError(f"--resume with different settings than the run in {run_dir}: {differs}")
        current = {e.episode_id: (e.task, e.seed, e.instruction) for e in episodes}
        changed = [r["episode_id"] for r in existing
                   if current.get(r["episode_id"]) != (r["task"], r["seed"], r["instruction"])]
        if previous["manifest_hash"] != manifest_hash and changed:
            raise UsageError(f"--resume: the split's episodes changed since the run in {run_dir} started "
                             f"(manifest {previous['manifest_hash'][:12]} then, {manifest_hash[:12]} now; "
                             f"{len(changed)} finished episodes differ, e.g. {changed[0]})")
        started = previous["started"]
    run_dir.mkdir(parents=True, exist_ok=True)
    if existing:  # drop a line cut off by the interruption, so new episodes append cleanly
        (run_dir / EPISODES_FILE).write_text("".join(json.dumps(r) + "\n" for r in existing))
    return {r["episode_id"] for r in existing}, started


def _progress_bar(total: int, done: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="episode", disable=not enabled, dynamic_ncols=True)
