#!/usr/bin/env bash
# On a machine with NVIDIA GPUs (CI never has one): the sharded and distributed tests, the
# roofline benchmark at GPU sizes in float32 (docs/benchmarks_gpu.md: CP-ALS 512^3 rank 32,
# randomized SVD 32768 x 8192 k=256, a TT layer, the polyphonic step at batch 64, each as a
# fraction of the card's measured GEMM rate or read bandwidth), then the distributed benchmark
# on the GPUs (docs/benchmarks_gpu_distributed.md). Run from anywhere:
#     experiments/benchmarks/gpu.sh            # uses .venv (make test creates it)
#     PY=/path/to/python experiments/benchmarks/gpu.sh
# The Python environment needs a CUDA build of jaxlib: pip install -U "jax[cuda12]".
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SIZE=${SIZE:-default}

if ! "$PY" -c "import jax, sys; sys.exit(jax.default_backend() != 'gpu')"; then
  echo "error: JAX in $PY sees no GPU (backend: $("$PY" -c 'import jax; print(jax.default_backend())')); install jax[cuda12]" >&2
  exit 2
fi
n=$("$PY" -c "import jax; print(jax.device_count())")
devices=1
d=2
while [ "$d" -le "$n" ]; do devices="$devices,$d"; d=$((d * 2)); done
echo "== $n GPU(s); timing on $devices device(s)"

# the tests force 8 host devices: they run on the CPU next to the GPU
JAX_PLATFORMS=cpu "$PY" -m pytest tests/test_sharded.py tests/distributed -q -p no:cacheprovider
# one GPU against its own limits
"$PY" -m experiments.benchmarks.roofline --size gpu --dtype float32 --out docs/benchmarks_gpu.md
echo "== wrote docs/benchmarks_gpu.md"
# the same algorithms on the GPU(s)
"$PY" -m experiments.benchmarks.distributed --platform gpu --devices "$devices" --size "$SIZE" \
  --out docs/benchmarks_gpu_distributed.md
echo "== wrote docs/benchmarks_gpu_distributed.md"
