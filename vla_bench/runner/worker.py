"""Worker processes: each keeps one environment per task and runs whole episodes (local
policies) or steps environments for a policy served by the main process (batched policies)."""
from __future__ import annotations

import logging
import signal
import time
import traceback
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym

from vla_bench.policy.loader import PolicySpec
from vla_bench.runner.episode import EpisodeRecord, PolicyFault
from vla_bench.specs import EpisodeSpec
from vla_bench.supervisor import supervise
from vla_bench.task.registry import task_entry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    policy: PolicySpec
    policy_name: str
    split: str
    supervisor: bool
    run_dir: Path
    image_size: int = 128
    instruction_mode: str = "original"
    replan_every: int | None = None  # actions of a chunk executed before the next call (None: all)
    realtime: bool = False  # simulated time runs on while the policy computes
    latency_ms: float = 0.0  # added to each call's measured latency in real time
    # per domain, the observations the envs produce (see runner.produced_observations); absent: all
    observations: dict[str, tuple[str, ...]] | None = None


class EnvCache:
    """One environment per task, built by `make(task)` on first use and kept for the worker's life."""

    def __init__(self, make: Callable[[str], gym.Env]) -> None:
        self.make = make
        self._envs: dict[str, gym.Env] = {}

    def get(self, task: str) -> gym.Env:
        if task not in self._envs:
            self._envs[task] = self.make(task)
        return self._envs[task]

    def close(self) -> None:
        for env in self._envs.values():
            env.close()


def supervised_env(config: WorkerConfig, task: str) -> gym.Env:
    """A task's environment as a run steps it: at the run's image size, producing the observations
    the run reads, behind the supervisor."""
    # Gymnasium's passive checker cannot recover from a reset that raised (a corrupt episode):
    # the contract tests check the envs instead, and a worker keeps one env per task for good.
    entry = task_entry(task)
    observations = (config.observations or {}).get(entry.domain)
    env = gym.make(entry.env_id, image_size=config.image_size, observations=observations, disable_env_checker=True)
    return supervise(env, enabled=config.supervisor)


def local_worker(worker_id: int, config: WorkerConfig, jobs, results) -> None:
    """Runs whole episodes with its own copy of the policy, sending its messages through
    `results` (its own pipe to the executor). jobs: (index, EpisodeSpec, record_video,
    the instruction the policy reads or None for the episode's own)."""
    ignore_ctrl_c()
    try:
        policy = config.policy.build()
    except Exception:  # the runner built it once already, so this is rare: report it like a crash
        results.send(("crash", worker_id, None, traceback.format_exc()))
        return
    _run_jobs(worker_id, config, jobs, Outbox(results), lambda index: policy)


class Outbox:
    """A worker's pipe to the executor. Any message shows the worker alive, so a step's heartbeat
    goes out only after `beat_s` seconds without one: a worker whose every step already sends a
    request to a batched policy doubles no message (0: a heartbeat every step)."""

    def __init__(self, pipe, beat_s: float = 0.0) -> None:
        self.pipe, self.beat_s = pipe, beat_s
        self._sent = float("-inf")

    def send(self, message: tuple) -> None:
        self.pipe.send(message)
        self._sent = time.monotonic()

    def beat(self, message: tuple) -> None:
        if time.monotonic() - self._sent >= self.beat_s:
            self.send(message)


class ProxyPolicy:
    """Stands in a worker for a policy served by the main process (batched inference).

    It forwards `reset` and each observation (tagged with its `episode_id`) to the main process
    and waits for the action, so the episode loop is the same code as for local policies.
    """

    privileged = False
    runs_elsewhere = True

    def __init__(self, worker_id: int, requests, replies) -> None:
        self.worker_id, self.requests, self.replies = worker_id, requests, replies
        self.index = -1

    def for_episode(self, index: int) -> "ProxyPolicy":
        """Tag the messages of the next episode with its index in the run."""
        self.index = index
        return self

    def reset(self, instruction: str, task) -> None:
        self.requests.send(("reset", self.worker_id, self.index, (instruction, task)))

    def act(self, observation: dict[str, Any]):
        self.requests.send(("act", self.worker_id, self.index, observation))
        kind, payload = self.replies.recv()
        if kind == "fault":
            raise PolicyFault(payload)
        return payload


BATCHED_BEAT_S = 0.25  # a batched worker's heartbeat when no request went out (a chunk's steps)


