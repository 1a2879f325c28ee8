"""`vla-bench serve` and `--policy ws://`: real server processes, real WebSocket connections."""
import json
import socket
import subprocess
import sys
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from tests.serving.conftest import POLICIES, served, wait_for_address
from vla_bench.cli import main
from vla_bench.results import read_episodes
from vla_bench.runner.episode import TIMING_FIELDS
from vla_bench.runner.runner import RunConfig, run
from vla_bench.serving.wire import pack, unpack

TIMING = {*TIMING_FIELDS, "policy"}  # the policy is named by its address


def _records(run_dir):
    return sorted(({k: v for k, v in r.items() if k not in TIMING} for r in read_episodes(run_dir)),
                  key=lambda r: r["episode_id"])


def _run(policy, out, tasks=("PickUp", "GoToObject"), episodes=1, workers=1, **kwargs):
    return run(RunConfig(policy=policy, split="train", tasks=tasks, episodes_per_task=episodes, workers=workers,
                         out=out, progress=False, **kwargs))


def test_rt1_served_remotely_gives_the_same_records_as_in_process(tmp_path):
    local = _run("rt1", tmp_path / "local")
    with served("--policy", "rt1") as address:
        remote = _run(address, tmp_path / "remote")
    assert _records(remote) == _records(local)
    assert all(r["policy"] == address for r in read_episodes(remote))
    assert json.loads((remote / "run.json").read_text())["server"]["policy"] == "rt1"  # what answered


def test_concurrent_clients_of_a_batching_policy_are_served_together(tmp_path):
    policy = f"{POLICIES}:BatchedGreedy"
    local = _run(policy, tmp_path / "local", tasks=("PickUp",), episodes=4, workers=2)
    with served("--policy", policy) as address:
        remote = _run(address, tmp_path / "remote", tasks=("PickUp",), episodes=4, workers=2)
    assert _records(remote) == _records(local)


