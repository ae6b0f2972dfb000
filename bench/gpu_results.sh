#!/usr/bin/env bash
# On the GPU machine, after aimatrix is installed (e.g. by bench/gpu_check.sh):
#   OUT=/some/dir bash bench/gpu_results.sh
# Checks the results pipeline on real hardware (issue 6), in about 3 minutes on an H100:
#   1. `aimatrix info`;
#   2. the micro quick suite with NVML telemetry, twice (run1, run2), plus the macro
#      quick suite when this build has one;
#   3. `aimatrix compare run1 run2`: two runs of the same build must show no regression;
#   4. an --isolate --timeout smoke run (cases in a child process that holds its own CUDA context);
#   5. the report (report.html; chart PNGs when a headless Chromium is on the machine,
#      otherwise make them elsewhere from the JSONL: aimatrix report run1.jsonl run2.jsonl --png DIR);
#   6. telemetry overhead on the median of a 4096^3 bf16 GEMM: interleaved runs with and
#      without NVML sampling in one process, printed as a percentage (target: below 0.5%).
# Everything lands in $OUT (default ./gpu-out): logs, JSONL, CSV, report, PNGs, overhead.json.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
repo=$(cd "$(dirname "$0")/.." && pwd)
export AIMATRIX_GIT_REVISION=${AIMATRIX_GIT_REVISION:-$(git -C "$repo" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)}
cd /tmp  # import the installed package, not the source tree
status=0
step() { echo; echo "== $* =="; }

# NVML telemetry needs nvidia-ml-py. The GPU machine has no network: when it is missing,
# install it from a wheel carried in .whl/ (pip download nvidia-ml-py --no-deps -d .whl).
if ! $PY -c "import pynvml" 2>/dev/null; then
  if ls "$repo"/.whl/nvidia_ml_py-*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps "$repo"/.whl/nvidia_ml_py-*.whl && echo "installed nvidia-ml-py from .whl/"
  else
    echo "WARNING: nvidia-ml-py is not installed and no .whl/nvidia_ml_py-*.whl was carried: results will say telemetry unavailable"
  fi
fi

step "info"
$PY -m aimatrix.bench info 2>&1 | tee "$OUT/info.txt"

step "micro quick suite, run 1 (telemetry on)"
$PY -m aimatrix.bench micro --quick --out "$OUT/run1.jsonl" --csv "$OUT/run1.csv" 2>&1 | tee "$OUT/run1.log" | tail -30
rc=${PIPESTATUS[0]}; echo "exit code $rc"; [ "$rc" = 0 ] || status=1

step "micro quick suite, run 2"
$PY -m aimatrix.bench micro --quick --out "$OUT/run2.jsonl" 2>&1 | tee "$OUT/run2.log" | tail -6
rc=${PIPESTATUS[0]}; echo "exit code $rc"; [ "$rc" = 0 ] || status=1

if $PY -m aimatrix.bench macro --help >/dev/null 2>&1; then
  step "macro quick suite"
  $PY -m aimatrix.bench macro --models resnet50,din --batch 32 --dtype bf16 --quick --out "$OUT/macro.jsonl" 2>&1 | tee "$OUT/macro.log" | tail -20
  rc=${PIPESTATUS[0]}; echo "exit code $rc"; [ "$rc" = 0 ] || status=1
else
  echo; echo "(no macro subcommand in this build: macro quick suite skipped)"
fi

step "telemetry of one result (run 1, bf16 4096^3)"
$PY - "$OUT/run1.jsonl" <<'EOF' | tee "$OUT/telemetry_sample.txt"
import json, sys
from aimatrix.results.jsonl import load_results
rs = load_results(sys.argv[1]).results
r = next((r for r in rs if r.ok and r.dtype == "bf16" and r.params.get("m") == 4096), None) or next(r for r in rs if r.ok)
print(r)
print(json.dumps(r.telemetry, indent=1))
print({k: r.metrics.get(k) for k in ("avg_power_w", "joules_per_op", "tflops_per_watt")})
n = sum(1 for r in rs if r.telemetry.get("source") == "nvml")
print(f"{n}/{len(rs)} results carry NVML telemetry; throttled: {sum(1 for r in rs if r.throttled)}")
EOF

