#!/usr/bin/env bash
# lerobot-act: an ACT policy trained with LeRobot's own training script on the suite's
# demonstrations, then evaluated through `--policy lerobot:DIR` on every split (the runner keeps
# the manipulation tasks: ACT reads the wrist camera, which navigation lacks). Run it inside the
# LeRobot environment (bash scripts/lerobot_env.sh .venv-lerobot; source .venv-lerobot/bin/activate)
# on a GPU machine; stages are skipped when their output exists, so an interrupted run goes on.
#   bash scripts/lerobot_act.sh [WORK_DIR]        (default: lerobot-act)
# EPISODES (per task, default 100), STEPS (default 5500), WORKERS (default: one per core),
# DEVICE (training, default cuda) and EVAL_DEVICE (default cpu: a copy per worker; cuda: one copy
# on the GPU serves every worker, see README "Evaluate a LeRobot policy") override; EVAL_ARGS adds
# to every run (a smoke test: EPISODES=1 STEPS=2 DEVICE=cpu EVAL_ARGS="--episodes-per-task 1").
set -euo pipefail
WORK=${1:-lerobot-act}
EPISODES=${EPISODES:-100}
STEPS=${STEPS:-5500}
WORKERS=${WORKERS:-$(nproc)}
DEVICE=${DEVICE:-cuda}
EVAL_DEVICE=${EVAL_DEVICE:-cpu}
read -r -a eval_args <<< "${EVAL_ARGS:-}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=disabled
mkdir -p "$WORK"

# the baselines' recipe: fresh train-split episodes, DART noise 0.2, successful demonstrations only,
# lossless frames (what evaluation renders)
[ -d "$WORK/demos" ] || vla-bench collect --split train --tasks OpenDrawer,CloseDrawer,PutInDrawer,PickUp,PushToRegion,PutIn,Stack \
  --episodes-per-task "$EPISODES" --action-noise 0.2 --lossless --workers "$WORKERS" --out "$WORK/demos" --no-progress

# ACT as its paper runs it (a chunk of 2 s, 20 steps at the suite's 10 Hz; temporal ensembling,
# acting every step), from scratch: ImageNet weights for its ResNet would be downloaded
CHECKPOINT="$WORK/train/checkpoints/$(printf %06d "$STEPS")/pretrained_model"
[ -d "$CHECKPOINT" ] || python -m lerobot.scripts.lerobot_train --dataset.repo_id=local/vla-bench \
  --dataset.root="$WORK/demos/manipulation" --policy.type=act --policy.device="$DEVICE" --policy.push_to_hub=false \
  --policy.pretrained_backbone_weights=null --policy.chunk_size=20 --policy.n_action_steps=1 \
  --policy.temporal_ensemble_coeff=0.01 --policy.optimizer_lr=3e-5 --policy.optimizer_lr_backbone=3e-5 \
  --steps="$STEPS" --batch_size=32 --num_workers="$WORKERS" --log_freq=500 --save_freq="$STEPS" \
  --output_dir="$WORK/train" --wandb.enable=false --seed=1000

# evaluation on CPU workers, one thread each, by default: 16 workers each holding a CUDA context on
# one GPU took 500 ms a step, one core each 66 ms (H100 machine, 16 cores)
for split in $(vla-bench list splits | awk '{print $1}'); do
  twin=(); [ "$split" = novel_disturbances ] && twin=(--twin-run "$WORK/runs/lerobot-act-train")
  vla-bench run --policy "lerobot:$CHECKPOINT" --policy-arg threads=1 --policy-arg device="$EVAL_DEVICE" \
    --split "$split" --workers "$WORKERS" \
    --out "$WORK/runs/lerobot-act-$split" --resume --no-progress "${twin[@]}" "${eval_args[@]}"
done
