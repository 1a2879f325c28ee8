#!/usr/bin/env bash
# Packs what an offline GPU machine (Python 3.12, x86-64, PyTorch and pandas/pyarrow/scipy already
# there, no package registry) needs to run the suite from this checkout, into .kit/ (git-ignored
# through .git/info/exclude), in folders of at most ~19 MiB so that each fits one transfer beside
# the repository:
#   .kit/gl      EGL/GL loader packages (.deb, unpacked with dpkg -x), and the matplotlib extras
#   .kit/pbd     the pybullet_data files the suite reads (the Panda, the objects' meshes, textures)
#   .kit/whl     the suite's own wheels (MuJoCo, Gymnasium, safetensors, tokenizers, gguf, ...)
#   .kit/table   all-MiniLM-L6-v2's embeddings of every committed instruction and of a collection
#                with seed 1 and 300 per task (the weights themselves are 91 MB)
#   .kit/whlm    matplotlib and Pillow, installed there only where missing
#   .kit/smol1-5 SmolLM2-135M's GGUF weights for rt2 and palme, in five parts
#   .kit/osm1-3  libOSMesa and the LLVM it renders with (Debian bookworm, as .kit/gl), for rendering
#                on the cores beside EGL (gl_compare.sh); LLVM's package is split over all three
# On the machine, in this order: setup.sh gl, whl, table, whlm, smol 1 ... smol 5 (README.md beside it).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
grep -qx '/.kit/' .git/info/exclude 2>/dev/null || echo '/.kit/' >> .git/info/exclude
rm -rf .kit && mkdir -p .kit/gl/whlg .kit/pbd/pybullet_data .kit/whl .kit/whlm .kit/table
site=$(python -c "import site; print(site.getsitepackages()[0])")

wheel() {  # wheel DIR NAME...: each package at this machine's version, built for the GPU machine
  local dir=$1; shift
  for name in "$@"; do
    python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any -d "$dir" \
      "$name==$(python -m pip show "$name" | awk '/^Version/ {print $2}')"
  done
}
wheel .kit/whl mujoco mujoco-core glfw pyopengl gymnasium farama-notifications cloudpickle msgpack websockets \
  safetensors tokenizers tqdm gguf pyyaml imageio
wheel .kit/whlm matplotlib pillow
wheel .kit/gl/whlg fonttools kiwisolver contourpy cycler pyparsing python-dateutil

o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial && apt-get $o update -qq
(cd .kit/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>/dev/null)
mkdir -p .kit/osm1 .kit/osm2 .kit/osm3
(cd .kit/osm1 && apt-get $o download libosmesa6 libglapi-mesa libz3-4 libedit2 libbsd0 libmd0 libxml2 2>/dev/null)
(cd .kit/osm2 && apt-get $o download libicu72 libllvm15 2>/dev/null)
llvm=$(ls .kit/osm2/libllvm15_*.deb)  # 23 MB: 5 MiB beside the table's call, 9 beside ICU, the rest alone
dd if="$llvm" of=.kit/osm1/llvm.part.aa bs=1M count=5 status=none
dd if="$llvm" of=.kit/osm2/llvm.part.ab bs=1M skip=5 count=9 status=none
dd if="$llvm" of=.kit/osm3/llvm.part.ac bs=1M skip=14 status=none
md5sum "$llvm" | cut -d' ' -f1 > .kit/osm3/llvm.md5 && rm "$llvm"

# pybullet's wheel is far larger than the files the suite reads from it
data=$(python -c "import pybullet_data; print(pybullet_data.getDataPath())")
cp "$data/__init__.py" .kit/pbd/pybullet_data/ && cp -r "$data/franka_panda" .kit/pbd/pybullet_data/
for f in $(python -c "import json, pathlib, re; print(' '.join(sorted({m for p in pathlib.Path('assets').glob('*.json')
           for m in re.findall(r'\"file\":\s*\"([^\"]+)\"', p.read_text())})))"); do
  mkdir -p ".kit/pbd/pybullet_data/$(dirname "$f")" && cp "$data/$f" ".kit/pbd/pybullet_data/$f"
done

python -m vla_bench.baselines.language -o .kit/table/instructions.npz --draw train:1:300

gguf=$(python -c "from vla_bench.baselines.pretrained.smollm2 import find_weights; print(find_weights())")
mkdir -p /tmp/gguf-parts && rm -f /tmp/gguf-parts/* && split -b 19M "$gguf" /tmp/gguf-parts/gguf.part.
i=0; for part in /tmp/gguf-parts/gguf.part.*; do i=$((i + 1)); mkdir -p .kit/smol$i && mv "$part" .kit/smol$i/; done
md5sum "$gguf" | cut -d' ' -f1 > .kit/smol$i/gguf.md5
du -sh .kit/*
echo "the repository's tracked files: $(git ls-files -z | xargs -0 stat -c %s | awk '{s += $1} END {printf "%.1f MiB", s / 2^20}')"
