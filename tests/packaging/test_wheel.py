"""The wheel and the sdist hold the whole suite, and a wheel installed into a fresh virtual
environment works from outside the checkout: core without PyTorch, `rt1` naming the extra."""
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {"vla_bench": "vla_bench", "envs": "vla_bench/envs", "assets": "vla_bench/assets",
           "baselines": "vla_bench/baselines"}  # repository folder -> installed path


def _installed_path(repo_path: Path) -> str:
    folder, *rest = repo_path.relative_to(REPO).parts
    return "/".join([FOLDERS[folder], *rest])


def _repository_files() -> tuple[set[str], set[str]]:
    """Every package (__init__.py) and data file the repository holds, as installed paths."""
    tracked = subprocess.run(["git", "ls-files", *FOLDERS], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    packages = {_installed_path(REPO / p) for p in tracked if p.endswith("__init__.py")}
    data = {_installed_path(REPO / p) for p in tracked if not p.endswith(".py")}  # every other file is data
    return packages, data


@pytest.fixture(scope="session")
def distributions(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], check=True,
                   capture_output=True, text=True)
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_the_wheel_holds_every_package_and_data_file(distributions):
    names = set(zipfile.ZipFile(distributions["wheel"]).namelist())
    packages, data = _repository_files()
    assert packages and data
    assert packages - names == set()
    assert data - names == set()
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_the_sdist_holds_every_package_data_file_and_the_license(distributions):
    with tarfile.open(distributions["sdist"]) as sdist:
        root = sdist.getnames()[0].split("/")[0]
        names = {n.removeprefix(root + "/") for n in sdist.getnames()}
    tracked = subprocess.run(["git", "ls-files", *FOLDERS], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    assert set(tracked) - names == set()
    assert {"LICENSE", "pyproject.toml", "setup.py", "README.md"} <= names


@pytest.mark.slow
def test_a_fresh_environment_runs_the_installed_wheel_from_outside_the_checkout(distributions, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python, cli = venv / "bin" / "python", venv / "bin" / "vla-bench"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              str(distributions["wheel"])], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*args], cwd=outside, env=env, capture_output=True, text=True, timeout=600)

    imported = run(str(python), "-c", "import sys, vla_bench; print(vla_bench.__file__); "
                                      "print('torch' in sys.modules)")
    assert imported.returncode == 0, imported.stderr
    location, torch_loaded = imported.stdout.split()
    assert str(venv) in location and torch_loaded == "False"  # the installed copy, and the core needs no torch

    listed = run(str(cli), "list", "tasks")
    assert listed.returncode == 0 and "PickUp" in listed.stdout and "GoToObject" in listed.stdout

    ran = run(str(cli), "run", "--policy", "oracle", "--split", "train", "--tasks", "PickUp",
              "--episodes-per-task", "1", "--workers", "1", "--out", "run", "--no-progress")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "success 1.000" in ran.stdout and (outside / "run" / "summary.csv").is_file()

    served = run(str(cli), "bench", "--serving", "--tasks", "PickUp", "--steps", "5")  # serve + ws:// client installed
    assert served.returncode == 0 and "PickUp" in served.stdout, served.stderr[-3000:]

    learned = run(str(cli), "run", "--policy", "rt1", "--split", "train", "--tasks", "PickUp",
                  "--episodes-per-task", "1", "--out", "rt1")
    assert learned.returncode == 2
    assert "vla-bench: error:" in learned.stderr and "pip install 'vla-bench[baselines]'" in learned.stderr
