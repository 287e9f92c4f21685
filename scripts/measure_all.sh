#!/usr/bin/env bash
# Re-measure every figure in README.md. Run on a quiet machine (no training running); writes docs/*.json
# and docs/*.txt (the tables as printed). Needs the data root ($DEBLUR_DATA or ../shared/data) for the validation sets.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/logs
export COLUMNS=160
deblur bench --quality --val --count 24 --json-file docs/logs/quality.json 2>&1 | tee docs/logs/quality.txt
deblur bench --quality --val --count 24 --model dpa-lite --json-file docs/logs/quality_routes2.json 2>&1 | tee docs/logs/quality_routes2.txt
deblur bench --calibration --val --count 24 --adapt-steps 200 --adapt-images "${DEBLUR_DATA:-../shared/data}/train/bsds200" --json-file docs/logs/calibration.json 2>&1 | tee docs/logs/calibration.txt
deblur bench --calibration --val --count 24 --model dpa-lite --adapt-steps 200 --adapt-images "${DEBLUR_DATA:-../shared/data}/train/bsds200" 2>&1 | tee docs/logs/calibration_dpa_lite.txt
deblur bench --calibration --val --count 24 --chart --adapt-steps 200 --adapt-images "${DEBLUR_DATA:-../shared/data}/train/bsds200" --json-file docs/logs/calibration_chart.json 2>&1 | tee docs/logs/calibration_chart.txt
deblur bench --calibration --val --count 24 --model dpa-lite --chart --adapt-steps 200 --adapt-images "${DEBLUR_DATA:-../shared/data}/train/bsds200" --json-file docs/logs/calibration_chart_dpa_lite.json 2>&1 | tee docs/logs/calibration_chart_dpa_lite.txt
deblur bench --defocus --val --count 24 --json-file docs/logs/defocus.json 2>&1 | tee docs/logs/defocus.txt
deblur bench --arch all --size 1280x720 --runs 3 --json-file docs/logs/bench_arch_cpu.json 2>&1 | tee docs/logs/bench_arch_cpu.txt
deblur bench --size 1280x720 --runs 3 --json-file docs/logs/bench_cpu.json 2>&1 | tee docs/logs/bench_cpu.txt
deblur bench --model dpa-lite --model dpa-compact --model lcnet-compact --model attgan-compact --size 4000x3000 --runs 1 --warmup 1 --json-file docs/logs/bench_cpu_12mp.json 2>&1 | tee docs/logs/bench_cpu_12mp.txt
# The 12 MP bar is end to end (decode, restore, encode), as a user runs it:
for i in 1 2 3 4 5; do python scripts/memory_24mp.py --size 4000x3000; done | tee docs/logs/end_to_end_12mp_default_runs.txt
{ python scripts/memory_24mp.py --size 4000x3000; python scripts/memory_24mp.py --size 4000x3000 --model dpa-compact; python scripts/memory_24mp.py --size 4000x3000 --model lcnet-compact; python scripts/memory_24mp.py --size 4000x3000 --model attgan-compact; } | tee docs/logs/end_to_end_12mp.txt
# --method kernel (README "How good is it"): estimates once, then from the cache (deconv.cached)
python scripts/kernel_eval.py --sets gopro foreign-motion-srgb foreign-motion-linear foreign-large --out docs/logs/kernel_eval.txt
python scripts/kernel_eval.py --cached --forced --sets gopro foreign-motion-srgb foreign-motion-linear foreign-large --items docs/logs/kernel_eval_items.jsonl --out docs/logs/kernel_eval_forced.txt
python scripts/kernel_eval.py --sets foreign-all14 --no-estimate --out docs/logs/kernel_eval_true.txt
# the default (--method auto) against each forced route, per photo: the foreign sets, then the labelled mix
python scripts/kernel_eval.py --routes --sets gopro foreign-motion-srgb foreign-motion-linear foreign-large sharp --items docs/logs/kernel_eval_routes13_items.jsonl --out docs/logs/kernel_eval_routes13.txt
python scripts/kernel_eval.py --routes --sets mix-val --count 10 --items docs/logs/kernel_eval_mix10b_items.jsonl --out docs/logs/kernel_eval_mix10b.txt
deblur bench --routes --runs 1 --json-file docs/logs/bench_routes_12mp.json 2>&1 | tee docs/logs/bench_routes_12mp.txt
deblur bench --calibration --val --count 24 --json-file docs/logs/calibration_hqs.json 2>&1 | tee docs/logs/calibration_hqs.txt
# The slowest (~13 min): MEASURE_SLOW=0 keeps their previous outputs.
if [ "${MEASURE_SLOW:-1}" = 1 ]; then
  python scripts/memory_24mp.py | tee docs/logs/memory_24mp.txt
  python scripts/tile_context.py --count 6 | tee docs/logs/tile_context.txt
fi
python scripts/curves.py
python scripts/readme_tables.py
