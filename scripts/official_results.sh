#!/usr/bin/env bash
# Regenerates the official results: every built-in policy on every committed split (all tasks a
# policy fits; train first, so novel_disturbances pairs with it for the recovery rate), the
# learned baselines' language-reliance controls on train (blank and shuffled instructions),
# short runs that only record episodes for the report's video gallery (the first 3 train
# episodes per task), then results/leaderboard.csv (+ PNG) and results/report/.
# Interrupted runs resume.
#   bash scripts/official_results.sh [RUNS_DIR] [--runs-only]
# POLICIES (default "oracle random rt1 bcz"), LEARNED (default "rt1 bcz"; set empty, none) and WORKERS (default:
# one per core) override; VLA_BENCH names the command (default vla-bench).
set -euo pipefail
RUNS=${1:-runs}
VLA=${VLA_BENCH:-vla-bench}
POLICIES=${POLICIES-oracle random rt1 bcz}  # unset: the default; set, even empty: as given
LEARNED=${LEARNED-rt1 bcz}
WORKERS=${WORKERS:-0}
for policy in $POLICIES; do
  for split in $($VLA list splits | awk '{print $1}'); do
    $VLA run --policy "$policy" --split "$split" --workers "$WORKERS" --out "$RUNS/$policy-$split" --resume --no-progress
  done
done
for policy in $LEARNED; do
  for mode in blank shuffled; do
    $VLA run --policy "$policy" --split train --instruction-mode "$mode" --workers "$WORKERS" \
      --out "$RUNS/$policy-train-$mode" --resume --no-progress
  done
done
gallery=()
for policy in $LEARNED oracle; do
  $VLA run --policy "$policy" --split train --episodes-per-task 3 --record-video 3 --workers "$WORKERS" \
    --out "$RUNS/gallery/$policy-train" --resume --no-progress
  gallery+=("$RUNS/gallery/$policy-train")
done
[ "${2:-}" = "--runs-only" ] && exit 0
runs=$(ls -d "$RUNS"/*-*)
# lerobot-act's committed runs (scripts/lerobot_act.sh makes them, in LeRobot's environment) keep
# their rows, ranked on their own task set
$VLA leaderboard $runs results/lerobot_act/runs/lerobot-act-* -o results/leaderboard.csv
$VLA report $runs -o results/report --gallery "${gallery[@]}"
