#!/usr/bin/env bash
# workers.sh GPU_A CORES_A [GPU_B CORES_B]: issue 14's serving with two workers per core, on one or
# two GPUs a round leaves free, each with its own 16 cores. A worker of a batched policy waits for its batch
# about half the time, so with one worker per core the cores idle while the GPU computes; with two,
# half the workers step while the other half's batch is on the GPU.
#   A: rt1's full leaderboard entry batched through CUDA graphs with 32 workers
#      (scripts/time_full_suite.py, `vla-bench bench` of every task on the same machine at its end);
#   B: the whole `novel_objects` split, rt1 batched through the graphs with 16 and with 32 workers and
#      as a CPU copy per worker (16), one after another on the same GPU and cores; then oracle's full
#      entry with 16 workers (its own bench at the end). Without GPU_B, B runs after A on A's GPU and cores.
# Started in the background once setup.sh has installed the wheels and the instructions' embeddings:
#   (setsid nohup bash scripts/experiments/gpu_round/workers.sh 1 0-15 > /tmp/workers.out 2>&1 &)
# Writes $ROUND/timing/ (timing-rt1.*, timing-oracle.*, their runs) and $ROUND/serving/ (the split's runs).
source scripts/experiments/gpu_round/env.sh
mkdir -p $ROUND/timing $ROUND/serving
gpu_a=$1 cores_a=$2 gpu_b=${3:-$1} cores_b=${4:-$2}
suite=$REPO/scripts/time_full_suite.py
CUDA_VISIBLE_DEVICES=$gpu_a MUJOCO_EGL_DEVICE_ID=$gpu_a taskset -c $cores_a python3 $suite --policy rt1 \
  --policy-arg device=cuda --workers 32 --out $ROUND/timing > $ROUND/timing/rt1-full-suite.txt 2>&1 &
[ -n "${3:-}" ] || wait  # one GPU: B after A
(
  split() {  # split NAME WORKERS [ARGS...]: novel_objects, its wall time in serving/NAME.txt
    local name=$1 workers=$2 start=$(date +%s%N); shift 2
    MUJOCO_EGL_DEVICE_ID=$gpu_b taskset -c $cores_b $VLA run --policy rt1 "$@" --split novel_objects \
      --workers $workers --no-progress --out $ROUND/serving/$name > $ROUND/serving/$name.txt 2>&1
    echo "exit $? wall $(( ($(date +%s%N) - start) / 1000000 )) ms" >> $ROUND/serving/$name.txt
  }
  CUDA_VISIBLE_DEVICES=$gpu_b split rt1-graphs-w16 16 --policy-arg device=cuda
  CUDA_VISIBLE_DEVICES=$gpu_b split rt1-graphs-w32 32 --policy-arg device=cuda
  CUDA_VISIBLE_DEVICES= split rt1-cpu-w16 16
  CUDA_VISIBLE_DEVICES=$gpu_b MUJOCO_EGL_DEVICE_ID=$gpu_b taskset -c $cores_b python3 $suite --policy oracle \
    --workers 16 --out $ROUND/timing > $ROUND/timing/oracle-full-suite.txt 2>&1
) &
wait
date +%s > $ROUND/timing/done
