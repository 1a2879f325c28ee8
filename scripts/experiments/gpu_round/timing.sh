#!/usr/bin/env bash
# timing.sh GPU_A CORES_A GPU_B CORES_B [PALME_CKPT]: issue 14's timings on two GPUs a round leaves
# free, each with its own 16 cores, side by side with the round (which then keeps to other cores:
# round20.sh's ROUND_CORES):
#   A: rt1's full leaderboard entry, every committed split batched on the GPU through CUDA graphs
#      (scripts/time_full_suite.py, with `vla-bench bench` on the same machine at its end);
#   B: rt1 served batched through the graphs, eagerly and by a CPU copy per worker on the whole
#      `novel_objects` split (serving.sh, 50 episodes per task), then palme (PALME_CKPT, once
#      SmolLM2's weights are in) through the graphs and eagerly on its 70-episode slice.
# Started in the background once setup.sh has installed the wheels and the instructions' embeddings:
#   (setsid nohup bash scripts/experiments/gpu_round/timing.sh 2 32-47 3 48-63 /tmp/palme.safetensors > /tmp/timing.out 2>&1 &)
# Writes $ROUND/timing/ (the full suite's timing-rt1.md and .json, its runs) and $ROUND/serving/.
source scripts/experiments/gpu_round/env.sh
mkdir -p $ROUND/timing $ROUND/serving
gpu_a=$1 cores_a=$2 gpu_b=$3 cores_b=$4 palme=${5:-}
serving=$REPO/scripts/experiments/gpu_round/serving.sh
CUDA_VISIBLE_DEVICES=$gpu_a MUJOCO_EGL_DEVICE_ID=$gpu_a taskset -c $cores_a python3 $REPO/scripts/time_full_suite.py --policy rt1 \
  --policy-arg device=cuda --workers 16 --out $ROUND/timing > $ROUND/timing/rt1-full-suite.txt 2>&1 &
(  # serving.sh starts from the repository root, as env.sh expects
  cd $REPO && SLICE_EPT=50 bash $serving $gpu_b $cores_b rt1
  for _ in $(seq 120); do [ -f /tmp/gguf.ok ] && break; sleep 5; done
  [ -n "$palme" ] && bash $serving $gpu_b $cores_b palme --policy-arg checkpoint=$palme
) &
wait
date +%s > $ROUND/timing/done
