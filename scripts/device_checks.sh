#!/usr/bin/env bash
# The checks that need a GPU, as one command for the `device` tool (run from the repo root, with the
# training photos and validation set under $DEBLUR_DATA, e.g. a carried copy of train/bsds200 and
# val/cbsd68: `mkdir -p .devdata/train .devdata/val && cp -r ../shared/data/train/bsds200 .devdata/train/
# && cp -r ../shared/data/val/cbsd68 .devdata/val/`, `.devdata` in .git/info/exclude and in `carry`,
# DEBLUR_DATA=$PWD/.devdata). Uses the machine's own python3 and packages (no install); results go to $OUT.
#   #7: `deblur bench` of the compact DPA and LCNet models at 1280x720 on the GPU, eager and with CUDA
#       graphs, and where the time goes (scripts/gpu_breakdown.py)
#   #5: the calibration table with the net adapted on the GPU (scripts/adapt_sweep.py; pairs blurred on
#       the GPU, or made by WORKERS processes on the CPU); SWEEP_STEPS=""
#       skips it; EAGER=0 skips the benches without CUDA graphs
set -u
OUT=${OUT:-runs/device}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 COLUMNS=200
deblur() { python3 -c 'import sys; from deblurcli.cli.main import run; sys.argv[0] = "deblur"; run()' "$@"; }
start=$SECONDS
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python3 -c "import torch; print('torch', torch.__version__)"; } 2>&1 | tee "$OUT/machine.txt"
[ "${EAGER:-1}" = 1 ] && deblur bench --model dpa-compact --model lcnet-compact --size 1280x720 --device cuda --runs 30 --warmup 5 \
  --precision bf16 --precision fp16 --precision fp32 --json-file "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench_gpu.txt"
[ "${EAGER:-1}" = 1 ] && deblur bench --model dpa-compact --model lcnet-compact --size 1280x720 --device cuda --runs 30 --warmup 5 \
  --precision bf16 --precision fp16 --tile none --json-file "$OUT/bench_gpu_notile.json" 2>&1 | tee "$OUT/bench_gpu_notile.txt"
deblur bench --model dpa-compact --model lcnet-compact --size 1280x720 --device cuda --runs 30 --warmup 5 \
  --precision bf16 --precision fp16 --tile none --cuda-graph --json-file "$OUT/bench_gpu_graph.json" 2>&1 | tee "$OUT/bench_gpu_graph.txt"
python3 scripts/gpu_breakdown.py --model dpa-compact --model lcnet-compact --json "$OUT/gpu_breakdown.json" 2>&1 | tee "$OUT/gpu_breakdown.txt"
for steps in ${SWEEP_STEPS-1500 3000}; do
  left=$(( ${BUDGET_S:-480} - (SECONDS - start) ))
  [ "$left" -gt 60 ] || break
  timeout "$left" python3 scripts/adapt_sweep.py --model dpa-compact --chart --steps "$steps" --device cuda \
    --workers "${WORKERS:-0}" 2>&1 | tee "$OUT/sweep_gpu_$steps.txt"
done
echo "done in $(( SECONDS - start )) s"
