#!/usr/bin/env bash
# gl_compare.sh [EPISODES_PER_TASK]: issue 14's open question, where a batched worker's step goes.
# In rt1's full entry with 32 workers (results/timing/h200x2-rt1-full-suite-w32.md) a worker's step
# outside its waits took ~12 ms against 2-3 ms in `bench`: 32 EGL contexts time-sliced on the GPU the
# policy is served from, or 32 processes on 16 cores? The same `novel_objects` slice, rt1 served
# batched through CUDA graphs, rendered by EGL (GPU) and, where libOSMesa is installed, by OSMesa
# (CPU), with WORKERS (default "32 16"); beside each run's wall time, cpu_share.py's CPU seconds of
# all its processes over the wall time × cores: near 1, the cores are the limit. Writes $ROUND/gl/.
source scripts/experiments/gpu_round/env.sh
mkdir -p $ROUND/gl
ept=${1:-20}
slice() {  # slice NAME GL WORKERS
  MUJOCO_GL=$2 PYOPENGL_PLATFORM=$2 python3 $REPO/scripts/experiments/gpu_round/cpu_share.py $ROUND/gl/$1.txt $3 \
    $(nproc) $VLA run --policy rt1 --policy-arg device=cuda --split novel_objects --episodes-per-task $ept \
    --workers $3 --no-progress --out $ROUND/gl/$1
}
for workers in ${WORKERS:-32 16}; do
  slice egl-w$workers egl $workers
  # OSMesa (rendering on the cores) only where the GL kit brings libOSMesa: the 2026-11-29 one did not
  ldconfig -p | grep -q libOSMesa && slice osmesa-w$workers osmesa $workers
done
date +%s > $ROUND/gl/done
