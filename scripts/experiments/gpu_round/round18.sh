#!/usr/bin/env bash
# GPU round 18: do rt2 and palme act once they cannot steer by the arm's state (--config
# proprio=false, as RT-2 and PaLM-E read no proprio) and commit to chunks of 4 actions executed with
# temporal ensembling (--config chunk=4, as bcz)? Round 17's FiLM palme matched the oracle when the
# oracle drove and stalled when it drove itself, its actions set by the hand's orientation and
# joint angles (experiments.md, section 18). Up to four trainings side by side, one per GPU, each
# then run on all 500 `train` episodes batched on its GPU. Started in the background once setup.sh
# has installed the wheels; it collects the demonstrations while SmolLM2's weights still arrive.
#   (setsid nohup bash scripts/experiments/gpu_round/round18.sh > /tmp/round.out 2>&1 &)
# STEPS, EPISODES (demonstrations per task), BATCH, DEVICE, WORKERS, RUN_EPT (episodes per task
# run) and COMPILE (empty: eager) shrink it for a dry run on a CPU; LANES (default: one per GPU)
# says how many of the four trainings run.
source scripts/experiments/gpu_round/env.sh
mkdir -p $ROUND/logs $ROUND/ckpt $ROUND/runs
nvidia-smi --query-gpu=name,memory.used --format=csv > $ROUND/logs/gpus.txt 2>&1
python3 -c "import torch, mujoco, gymnasium, pyarrow, pandas, PIL, matplotlib, scipy, gguf, tokenizers, safetensors
print('imports ok', torch.__version__, mujoco.__version__)" > $ROUND/logs/imports.txt 2>&1
[ -d $ROUND/demos ] || $VLA collect --split train --seed 1 --episodes-per-task ${EPISODES:-300} --action-noise 0.05 \
  --workers 0 --out $ROUND/demos --lossless --no-progress > $ROUND/logs/collect.log 2>&1
for _ in $(seq 60); do [ -f /tmp/gguf.ok ] && break; sleep 5; done  # setup.sh smol: SmolLM2's weights
[ -f /tmp/gguf.ok ] || { echo "SmolLM2's weights never arrived (setup.sh smol)" >&2; date +%s > $ROUND/logs/round.done; exit 1; }

KEYPOINTS=(--config keypoint_weight=10.0 --config keypoint_tokens=16)
FILM=(--config vision=film_resnet --config keypoint_input=frame)
GPUS=$(nvidia-smi -L 2>/dev/null | wc -l); [ "$GPUS" -ge 1 ] || GPUS=1
LANES=${LANES:-$GPUS}  # the first LANES lanes run, in the order below (most promising first)
lane() {  # lane N NAME MODEL CONFIG...: train, then all 500 train episodes batched on GPU N mod GPUS
  [ "$1" -lt "$LANES" ] || return 0
  local gpu=$(( $1 % GPUS )) name=$2 model=$3; shift 3
  CUDA_VISIBLE_DEVICES=$gpu $VLA train $model --data $ROUND/demos --out $ROUND/ckpt/$name.safetensors \
    ${COMPILE---compile} --steps ${STEPS:-5000} --batch-size ${BATCH:-128} "$@" > $ROUND/logs/$name.train.log 2>&1 &&
  CUDA_VISIBLE_DEVICES=$gpu $VLA run --policy $model --policy-arg checkpoint=$ROUND/ckpt/$name.safetensors \
    --policy-arg device=${DEVICE:-cuda} --split train --workers ${WORKERS:-14} --episodes-per-task ${RUN_EPT:-50} \
    --name $name --out $ROUND/runs/$name-train --step-timeout 120 > $ROUND/logs/$name.run.log 2>&1
}
lane 0 palme-np-c4 palme "${KEYPOINTS[@]}" "${FILM[@]}" --config proprio=false --config chunk=4 &
lane 1 rt2-np-c4 rt2 "${KEYPOINTS[@]}" "${FILM[@]}" --config proprio=false --config chunk=4 &
lane 2 palme-c4 palme "${KEYPOINTS[@]}" "${FILM[@]}" --config chunk=4 &  # the chunk alone
lane 3 palme-np palme "${KEYPOINTS[@]}" "${FILM[@]}" --config proprio=false &  # no proprio alone
wait
date +%s > $ROUND/logs/round.done
