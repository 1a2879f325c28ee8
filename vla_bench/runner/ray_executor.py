"""Episodes over a Ray cluster: `vla-bench run ... --executor ray [--ray-address auto|HOST:PORT]`.

Episode actors (one per CPU of the cluster, or `--workers`) each keep an environment per task
and run whole episodes, as the local workers do. A policy that batches is served by one policy
actor per GPU (one in all on a cluster without GPUs) through `act_batch`; any other policy is
built in every episode actor. Records and videos travel back to the driver, which alone writes
the run: the nodes need vla-bench installed, not a shared filesystem.

What the local executors promise holds: the same records for any cluster size (timing fields
apart), `--resume`, the progress bar, a fault recorded for its episode alone, and
`--step-timeout`: the driver asks each busy actor when it last stepped and replaces one that
has been silent too long, recording its episode as failed. Beyond that, losing part of the
cluster loses nothing: an episode whose actor died (its node lost, its process killed) runs
again on another actor, at most MAX_ATTEMPTS times in all, and a dead policy actor is restarted
by Ray, the episodes it was serving running again.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import tempfile
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError, RayTaskError

from vla_bench.errors import UsageError
from vla_bench.policy.base import TaskInfo
from vla_bench.policy.batching import Batcher, PolicyThread, act_each
from vla_bench.policy.loader import PolicySpec
from vla_bench.runner.episode import EpisodeLost
from vla_bench.runner.executors import FIRST_STEP_GRACE_S, Job
from vla_bench.runner.resources import peak_gpu_mb, peak_resident_mb
from vla_bench.runner.worker import EnvCache, WorkerConfig, failed_record, run_job, supervised_env

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # runs of one episode whose actor died, before it is recorded as failed
MAX_START_FAILURES = 3  # actors that die while starting, before the run gives up
WATCH_EVERY_S = 1.0  # how often the driver asks busy actors when they last stepped
REACH_TIMEOUT_S = 5.0  # to open a connection to --ray-address
STALL_WARNING_S = 60.0  # no actor can be placed for this long: say why the run waits


@ray.remote(num_cpus=1, concurrency_groups={"watch": 1})
class EpisodeActor:
    """Runs whole episodes on one thread (MuJoCo's GL context stays with it); `silence` answers
    from a thread of its own while an episode runs."""

    def __init__(self, config: WorkerConfig, server: Any, cwd: str) -> None:
        import vla_bench  # noqa: F401  (registers the tasks)

        enter(cwd)
        self.config = config
        self.envs = EnvCache(partial(supervised_env, config))
        self.policy = config.policy.build() if server is None else ServedPolicy(server)
        self.beat, self.acting = time.monotonic(), False

    def node(self) -> str:
        """The node this actor runs on (a first call that also tells the driver it is ready)."""
        return ray.get_runtime_context().get_node_id()

    def run(self, job: Job) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The episode's record, and the files it produced (videos, traces) by path in the run."""
        self.beat, self.acting = time.monotonic(), False
        with tempfile.TemporaryDirectory(prefix="vla_bench_media_") as media:
            record = run_job(replace(self.config, run_dir=Path(media)), self.envs, self.policy, job, self._stepped)
            files = {str(p.relative_to(media)): p.read_bytes() for p in Path(media).rglob("*") if p.is_file()}
        return record, files

    def _stepped(self, step: int) -> None:
        self.beat, self.acting = time.monotonic(), True

    @ray.method(concurrency_group="watch")
    def silence(self) -> tuple[float, bool]:
        """Seconds since the episode last showed life, and whether its policy acts yet."""
        return time.monotonic() - self.beat, self.acting


@ray.remote(num_cpus=0, max_restarts=-1)
class PolicyActor:
    """Serves one policy to many episode actors, batching the observations that arrive together.
    Every answer carries this incarnation's id, so an episode notices a restart (which lost the
    state its `reset` made) and runs again. The policy's calls take turns on one thread; one that
    outlasts the step timeout (a call hangs) fails, and later calls get a new thread."""

    def __init__(self, spec: PolicySpec, clients: int, batch_wait_s: float, step_timeout: float, cwd: str) -> None:
        import vla_bench  # noqa: F401

        enter(cwd)
        self.policy = spec.build()
        self.incarnation = uuid.uuid4().hex
        self.clients, self.batch_wait_s, self.step_timeout = clients, batch_wait_s, step_timeout
        self.thread = PolicyThread()
        self.batcher: Batcher | None = None
        self.batching: asyncio.Task | None = None

    async def reset(self, instruction: str, task: TaskInfo) -> str:
        await self._in_turn(self.policy.reset, instruction, task)
        return self.incarnation

    async def act(self, observation: dict[str, Any]) -> tuple[str, Any]:
        if self.batcher is None:
            self.batcher = Batcher(partial(act_each, self.policy), lambda: self.clients, self.batch_wait_s,
                                   self.thread)
            self.batching = asyncio.get_running_loop().create_task(self.batcher.run())
        return self.incarnation, await self.batcher.submit(observation)

    async def _in_turn(self, call, *args) -> Any:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self.thread.submit(call, *args)), self.step_timeout)
        except asyncio.TimeoutError:
            self.thread.abandon()
            raise TimeoutError(f"the policy did not return within {self.step_timeout:g}s") from None

    def usage(self) -> tuple[float, float | None]:
        """Peak resident and GPU memory of this process, in MB."""
        return peak_resident_mb(), peak_gpu_mb()


