#!/usr/bin/env bash
# Every GPU check in one go, for a lent CUDA machine whose python3 already has torch and
# torchvision: the CUDA-only tests, then benchmarks/gpu.py. Results go to $OUT (or ./gpu_out).
# Usage (repository root): bash benchmarks/gpu_session.sh [gpu.py options, e.g. --diagnose]
set -o pipefail
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
nvidia-smi -L
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
python3 -m pytest -q -m gpu -p no:cacheprovider tests 2>&1 | tee "$OUT/gpu_tests.log" | tail -40
python3 benchmarks/gpu.py --out "$OUT/gpu_results.json" --profile "$OUT" "$@" 2>&1 | tee "$OUT/gpu_bench.log"
