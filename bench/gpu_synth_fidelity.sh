#!/usr/bin/env bash
# On the GPU machine (package installed), issue 17: StatsNet fidelity on this device, at most 7 minutes
# (timeouts 70 + 140 + 200 s; a measurement cut short keeps the configurations it finished).
#   1. pytest -m cuda tests/test_synth_statsnet.py (statsnet under every backend, tiny; full size bf16)
#   2. bench/synth_fidelity.py --measure: real convs of both model sets + the synthetic grid (channels
#      3, 8, 32, 128, 512, 1024), fp32/bf16/fp16 x batch 1/32, each conv alone -> the conv-time table
#   3. bench/synth_fidelity.py --fidelity: both objectives synthesized from it, timed against the real convs
# Writes $OUT/synth/synth_fidelity.md (the log and tables) and $OUT/synth/conv_times_<device>.json (the table with
# the fidelity rows in meta.fidelity: copy it to aimatrix/synth/data/efficiency/ to ship it).
# EXTRA_TABLES="path ...": other devices' tables, synthesized from together with this one.
# SYNTH_TABLES="path ...": synthesize from these tables only (another device's: the same proxy on every device),
# still measuring this device's table, which keeps the fidelity rows (with SYNTH_STEPS=fidelity: a new table of
# this device's fidelity rows only).
# SYNTH_REFINE=N: close the fidelity synthesis' loop on this GPU in N rounds (its layers timed, synthesized again).
# SYNTH_AIM="path ...": with SYNTH_REFINE, other devices' timings of FIDELITY_TABLE's proxies: the loop moves from
# those proxies and aims each group between this device and them (bench/synth_fidelity.py --aim).
# SYNTH_SETS: the model sets of the fidelity step, "paper,heldout" in one run (default) or "paper heldout" in two,
# each cut at SYNTH_FIDELITY_S and saving the table.
# SYNTH_STEPS: which of "tests measure fidelity" to run (default all three); SYNTH_DTYPES / SYNTH_BATCHES: the
# dtypes and batch sizes (default all; FIDELITY_DTYPES / FIDELITY_BATCHES: other ones for the fidelity step);
# BASE_TABLE: a table the measure step completes (its other configurations and loop points kept, e.g. the
# shipped one with BASE_TABLE=aimatrix/synth/data/efficiency/<device>.json);
# FIDELITY_TABLE: the table the fidelity step adds its rows to (default this call's measured one).
# SYNTH_MEASURE_S / SYNTH_FIDELITY_S: the two steps' time limits (on an H100, kernel-timed, the measure takes
# ~8 min for all six configurations: ~50 s for each dtype at batch 1, ~120 s at batch 32).
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT/synth"
LOG="$OUT/synth/synth_fidelity.md"
DEV=$(python3 -c "import torch, re; print(re.sub('[^a-z0-9]+', '_', torch.cuda.get_device_name(0).lower()).strip('_'))")
TABLE="$OUT/synth/conv_times_${DEV}.json"
STEPS=" ${SYNTH_STEPS:-tests measure fidelity} "
DT=(--dtypes "${SYNTH_DTYPES:-fp32,bf16,fp16}" --batches "${SYNTH_BATCHES:-1,32}")
FDT=(--dtypes "${FIDELITY_DTYPES:-${SYNTH_DTYPES:-fp32,bf16,fp16}}" --batches "${FIDELITY_BATCHES:-${SYNTH_BATCHES:-1,32}}")
[[ -n ${BASE_TABLE:-} ]] && cp "$BASE_TABLE" "$TABLE" && chmod u+w "$TABLE"
{
  echo "# StatsNet fidelity on $DEV ($(date -u +%F' '%T) UTC)"
  if [[ $STEPS == *" tests "* ]]; then
    echo; echo '```'
    timeout 70 python3 -P -m pytest -q -m cuda tests/test_synth_statsnet.py -p no:cacheprovider 2>&1 | tail -8
    echo '```'
  fi
  if [[ $STEPS == *" measure "* ]]; then
    echo; echo "## measure"; echo '```'
    timeout ${SYNTH_MEASURE_S:-140} python3 bench/synth_fidelity.py --measure --table "$TABLE" "${DT[@]}" \
      --channels 3,8,32,128,512,1024 2>&1 | tail -20
    echo '```'
  fi
  if [[ $STEPS == *" fidelity "* ]]; then
    EXTRA=(); for t in ${EXTRA_TABLES:-}; do EXTRA+=(--table "$t"); done
    for t in ${SYNTH_TABLES:-}; do EXTRA+=(--synth-table "$t"); done
    for t in ${SYNTH_AIM:-}; do EXTRA+=(--aim "$t"); done
    for set in ${SYNTH_SETS:-paper,heldout}; do  # SYNTH_SETS="paper heldout": one run each, each saving the table
      timeout ${SYNTH_FIDELITY_S:-200} python3 bench/synth_fidelity.py --fidelity --table "${FIDELITY_TABLE:-$TABLE}" \
        "${EXTRA[@]}" "${FDT[@]}" --refine ${SYNTH_REFINE:-0} --sets "$set" 2>&1
    done
  fi
} > "$LOG" 2>&1
tail -60 "$LOG"
