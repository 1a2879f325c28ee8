"""Serving one policy to many episodes at once: what the batched executor, the Ray policy actor
and `vla-bench serve` share.

`act_each` makes one `act_batch` call fail only the observations that break the policy;
`Batcher` gathers requests that arrive together into one call without waiting on a straggler;
`PolicyThread` runs a policy's calls on one long-lived thread; `EpisodeStates` keeps a batching
policy's state per episode.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from collections import OrderedDict
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from vla_bench.policy.base import Policy


def act_each(policy: Policy, observations: list[dict[str, Any]]) -> list[Any]:
    """An action per observation from one `act_batch` call; if that raises or answers a wrong
    number of observations, each observation goes alone through `act`, and those that break the
    policy get their exception in their place."""
    try:
        actions = policy.act_batch(observations)
        if actions is not None and len(actions) == len(observations):
            return list(actions)
    except Exception:  # some observation breaks the batch: find which, one by one
        pass
    outcomes: list[Any] = []
    for observation in observations:
        try:
            outcomes.append(policy.act(observation))
        except Exception as err:
            outcomes.append(err)
    return outcomes


State = TypeVar("State")


class EpisodeStates(Generic[State]):
    """What a policy serving many episodes at once keeps per episode, keyed by `episode_id`
    (observations carry it when batched). An observation without one belongs to the episode
    started last, as when a worker runs one episode at a time. A long run's oldest are dropped."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._states: OrderedDict[str, State] = OrderedDict()
        self.current = ""

    def start(self, episode_id: str, state: State) -> None:
        self.current = episode_id
        self._states[episode_id] = state
        while len(self._states) > self.limit:
            self._states.popitem(last=False)

    def of(self, observations: list[dict[str, Any]]) -> list[State]:
        """Each observation's episode state."""
        return [self._states[obs.get("episode_id", self.current)] for obs in observations]

    def last_started(self) -> State:
        return self._states[self.current]


@dataclass
class _Request:
    item: Any
    reply: asyncio.Future = field(repr=False)


class Batcher:
    """Answers requests in batches: a batch fires once `expected()` requests wait, or once the
    first of them has waited `wait_s`, so an episode slow to step holds the others back by that
    much at most. `answer(items)` runs on `threads` and returns an outcome per item (an exception
    fails only its request). Call `run()` as a task of the event loop that submits."""

    def __init__(self, answer: Callable[[list[Any]], list[Any]], expected: Callable[[], int], wait_s: float,
                 threads: Executor | None = None) -> None:
        self.answer, self.expected, self.wait_s, self.threads = answer, expected, wait_s, threads
        self._pending: list[_Request] = []
        self._arrived = asyncio.Event()

    async def submit(self, item: Any) -> Any:
        request = _Request(item, asyncio.get_running_loop().create_future())
        self._pending.append(request)
        self._arrived.set()
        return await request.reply

    def wake(self) -> None:
        """Look again whether the batch is full (say, after a client left)."""
        self._arrived.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            if not self._pending:
                continue
            deadline = loop.time() + self.wait_s
            while len(self._pending) < self.expected() and loop.time() < deadline:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
                except asyncio.TimeoutError:
                    break
            batch, self._pending = self._pending, []
            try:
                outcomes = await loop.run_in_executor(self.threads, self.answer, [r.item for r in batch])
            except Exception as err:  # never let the batcher die: every waiting request would hang
                outcomes = [err] * len(batch)
            for request, outcome in zip(batch, outcomes):
                if request.reply.done():  # its requester went away meanwhile
                    continue
                if isinstance(outcome, BaseException):
                    request.reply.set_exception(outcome)
                else:
                    request.reply.set_result(outcome)


class PolicyThread(Executor):
    """Runs a policy's calls one at a time on one long-lived daemon thread. CUDA libraries keep
    state per thread (cuBLAS and cuDNN handles cost about a second to make on a fresh thread), so a
    fresh thread per call made every batch on a GPU take over a second. `call` gives up on a call
    that outlasts its timeout: that call keeps its thread (a daemon, which cannot keep the process
    alive), and later calls get a new one."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, args=(self._jobs,), daemon=True, name="policy").start()

    @staticmethod
    def _serve(jobs: queue.SimpleQueue) -> None:
        while True:
            fn, args, kwargs, future = jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as err:  # the caller gets it
                    future.set_exception(err)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self._jobs.put((fn, args, kwargs, future))
        return future

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """`fn(*args)` on the policy thread; TimeoutError after `timeout` seconds."""
        try:
            return self.submit(fn, *args).result(timeout)
        except FutureTimeout:
            self.abandon()
            raise TimeoutError(f"the policy did not return within {timeout:g}s") from None

    def abandon(self) -> None:
        """Leave the current thread to its call; later calls run on a new one."""
        self._start()
