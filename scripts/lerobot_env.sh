#!/usr/bin/env bash
# A virtual environment with LeRobot and this checkout of vla-bench (the `lerobot` extra), for
# `--policy lerobot:DIR`, LeRobot's own training on `vla-bench collect` data, and the tests that
# prove both. LeRobot 0.4.4 pins PyTorch below 2.11 (a CUDA build from PyPI, about 3 GB with its
# libraries), so it gets an environment of its own rather than the suite's.
#   bash scripts/lerobot_env.sh [VENV]      (default: .venv-lerobot)
# Running it again on the same VENV only points it at this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-lerobot}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[lerobot]"
echo "LeRobot environment ready: $venv (activate with: source $venv/bin/activate)"
