#!/usr/bin/env bash
# Train several configs one after another (one CPU-heavy job at a time), each resumed and time-boxed.
#   bash scripts/train_chain.sh configs/mtwd.toml:25 configs/attgan.toml:25
# Each argument is CONFIG:MINUTES[:RUN_DIR] (default run dir: runs/<id>); logs go to
# runs/<config stem>-train.out. A fine-tuning config that reuses an id needs its own RUN_DIR.
set -u
for spec in "$@"; do
  IFS=: read -r cfg minutes rundir <<< "$spec"
  stem=$(basename "$cfg" .toml)
  echo "$(date -u +%FT%TZ) start $cfg for $minutes min" >> runs/chain.log
  python -m deblurcli.train "$cfg" --resume --max-minutes "$minutes" ${rundir:+--run-dir "$rundir"} >> "runs/$stem-train.out" 2>&1
  echo "$(date -u +%FT%TZ) done $cfg rc=$?" >> runs/chain.log
done
