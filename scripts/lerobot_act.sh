#!/usr/bin/env bash
# lerobot-act: an ACT policy trained with LeRobot's own training script on the suite's
# demonstrations, then evaluated through `--policy lerobot:DIR` on every split, or those SPLITS
# names (the runner keeps the manipulation tasks: ACT reads the wrist camera, which navigation
# lacks). Run it inside the LeRobot environment (bash scripts/lerobot_env.sh .venv-lerobot; source
# .venv-lerobot/bin/activate) on a GPU machine; stages are skipped when their output exists, so an
# interrupted run goes on, and runs of it on one WORK_DIR with other SPLITS share one checkpoint.
#   bash scripts/lerobot_act.sh [WORK_DIR]        (default: lerobot-act)
# Overrides:
#   EPISODES     demonstrations per task (default 100)
#   NOISE        DART's noise on the demonstrations (default 0.05)
#   DEMOS        a folder `vla-bench collect` wrote: train on its manipulation dataset (all of its
#                episodes, with its own noise) instead of collecting; EPISODES and NOISE then do nothing
#   STEPS        training steps (default 5500)
#   LOADERS      training's data-loading processes (default 16)
#   DEVICE       training's device (default cuda)
#   WORKERS      evaluation workers (default: one per core)
#   EVAL_DEVICE  cpu (default: a copy per worker) or cuda (one copy on the GPU serves every worker,
#                see README "Evaluate a LeRobot policy")
#   SPLITS       space-separated splits to run (default: every split; novel_disturbances reads the
#                train run of the same WORK_DIR for its recovery rate when that run exists); SPLITS=""
#                collects and trains only
#   EVAL_ARGS    added to every run
# A smoke test: EPISODES=1 STEPS=2 DEVICE=cpu EVAL_ARGS="--episodes-per-task 1".
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

# What `NOISE=0.05 bash scripts/reproduce_baselines.sh demos` collects, manipulation only and the
# first EPISODES per task (a task's episodes depend only on its name, the seed and their index):
# fresh train-split episodes of seed 1, successful demonstrations only, lossless frames (what
# evaluation renders). DART noise 0.05: on PickUp, results/baselines/experiments.md section 5 found
# it no harder to imitate than none, and 0.2 (the shipped baselines' noise) much harder.
DEMOS=${DEMOS:-$WORK/demos}
if [ ! -d "$DEMOS" ]; then
  TASKS=$(vla-bench list tasks --domain manipulation | awk '{print $1}' | paste -sd, -)
  vla-bench collect --split train --seed 1 --tasks "$TASKS" --episodes-per-task "$EPISODES" --action-noise "$NOISE" \
    --lossless --workers "$WORKERS" --out "$DEMOS" --no-progress
fi

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
SPLITS=${SPLITS-$(vla-bench list splits | awk '{print $1}')}
for split in $SPLITS; do
  twin=()
  if [ "$split" = novel_disturbances ] && [ -f "$WORK/runs/lerobot-act-train/episodes.jsonl" ]; then
    twin=(--twin-run "$WORK/runs/lerobot-act-train")
  fi
  vla-bench run --policy "lerobot:$CHECKPOINT" --policy-arg threads=1 --policy-arg device="$EVAL_DEVICE" \
    --split "$split" --workers "$WORKERS" \
    --out "$WORK/runs/lerobot-act-$split" --resume --no-progress "${twin[@]}" "${eval_args[@]}"
done
