"""Executors run a list of episodes and yield their records as they finish.

The runner only needs `run(todo) -> iterator of records` and `close()`, so an executor for a
cluster (Ray, Slurm) can stand beside these without the runner knowing where episodes run.
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

from vla_bench.runner.episode import EpisodeRecord
from vla_bench.runner.resources import peak_gpu_mb, peak_resident_mb
from vla_bench.runner.worker import WorkerConfig, batched_worker, local_worker
from vla_bench.specs import EpisodeSpec

FIRST_STEP_GRACE_S = 60.0  # building and settling a scene, before the policy acts
STARTUP_LIMIT_S = 900.0  # a spawned worker's imports and the policy's constructor (loading a checkpoint)
Job = tuple[int, EpisodeSpec, bool, str | None]  # (index in the run, episode, record a video, policy's instruction)


class Executor(Protocol):
    def run(self, todo: list[Job]) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


@dataclass
class _Running:
    """What a busy worker is doing: its episode, when it last showed life, whether the policy acts yet."""

    index: int
    episode: EpisodeSpec
    beat: float
    acting: bool = False


class LocalProcessExecutor:
    """Worker processes on this machine that each hold a copy of the policy and run whole episodes.

    Workers report every step (a heartbeat); one silent for longer than the step timeout is
    killed and replaced, and only its episode fails.
    """

    target = staticmethod(local_worker)

    def __init__(self, config: WorkerConfig, size: int, step_timeout: float) -> None:
        self.ctx = mp.get_context("spawn")  # MuJoCo's GL contexts do not survive fork
        self.config, self.size, self.step_timeout = config, size, step_timeout
        self.results = self.ctx.Queue()
        self.workers: dict[int, tuple[Any, Any]] = {}
        self.ready: set[int] = set()  # workers that have built their policy
        self._next_id = 0

    def run(self, todo: list[Job]) -> Iterator[dict[str, Any]]:
        pending = list(reversed(todo))
        busy: dict[int, _Running] = {}
        for _ in range(self.size):
            self._start_worker()
        idle = list(self.workers)
        while pending or busy:
            while idle and pending:
                worker_id = idle.pop()
                if not self.workers[worker_id][0].is_alive():  # died while idle: not this job's fault
                    idle.append(self._replace(worker_id))
                    continue
                job = pending.pop()
                self.workers[worker_id][1].put(job)
                busy[worker_id] = _Running(job[0], job[1], time.monotonic())
            try:
                kind, worker_id, index, payload = self.results.get(timeout=0.5)
            except queue.Empty:
                kind = None
            if kind == "ready":
                self.ready.add(worker_id)
                if worker_id in busy:
                    busy[worker_id].beat = time.monotonic()
            elif kind is not None and index is not None and (worker_id not in busy or busy[worker_id].index != index):
                pass  # from a worker already replaced, or about an episode already recorded
            elif kind == "done":
                del busy[worker_id]
                idle.append(worker_id)
                yield self._finished(payload)
            elif kind == "crash" and worker_id in busy:  # the worker died outside an episode's own faults
                yield self._fail(busy.pop(worker_id).episode, f"worker crashed: {str(payload).strip().splitlines()[-1]}")
                idle.append(self._replace(worker_id))
            elif kind is not None and worker_id in busy:
                busy[worker_id].beat, busy[worker_id].acting = time.monotonic(), True
                self._on_message(kind, worker_id, payload, busy)
            self._after_messages(busy)
            yield from self._reap_hung(busy, idle)

    def _on_message(self, kind: str, worker_id: int, payload: Any, busy: dict[int, _Running]) -> None:
        """A message other than done or crash: here only the per-step heartbeat."""

    def _finished(self, record: dict[str, Any]) -> dict[str, Any]:
        """A worker's record of a finished episode, as the run keeps it."""
        return record

    def _after_messages(self, busy: dict[int, _Running]) -> None:
        """Work to do once per loop turn (the batched executor answers waiting episodes here)."""

    def _reap_hung(self, busy: dict[int, _Running], idle: list[int]) -> Iterator[dict[str, Any]]:
        now = time.monotonic()
        for worker_id, running in list(busy.items()):
            if worker_id not in self.ready:
                allowed = STARTUP_LIMIT_S
            else:
                allowed = self.step_timeout + (2.0 if running.acting else FIRST_STEP_GRACE_S)
            process = self.workers[worker_id][0]
            if now - running.beat > allowed or not process.is_alive():
                del busy[worker_id]
                why = (f"policy step exceeded --step-timeout of {self.step_timeout:g}s" if process.is_alive()
                       else f"worker process died (exit code {process.exitcode})")
                yield self._fail(running.episode, why)
                idle.append(self._replace(worker_id))

    def _start_worker(self) -> int:
        worker_id, self._next_id = self._next_id, self._next_id + 1
        jobs = self.ctx.Queue()
        process = self.ctx.Process(target=self.target, args=self._args(worker_id, jobs), daemon=True)
        process.start()
        self.workers[worker_id] = (process, jobs)
        return worker_id

    def _args(self, worker_id: int, jobs) -> tuple:
        return worker_id, self.config, jobs, self.results

    def _replace(self, worker_id: int) -> int:
        process, _ = self.workers.pop(worker_id)
        process.kill()
        process.join(timeout=5)
        return self._start_worker()

    def _fail(self, episode: EpisodeSpec, error: str) -> dict[str, Any]:
        return EpisodeRecord(self.config.policy_name, self.config.split, episode.task, episode.episode_id,
                             episode.seed, episode.instruction, error=error, perturbed=list(episode.perturbed),
                             instruction_mode=self.config.instruction_mode).to_json()

    def close(self) -> None:
        for _, jobs in self.workers.values():
            jobs.put(None)
        for process, _ in self.workers.values():
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


