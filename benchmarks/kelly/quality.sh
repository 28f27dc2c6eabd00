#!/usr/bin/env bash
# Quality of each kelly model on its fixed held-out synthetic set: trained vs untrained vs mean baseline.
#   bash benchmarks/kelly/quality.sh [OUT_DIR] [extra train options...]
set -euo pipefail
OUT=${1:-/tmp/kelly-quality}; shift || true
MLRUN=${MLRUN:-mlrun}
$MLRUN train kelly --config "$(dirname "$0")/../../plugins/kelly/demo.toml" --output "$OUT" --tag quality --no-onnx "$@"
for m in emotionrecognizer melodytransformer harmonypredictor dynamicsengine groovepredictor; do
  $MLRUN evaluate kelly "$OUT/kelly/quality/checkpoints/${m}_best.pt" --output "$OUT/eval/$m" >/dev/null
  python -c "import json,sys; d=json.load(open(sys.argv[1]))['metrics']; print(f\"| {d['model']} | {d['loss_kind']} | {d['loss']:.4f} | {d['untrained_loss']:.4f} | {d['mean_baseline_loss']:.4f} |\")" "$OUT/eval/$m/metrics.json"
done
