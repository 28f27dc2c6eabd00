#!/usr/bin/env bash
# The documented quality run on the embedded default (CPU): prepare the default data (cached), train, evaluate.
# Usage: benchmarks/phase/quality_run.sh [OUT_DIR] [TAG] [extra train options...]
#   (default /tmp/phase_quality, tag quality); data prep about 25 min and training about 25 min on a busy 2-core box.
set -euo pipefail
OUT=${1:-/tmp/phase_quality}
TAG=${2:-quality}
shift $(( $# > 2 ? 2 : $# ))
mkdir -p "$OUT"
nice -n 10 mlrun train phase \
  --checkpoints-path "$OUT/checkpoints" --tag "$TAG" \
  --default-data-path "$OUT/data" --default-songs 160 --default-test-songs 28 --default-song-seconds 80 \
  --num-epochs 30 --batch-size 4 --learning-rate 1e-3 --learning-rate-decay 0.93 --num-threads 1 \
  --anticipation-min 0 --anticipation-max 1 --warmup-seconds 8 --device-type cpu "$@"
nice -n 10 mlrun evaluate phase "$OUT/checkpoints/$TAG/best.pt" --output "$OUT/evaluation-$TAG"
