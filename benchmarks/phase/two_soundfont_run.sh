#!/usr/bin/env bash
# Stage 3 of the documented quality chain (after quality_run.sh and timbre_run.sh): 320 training songs spread over
# two soundfonts (TimGM6mb + sf_GMbank from csound-soundfont), timbre augmentation, 60 cosine epochs on 2 threads,
# starting from the timbre run's weights; then the held-out evaluation (FluidR3Mono, 7/8 never trained on).
# Usage: benchmarks/phase/two_soundfont_run.sh [OUT_DIR] [INIT_CKPT]
#   data prep about 4 min, training about 30 min on an otherwise idle 2-core box.
set -euo pipefail
OUT=${1:-/tmp/pq2}
INIT=${2:-/tmp/phase_quality/checkpoints/quality-timbre/best.pt}
mkdir -p "$OUT"
nice -n 5 mlrun train phase --checkpoints-path "$OUT/checkpoints" --tag sf2x320 \
  --default-data-path "$OUT/data" --default-songs 320 --default-test-songs 28 --default-song-seconds 80 \
  --default-soundfonts /usr/share/sounds/sf2/TimGM6mb.sf2,/usr/share/sounds/sf2/sf_GMbank.sf2 \
  --num-epochs 60 --batch-size 4 --learning-rate 5e-4 --lr-scheduler cosine --num-threads 2 --max-processes 2 \
  --anticipation-min 0 --anticipation-max 1 --warmup-seconds 8 --device-type cpu --init-from "$INIT" \
  --augment-speed 0.2 --augment-gain-db 6 --augment-eq-db 10 --augment-reverb 0.3
nice -n 5 mlrun evaluate phase "$OUT/checkpoints/sf2x320/best.pt" --output "$OUT/evaluation-sf2x320"
