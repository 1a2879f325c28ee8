#!/usr/bin/env bash
# serving.sh GPU CORES NAME [--policy-arg checkpoint=CKPT]: batched GPU serving through CUDA graphs,
# eagerly and (rt1 only) by a CPU copy per worker (issue 14), on GPU number GPU and the cores CORES
# (16 of them, as issue 14 measures it): the `novel_objects` split, SLICE_EPT episodes per task
# (default 7: the 70-episode slice of results/timing/h200-rt1-serving.md; 50: all of it), 16
# workers, then `vla-bench bench`'s latency per call against batch size. Writes
# $ROUND/serving/NAME-ept<SLICE_EPT>-*.txt, NAME-batches-*.txt and the slices' runs. The workers
# render on GPU too (MUJOCO_EGL_DEVICE_ID), the CPU copies' run included.
source scripts/experiments/gpu_round/env.sh
out=$ROUND/serving && mkdir -p $out
gpu=$1 cores=$2 name=$3; shift 3
ept=${SLICE_EPT:-7}
SLICE=(--split novel_objects --episodes-per-task $ept --workers ${WORKERS:-16} --no-progress)
timed() {  # timed NAME COMMAND...: the command's output in NAME.txt, its wall time appended
  local start=$(date +%s%N)
  "${@:2}" > $out/$1.txt 2>&1
  echo "exit $? wall $(( ($(date +%s%N) - start) / 1000000 )) ms" >> $out/$1.txt
}
for graphs in true false; do
  CUDA_VISIBLE_DEVICES=$gpu MUJOCO_EGL_DEVICE_ID=$gpu timed $name-ept$ept-graphs-$graphs taskset -c $cores $VLA run --policy $name "$@" \
    --policy-arg device=cuda --policy-arg graphs=$graphs "${SLICE[@]}" --out $ROUND/runs/serving-$name-ept$ept-graphs-$graphs
done
[ "$name" = rt1 ] && CUDA_VISIBLE_DEVICES= MUJOCO_EGL_DEVICE_ID=$gpu timed $name-ept$ept-cpu taskset -c $cores $VLA run --policy $name "$@" \
  "${SLICE[@]}" --out $ROUND/runs/serving-$name-ept$ept-cpu
for graphs in true false; do
  CUDA_VISIBLE_DEVICES=$gpu MUJOCO_EGL_DEVICE_ID=$gpu timed $name-batches-graphs-$graphs taskset -c $cores $VLA bench --policy $name "$@" \
    --policy-arg device=cuda --policy-arg graphs=$graphs --batch-sizes 1,2,4,8,16 --tasks PickUp --steps 30
done
