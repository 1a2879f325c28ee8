"""Processes killed at random (SIGKILL, as the kernel's OOM killer or a preempted node does): a
killed worker's episode is recorded as failed and the run goes on; a killed run loses no
finished episode, and --resume finishes it without running any episode twice."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vla_bench.results import read_episodes

EPISODES = 30
# a policy that takes 10 ms a step, so that a run lasts long enough to be killed at random moments
# (random and the oracle render nothing and finish 30 episodes in a few seconds)
SLOW = f"{Path(__file__).parents[1] / 'runner' / 'policies.py'}:SlowGreedy"
COMMAND = [sys.executable, "-m", "vla_bench.cli", "run", "--policy", SLOW, "--policy-arg", "delay=0.01",
           "--split", "train", "--tasks", "PickUp,CloseDrawer,OpenDrawer", "--episodes-per-task", "10",
           "--workers", "2", "--no-progress"]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _wait_for_episodes(out: Path, count: int, process: subprocess.Popen, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while len(read_episodes(out)) < count and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.slow
def test_random_sigkills_of_workers_and_of_the_run_lose_and_duplicate_nothing(tmp_path):
    rng = random.Random(7)
    out = tmp_path / "run"
    worker_kills = run_kills = 0
    for attempt in range(8):
        if len(read_episodes(out)) >= EPISODES - 4:
            break
        process = subprocess.Popen([*COMMAND, "--out", str(out), *(["--resume"] if attempt else [])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        _wait_for_episodes(out, len(read_episodes(out)) + 1, process)
        workers = _children(process.pid)
        if attempt % 2 == 0 and workers:  # a worker dies mid-episode: the run records it and goes on
            time.sleep(rng.uniform(0.0, 1.0))
            os.kill(rng.choice(workers), signal.SIGKILL)
            worker_kills += 1
            time.sleep(rng.uniform(0.5, 2.0))
        if process.poll() is None:  # then the whole run dies at a random moment
            time.sleep(rng.uniform(0.0, 1.5))
            os.killpg(process.pid, signal.SIGKILL)
            run_kills += 1
        process.wait(timeout=60)
    final = subprocess.run([*COMMAND, "--out", str(out), "--resume"], capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    records = read_episodes(out)
    ids = [r["episode_id"] for r in records]
    assert len(ids) == len(set(ids)) == EPISODES  # nothing lost, nothing twice
    died = [r for r in records if r["error"].startswith("worker process died")]
    assert worker_kills >= 2 and run_kills >= 2
    assert len(died) <= worker_kills and all(not r["success"] for r in died)
    lines = (out / "episodes.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # a line cut by a kill was repaired by --resume
    print(f"worker kills {worker_kills}, run kills {run_kills}, episodes lost 0, recorded twice 0")
