#!/usr/bin/env bash
# serving.sh GPU CORES NAME [--policy-arg checkpoint=CKPT]: batched GPU serving through CUDA graphs,
# eagerly and (rt1 only) by a CPU copy per worker (issue 14), on GPU number GPU and the cores CORES
# (16 of them, as issue 14 measures it), on a machine nothing else is using: the 70-episode
# `novel_objects` slice of results/timing/h200-rt1-serving.md (7 per task, 16 workers), then `vla-bench
# bench`'s latency per call against batch size. Writes $ROUND/serving/NAME-*.txt and the slices' runs.
source scripts/experiments/gpu_round/env.sh
out=$ROUND/serving && mkdir -p $out
gpu=$1 cores=$2 name=$3; shift 3
SLICE=(--split novel_objects --episodes-per-task ${SLICE_EPT:-7} --workers ${WORKERS:-16} --no-progress)
timed() {  # timed NAME COMMAND...: the command's output in NAME.txt, its wall time appended
  local start=$(date +%s%N)
  "${@:2}" > $out/$1.txt 2>&1
  echo "exit $? wall $(( ($(date +%s%N) - start) / 1000000 )) ms" >> $out/$1.txt
}
for graphs in true false; do
  CUDA_VISIBLE_DEVICES=$gpu timed $name-slice-graphs-$graphs taskset -c $cores $VLA run --policy $name "$@" \
    --policy-arg device=cuda --policy-arg graphs=$graphs "${SLICE[@]}" --out $ROUND/runs/serving-$name-graphs-$graphs
done
[ "$name" = rt1 ] && CUDA_VISIBLE_DEVICES= timed $name-slice-cpu taskset -c $cores $VLA run --policy $name "$@" \
  "${SLICE[@]}" --out $ROUND/runs/serving-$name-cpu
for graphs in true false; do
  CUDA_VISIBLE_DEVICES=$gpu timed $name-batches-graphs-$graphs taskset -c $cores $VLA bench --policy $name "$@" \
    --policy-arg device=cuda --policy-arg graphs=$graphs --batch-sizes 1,2,4,8,16 --tasks PickUp --steps 30
done
