"""--executor ray on a real Ray cluster: a head node and a second node, each started with
`ray start` as a process of its own, as a lab's cluster is; runs go through the CLI and are
compared with the local executor's records."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from vla_bench.cli import main
from vla_bench.results import read_episodes
from vla_bench.runner.episode import TIMING_FIELDS

POLICIES = Path(__file__).with_name("policies.py")
RAY = str(Path(sys.executable).with_name("ray"))
TIMING = set(TIMING_FIELDS)
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    address: str
    head: subprocess.Popen
    second: subprocess.Popen | None

    def kill_second_node(self) -> None:
        """Its raylet and every worker on it die at once, as when a machine is lost."""
        os.killpg(self.second.pid, signal.SIGKILL)

    def stop(self) -> None:
        for node in (self.second, self.head):
            try:
                os.killpg(node.pid, signal.SIGTERM)
                node.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            try:
                os.killpg(node.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _start_node(args: list[str], log: Path) -> subprocess.Popen:
    # a lost node is declared dead after 4 missed health checks half a second apart (Ray's default: 15 s)
    env = {**os.environ, "RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4"}
    return subprocess.Popen([RAY, "start", *args, "--disable-usage-stats", "--block"], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def start_cluster(folder: Path) -> Cluster:
    """A head with 1 CPU and a second node with 2: three episode actors in all."""
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = _start_node(["--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false"], folder / "head.log")
    cluster = Cluster(address, head, None)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = subprocess.run([RAY, "status", "--address", address], capture_output=True, text=True)
        nodes = status.stdout.count(" node_")
        if nodes == 1 and cluster.second is None:
            cluster.second = _start_node([f"--address={address}", "--num-cpus=2"], folder / "second.log")
        if nodes == 2:
            return cluster
        time.sleep(1)
    cluster.stop()
    raise RuntimeError(f"the Ray cluster did not come up: {(folder / 'head.log').read_text()[-2000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = start_cluster(tmp_path_factory.mktemp("ray"))
    yield started
    started.stop()


def _comparable(run_dir):
    return sorted(({k: v for k, v in r.items() if k not in TIMING} for r in read_episodes(run_dir)),
                  key=lambda r: r["episode_id"])


def _run(out: Path, policy: str, *extra: str, tasks: str = "PickUp,OpenDrawer", episodes: int = 2) -> int:
    return main(["run", "--policy", policy, "--split", "train", "--tasks", tasks, "--episodes-per-task",
                 str(episodes), "--out", str(out), "--no-progress", *extra])


def test_a_ray_cluster_gives_the_records_the_local_executor_gives(cluster, tmp_path):
    assert _run(tmp_path / "local", "random", "--workers", "2", "--record-video", "1",
                tasks="PickUp,OpenDrawer,GoToObject") == 0
    assert _run(tmp_path / "ray", "random", "--executor", "ray", "--ray-address", cluster.address,
                "--record-video", "1", tasks="PickUp,OpenDrawer,GoToObject") == 0
    assert _comparable(tmp_path / "ray") == _comparable(tmp_path / "local")
    videos = sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("*.mp4"))
    assert videos == sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*.mp4"))
    assert len(videos) == 3  # recorded on the nodes, written by the driver
    config = json.loads((tmp_path / "ray" / "run.json").read_text())["config"]
    assert config["executor"] == "RayExecutor" and config["workers"] == 3  # one actor per CPU of the cluster


def test_a_batching_policy_is_served_by_a_policy_actor(cluster, tmp_path):
    assert _run(tmp_path / "local", f"{POLICIES}:Greedy", "--workers", "2") == 0
    assert _run(tmp_path / "ray", f"{POLICIES}:BatchedGreedy", "--executor", "ray", "--ray-address",
                cluster.address) == 0
    assert _comparable(tmp_path / "ray") == _comparable(tmp_path / "local")
    assert all(r["policy_peak_rss_mb"] > 0 for r in read_episodes(tmp_path / "ray"))  # the policy actor's


@pytest.mark.parametrize("policy", ["Hangs", "BatchedHangs"])
def test_a_hung_policy_fails_its_episodes_and_the_run_ends(cluster, tmp_path, policy):
    assert _run(tmp_path / "hung", f"{POLICIES}:{policy}", "--executor", "ray", "--ray-address", cluster.address,
                "--step-timeout", "1", tasks="PickUp") == 0
    errors = [r["error"] for r in read_episodes(tmp_path / "hung")]
    assert len(errors) == 2 and all(errors), errors
    assert any("--step-timeout" in e for e in errors)


def _run_in_background(out: Path, policy: str, address: str, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "vla_bench.cli", "run", "--policy", policy, "--split", "train", "--tasks",
               "PickUp,OpenDrawer", "--episodes-per-task", "4", "--out", str(out), "--no-progress",
               "--executor", "ray", "--ray-address", address, *extra]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


def _wait_for_records(out: Path, count: int, process: subprocess.Popen, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while len(read_episodes(out)) < count:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.2)


def _assert_complete_and_unchanged(out: Path, reference: Path) -> None:
    records = read_episodes(out)
    ids = [r["episode_id"] for r in records]
    assert len(ids) == len(set(ids)) == 8, ids  # none lost, none recorded twice
    assert not [r["error"] for r in records if r["error"]]
    assert _comparable(out) == _comparable(reference)


def test_a_killed_policy_actor_is_restarted_and_its_episodes_run_again(cluster, tmp_path):
    pid_file = tmp_path / "policy.pid"
    assert _run(tmp_path / "local", f"{POLICIES}:Greedy", "--workers", "2", episodes=4) == 0
    process = _run_in_background(tmp_path / "ray", f"{POLICIES}:SlowBatchedGreedy", cluster.address,
                                 "--policy-arg", f"pid_file={pid_file}")
    _wait_for_records(tmp_path / "ray", 1, process)
    first_pid = int(pid_file.read_text())
    os.kill(first_pid, signal.SIGKILL)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert int(pid_file.read_text()) != first_pid  # Ray restarted the actor, which built the policy again
    assert "is run again" in stderr  # the kill hit episodes in flight
    _assert_complete_and_unchanged(tmp_path / "ray", tmp_path / "local")


def test_losing_a_node_mid_run_loses_no_episode(tmp_path):
    cluster = start_cluster(tmp_path)  # its own: this test takes a node away
    try:
        assert _run(tmp_path / "local", f"{POLICIES}:Greedy", "--workers", "2", episodes=4) == 0
        process = _run_in_background(tmp_path / "ray", f"{POLICIES}:SlowGreedy", cluster.address)
        _wait_for_records(tmp_path / "ray", 1, process)
        cluster.kill_second_node()
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        assert "is run again" in stderr and "node" in stderr  # the second node's episodes were in flight
        _assert_complete_and_unchanged(tmp_path / "ray", tmp_path / "local")
    finally:
        cluster.stop()


def test_an_unreachable_cluster_is_a_usage_error_that_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(out, "random", "--executor", "ray", "--ray-address", f"127.0.0.1:{_free_port()}") == 2
    assert "cannot reach a Ray cluster" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_a_ray_address_needs_the_ray_executor(tmp_path, capsys):
    assert _run(tmp_path / "run", "random", "--ray-address", "auto") == 2
    assert "--executor ray" in capsys.readouterr().err