step "compare run1 -> run2 (same build: expect no regression, exit 0)"
$PY -m aimatrix.bench compare "$OUT/run1.jsonl" "$OUT/run2.jsonl" --threshold 3% --csv "$OUT/compare.csv" 2>&1 | tee "$OUT/compare.txt"
rc=${PIPESTATUS[0]}; echo "compare exit code $rc"; [ "$rc" = 0 ] || status=1

step "--isolate --timeout smoke (fp16,bf16)"
$PY -m aimatrix.bench micro --quick --dtype fp16,bf16 --isolate --timeout 120 --out "$OUT/isolate.jsonl" 2>&1 | tee "$OUT/isolate.log" | tail -12
rc=${PIPESTATUS[0]}; echo "exit code $rc"; [ "$rc" = 0 ] || status=1

step "report"
runs=("$OUT/run1.jsonl" "$OUT/run2.jsonl")
[ -f "$OUT/macro.jsonl" ] && runs+=("$OUT/macro.jsonl")
png=()
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then
  png=(--png "$OUT/png")
else
  echo "no headless Chromium on this machine: report.html only; make the PNGs from run1.jsonl/run2.jsonl elsewhere"
fi
$PY -m aimatrix.bench report "${runs[@]}" -o "$OUT/report.html" "${png[@]}" 2>&1 | tee "$OUT/report.log"
rc=${PIPESTATUS[0]}; echo "report exit code $rc"; [ "$rc" = 0 ] || status=1

step "telemetry overhead: 4096^3 bf16 GEMM median, NVML sampling on vs off (interleaved, one process)"
$PY - "$OUT/overhead.json" <<'EOF' 2>&1 | tee "$OUT/overhead.txt"
import json, statistics, sys
import aimatrix as am
from aimatrix.system.telemetry import nvml_unavailable_reason

reason = nvml_unavailable_reason()
if reason:
    print(f"NVML unavailable ({reason}): the overhead cannot be measured here")
opts = dict(dtype="bf16", device="cuda", target=0.002, max_time=2.0, min_time=0.5)
am.gemm(4096, 4096, 4096, telemetry=False, **opts)  # warm up clocks, cuBLASLt heuristics, context
on, off = [], []
for i in range(8):  # interleave (off, on), (on, off), ... so clock drift hits both alike
    order = (False, True) if i % 2 == 0 else (True, False)
    for tel in order:
        r = am.gemm(4096, 4096, 4096, telemetry=tel, **opts)
        (on if tel else off).append(r.median_ms)
        if tel and i == 0:
            t = r.telemetry
            print("telemetry:", {k: t.get(k) for k in ("samples", "window_s", "sm_clock_mhz", "avg_power_w", "throttled",
                                                        "throttle_reasons", "unavailable")})
m_on, m_off = statistics.median(on), statistics.median(off)
pct = 100.0 * (m_on - m_off) / m_off
pairs = [100.0 * (a - b) / b for a, b in zip(on, off)]
print(f"median of medians: sampling on {m_on:.5f} ms, off {m_off:.5f} ms")
print(f"per-pair differences: {', '.join(f'{p:+.3f}%' for p in pairs)}")
print(f"TELEMETRY OVERHEAD on the 4096^3 bf16 GEMM median: {pct:+.3f}% (target |overhead| < 0.5%): "
      f"{'PASS' if abs(pct) < 0.5 else 'FAIL'}")
json.dump({"on_ms": on, "off_ms": off, "overhead_pct": pct, "pairs_pct": pairs, "nvml": reason or "ok"},
          open(sys.argv[1], "w"), indent=1)
EOF

step "files"
ls -la "$OUT" "$OUT/png" 2>/dev/null
exit $status
