#!/usr/bin/env bash
# Several phase training runs side by side on one GPU, sized to a wall-clock budget.
# Usage: benchmarks/phase/gpu_runs.sh CHUNKS_DIR OUT_DIR BUDGET_SECONDS "NAME1:OPTIONS1" "NAME2:OPTIONS2" ...
# Every run gets the common options below plus its own; a 2-epoch probe of all runs at once measures the time per
# epoch, then each run trains the number of epochs that fits the budget (its schedule spans exactly those epochs).
set -uo pipefail
CHUNKS=$1; OUT=$2; BUDGET=$3; shift 3
MLRUN=${MLRUN:-mlrun}
COMMON="--chunks-path $CHUNKS --checkpoints-path $OUT --anticipation-min 0 --anticipation-max 1 --warmup-seconds 8
  --device-type cuda --num-threads 2 --checkpoint-every 0"
mkdir -p "$OUT"
python3 -c "from mlrun_music_phase.data import load_chunks; load_chunks('$CHUNKS', 1.0)"   # decode once (cache)
start=$(date +%s)
for spec in "$@"; do  # probe: 2 epochs each, all at once, as the real runs will be
  name=${spec%%:*}; opts=${spec#*:}
  $MLRUN train phase $COMMON --tag "probe-$name" --num-epochs 2 $opts > "$OUT/probe-$name.log" 2>&1 &
done
wait
probe=$(( $(date +%s) - start ))
left=$(( BUDGET - probe - 40 ))
for spec in "$@"; do
  name=${spec%%:*}; opts=${spec#*:}
  per=$(python3 -c "import json;h=json.load(open('$OUT/probe-$name/history.json'));r=h if isinstance(h,list) else h.get('epochs',h);print(max(x['time_s'] for x in r))" 2>/dev/null || echo 10)
  epochs=$(python3 -c "print(max(2, int($left / ($per * 1.05))))")
  echo "run $name: probe epoch ${per}s -> $epochs epochs in ${left}s"
  $MLRUN train phase $COMMON --tag "$name" --num-epochs "$epochs" $opts > "$OUT/$name.log" 2>&1 &
done
wait
for spec in "$@"; do name=${spec%%:*}; tail -n 3 "$OUT/$name.log"; done
