"""Ctrl-C keeps every finished episode and --resume finishes the run; instability ends one episode."""
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym

from vla_bench.policy import RandomPolicy
from vla_bench.results import read_episodes
from vla_bench.runner.episode import run_episode
from vla_bench.task.base import SimulationUnstable


def test_ctrl_c_keeps_finished_episodes_and_resume_completes(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "vla_bench.cli", "run", "--policy", "random", "--split", "train",
               "--tasks", "PickUp", "--episodes-per-task", "8", "--workers", "2", "--out", str(out), "--no-progress"]
    # as from a terminal: a shell that starts pytest in the background (`pytest &`) hands it SIGINT
    # ignored, which every child inherits and Python then keeps
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while len(read_episodes(out)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the runner and its workers
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    kept = read_episodes(out)
    assert 2 <= len(kept) < 8
    assert f"a partial run, {len(kept)} of 8 episodes finished" in err and "--resume" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err  # workers end quietly
    subprocess.run([*command, "--resume"], check=True, capture_output=True, timeout=300)
    ids = [r["episode_id"] for r in read_episodes(out)]
    assert len(ids) == 8 == len(set(ids))


class _Unstable(gym.Wrapper):
    def step(self, action):
        if self.env.unwrapped.data.time > 0.7:
            raise SimulationUnstable("simulation became unstable at t=0.7s")
        return self.env.step(action)


def test_a_simulator_instability_ends_only_its_episode():
    env = _Unstable(gym.make("vla_bench/PickUp-v0"))
    record = run_episode(env, RandomPolicy(), env.unwrapped.sample_episode(0))
    assert record.error.startswith("simulation unstable") and not record.success and record.steps > 0
    healthy = run_episode(gym.make("vla_bench/PickUp-v0"), RandomPolicy(), env.unwrapped.sample_episode(1))
    assert healthy.error == ""