class BatchedProcessExecutor(LocalProcessExecutor):
    """Workers step environments; this process holds the one policy and batches its calls.

    When every running episode waits for an action, one `act_batch` call answers them all.
    """

    target = staticmethod(batched_worker)

    def __init__(self, config: WorkerConfig, size: int, step_timeout: float, policy: Any) -> None:
        super().__init__(config, size, step_timeout)
        self.policy = policy
        self.replies: dict[int, Any] = {}
        self._waiting: dict[int, dict[str, Any]] = {}
        self._reset_faults: dict[int, str] = {}

    def _args(self, worker_id: int, jobs) -> tuple:
        self.replies[worker_id] = self.ctx.Queue()
        return worker_id, self.config, jobs, self.results, self.replies[worker_id]

    def _on_message(self, kind: str, worker_id: int, payload: Any, busy: dict[int, _Running]) -> None:
        if kind == "reset":
            instruction, task = payload
            try:
                self.policy.reset(instruction, task)
            except Exception as err:  # answered as a fault instead of the episode's first action
                self._reset_faults[worker_id] = f"policy reset raised {type(err).__name__}: {err}"
        elif kind == "act" and worker_id in self._reset_faults:
            self.replies[worker_id].put(("fault", self._reset_faults.pop(worker_id)))
        elif kind == "act":
            self._waiting[worker_id] = {**payload, "episode_id": busy[worker_id].episode.episode_id}

    def _finished(self, record: dict[str, Any]) -> dict[str, Any]:
        """The policy ran here, not in the worker: its resource use is this process's."""
        return {**record, "policy_peak_rss_mb": peak_resident_mb(), "policy_gpu_mb": peak_gpu_mb()}

    def _after_messages(self, busy: dict[int, _Running]) -> None:
        self._waiting = {w: obs for w, obs in self._waiting.items() if w in busy}
        now = time.monotonic()
        for worker_id in self._waiting:  # waiting on this process is not hanging
            busy[worker_id].beat = now
        if not self._waiting or set(self._waiting) != set(busy):
            return
        order = sorted(self._waiting)
        for worker_id, reply in zip(order, self._answer([self._waiting[w] for w in order])):
            self.replies[worker_id].put(reply)
            busy[worker_id].beat = time.monotonic()  # waiting on us is not hanging
        self._waiting.clear()

    def _answer(self, observations: list[dict[str, Any]]) -> list[tuple[str, Any]]:
        """Actions for the waiting observations. The call runs on a daemon thread so that a hung
        policy cannot keep the process alive; if the batch raises, each observation is retried
        alone with `act`, so only the episodes whose observation breaks the policy fail."""
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["actions"] = self.policy.act_batch(observations)
            except Exception as err:  # the policy's own bug: recorded per episode
                outcome["error"] = err

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        thread.join(self.step_timeout)
        if thread.is_alive():
            return [("fault", f"policy step exceeded --step-timeout of {self.step_timeout:g}s")] * len(observations)
        actions = outcome.get("actions")
        if "error" not in outcome and actions is not None and len(actions) == len(observations):
            return [("action", a) for a in actions]
        return [self._act_alone(obs) for obs in observations]

    def _act_alone(self, observation: dict[str, Any]) -> tuple[str, Any]:
        try:
            return "action", self.policy.act(observation)
        except Exception as err:
            return "fault", f"policy raised {type(err).__name__}: {err}"



def make_executor(worker_config: WorkerConfig, policy: Any, workers: int, step_timeout: float) -> Executor:
    """A batched executor serving `policy` itself when it overrides act_batch; otherwise every
    worker builds its own copy (from `worker_config.policy`) and `policy` is not used."""
    if policy.batches():
        return BatchedProcessExecutor(worker_config, workers, step_timeout, policy)
    return LocalProcessExecutor(worker_config, workers, step_timeout)
