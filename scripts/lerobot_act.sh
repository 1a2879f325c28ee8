#!/usr/bin/env bash
# lerobot-act: an ACT policy trained with LeRobot's own training script on the suite's
# demonstrations, then evaluated through `--policy lerobot:DIR` on every split (the runner keeps
# the manipulation tasks: ACT reads the wrist camera, which navigation lacks). Run it inside the
# LeRobot environment (bash scripts/lerobot_env.sh .venv-lerobot; source .venv-lerobot/bin/activate)
# on a GPU machine; stages are skipped when their output exists, so an interrupted run goes on.
#   bash scripts/lerobot_act.sh [WORK_DIR]        (default: lerobot-act)
# DEMOS (a folder `vla-bench collect` wrote, such as the baselines' data/demos: train on its
# manipulation dataset instead of collecting), EPISODES (per task, default 100), NOISE (DART's,
# default 0.05), STEPS (default 5500), WORKERS (evaluation, default: one per core), LOADERS
# (training's data-loading processes, default 16), DEVICE (training, default cuda) and EVAL_DEVICE
# (default cpu: a copy per worker; cuda: one copy on the GPU serves every worker, see README
# "Evaluate a LeRobot policy") and SPLITS (default: every split) override; EVAL_ARGS adds to every run (a smoke test: EPISODES=1
# STEPS=2 DEVICE=cpu EVAL_ARGS="--episodes-per-task 1").
set -euo pipefail
WORK=${1:-lerobot-act}
EPISODES=${EPISODES:-100}
NOISE=${NOISE:-0.05}
STEPS=${STEPS:-5500}
WORKERS=${WORKERS:-$(nproc)}
LOADERS=${LOADERS:-16}
DEVICE=${DEVICE:-cuda}
EVAL_DEVICE=${EVAL_DEVICE:-cpu}
read -r -a eval_args <<< "${EVAL_ARGS:-}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=disabled
mkdir -p "$WORK"

# the baselines' recipe (scripts/reproduce_baselines.sh demos, manipulation only): fresh train-split
# episodes of seed 1, successful demonstrations only, lossless frames (what evaluation renders); DART
# noise 0.05, which results/baselines/experiments.md section 5 found no harder to imitate than none
# while 0.2 was. A task's episodes depend only on its name, the seed and their index, so these are
# the baselines' own demonstrations of the same seed, EPISODES and NOISE.
DEMOS=${DEMOS:-$WORK/demos}
[ -d "$DEMOS" ] || vla-bench collect --split train --seed 1 \
  --tasks $(vla-bench list tasks | awk '$2 == "manipulation" {printf "%s%s", sep, $1; sep = ","}') \
  --episodes-per-task "$EPISODES" --action-noise "$NOISE" --lossless --workers "$WORKERS" --out "$DEMOS" --no-progress

# ACT as its paper runs it (a chunk of 2 s, 20 steps at the suite's 10 Hz; temporal ensembling,
# acting every step), from scratch: ImageNet weights for its ResNet would be downloaded
CHECKPOINT="$WORK/train/checkpoints/$(printf %06d "$STEPS")/pretrained_model"
[ -d "$CHECKPOINT" ] || python -m lerobot.scripts.lerobot_train --dataset.repo_id=local/vla-bench \
  --dataset.root="$DEMOS/manipulation" --policy.type=act --policy.device="$DEVICE" --policy.push_to_hub=false \
  --policy.pretrained_backbone_weights=null --policy.chunk_size=20 --policy.n_action_steps=1 \
  --policy.temporal_ensemble_coeff=0.01 --policy.optimizer_lr=3e-5 --policy.optimizer_lr_backbone=3e-5 \
  --steps="$STEPS" --batch_size=32 --num_workers="$LOADERS" --log_freq=500 --save_freq="$STEPS" \
  --output_dir="$WORK/train" --wandb.enable=false --seed=1000

# evaluation on CPU workers, one thread each, by default: 16 workers each holding a CUDA context on
# one GPU took 500 ms a step, one core each 66 ms (H100 machine, 16 cores)
for split in ${SPLITS:-$(vla-bench list splits | awk '{print $1}')}; do
  twin=(); [ "$split" = novel_disturbances ] && twin=(--twin-run "$WORK/runs/lerobot-act-train")
  vla-bench run --policy "lerobot:$CHECKPOINT" --policy-arg threads=1 --policy-arg device="$EVAL_DEVICE" \
    --split "$split" --workers "$WORKERS" \
    --out "$WORK/runs/lerobot-act-$split" --resume --no-progress "${twin[@]}" "${eval_args[@]}"
done
