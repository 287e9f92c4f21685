#!/usr/bin/env bash
# Train on a lent GPU: one command, at most ~9 minutes, nothing installed or downloaded.
#
#   bash scripts/gpu_train.sh --dry-run   # here: the device command, the carried size, the files expected back
#   bash scripts/gpu_train.sh             # there (the `device` tool; see below), or on any CUDA machine
#   SMOKE=1 bash scripts/gpu_train.sh     # a few CPU steps on $SHARD (the test suite runs this)
#
# Before: `python scripts/make_shards.py` writes .devdata/shard (≤ 40 MiB, ignored by git); carry it.
# It fine-tunes each config of $CONFIGS from its bundled checkpoint on the wide distribution, at a
# GPU's batch in bf16, for its share of $BUDGET_S seconds (validation on the foreign sets included,
# from the shard), and leaves under $OUT, per config: best.pt (weights + metrics), curve.jsonl,
# log.jsonl (loss and seconds per step); and machine.txt, gpu_train.log. After:
# `python scripts/gpu_import.py <files_at>` validates on the CPU and exports what beats the bundled.
# torch.compile is not used: its compile time (minutes for these nets, docs/logs/compile_speed.txt) is a
# large part of a 9-minute budget, and it has not been measured to pay there.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
SMOKE=${SMOKE:-0}
OUT=${OUT:-runs/gpu}
SHARD=${SHARD:-.devdata/shard}
BUDGET_S=${BUDGET_S:-480}
CONFIGS=${CONFIGS:-"configs/dpa-lite-gpu.toml configs/dpa-compact-gpu.toml"}
SHARES=${SHARES:-"0.55 0.45"}
PY=${PY:-python3}

if [ "${1:-}" = "--dry-run" ]; then
  tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
  shard=$(du -sb "$SHARD" 2>/dev/null | cut -f1)
  [ -n "$shard" ] || { echo "no shard at $SHARD: run python scripts/make_shards.py first"; shard=0; }
  echo "device command: bash scripts/gpu_train.sh   (run with timeout_s 570, carry [\"$SHARD\"])"
  echo "carried: working tree $((tree / 1048576)) MiB + shard $((shard / 1048576)) MiB = $(((tree + shard) / 1048576)) MiB (limit 64)"
  echo "files expected back under \$OUT:"
  for c in $CONFIGS; do id=$(sed -n 's/^id = "\(.*\)"/\1/p' "$c"); echo "  $id/best.pt $id/curve.jsonl $id/log.jsonl"; done
  echo "  machine.txt gpu_train.log"
  exit 0
fi

mkdir -p "$OUT"
case $SHARD in /*) data=$SHARD ;; *) data=$here/$SHARD ;; esac
export PYTHONPATH=$here PYTHONUNBUFFERED=1 DEBLUR_DATA=$data DEBLUR_CACHE=${DEBLUR_CACHE:-/tmp/deblur-cache} COLUMNS=160
if [ "$SMOKE" = 1 ]; then
  DEV=cpu; EXTRA="--steps 3 --batch 2 --crop 64 --workers 0 --val-count 2"
else
  DEV=cuda; EXTRA=""
fi
exec > >(tee "$OUT/gpu_train.log") 2>&1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi";
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } | tee "$OUT/machine.txt"
start=$SECONDS
set -- $SHARES
for c in $CONFIGS; do
  share=${1:-0.5}; shift || true
  id=$(sed -n 's/^id = "\(.*\)"/\1/p' "$c")
  left=$(( BUDGET_S - (SECONDS - start) ))
  minutes=$($PY -c "print(round(min($BUDGET_S * $share, $left) / 60 - 0.5, 2))")  # 30 s for the last validation
  echo "== $c ($id): $minutes min on $DEV"
  $PY -c 'import sys; from deblurcli.cli.main import run; sys.argv[0] = "deblur"; run()' train "$c" \
    --device "$DEV" --run-dir "$OUT/$id" --max-minutes "$minutes" $EXTRA || echo "!! $c failed"
  rm -f "$OUT/$id/last.pt" "$OUT/$id/config.json"  # at most 8 files come back; best.pt holds the config
done
echo "done in $(( SECONDS - start )) s"
