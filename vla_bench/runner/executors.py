"""Executors run a list of episodes and yield their records as they finish.

The runner only needs `run(todo) -> iterator of records` and `close()`, so an executor for a
cluster (Ray, Slurm) can stand beside these without the runner knowing where episodes run.
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Iterator, Protocol

from vla_bench.runner.episode import EpisodeRecord
from vla_bench.runner.worker import WorkerConfig, batched_worker, local_worker
from vla_bench.specs import EpisodeSpec

FIRST_STEP_GRACE_S = 60.0  # a spawned worker's imports and building a scene, before the policy acts
Job = tuple[int, EpisodeSpec, bool]  # (index in the run, episode, record a video)


class Executor(Protocol):
    def run(self, todo: list[Job]) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


class LocalProcessExecutor:
    """Worker processes on this machine that each hold a copy of the policy and run whole episodes."""

    target = staticmethod(local_worker)

    def __init__(self, config: WorkerConfig, size: int, step_timeout: float) -> None:
        self.ctx = mp.get_context("spawn")  # MuJoCo's GL contexts do not survive fork
        self.config, self.size, self.step_timeout = config, size, step_timeout
        self.results = self.ctx.Queue()
        self.workers: dict[int, tuple[Any, Any]] = {}
        self._next_id = 0

    def _start_worker(self) -> int:
        worker_id, self._next_id = self._next_id, self._next_id + 1
        jobs = self.ctx.Queue()
        process = self.ctx.Process(target=self.target, args=self._args(worker_id, jobs), daemon=True)
        process.start()
        self.workers[worker_id] = (process, jobs)
        return worker_id

    def _args(self, worker_id: int, jobs) -> tuple:
        return worker_id, self.config, jobs, self.results

    def run(self, todo: list[Job]) -> Iterator[dict[str, Any]]:
        pending = list(reversed(todo))
        busy: dict[int, tuple[int, EpisodeSpec, float, bool]] = {}  # worker -> (index, episode, last beat, acting)
        for _ in range(self.size):
            self._start_worker()
        idle = list(self.workers)
        while pending or busy:
            while idle and pending:
                worker_id = idle.pop()
                index, episode, record_video = pending.pop()
                self.workers[worker_id][1].put((index, episode, record_video))
                busy[worker_id] = (index, episode, time.monotonic(), False)
            try:
                kind, worker_id, index, payload = self.results.get(timeout=0.5)
            except queue.Empty:
                kind = None
            if kind == "step" and worker_id in busy:
                busy[worker_id] = (*busy[worker_id][:2], time.monotonic(), True)
            elif kind == "done":
                busy.pop(worker_id, None)
                idle.append(worker_id)
                yield payload
            elif kind is not None and worker_id in busy:  # the worker died outside an episode's own faults
                yield self._fail(busy.pop(worker_id)[1], f"worker crashed: {str(payload).strip().splitlines()[-1]}")
                idle.append(self._replace(worker_id))
            yield from self._reap_hung(busy, idle)

    def _reap_hung(self, busy, idle):
        now = time.monotonic()
        for worker_id, (_, episode, beat, started) in list(busy.items()):
            allowed = self.step_timeout + 2.0 if started else FIRST_STEP_GRACE_S + self.step_timeout
            process = self.workers[worker_id][0]
            if now - beat > allowed or not process.is_alive():
                del busy[worker_id]
                why = (f"policy step exceeded --step-timeout of {self.step_timeout:g}s" if process.is_alive()
                       else f"worker process died (exit code {process.exitcode})")
                yield self._fail(episode, why)
                idle.append(self._replace(worker_id))

    def _replace(self, worker_id: int) -> int:
        process, jobs = self.workers.pop(worker_id)
        process.kill()
        process.join(timeout=5)
        return self._start_worker()

    def _fail(self, episode: EpisodeSpec, error: str) -> dict[str, Any]:
        record = EpisodeRecord(self.config.policy_name, self.config.split, episode.task, episode.episode_id,
                               episode.seed, episode.instruction, error=error,
                               perturbed=list(episode.perturbed))
        return record.to_json()

    def close(self) -> None:
        for _, jobs in self.workers.values():
            jobs.put(None)
        for process, _ in self.workers.values():
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


class BatchedProcessExecutor(LocalProcessExecutor):
    """Workers step environments; this process holds the one policy and batches its calls."""

    target = staticmethod(batched_worker)

    def __init__(self, config: WorkerConfig, size: int, step_timeout: float) -> None:
        super().__init__(config, size, step_timeout)
        self.policy = config.policy.build()
        self.replies: dict[int, Any] = {}
        self._executor = ThreadPoolExecutor(max_workers=1)

    def _args(self, worker_id: int, jobs) -> tuple:
        self.replies[worker_id] = self.ctx.Queue()
        return worker_id, self.config, jobs, self.results, self.replies[worker_id]

    def run(self, todo: list[Job]) -> Iterator[dict[str, Any]]:
        pending = list(reversed(todo))
        busy: dict[int, tuple[int, EpisodeSpec]] = {}
        waiting: dict[int, dict[str, Any]] = {}
        for _ in range(self.size):
            self._start_worker()
        idle = list(self.workers)
        while pending or busy:
            while idle and pending:
                worker_id = idle.pop()
                index, episode, record_video = pending.pop()
                self.workers[worker_id][1].put((index, episode, record_video))
                busy[worker_id] = (index, episode)
            try:
                kind, worker_id, index, payload = self.results.get(timeout=0.5)
            except queue.Empty:
                kind = None
            if kind == "reset":
                instruction, task = payload
                self.policy.reset(instruction, task)
            elif kind == "act":
                waiting[worker_id] = {**payload, "episode_id": busy[worker_id][1].episode_id}
            elif kind == "done":
                busy.pop(worker_id, None)
                idle.append(worker_id)
                yield payload
            elif kind == "crash" and worker_id in busy:
                yield self._fail(busy.pop(worker_id)[1], f"worker crashed: {str(payload).strip().splitlines()[-1]}")
                idle.append(self._replace(worker_id))
            if waiting and set(waiting) == set(busy):  # every running episode waits: one batched call
                self._answer(waiting)
                waiting.clear()

    def _answer(self, waiting: dict[int, dict[str, Any]]) -> None:
        order = sorted(waiting)
        future = self._executor.submit(self.policy.act_batch, [waiting[w] for w in order])
        try:
            actions = future.result(timeout=self.step_timeout)
            if len(actions) != len(order):
                raise ValueError(f"act_batch returned {len(actions)} actions for {len(order)} observations")
            replies = [("action", a) for a in actions]
        except FutureTimeout:
            self._executor = ThreadPoolExecutor(max_workers=1)  # the stuck call keeps its thread
            replies = [("fault", f"policy step exceeded --step-timeout of {self.step_timeout:g}s")] * len(order)
        except Exception as err:
            replies = [("fault", f"{type(err).__name__}: {err}")] * len(order)
        for worker_id, reply in zip(order, replies):
            self.replies[worker_id].put(reply)

    def close(self) -> None:
        super().close()
        self._executor.shutdown(wait=False, cancel_futures=True)


def make_executor(worker_config: WorkerConfig, batches: bool, workers: int, step_timeout: float) -> Executor:
    """A batched executor for policies that override act_batch, else one policy copy per worker."""
    cls = BatchedProcessExecutor if batches else LocalProcessExecutor
    return cls(worker_config, workers, step_timeout)
