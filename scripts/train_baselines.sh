#!/usr/bin/env bash
# Reproduces the shipped baseline checkpoints (baselines/checkpoints/{bcz,rt1}.safetensors):
# the oracle's demonstrations on fresh train-split episodes (seed 1, DART noise 0.2), then both
# trainings with the settings the shipped files record in their metadata. On one H100 this took
# 113 s + 286 s (bcz) + 371 s (rt1); on a CPU it is many hours.
#   bash scripts/train_baselines.sh [DATA_DIR] [CHECKPOINT_DIR]
set -euo pipefail
DATA=${1:-data/train-demos}
OUT=${2:-baselines/checkpoints}
[ -f "$DATA/meta/info.json" ] || vla-bench collect --split train --seed 1 --episodes-per-task 200 --action-noise 0.2 --out "$DATA"
vla-bench train bcz --data "$DATA" --out "$OUT/bcz.safetensors" --steps 8000 --batch-size 128 --seed 0
vla-bench train rt1 --data "$DATA" --out "$OUT/rt1.safetensors" --steps 3500 --batch-size 64 --seed 0
