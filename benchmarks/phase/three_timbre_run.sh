#!/usr/bin/env bash
# Stage 8 of the documented quality chain (after two_soundfont_run.sh): 480 training songs spread over three timbre
# sets (TimGM6mb, sf_GMbank, and the freepats GUS patch set played by timidity through /etc/timidity/freepats.cfg),
# from run 7's weights; then the held-out evaluation (same 28 songs: FluidR3Mono, 7/8 never trained on).
# See plugins/phase/BENCHMARKS.md, run 8.
# Usage: benchmarks/phase/three_timbre_run.sh [OUT_DIR] [INIT_CKPT] [EPOCHS]
set -euo pipefail
OUT=${1:-/tmp/pq3}
INIT=${2:-/tmp/pq2/checkpoints/sf2x320-long2/best.pt}
EPOCHS=${3:-40}
mkdir -p "$OUT"
nice -n 5 mlrun train phase --checkpoints-path "$OUT/checkpoints" \
  --default-data-path "$OUT/data" --default-songs 480 --default-test-songs 28 --default-song-seconds 80 \
  --default-soundfonts /usr/share/sounds/sf2/TimGM6mb.sf2,/usr/share/sounds/sf2/sf_GMbank.sf2,/etc/timidity/freepats.cfg \
  --batch-size 4 --lr-scheduler cosine --num-threads 2 --max-processes 2 \
  --anticipation-min 0 --anticipation-max 1 --warmup-seconds 8 --device-type cpu \
  --augment-speed 0.2 --augment-gain-db 6 --augment-eq-db 10 --augment-reverb 0.3 \
  --tag sf3x480 --num-epochs "$EPOCHS" --learning-rate 3e-4 --init-from "$INIT"
nice -n 5 mlrun evaluate phase "$OUT/checkpoints/sf3x480/best.pt" --output "$OUT/evaluation-sf3x480"
