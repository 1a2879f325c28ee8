"""Executors run a list of episodes and yield their records as they finish.

The runner only needs `run(todo) -> iterator of records` and `close()`, so an executor for a
cluster (Ray, Slurm) can stand beside these without the runner knowing where episodes run.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Iterator, Protocol

from vla_bench.errors import UsageError
from vla_bench.policy.batching import PolicyThread, act_each
from vla_bench.runner.resources import peak_gpu_mb, peak_resident_mb, usable_cores
from vla_bench.runner.worker import WorkerConfig, batched_worker, failed_record, local_worker
from vla_bench.specs import EpisodeSpec

FIRST_STEP_GRACE_S = 60.0  # building and settling a scene, before the policy acts
BATCHED_WORKERS_PER_CORE = 2  # the default for a policy served in batches (see make_executor)
STARTUP_LIMIT_S = 900.0  # a spawned worker's imports and the policy's constructor (loading a checkpoint)
Job = tuple[int, EpisodeSpec, bool, str | None]  # (index in the run, episode, record a video, policy's instruction)


class Executor(Protocol):
    size: int  # workers that run episodes

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
        self.workers: dict[int, tuple[Any, Any]] = {}  # worker: (its process, its job queue)
        # each worker writes to a pipe of its own: one killed mid-message breaks only its own pipe,
        # where with a shared queue it would leave the queue's lock held and every other worker stuck
        self.inboxes: dict[int, Connection] = {}
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
            for kind, worker_id, index, payload in self._receive():
                if kind == "ready":
                    self.ready.add(worker_id)
                    if worker_id in busy:
                        busy[worker_id].beat = time.monotonic()
                elif index is not None and (worker_id not in busy or busy[worker_id].index != index):
                    pass  # from a worker already replaced, or about an episode already recorded
                elif kind == "done":
                    del busy[worker_id]
                    idle.append(worker_id)
                    yield self._finished(payload)
                elif kind == "crash" and worker_id in busy:  # the worker died outside an episode's own faults
                    error = f"worker crashed: {str(payload).strip().splitlines()[-1]}"
                    yield self._fail(busy.pop(worker_id).episode, error)
                    idle.append(self._replace(worker_id))
                elif worker_id in busy:
                    busy[worker_id].beat, busy[worker_id].acting = time.monotonic(), True
                    self._on_message(kind, worker_id, payload, busy)
            self._after_messages(busy)
            yield from self._reap_hung(busy, idle)

    def _receive(self) -> list[tuple[str, int, int | None, Any]]:
        """The messages waiting in the workers' pipes, after waiting up to `_poll_s()` for the first.
        A pipe whose worker died is dropped; `_reap_hung` replaces it."""
        messages = []
        for inbox in wait(list(self.inboxes.values()), timeout=self._poll_s()):
            try:
                messages.append(inbox.recv())
                while inbox.poll():  # and all it sent meanwhile, in this one turn
                    messages.append(inbox.recv())
            except Exception:  # EOF, or a message cut off by the worker's death
                self.inboxes = {w: c for w, c in self.inboxes.items() if c is not inbox}
                inbox.close()
        return messages

    def _poll_s(self) -> float:
        """How long to wait for the next message before looking for hung workers again."""
        return 0.5

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
            # a dead worker's pipe reads as EOF first; asking the OS about every worker on every
            # turn cost the serving process 0.2 ms a worker, a step's worth for a batched policy
            if now - running.beat > allowed or (worker_id not in self.inboxes and not process.is_alive()):
                del busy[worker_id]
                why = (f"policy step exceeded --step-timeout of {self.step_timeout:g}s" if process.is_alive()
                       else f"worker process died (exit code {process.exitcode})")
                yield self._fail(running.episode, why)
                idle.append(self._replace(worker_id))

    def _start_worker(self) -> int:
        worker_id, self._next_id = self._next_id, self._next_id + 1
        jobs = self.ctx.Queue()
        inbox, outbox = self.ctx.Pipe(duplex=False)
        args = self._args(worker_id, jobs, outbox)
        process = self.ctx.Process(target=self.target, args=args, daemon=True)
        process.start()
        for end in args:  # the worker holds the only copy of its pipes' ends: its death reads as EOF here
            if isinstance(end, Connection):
                end.close()
        self.workers[worker_id] = (process, jobs)
        self.inboxes[worker_id] = inbox
        return worker_id

    def _args(self, worker_id: int, jobs, outbox) -> tuple:
        return worker_id, self.config, jobs, outbox

    def _replace(self, worker_id: int) -> int:
        process, _ = self.workers.pop(worker_id)
        process.kill()
        process.join(timeout=5)
        inbox = self.inboxes.pop(worker_id, None)
        if inbox is not None:
            inbox.close()
        return self._start_worker()

    def _fail(self, episode: EpisodeSpec, error: str) -> dict[str, Any]:
        return failed_record(self.config, episode, error)

    def close(self) -> None:
        for _, jobs in self.workers.values():
            jobs.put(None)
        deadline = time.monotonic() + 5  # for all of them together: a busy worker does not read its jobs
        for process, _ in self.workers.values():
            process.join(timeout=max(deadline - time.monotonic(), 0))
            if process.is_alive():
                process.kill()
        for inbox in self.inboxes.values():
            inbox.close()


@dataclass
class BatchingStats:
    """What serving a policy in batches cost (run.json's `batching`): calls, the observations they
    answered, and seconds in them, also weighted by batch size (the waits of the episodes, so the
    rest of what episodes waited for their actions was transfer and batching)."""

    calls: int = 0
    observations: int = 0
    call_s: float = 0.0
    observation_wait_s: float = 0.0

    def add(self, batch: int, seconds: float) -> None:
        self.calls += 1
        self.observations += batch
        self.call_s += seconds
        self.observation_wait_s += batch * seconds

    def to_json(self) -> dict[str, float]:
        mean = self.observations / self.calls if self.calls else 0.0
        return {**asdict(self), "mean_batch": round(mean, 2)}


class BatchedProcessExecutor(LocalProcessExecutor):
    """Workers step environments; this process holds the one policy and batches its calls.

    A batch fires as soon as every running episode waits for an action, or once the first of
    those waiting has waited `batch_wait_s`: an episode slow to step (or to build its scene)
    holds the others back by that much at most.
    """

    target = staticmethod(batched_worker)

    def __init__(self, config: WorkerConfig, size: int, step_timeout: float, policy: Any,
                 batch_wait_s: float = 0.005) -> None:
        super().__init__(config, size, step_timeout)
        self.policy, self.batch_wait_s = policy, batch_wait_s
        self.replies: dict[int, Connection] = {}  # worker: the pipe its actions go down
        self._waiting: dict[int, tuple[float, dict[str, Any]]] = {}  # worker: (when it asked, its observation)
        self._reset_faults: dict[int, str] = {}
        self.stats = BatchingStats()
        self.policy_thread = PolicyThread()

    def _args(self, worker_id: int, jobs, outbox) -> tuple:
        # a pipe written from this thread: a Queue's feeder thread per worker fought the policy
        # call for the GIL, and each action reached its worker up to a switch interval late
        reply_inbox, self.replies[worker_id] = self.ctx.Pipe(duplex=False)
        return worker_id, self.config, jobs, outbox, reply_inbox

    def _replace(self, worker_id: int) -> int:
        self.replies.pop(worker_id).close()
        return super()._replace(worker_id)

    def close(self) -> None:
        super().close()
        for pipe in self.replies.values():
            pipe.close()

    def _reply(self, worker_id: int, reply: tuple[str, Any]) -> None:
        try:
            self.replies[worker_id].send(reply)
        except OSError:  # the worker died meanwhile: `_reap_hung` records its episode
            pass

    def _poll_s(self) -> float:
        if not self._waiting:
            return super()._poll_s()
        return max(self._first_asked() + self.batch_wait_s - time.monotonic(), 0.0)

    def _first_asked(self) -> float:
        return min(asked for asked, _ in self._waiting.values())

    def _on_message(self, kind: str, worker_id: int, payload: Any, busy: dict[int, _Running]) -> None:
        if kind == "reset":
            instruction, task = payload
            try:
                self.policy_thread.call(self.policy.reset, instruction, task, timeout=self.step_timeout)
            except Exception as err:  # answered as a fault instead of the episode's first action
                self._reset_faults[worker_id] = f"policy reset raised {type(err).__name__}: {err}"
        elif kind == "act" and worker_id in self._reset_faults:
            self._reply(worker_id, ("fault", self._reset_faults.pop(worker_id)))
        elif kind == "act":
            observation = {**payload, "episode_id": busy[worker_id].episode.episode_id}
            self._waiting[worker_id] = (time.monotonic(), observation)

    def _finished(self, record: dict[str, Any]) -> dict[str, Any]:
        """The policy ran here, not in the worker: its resource use is this process's."""
        return {**record, "policy_peak_rss_mb": peak_resident_mb(), "policy_gpu_mb": peak_gpu_mb()}

    def _after_messages(self, busy: dict[int, _Running]) -> None:
        self._waiting = {w: waiting for w, waiting in self._waiting.items() if w in busy}
        if not self._waiting:
            return
        now = time.monotonic()
        for worker_id in self._waiting:  # waiting on this process is not hanging
            busy[worker_id].beat = now
        if len(self._waiting) < len(busy) and now - self._first_asked() < self.batch_wait_s:
            return
        order = sorted(self._waiting)
        start = time.perf_counter()
        replies = self._answer([self._waiting[w][1] for w in order])
        self.stats.add(len(order), time.perf_counter() - start)
        for worker_id, reply in zip(order, replies):
            self._reply(worker_id, reply)
            busy[worker_id].beat = time.monotonic()
        self._waiting.clear()

    def _answer(self, observations: list[dict[str, Any]]) -> list[tuple[str, Any]]:
        """Replies to the waiting observations: one `act_batch` call on the policy thread, of which
        only the episodes whose observation breaks the policy fail (`act_each`)."""
        try:
            actions = self.policy_thread.call(act_each, self.policy, observations, timeout=self.step_timeout)
        except TimeoutError:
            return [("fault", f"policy step exceeded --step-timeout of {self.step_timeout:g}s")] * len(observations)
        return [("fault", f"policy raised {type(a).__name__}: {a}") if isinstance(a, Exception) else ("action", a)
                for a in actions]


EXECUTORS = ("auto", "local", "batched", "ray")


def connect_ray(address: str | None) -> None:
    """Join (or start) the Ray cluster of --executor ray, failing with a usage error when Ray is
    not installed or the cluster cannot be reached (called before a run writes anything)."""
    try:
        from vla_bench.runner.ray_executor import connect
    except ImportError as err:
        raise UsageError("--executor ray needs Ray: pip install 'vla-bench[ray]'") from err
    connect(address)


def make_executor(kind: str, worker_config: WorkerConfig, policy: Any, workers: int, jobs: int, step_timeout: float,
                  batch_wait_s: float = 0.005, ray_address: str | None = None) -> Executor:
    """The executor `kind` names (see EXECUTORS), with `workers` processes or actors (0: one per
    core this process may use, two per core for a policy served in batches, or one per core of
    the Ray cluster), never more than `jobs`. `auto` serves `policy`
    itself from this process when it batches (`Policy.batches()`) and otherwise lets every worker
    build its own copy from `worker_config.policy`; `ray` does either on a cluster."""
    if kind == "ray":
        from vla_bench.runner.ray_executor import RayExecutor

        connect_ray(ray_address)
        return RayExecutor(worker_config, min(workers, jobs) if workers else 0, step_timeout, policy, ray_address,
                           batch_wait_s, jobs)
    if kind == "batched" and not policy.batches():
        raise UsageError(f"--executor batched serves one policy to every episode through act_batch; "
                         f"{type(policy).__name__} does not batch (Policy.batches() is False): use local")
    if kind == "batched" or (kind == "auto" and policy.batches()):
        # an episode served in batches waits for its action about half the time: with two workers
        # per core, half of them step while the other half's batch is computed (rt1 on a shared
        # 2xH200 host: novel_objects in 78 s against 95 s with one per core; on an idle H200 a slice
        # took 40 s either way, results/timing/h200-gl-workers.md)
        size = min(workers or BATCHED_WORKERS_PER_CORE * usable_cores(), max(jobs, 1))
        return BatchedProcessExecutor(worker_config, size, step_timeout, policy, batch_wait_s)
    return LocalProcessExecutor(worker_config, min(workers or usable_cores(), max(jobs, 1)), step_timeout)