def batched_worker(worker_id: int, config: WorkerConfig, jobs, results, replies) -> None:
    """Runs whole episodes like `local_worker`, asking the main process for every action."""
    ignore_ctrl_c()
    results = Outbox(results, BATCHED_BEAT_S)
    proxy = ProxyPolicy(worker_id, results, replies)
    _run_jobs(worker_id, config, jobs, results, proxy.for_episode)


def ignore_ctrl_c() -> None:
    """A terminal's Ctrl-C reaches every process of the group: the runner handles it (and ends its
    workers), so a worker neither dies mid-record nor prints a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_jobs(worker_id: int, config: WorkerConfig, jobs, results: Outbox, policy_for) -> None:
    """Both kinds of run worker: each job's episode with `policy_for(index)`, its record sent back."""
    serve_jobs(worker_id, jobs, results, EnvCache(partial(supervised_env, config)),
               lambda envs, job, on_step: run_job(config, envs, policy_for(job[0]), job, on_step))


def serve_jobs(worker_id: int, jobs, results: Outbox, envs: EnvCache, do_job: Callable[..., Any]) -> None:
    """The loop every worker process shares (runs and `collect`): announce readiness, then for each
    job send `do_job(envs, job, on_step)` back, `on_step` sending a heartbeat per step (what the
    executor watches for hangs; see `Outbox`); a crash outside the job's own faults is reported, not raised."""
    import vla_bench  # noqa: F401  (registers tasks in a spawned process)

    results.send(("ready", worker_id, None, None))
    try:
        while (job := jobs.get()) is not None:
            index = job[0]
            payload = do_job(envs, job, lambda step, index=index: results.beat(("step", worker_id, index, step)))
            results.send(("done", worker_id, index, payload))
    except Exception:  # a crash outside an episode's own faults: tell the executor, which records it
        results.send(("crash", worker_id, None, traceback.format_exc()))
    finally:
        envs.close()


def run_job(config: WorkerConfig, envs: EnvCache, policy, job, on_step) -> dict[str, Any]:
    """One job's episode (index, EpisodeSpec, record a video, the instruction the policy reads or
    None) as its record; its video and trace, if asked for, go under `config.run_dir`."""
    from vla_bench.runner.episode import run_episode
    from vla_bench.runner.video import write_trace, write_video

    _, episode, record_video, policy_instruction = job
    frames: list | None = [] if record_video else None
    trace: list | None = [] if record_video else None
    try:
        env = envs.get(episode.task)
    except Exception as err:  # e.g. a missing asset file: this episode fails, the worker lives on
        return failed_record(config, episode, f"environment could not be built: {type(err).__name__}: {err}")
    record = run_episode(env, policy, episode, config.split, config.policy_name, frames=frames, trace=trace,
                         instruction_mode=config.instruction_mode, policy_instruction=policy_instruction,
                         replan_every=config.replan_every, realtime=config.realtime,
                         extra_latency_ms=config.latency_ms, on_step=on_step)
    if frames:
        try:
            fps = record.steps / record.sim_seconds if record.sim_seconds > 0 else None
            write_video(video_path(config.run_dir, episode), frames, episode.instruction, fps)
            write_trace(trace_path(config.run_dir, episode), record.to_json(), trace or [], episode.factors)
        except Exception as err:  # a by-product: the episode's record stands without its video
            log.warning("episode %s: its video could not be written (%s: %s)", episode.episode_id,
                        type(err).__name__, err)
    return record.to_json()


def failed_record(config: WorkerConfig, episode: EpisodeSpec, error: str) -> dict[str, Any]:
    """The record of an episode that failed before or outside its own loop."""
    return EpisodeRecord(config.policy_name, config.split, episode.task, episode.episode_id, episode.seed,
                         episode.instruction, error=error, perturbed=list(episode.perturbed),
                         instruction_mode=config.instruction_mode).to_json()


def media_path(run_dir: Path, folder: str, task: str, episode_id: str, suffix: str) -> Path:
    """RUN_DIR/<folder>/<task>/<episode id with / as _><suffix>: where an episode's video and trace go."""
    return run_dir / folder / task / f"{episode_id.replace('/', '_')}{suffix}"


def video_path(run_dir: Path, episode: EpisodeSpec) -> Path:
    return media_path(run_dir, "videos", episode.task, episode.episode_id, ".mp4")


def trace_path(run_dir: Path, episode: EpisodeSpec) -> Path:
    """The step trace recorded with an episode's video (`vla_bench.runner.video.write_trace`)."""
    return media_path(run_dir, "traces", episode.task, episode.episode_id, ".json")
