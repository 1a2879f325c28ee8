#!/usr/bin/env bash
# gl_compare.sh [EPISODES_PER_TASK]: issue 14's open question, where a batched worker's step goes.
# In rt1's full entry with 32 workers (results/timing/h200x2-rt1-full-suite-w32.md) a worker's step
# outside its waits took ~12 ms against 2-3 ms in `bench`: 32 EGL contexts time-sliced on the GPU the
# policy is served from, or 32 processes on 16 cores? The same `novel_objects` slice, rt1 served
# batched through CUDA graphs, rendered by EGL (GPU) and, where libOSMesa is installed, by OSMesa
# (CPU), with WORKERS (default "32 16"), WAITS_MS (--batch-wait-ms, default 5) and POLICIES (default
# rt1; oracle: no policy to serve); beside each run's wall time, cpu_share.py's CPU seconds of
# all its processes over the wall time × cores: near 1, the cores are the limit. Writes $ROUND/gl/.
source scripts/experiments/gpu_round/env.sh
mkdir -p $ROUND/gl
ept=${1:-20}
slice() {  # slice NAME GL WORKERS POLICY WAIT_MS: rt1 served on the GPU; oracle, the environments alone
  local args=(--policy $4 --batch-wait-ms $5); [ $4 = oracle ] || args+=(--policy-arg device=cuda)
  MUJOCO_GL=$2 PYOPENGL_PLATFORM=$2 python3 $REPO/scripts/experiments/gpu_round/cpu_share.py $ROUND/gl/$1.txt $3 \
    $(nproc) $VLA run "${args[@]}" --split novel_objects --episodes-per-task $ept --workers $3 --no-progress \
    --out $ROUND/gl/$1
  python3 -c "import json, sys; print(json.load(open(sys.argv[1])).get('batching'))" $ROUND/gl/$1/run.json
}
for workers in ${WORKERS:-32 16}; do
  for wait_ms in ${WAITS_MS:-5}; do
    for policy in ${POLICIES:-rt1}; do
      name=$policy-egl-w$workers; [ "$wait_ms" = 5 ] || name+=-b$wait_ms
      slice $name egl $workers $policy $wait_ms
      # OSMesa (rendering on the cores) only where libOSMesa is installed: setup.sh osmesa 1-3
      ldconfig -p | grep -q libOSMesa && slice ${name/egl/osmesa} osmesa $workers $policy $wait_ms
    done
  done
done
date +%s > $ROUND/gl/done
