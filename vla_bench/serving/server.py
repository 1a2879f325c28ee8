"""`vla-bench serve`: any vla-bench policy behind openpi's WebSocket protocol (see client.py).

A policy that batches (`Policy.batches()`, e.g. a learned baseline) is built once and serves
every connection: observations that arrive together go through one `act_batch` call (the server
waits for every open connection that has sent an observation, at most `batch_wait_s`). Any other policy is
built once per connection, as each evaluation worker would build its own. Errors are answered
as openpi's server answers them: the traceback as a text frame, then close code 1011.
"""
from __future__ import annotations

import asyncio
import logging
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np

from vla_bench.policy.base import Policy, TaskInfo
from vla_bench.policy.batching import Batcher, PolicyThread, act_each
from vla_bench.policy.loader import PolicySpec
from vla_bench.serving.client import EPISODE_KEYS, MAX_MESSAGE_BYTES
from vla_bench.serving.wire import pack, unpack

log = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def _spaces(task: str) -> tuple[Any, Any]:
    """A task's observation and action spaces (its env is built once, unreset, and closed)."""
    import gymnasium as gym

    from vla_bench.task.registry import task_entry

    env = gym.make(task_entry(task).env_id, disable_env_checker=True)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def task_info_from(message: dict[str, Any]) -> TaskInfo:
    """The TaskInfo an in-process run would give, rebuilt from the episode keys."""
    from vla_bench.task.registry import task_entry

    entry = task_entry(str(message["vla_bench/task"]))
    observation_space, action_space = _spaces(entry.name)
    return TaskInfo(entry.name, entry.domain, observation_space, action_space, entry.max_episode_steps,
                    episode_seed=int(message["vla_bench/episode_seed"]),
                    episode_id=str(message["vla_bench/episode_id"]))


def observe(policy: Policy, message: dict[str, Any]) -> dict[str, Any]:
    """Reset `policy` if the message starts an episode; the observation the policy reads (arrays
    copied: decoded ones are read-only views of the frame, and a policy may write to its input)."""
    observation = {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in message.items()
                   if k not in EPISODE_KEYS}
    if "vla_bench/episode_id" in message:
        observation["episode_id"] = str(message["vla_bench/episode_id"])
        if message.get("vla_bench/episode_start"):
            policy.reset(str(message.get("instruction", "")), task_info_from(message))
    return observation


def reply_for(action: Any, infer_ms: float, batch: int = 1) -> dict[str, Any]:
    return {"actions": np.asarray(action), "server_timing": {"infer_ms": infer_ms, "batch": batch}}


def act_alone(policy: Policy, observation: dict[str, Any]) -> dict[str, Any]:
    """One observation through `act`, timed, as a reply."""
    start = time.perf_counter()
    action = policy.act(observation)
    return reply_for(action, (time.perf_counter() - start) * 1000)


class PolicyServer:
    def __init__(self, spec: PolicySpec, host: str = "0.0.0.0", port: int = 8000, batch_wait_s: float = 0.002):
        self.spec, self.host, self.port, self.batch_wait_s = spec, host, port, batch_wait_s
        self.shared = spec.build()  # constructor errors surface before the server listens
        if not self.shared.batches():
            self.shared = None  # each connection builds its own
        self.metadata = {"policy": spec.reference, "policy_args": {k: str(v) for k, v in spec.args.items()},
                         "protocol": "openpi-websocket", "episode_keys": list(EPISODE_KEYS)}
        # calls a client gave up on (--step-timeout) may hold a thread for good: room for many
        self._threads = ThreadPoolExecutor(max_workers=64, thread_name_prefix="act")
        self._active: set[int] = set()  # connections that have sent an observation and are still open
        self._batcher: Batcher | None = None

    def serve_forever(self, ready=None) -> None:
        asyncio.run(self._serve(ready))

    async def _serve(self, ready) -> None:
        from websockets.asyncio.server import serve

        # the shared policy's calls on one thread of their own (see PolicyThread: CUDA state is per thread)
        self._batcher = Batcher(self._act_batch, lambda: len(self._active), self.batch_wait_s, PolicyThread())
        batcher = asyncio.create_task(self._batcher.run()) if self.shared is not None else None
        async with serve(self._handle, self.host, self.port, compression=None, max_size=MAX_MESSAGE_BYTES,
                         process_request=_health_check) as server:
            if ready is not None:
                ready(server)
            try:
                await server.serve_forever()
            finally:
                if batcher is not None:
                    batcher.cancel()

    async def _handle(self, connection) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.frames import CloseCode

        loop = asyncio.get_running_loop()
        try:
            own = None if self.shared is not None else await loop.run_in_executor(None, self.spec.build)
        except Exception:  # answered like a failed request: the traceback, then close
            await connection.send(traceback.format_exc())
            await connection.close(CloseCode.INTERNAL_ERROR, "The policy could not be built.")
            return
        await connection.send(pack(self.metadata))
        try:
            while True:
                try:
                    data = await connection.recv()
                except ConnectionClosed:
                    return
                try:
                    if isinstance(data, str):
                        raise ValueError("observations travel as binary msgpack frames, got a text frame")
                    message = unpack(data, "observation")
                    if own is None:
                        self._active.add(id(connection))
                        reply = await self._batcher.submit(message)
                    else:
                        reply = await loop.run_in_executor(self._threads, self._act_own, own, message)
                    await connection.send(pack(reply))
                except ConnectionClosed:
                    return
                except Exception:  # as openpi's server: the traceback as text, then close
                    log.warning("request from %s failed:\n%s", connection.remote_address, traceback.format_exc())
                    await connection.send(traceback.format_exc())
                    await connection.close(CloseCode.INTERNAL_ERROR, "Internal server error. Traceback included "
                                                                     "in previous frame.")
                    return
        finally:
            self._active.discard(id(connection))
            if self._batcher is not None:
                self._batcher.wake()  # a batch may have been waiting for this connection

    @staticmethod
    def _act_own(policy: Policy, message: dict[str, Any]) -> dict[str, Any]:
        return act_alone(policy, observe(policy, message))

    def _act_batch(self, messages: list[dict[str, Any]]) -> list[Any]:
        """Replies (or the exception each request failed with): a request whose reset raises
        fails alone, and so does one whose observation breaks the policy (`act_each`)."""
        outcomes: list[Any] = []
        for message in messages:
            try:
                outcomes.append(observe(self.shared, message))
            except Exception as err:  # a reset that raised: that request fails
                outcomes.append(err)
        ready = [i for i, o in enumerate(outcomes) if not isinstance(o, Exception)]
        start = time.perf_counter()
        actions = act_each(self.shared, [outcomes[i] for i in ready])
        infer_ms = (time.perf_counter() - start) * 1000
        for i, action in zip(ready, actions, strict=True):
            outcomes[i] = action if isinstance(action, Exception) else reply_for(action, infer_ms, len(ready))
        return outcomes


def _health_check(connection, request):
    """GET /healthz answers 200 without a WebSocket upgrade, as openpi's server does."""
    import http

    if request.path == "/healthz":
        return connection.respond(http.HTTPStatus.OK, "OK\n")
    return None
