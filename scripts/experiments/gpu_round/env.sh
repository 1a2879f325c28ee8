# Sourced by every command on the GPU machine: the source as installed (envs/, assets/ and baselines/
# under vla_bench), the carried packages and instruction embeddings, EGL rendering, NVLink multicast off.
REPO=${REPO:-$(pwd)}
# Python imports a copy of the source made by the first call that sources this: every later call
# copies the working tree anew, and a process importing meanwhile misses modules (round 20's first
# full-suite run did). SNAPSHOT=0 links the working tree instead (a dry run here, where the
# copy would go stale after the next edit).
src=$REPO
if [ "${SNAPSHOT:-1}" = 1 ]; then
  if [ ! -d /tmp/repo ]; then  # two scripts started in one call each copy; the first copy renamed wins
    part=$(mktemp -d /tmp/repo.XXXXXX)
    cp -r "$REPO"/{vla_bench,envs,assets,baselines,scripts,tests,pyproject.toml} $part/
    mv -T $part /tmp/repo 2>/dev/null || rm -rf $part
  fi
  src=/tmp/repo
fi
mkdir -p /tmp/src/vla_bench
for entry in "$src"/vla_bench/* "$src/envs" "$src/assets" "$src/baselines"; do
  ln -sfn "$entry" /tmp/src/vla_bench/
done
export PYTHONPATH=/tmp/src:/tmp/site:/tmp/pbd
export MUJOCO_GL=egl PYOPENGL_PLATFORM=egl PYTHONUNBUFFERED=1
# all-MiniLM-L6-v2's embeddings of every instruction the round reads (setup.sh table): its 91 MB of
# weights would take five more transfers
[ -f /tmp/instructions.npz ] && export VLA_BENCH_INSTRUCTION_EMBEDDINGS=/tmp/instructions.npz
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
vendor=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f $vendor ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor
VLA="python3 -m vla_bench.cli"
ROUND=${ROUND:-/tmp/round}
# the CLI puts the working folder first on sys.path (for users' policy modules); the repository's
# own vla_bench/ there lacks envs/, assets/ and baselines/
cd /tmp