class ServedPolicy:
    """Stands in an episode actor for the policy a PolicyActor serves: the policy's own errors
    reach the episode as if it ran here; a dead or restarted policy actor loses the episode."""

    privileged = False
    runs_elsewhere = True

    def __init__(self, server: Any) -> None:
        self.server = server
        self.episode_id, self.incarnation = "", ""

    def reset(self, instruction: str, task: TaskInfo) -> None:
        self.episode_id = task.episode_id
        self.incarnation = self._call(self.server.reset.remote(instruction, task))

    def act(self, observation: dict[str, Any]) -> Any:
        incarnation, action = self._call(self.server.act.remote({**observation, "episode_id": self.episode_id}))
        if incarnation != self.incarnation:
            raise EpisodeLost("the policy actor restarted during the episode")
        if isinstance(action, Exception):
            raise action
        return action

    @staticmethod
    def _call(ref: Any) -> Any:
        try:
            return ray.get(ref)
        except RayActorError as err:
            raise EpisodeLost(f"the policy actor died: {str(err).splitlines()[0]}") from err
        except RayTaskError as err:  # the policy's own exception, as an in-process run would see it
            raise err.cause from None


@dataclass
class _Assignment:
    actor: Any
    job: Job


class RayExecutor:
    """Runs jobs on a Ray cluster; see the module's docstring."""

    def __init__(self, config: WorkerConfig, size: int, step_timeout: float, policy: Any, address: str | None,
                 batch_wait_s: float = 0.005, jobs: int = 1) -> None:
        self.config, self.step_timeout = config, step_timeout
        connect(address)  # already joined by the runner's check, unless built on its own
        self.size = size or min(max(int(ray.cluster_resources().get("CPU", 1)), 1), max(jobs, 1))
        self.servers: list[Any] = []
        if policy.batches():
            gpus = int(ray.cluster_resources().get("GPU", 0))
            per_server = -(-self.size // max(gpus, 1))
            options = {"num_gpus": 1} if gpus else {}
            self.servers = [PolicyActor.options(**options).remote(config.policy, per_server, batch_wait_s,
                                                                step_timeout, os.getcwd())
                            for _ in range(max(gpus, 1))]
            try:  # a policy that cannot be built here fails the run at once, as it would locally
                ray.get([server.usage.remote() for server in self.servers])
            except RayActorError as err:
                raise RuntimeError(f"the policy actor could not start: {err}") from err
        self.actors: list[Any] = []
        self._started = 0

    def run(self, todo: list[Job]) -> Iterator[dict[str, Any]]:
        if not todo:
            return
        pending = deque(todo)
        attempts: Counter[int] = Counter()
        running: dict[Any, _Assignment] = {}  # run's object ref: who runs which job
        starting: dict[Any, Any] = {}  # node() ref: an actor not ready yet
        idle: list[Any] = []
        start_failures = 0
        for _ in range(self.size):
            self._start_actor(starting)
        last_watch = stalled_since = time.monotonic()
        while pending or running:
            while idle and pending:
                actor, job = idle.pop(), pending.popleft()
                running[actor.run.remote(job)] = _Assignment(actor, job)
            ready, _ = ray.wait([*running, *starting], num_returns=1, timeout=0.5)
            for ref in ready:
                if ref in starting:
                    actor = starting.pop(ref)
                    try:
                        ray.get(ref)
                        idle.append(actor)
                    except RayError as err:
                        start_failures += 1
                        if start_failures >= MAX_START_FAILURES:
                            raise RuntimeError(f"Ray workers keep dying as they start: {err}") from err
                        self._start_actor(starting)
                    continue
                assignment = running.pop(ref)
                index, episode = assignment.job[0], assignment.job[1]
                try:
                    record, files = ray.get(ref)
                except (RayActorError, RayTaskError) as err:
                    actor_died = isinstance(err, RayActorError)
                    if not actor_died and not isinstance(err.cause, EpisodeLost):
                        yield self._fail(episode, f"worker crashed: {err.cause!r}")
                        idle.append(assignment.actor)
                        continue
                    attempts[index] += 1
                    why = str(err).strip().splitlines()[-1].strip() if actor_died else str(err.cause)
                    if attempts[index] >= MAX_ATTEMPTS:
                        yield self._fail(episode, f"episode lost {MAX_ATTEMPTS} times: {why}")
                    else:
                        log.warning("episode %s is run again: %s", episode.episode_id, why)
                        pending.appendleft(assignment.job)
                    if actor_died:
                        self._start_actor(starting)
                    else:
                        idle.append(assignment.actor)
                    continue
                self._write_media(files)
                idle.append(assignment.actor)
                yield self._finished(record)
            if running or idle:
                stalled_since = time.monotonic()
            elif time.monotonic() - stalled_since > STALL_WARNING_S:
                log.warning("no Ray worker is running: waiting for the cluster to place one (see `ray status`)")
                stalled_since = time.monotonic()
            if time.monotonic() - last_watch > WATCH_EVERY_S:
                last_watch = time.monotonic()
                yield from self._reap_hung(running, starting)

    def _start_actor(self, starting: dict[Any, Any]) -> None:
        server = self.servers[self._started % len(self.servers)] if self.servers else None
        self._started += 1
        actor = EpisodeActor.remote(self.config, server, os.getcwd())
        self.actors.append(actor)
        starting[actor.node.remote()] = actor

    def _reap_hung(self, running: dict[Any, _Assignment], starting: dict[Any, Any]) -> Iterator[dict[str, Any]]:
        """Kill and replace actors whose episode has been silent past the step timeout."""
        asked = {ref: assignment.actor.silence.remote() for ref, assignment in running.items()}
        for ref, question in asked.items():
            try:
                silent_s, acting = ray.get(question, timeout=10)
            except (GetTimeoutError, RayError):  # an actor that is gone: its run's ref says so
                continue
            allowed = self.step_timeout + (2.0 if acting else FIRST_STEP_GRACE_S)
            if silent_s > allowed and ref in running:
                assignment = running.pop(ref)
                ray.kill(assignment.actor, no_restart=True)
                yield self._fail(assignment.job[1], f"policy step exceeded --step-timeout of {self.step_timeout:g}s")
                self._start_actor(starting)

    def _write_media(self, files: dict[str, bytes]) -> None:
        for relative, content in files.items():
            path = self.config.run_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    def _finished(self, record: dict[str, Any]) -> dict[str, Any]:
        if not self.servers:
            return record
        try:  # the policy ran in its actor: its memory is that actor's
            peaks = ray.get([server.usage.remote() for server in self.servers], timeout=10)
        except (GetTimeoutError, RayError):
            return record
        return {**record, "policy_peak_rss_mb": max(p[0] for p in peaks),
                "policy_gpu_mb": max((p[1] for p in peaks if p[1] is not None), default=None)}

    def _fail(self, episode, error: str) -> dict[str, Any]:
        return failed_record(self.config, episode, error)

    def close(self) -> None:
        for actor in [*self.actors, *self.servers]:
            ray.kill(actor, no_restart=True)
        ray.shutdown()


def enter(cwd: str) -> None:
    """Work in the driver's folder where this node has it (this machine, a shared filesystem), so
    that relative paths in --policy and --policy-arg mean what they mean to the driver."""
    if Path(cwd).is_dir():
        os.chdir(cwd)


def connect(address: str | None) -> None:
    """Join the cluster at `address` ('auto': the one `ray start` began on this machine), or
    start one on this machine; an unreachable address is a usage error (Ray itself would retry
    for minutes)."""
    if ray.is_initialized():
        return
    if address and address != "auto" and not address.startswith("ray://"):
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=REACH_TIMEOUT_S).close()
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot reach a Ray cluster at --ray-address {address} ({err}); give the head "
                             "node's HOST:PORT as `ray start --head` printed it, or auto on that machine") from err
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address is None:
        options["include_dashboard"] = False
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise UsageError(f"cannot reach a Ray cluster at --ray-address {address}: {err}") from err