def test_observations_that_arrive_together_share_one_act_batch_call():
    import numpy as np

    def client(address, barrier, batches, index):
        with connect(address) as connection:
            connection.recv(timeout=10)
            episode = {"vla_bench/episode_id": f"e{index}", "vla_bench/task": "PickUp", "vla_bench/episode_seed": index}
            for step in range(10):
                observation = {"proprio": np.zeros(15, np.float32), "instruction": "lift it", **episode,
                               "vla_bench/episode_start": step == 0}
                barrier.wait(timeout=30)
                connection.send(pack(observation))
                batches.append(unpack(connection.recv(timeout=30))["server_timing"]["batch"])

    batches: list[int] = []
    barrier = threading.Barrier(2)
    with served("--policy", f"{POLICIES}:BatchedGreedy") as address:
        threads = [threading.Thread(target=client, args=(address, barrier, batches, i)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert len(batches) == 20 and max(batches) == 2, batches


def test_action_chunks_cross_the_wire(tmp_path):
    with served("--policy", f"{POLICIES}:Chunks") as address:
        records = read_episodes(_run(address, tmp_path / "chunks", replan_every=3))
    assert all(not r["error"] and r["policy_calls"] == -(-r["steps"] // 3) for r in records), records


def test_an_unreachable_server_exits_2_naming_the_address(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nothing listens once the socket closes
    code = main(["run", "--policy", f"ws://127.0.0.1:{port}", "--split", "train", "--tasks", "PickUp",
                 "--episodes-per-task", "1", "--out", str(tmp_path / "r"), "--no-progress"])
    assert code == 2
    assert f"no policy server at ws://127.0.0.1:{port}" in capsys.readouterr().err
    assert not (tmp_path / "r" / "episodes.jsonl").exists()


def test_a_server_error_fails_only_its_episode_and_the_client_reconnects(tmp_path):
    with served("--policy", f"{POLICIES}:RaisesOnStep") as address:
        records = read_episodes(_run(address, tmp_path / "r", tasks=("PickUp",), episodes=4))
    odd = [r for r in records if r["seed"] % 2 == 1]
    even = [r for r in records if r["seed"] % 2 == 0]
    assert odd and even
    assert all(r["error"] == "policy raised RemoteError: the policy server failed: ValueError: broke on the third "
               "step" and r["steps"] == 2 for r in odd), odd
    assert all(not r["error"] and r["steps"] > 3 for r in even), even


def test_a_server_that_goes_away_mid_run_costs_the_episode_in_flight(tmp_path):
    """The server is killed while episodes run and started again on the same port: the client
    records the episode it was in as an error, reconnects with backoff, and finishes the run."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "vla_bench.cli", "serve", "--policy", f"{POLICIES}:SlowGreedy",
               "--host", "127.0.0.1", "--port", str(port)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    address = wait_for_address(first, 120)
    out = tmp_path / "r"
    finished = threading.Event()
    runner = threading.Thread(target=lambda: (_run(address, out, tasks=("PickUp",), episodes=6), finished.set()))
    runner.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out / "episodes.jsonl").exists():
            time.sleep(0.05)
        time.sleep(0.3)  # into the next episode
        first.kill()
        first.wait()
        second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_address(second, 120)
        runner.join(timeout=300)
    finally:
        first.kill()
        if "second" in locals():
            second.kill()
    assert finished.is_set()
    records = read_episodes(out)
    assert len(records) == 6
    failed = [r for r in records if r["error"]]
    assert 1 <= len(failed) <= 2 and all("closed the connection" in r["error"] or "reconnect" in r["error"]
                                          for r in failed), failed
    assert sum(not r["error"] for r in records) >= 4


def test_garbled_frames_get_openpis_error_answer():
    with served("--policy", "random") as address:
        with connect(address) as connection:
            metadata = unpack(connection.recv(timeout=10), "metadata")
            assert metadata["policy"] == "random" and "vla_bench/episode_start" in metadata["episode_keys"]
            connection.send(b"\xc1 not msgpack")
            answer = connection.recv(timeout=10)
            assert isinstance(answer, str) and "garbled observation" in answer
            with pytest.raises(ConnectionClosedError):
                connection.recv(timeout=10)
            assert connection.close_code == 1011


def test_a_health_check_answers_without_a_websocket():
    import urllib.request

    with served("--policy", "random") as address:
        url = address.replace("ws://", "http://") + "/healthz"
        assert urllib.request.urlopen(url, timeout=10).read() == b"OK\n"


def test_serving_a_privileged_policy_is_refused(capsys):
    assert main(["serve", "--policy", "oracle", "--port", "0"]) == 2
    assert "run it in process" in capsys.readouterr().err


def test_serving_an_unknown_policy_exits_2_listing_the_valid_ones(capsys):
    assert main(["serve", "--policy", "no_such_policy", "--port", "0"]) == 2
    assert "valid names" in capsys.readouterr().err


def test_bench_serving_reports_in_process_and_served_latency(capsys):
    assert main(["bench", "--serving", "--tasks", "PickUp", "--steps", "20", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["calls"] == 20 and result["message_kb"] > 2 * 128 * 128 * 3 / 1024  # both cameras travel
    assert 0 < result["remote_ms_p50"] and result["added_ms_p50"] == result["remote_ms_p50"] - result["local_ms_p50"]


def test_step_timeout_covers_a_server_that_never_answers(tmp_path):
    with served("--policy", f"{POLICIES}:Hangs") as address:
        records = read_episodes(_run(address, tmp_path / "r", tasks=("PickUp",), episodes=1, step_timeout=2.0))
    assert records[0]["error"] == "policy step exceeded --step-timeout of 2s"


def test_an_oversized_observation_is_refused_with_code_1009():
    import numpy as np

    from vla_bench.serving.client import MAX_MESSAGE_BYTES

    with served("--policy", "random") as address:
        with connect(address, max_size=None) as connection:
            connection.recv(timeout=10)
            connection.send(pack({"rgb": np.zeros(MAX_MESSAGE_BYTES + 1, np.uint8)}))
            with pytest.raises(ConnectionClosedError):
                connection.recv(timeout=30)
            assert connection.close_code == 1009  # message too big
