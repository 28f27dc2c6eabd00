#!/usr/bin/env bash
# Timbre augmentation vs. none, both continuing from run 3's weights with the same schedule (CPU), then evaluated on
# the held-out songs (another soundfont, FluidR3Mono, never used in training).
# Usage: benchmarks/phase/timbre_run.sh [OUT_DIR] [INIT_CKPT]   (data cached by quality_run.sh under OUT_DIR/data)
set -euo pipefail
OUT=${1:-/tmp/phase_quality}
INIT=${2:-$OUT/checkpoints/quality-aug/best.pt}
COMMON=(--checkpoints-path "$OUT/checkpoints"
  --default-data-path "$OUT/data" --default-songs 160 --default-test-songs 28 --default-song-seconds 80
  --num-epochs 20 --batch-size 4 --learning-rate 3e-4 --learning-rate-decay 0.9 --num-threads 1
  --anticipation-min 0 --anticipation-max 1 --warmup-seconds 8 --device-type cpu
  --init-from "$INIT" --augment-speed 0.2 --augment-gain-db 6)
# Both runs side by side (one thread each); the control differs only by the timbre options.
nice -n 10 mlrun train phase "${COMMON[@]}" --tag quality-timbre --augment-eq-db 10 --augment-reverb 0.3 \
  > "$OUT/run-timbre.log" 2>&1 &
nice -n 10 mlrun train phase "${COMMON[@]}" --tag quality-ctrl > "$OUT/run-ctrl.log" 2>&1 &
wait
for tag in quality-timbre quality-ctrl; do
  nice -n 10 mlrun evaluate phase "$OUT/checkpoints/$tag/best.pt" --output "$OUT/eval-$tag"
done
