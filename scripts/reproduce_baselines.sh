#!/usr/bin/env bash
# Reproduces the learned baselines end to end: the oracle's demonstrations, the shipped checkpoints
# (baselines/checkpoints/{rt1,bcz}.safetensors), the data-scaling and training-steps curves, and
# the official runs. Stages run in the order given (default: all of them):
#   bash scripts/reproduce_baselines.sh [demos] [train] [runs] [curves] [results]
#   demos    the oracle on fresh train-split episodes of all ten tasks (seed 1), twice: with DART
#            noise 0.2 (rt1's data) and 0.05 (bcz's; results/baselines/experiments.md sections 5 and 12)
#   train    rt1 and bcz on all of their data, and bcz's recipe on the first 30 and 100 per task,
#            side by side on one GPU
#   runs     rt1 and bcz on every committed split, and on train with --instruction-mode blank and shuffled
#   curves   the curve checkpoints (rt1's and bcz's snapshots, bcz's 30/100-per-task models) on the train split
#   results  results/curves/*, results/leaderboard.csv and results/report/
# DATA (prefix of the two datasets, default data/demos: data/demos-noise0.2 and data/demos-noise0.05),
# EPISODES (per task, default 300), TRAINING (checkpoints, snapshots and logs; default
# data/training), WORKERS and VLA_BENCH as in official_results.sh.
set -euo pipefail
VLA=${VLA_BENCH:-vla-bench}
DATA=${DATA:-data/demos}
EPISODES=${EPISODES:-300}
TRAINING=${TRAINING:-data/training}
CURVE_EPISODES="30 100"
WORKERS=${WORKERS:-0}
CHECKPOINTS=baselines/checkpoints
RT1_DATA=$DATA-noise0.2
RT1_STEPS=6000
BCZ_DATA=$DATA-noise0.05
BCZ_STEPS=10000
# bcz as shipped: spatial-softmax keypoints read from the current frame, with the keypoint head's
# loss weighted 10 (experiments.md section 12)
BCZ_RECIPE=(--steps $BCZ_STEPS --batch-size 128 --config pooling=spatial_softmax --config keypoint_input=frame
            --config keypoint_weight=10.0)

run() {  # run POLICY SPLIT OUT [ARGS...]: an official run, resumed if it was interrupted
  local policy=$1 split=$2 out=$3
  shift 3
  $VLA run --policy "$policy" --split "$split" --workers "$WORKERS" --out "$out" --resume --no-progress "$@"
}

for stage in ${*:-demos train runs curves results}; do
  case $stage in
    demos)
      # lossless: the baselines train on frames exactly as the evaluation renders them, not on video
      for noise in 0.2 0.05; do
        [ -d "$DATA-noise$noise" ] || $VLA collect --split train --seed 1 --episodes-per-task "$EPISODES" \
          --action-noise "$noise" --workers "$WORKERS" --out "$DATA-noise$noise" --lossless --no-progress
      done ;;
    train)
      mkdir -p "$TRAINING"
      pids=()
      $VLA train rt1 --data "$RT1_DATA" --out "$TRAINING/rt1.safetensors" --steps $RT1_STEPS --batch-size 96 \
        --snapshot-every $((RT1_STEPS / 4)) --no-progress & pids+=($!)
      $VLA train bcz --data "$BCZ_DATA" --out "$TRAINING/bcz.safetensors" "${BCZ_RECIPE[@]}" \
        --snapshot-every $((BCZ_STEPS / 4)) --no-progress & pids+=($!)
      for n in $CURVE_EPISODES; do
        $VLA train bcz --data "$BCZ_DATA" --episodes-per-task "$n" --out "$TRAINING/bcz-demos-$n.safetensors" \
          "${BCZ_RECIPE[@]}" --no-progress & pids+=($!)
      done
      for pid in "${pids[@]}"; do wait "$pid"; done
      mkdir -p results/baselines
      for policy in rt1 bcz; do
        cp "$TRAINING/$policy.safetensors" $CHECKPOINTS/
        cp "$TRAINING/$policy.log.json" "$TRAINING/$policy.loss.png" results/baselines/
      done ;;
    runs)
      POLICIES="rt1 bcz" VLA_BENCH="$VLA" WORKERS="$WORKERS" bash scripts/official_results.sh runs --runs-only
      for policy in rt1 bcz; do
        for mode in blank shuffled; do
          run "$policy" train "runs/$policy-train-$mode" --instruction-mode "$mode"
        done
      done ;;
    curves)
      for n in $CURVE_EPISODES; do
        run bcz train "runs/curves/bcz-demos-$n" --policy-arg checkpoint="$TRAINING/bcz-demos-$n.safetensors"
      done
      for policy in rt1 bcz; do
        for snapshot in "$TRAINING/$policy".step-*.safetensors; do
          [ -f "$snapshot" ] || continue
          steps=${snapshot##*.step-}
          run "$policy" train "runs/curves/$policy-steps-${steps%.safetensors}" --policy-arg checkpoint="$snapshot"
        done
      done ;;
    results)
      python -m vla_bench.baselines.curves runs -o results/curves
      bash scripts/official_results.sh runs ;;
    *) echo "unknown stage $stage; stages: demos train runs curves results" >&2; exit 2 ;;
  esac
done
