#!/usr/bin/env bash
# The GPU checks and benchmarks of issue "Ensembles on one device", as one script for a borrowed GPU machine.
#
#   bash bench/device_run.sh OUTDIR
#
# Each part runs under its own time limit and writes OUTDIR/<part>.txt (its output and exit status), so a part
# that runs long costs only itself. Packages the machine lacks (Mesa, pydantic) may wait as wheels in .whl/; they
# are installed to /tmp/site first. Runs from the source tree (PYTHONPATH), nothing is installed into the tree.
set -u
out=${1:-gpu-out}
mkdir -p "$out"
export PYTHONPATH=.
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:.
fi
export PYTHONUNBUFFERED=1
part() {
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit} s, $(date +%T))"
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; echo "\$ $*"; } >"$out/$name.txt"
  timeout "$limit" "$@" >>"$out/$name.txt" 2>&1
  echo "exit status $?" >>"$out/$name.txt"
  tail -n 4 "$out/$name.txt"
}
python3 -c "import cupy, numpy, numba; print('CuPy', cupy.__version__, 'NumPy', numpy.__version__, 'numba', numba.__version__)"
part run_axis_cupy 100 python3 bench/run_axis.py sni --backend cupy --warm 30 --steps 150 --profile 30
part run_axis_numpy 60 python3 bench/run_axis.py sni --warm 100 --steps 150
part diffusion_gpu 70 python3 bench/diffusion.py --gpu-only
part big_step_cupy 70 python3 bench/big_step.py --backend cupy
part pytest_gpu 120 python3 -m pytest -q -m gpu -p no:cacheprovider --timeout 100 tests/test_kernels_cupy.py \
  tests/test_model.py tests/test_checkpoint.py tests/test_checkpoint_device.py tests/test_lockstep.py
part ensemble_cupy 150 python3 bench/ensemble.py --backend cupy --sizes 1,8,64 --sni-days 0.25 --carrageenan-hours 2
part device_calls_batch 60 python3 bench/device_calls.py sni carrageenan --batch 8
part gpu_parity 150 python3 -m pytest -q -m gpu -p no:cacheprovider --timeout 140 -n 8 tests/test_gpu_parity.py
