"""Batching never waits on the slowest episode: a batch fires when every episode waits, or once
the first has waited the batch window; and a batch that breaks fails only its culprits."""
import asyncio
import multiprocessing as mp
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vla_bench.policy.base import TaskInfo
from vla_bench.policy.batching import Batcher, PolicyThread, act_each
from vla_bench.policy.builtin import RandomPolicy
from vla_bench.policy.loader import PolicySpec
from vla_bench.runner.executors import BatchedProcessExecutor, _Running, make_executor
from vla_bench.runner.resources import usable_cores
from vla_bench.runner.worker import WorkerConfig
from vla_bench.specs import EpisodeSpec

from .policies import BatchedGreedy, BatchedRaisesOnOne

WINDOW_S = 0.05


def test_a_full_batch_fires_at_once_and_a_partial_one_after_the_window():
    batches = []

    def answer(items):
        batches.append(list(items))
        return [item * 10 for item in items]

    async def scenario():
        batcher = Batcher(answer, expected=lambda: 2, wait_s=3600)  # only a full batch could fire
        runner = asyncio.create_task(batcher.run())
        full = await asyncio.gather(batcher.submit(1), batcher.submit(2))
        batcher.wait_s = WINDOW_S
        alone = await asyncio.wait_for(batcher.submit(3), timeout=60)  # the second client never asks
        runner.cancel()
        return full, alone

    full, alone = asyncio.run(scenario())
    assert full == [10, 20] and alone == 30
    assert batches == [[1, 2], [3]]


def test_a_failing_request_fails_alone():
    async def scenario():
        batcher = Batcher(lambda items: [ValueError("bad") if i < 0 else i for i in items], lambda: 2, WINDOW_S)
        runner = asyncio.create_task(batcher.run())
        outcomes = await asyncio.gather(batcher.submit(-1), batcher.submit(5), return_exceptions=True)
        runner.cancel()
        return outcomes

    bad, good = asyncio.run(scenario())
    assert isinstance(bad, ValueError) and good == 5


def test_act_each_retries_a_broken_batch_one_observation_at_a_time():
    observations = [{"episode_id": "a/0", "proprio": np.zeros(15)}, {"episode_id": "a/1", "proprio": np.zeros(15)}]
    outcomes = act_each(BatchedRaisesOnOne(), observations)
    assert outcomes[0].shape == (7,) and isinstance(outcomes[1], ValueError)


def _executor_with_two_running_episodes() -> tuple[BatchedProcessExecutor, dict, dict]:
    """The executor, its two busy workers, and the ends of the pipes their replies come down."""
    config = WorkerConfig(PolicySpec("random"), "greedy", "train", True, Path("unused"))
    executor = BatchedProcessExecutor(config, 2, step_timeout=30, policy=BatchedGreedy(), batch_wait_s=WINDOW_S)
    pipes = {w: mp.Pipe(duplex=False) for w in (0, 1)}
    executor.replies = {w: send for w, (_, send) in pipes.items()}
    busy = {w: _Running(w, EpisodeSpec("PickUp", w, {}, "", f"train/PickUp/00{w}"), time.monotonic())
            for w in (0, 1)}
    for w in busy:
        executor.policy.reset("", TaskInfo("PickUp", "manipulation", None, None, 10,
                                           episode_id=busy[w].episode.episode_id))
    return executor, busy, {w: receive for w, (receive, _) in pipes.items()}


def test_the_batched_executor_answers_a_waiting_episode_without_its_slow_neighbour():
    executor, busy, replies = _executor_with_two_running_episodes()
    executor._on_message("act", 0, {"proprio": np.zeros(15)}, busy)  # episode 1 is still stepping (or resetting)
    executor._after_messages(busy)
    assert not replies[0].poll()  # within the window: it may yet batch with episode 1
    time.sleep(WINDOW_S * 2)
    executor._after_messages(busy)
    kind, action = replies[0].recv()
    assert kind == "action" and action.shape == (7,)
    assert not replies[1].poll()


def test_the_batched_executor_fires_at_once_when_every_episode_waits():
    executor, busy, replies = _executor_with_two_running_episodes()
    executor.batch_wait_s = 3600
    for w in busy:
        executor._on_message("act", w, {"proprio": np.zeros(15)}, busy)
    executor._after_messages(busy)
    assert all(replies[w].poll() and replies[w].recv()[0] == "action" for w in busy)


def test_a_policy_thread_runs_every_call_on_one_thread_and_moves_on_from_a_hung_one():
    """CUDA keeps per-thread state (a fresh thread per call cost over a second a batch on a GPU)."""
    thread = PolicyThread()
    first, second = (thread.call(threading.get_ident, timeout=10) for _ in range(2))
    assert first == second != threading.get_ident()
    release = threading.Event()
    with pytest.raises(TimeoutError):
        thread.call(release.wait, timeout=0.2)  # hangs until released
    assert thread.call(threading.get_ident, timeout=10) not in (first, threading.get_ident())  # a new thread
    release.set()


def test_a_batched_policy_gets_two_workers_per_usable_core_by_default():
    """Half of a served episode's time goes to waiting for its batch: two workers per core keep
    the cores stepping meanwhile. A policy copy per worker gets one per core."""
    config = WorkerConfig(PolicySpec("random"), "greedy", "train", True, Path("unused"))
    cores = usable_cores()
    served = make_executor("auto", config, BatchedGreedy(), workers=0, jobs=1000, step_timeout=30)
    copies = make_executor("auto", config, RandomPolicy(), workers=0, jobs=1000, step_timeout=30)
    assert isinstance(served, BatchedProcessExecutor) and served.size == 2 * cores
    assert copies.size == cores
    assert make_executor("auto", config, BatchedGreedy(), workers=0, jobs=3, step_timeout=30).size == min(3, 2 * cores)


def test_the_usable_cores_are_the_process_affinity_not_the_host():
    """Under `taskset` (or a container's CPU set) the default worker count follows the cores given."""
    probe = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
             "from vla_bench.runner.resources import usable_cores; print(usable_cores())")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "1"
