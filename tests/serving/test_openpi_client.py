"""Against openpi's real client package, in its own virtual environment (openpi-client pins
numpy < 2): its WebsocketClientPolicy gets actions from `vla-bench serve`, and our client runs
episodes against a server built on its msgpack_numpy, as openpi's policy servers are."""
import json
import subprocess
import venv
from pathlib import Path

import pytest

from tests.serving.conftest import served, wait_for_address
from vla_bench.results import read_episodes
from vla_bench.runner.runner import RunConfig, run

pytestmark = pytest.mark.slow
# openpi-client 0.1.2 imports typing_extensions without declaring it
OPENPI_CLIENT = ("openpi-client==0.1.2", "typing_extensions")

CLIENT_SCRIPT = """
import json, sys
import numpy as np
from openpi_client.websocket_client_policy import WebsocketClientPolicy
policy = WebsocketClientPolicy(sys.argv[1])
obs = {"rgb": np.zeros((128, 128, 3), np.uint8), "wrist_rgb": np.zeros((128, 128, 3), np.uint8),
       "proprio": np.zeros(15, np.float32), "instruction": "pick up the red cube",
       "vla_bench/episode_id": "openpi/0", "vla_bench/task": "PickUp", "vla_bench/episode_seed": 0,
       "vla_bench/episode_start": True}
answers = [policy.infer(obs)]
obs["vla_bench/episode_start"] = False
answers.append(policy.infer(obs))
print(json.dumps({"metadata": policy.get_server_metadata(), "numpy": np.__version__,
                  "shapes": [list(a["actions"].shape) for a in answers],
                  "finite": all(bool(np.isfinite(a["actions"]).all()) for a in answers),
                  "timing": "server_timing" in answers[0]}))
"""


@pytest.fixture(scope="module")
def openpi_python(tmp_path_factory) -> Path:
    """A virtual environment with openpi-client from the package index."""
    root = tmp_path_factory.mktemp("openpi-client-venv")
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *OPENPI_CLIENT],
                   check=True, timeout=600)
    return python


def test_openpis_websocket_client_gets_actions_from_vla_bench_serve(openpi_python, tmp_path):
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT)
    with served("--policy", "rt1") as address:
        result = subprocess.run([openpi_python, script, address], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["numpy"].startswith("1.")  # really openpi-client's environment, not ours
    assert answer["metadata"]["policy"] == "rt1"
    assert answer["shapes"] == [[7], [7]] and answer["finite"] and answer["timing"]


def test_our_client_runs_episodes_against_an_openpi_style_server(openpi_python, tmp_path):
    server = subprocess.Popen([openpi_python, Path(__file__).with_name("openpi_style_server.py"), "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        address = wait_for_address(server, 120)
        run_dir = run(RunConfig(policy=address, split="train", tasks=("PickUp",), episodes_per_task=2, workers=1,
                                out=tmp_path / "r", progress=False, policy_args={"profile": "libero"},
                                replan_every=5))
    finally:
        server.kill()
    records = read_episodes(run_dir)
    assert len(records) == 2
    for record in records:
        assert not record["error"], record["error"]  # the server checked every key and shape it got
        assert record["steps"] > 5 and record["policy_calls"] == -(-record["steps"] // 5)
