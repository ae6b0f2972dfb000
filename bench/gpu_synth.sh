#!/usr/bin/env bash
# On the GPU machine (package installed): StatsNet GPU checks -> $OUT.
set -uo pipefail
OUT=${OUT:-gpu-out}
echo "== pytest -m cuda (synth) =="
python3 -P -m pytest -q -m cuda tests/test_synth.py -p no:cacheprovider 2>&1 | tail -5
echo "== synth_gpu (fp32, bf16) =="
python3 bench/synth_gpu.py --dtype fp32 --out /tmp/synth_fp32 2>&1 | tee "$OUT/synth_gpu_fp32.md"
python3 bench/synth_gpu.py --dtype bf16 --out /tmp/synth_bf16 2>&1 | tail -40 | tee "$OUT/synth_gpu_bf16.md"
