#!/usr/bin/env bash
# Stages 5-7 of the documented quality chain (after quality_run.sh and timbre_run.sh): 320 training songs spread over
# two soundfonts (TimGM6mb + sf_GMbank from csound-soundfont), timbre augmentation, cosine schedules on 2 threads,
# each stage starting from the previous stage's best weights; each followed by the held-out evaluation
# (FluidR3Mono, 7/8 never trained on). See plugins/phase/BENCHMARKS.md, runs 5-7.
# Usage: benchmarks/phase/two_soundfont_run.sh [OUT_DIR] [INIT_CKPT]
#   data prep about 4 min; training 31 + 35 + 18 min on an otherwise idle 2-core box.
set -euo pipefail
OUT=${1:-/tmp/pq2}
INIT=${2:-/tmp/phase_quality/checkpoints/quality-timbre/best.pt}
mkdir -p "$OUT"
COMMON=(--checkpoints-path "$OUT/checkpoints"
  --default-data-path "$OUT/data" --default-songs 320 --default-test-songs 28 --default-song-seconds 80
  --default-soundfonts /usr/share/sounds/sf2/TimGM6mb.sf2,/usr/share/sounds/sf2/sf_GMbank.sf2
  --batch-size 4 --lr-scheduler cosine --num-threads 2 --max-processes 2
  --anticipation-min 0 --anticipation-max 1 --warmup-seconds 8 --device-type cpu
  --augment-speed 0.2 --augment-gain-db 6 --augment-eq-db 10 --augment-reverb 0.3)
stage() {  # TAG EPOCHS LR INIT
  nice -n 5 mlrun train phase "${COMMON[@]}" --tag "$1" --num-epochs "$2" --learning-rate "$3" --init-from "$4"
  nice -n 5 mlrun evaluate phase "$OUT/checkpoints/$1/best.pt" --output "$OUT/evaluation-$1"
}
stage sf2x320 60 5e-4 "$INIT"
stage sf2x320-long 80 3e-4 "$OUT/checkpoints/sf2x320/best.pt"
stage sf2x320-long2 45 2e-4 "$OUT/checkpoints/sf2x320-long/best.pt"
