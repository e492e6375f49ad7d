#!/usr/bin/env bash
# The first ten minutes a maintainer with one GPU should spend (docs/cluster.md, "A first GPU run"):
# environment, reruns bit-identical, resume, member alone vs in the ensemble, CPU-vs-GPU drift of
# weights and OOD r², generative reruns, the device tests, the smoke preset and the throughput
# benchmark on the GPU. One summary: benchmarks/runs/gpu_check-<date>.json.
#
#   bash benchmarks/gpu_check.sh                 # on cuda (DEVICE=cuda:1 for another GPU)
#   bash benchmarks/gpu_check.sh --dry-run       # the same checks on the CPU, tiny sizes (~1 min)
#   DEVICE=cpu bash benchmarks/gpu_check.sh      # the same as --dry-run
#   bash benchmarks/gpu_check.sh --out FILE --skip smoke_preset throughput
#
# Exit status 0 when every check passed. Python: $PYTHON, else .venv/bin/python, else python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
DEVICE="${DEVICE:-cuda}"
for arg in "$@"; do
    if [[ "$arg" == "--dry-run" ]]; then DEVICE=cpu; fi
done
if [[ "$DEVICE" == "cpu" ]]; then
    set -- --dry-run "$@"
fi
exec "$PYTHON" benchmarks/gpu_check.py --device "$DEVICE" "$@"
