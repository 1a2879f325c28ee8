#!/usr/bin/env bash
# The design-space table (results/ablations.csv + PNG): every variant of the `ablation` baseline
# trained on the same demonstrations with the same budget, then run on every committed split,
# then ranked with intervals by `vla-bench leaderboard`, and each variant compared with the base
# on the same episodes, all splits pooled (`vla-bench compare`, results/ablations-paired.txt).
# Stages (default: all):
#   bash scripts/ablations.sh [train] [runs] [table]
# DATA (demonstrations, as scripts/reproduce_baselines.sh's demos stage makes them; default
# data/demos), STEPS (default 4000 of 128), TRAINING (default data/ablations), RUNS (default
# runs/ablations), VARIANTS (default all of baselines/ablation/configuration.py's), SPLITS (default
# every committed split), EPISODES (episodes per task; default 10: 100 per split, 600 per variant,
# paired across variants because every variant meets the same episodes), DEVICES (GPUs, one
# training on each at a time; default "cuda"), WORKERS and VLA_BENCH as in official_results.sh.
set -euo pipefail
VLA=${VLA_BENCH:-vla-bench}
DATA=${DATA:-data/demos}
STEPS=${STEPS:-4000}
TRAINING=${TRAINING:-data/ablations}
RUNS=${RUNS:-runs/ablations}
VARIANTS=${VARIANTS:-base vit pretrained_cnn early_fusion late_fusion cross_attention binned chunked}
SPLITS=${SPLITS:-}
EPISODES=${EPISODES:-10}
read -r -a DEVICES <<< "${DEVICES:-cuda}"
WORKERS=${WORKERS:-0}

for stage in ${*:-train runs table}; do
  case $stage in
    train)
      # one training per device at a time (each holds the whole dataset on its device)
      mkdir -p "$TRAINING"
      pending=(); for variant in $VARIANTS; do [ -f "$TRAINING/$variant.safetensors" ] || pending+=("$variant"); done
      failed=()
      for ((first = 0; first < ${#pending[@]}; first += ${#DEVICES[@]})); do
        pids=(); names=()
        for ((k = 0; k < ${#DEVICES[@]} && first + k < ${#pending[@]}; k++)); do
          variant=${pending[$((first + k))]}
          $VLA train ablation --data "$DATA" --out "$TRAINING/$variant.safetensors" --steps "$STEPS" --batch-size 128 \
            --config variant="$variant" --device "${DEVICES[$k]}" --no-progress & pids+=($!); names+=("$variant")
        done
        for k in "${!pids[@]}"; do wait "${pids[$k]}" || failed+=("${names[$k]}"); done
      done
      [ ${#failed[@]} -eq 0 ] || { echo "training failed: ${failed[*]}" >&2; exit 1; } ;;
    runs)
      # split by split, so that a run cut short leaves every variant on the same splits
      for split in ${SPLITS:-$($VLA list splits | awk '{print $1}')}; do
        for variant in $VARIANTS; do
          $VLA run --policy ablation --policy-arg checkpoint="$TRAINING/$variant.safetensors" --name "ablation-$variant" \
            --split "$split" --episodes-per-task "$EPISODES" --workers "$WORKERS" --out "$RUNS/ablation-$variant-$split" --resume --no-progress
        done
      done ;;
    table)
      $VLA leaderboard "$RUNS"/ablation-* -o results/ablations.csv
      for variant in $VARIANTS; do
        [ "$variant" = base ] && continue
        echo "## $variant against base, every split pooled"
        $VLA compare "$RUNS"/ablation-"$variant"-* --against "$RUNS"/ablation-base-*
        echo
      done > results/ablations-paired.txt.partial
      mv results/ablations-paired.txt.partial results/ablations-paired.txt ;;
    *) echo "unknown stage $stage; stages: train runs table" >&2; exit 2 ;;
  esac
done
