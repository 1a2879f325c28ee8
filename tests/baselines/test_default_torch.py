"""The baselines run on PyPI's default torch build, the one a plain `pip install` brings.

That build is the CUDA one, and it brings triton. Triton bundles LLVM, as does Mesa's llvmpipe,
which MuJoCo's offscreen GL context runs on: importing triton after that context exists killed
every rt1 episode with SIGSEGV when instructions were encoded through sentence-transformers.
The check runs in a virtual environment over this Python's packages, with only torch replaced;
it is built once (a minute or more from local wheels, ~5 GB) and kept under VENV for later runs.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TORCH_VERSION = "2.14.1"
VENV = Path(os.environ.get("VLA_BENCH_DEFAULT_TORCH_VENV",
                           Path.home() / ".cache" / "vla-bench" / "default-torch-venv"))
BUILT = VENV / "built"  # written last: a venv without it is half-built and is built again
STEPS = 5

# The order that crashed: the env renders (GL context made) before the policy exists.
EPISODE = f"""
import importlib.util, json
import gymnasium
import vla_bench
from vla_bench.runner.episode import run_episode

env = gymnasium.make("vla_bench/PickUp-v0", max_episode_steps={STEPS})
episode = env.unwrapped.sample_episode(0)
env.reset(seed=episode.seed, options={{"episode": episode}})
assert env.render().any()

from vla_bench.policy.loader import PolicySpec
policy = PolicySpec("rt1").build()
record = run_episode(env, policy, episode, "test", "rt1")
import torch
print(json.dumps({{"error": record.error, "steps": record.steps, "torch": torch.__version__.split("+")[0],
                  "triton_found": importlib.util.find_spec("triton") is not None}}))
"""


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.fixture(scope="module")
def default_torch_python() -> Path:
    """The python of a venv with PyPI's torch==TORCH_VERSION over this interpreter's site-packages."""
    python = VENV / "bin" / "python"
    if not BUILT.exists():
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True)
        install = subprocess.run([str(python), "-m", "pip", "install", f"torch=={TORCH_VERSION}"],
                                 capture_output=True, text=True)
        if install.returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            if "No matching distribution found" in install.stdout + install.stderr:
                pytest.skip(f"cannot build {VENV}: torch=={TORCH_VERSION} is neither reachable on an index "
                            "nor in a local wheel folder (no network?)")
            pytest.fail(f"pip install torch=={TORCH_VERSION} failed:\n{_tail(install.stdout + install.stderr)}")
        BUILT.write_text(f"torch=={TORCH_VERSION}\n")
    return python


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_the_default_build_is_the_one_that_brings_triton(default_torch_python):
    code = "import torch, triton; print(torch.__version__, torch.version.cuda)"
    probe = subprocess.run([str(default_torch_python), "-c", code], capture_output=True, text=True)
    assert probe.returncode == 0, _tail(probe.stderr)
    version, cuda = probe.stdout.split()
    assert version.split("+")[0] == TORCH_VERSION and cuda != "None"  # e.g. 2.14.1+cu130


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_rt1_acts_after_the_gl_context_exists(default_torch_python):
    run = subprocess.run([str(default_torch_python), "-X", "faulthandler", "-c", EPISODE],  # a crash shows where
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"exit code {run.returncode}:\n{_tail(run.stderr)}"
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"error": "", "steps": STEPS, "torch": TORCH_VERSION, "triton_found": True}
