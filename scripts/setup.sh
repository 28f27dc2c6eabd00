#!/usr/bin/env bash
# Fresh machine -> virtual environment with the core and every plugin, then the main job on the embedded data.
#   bash scripts/setup.sh            install + demo (train, evaluate, export each installed task)
#   bash scripts/setup.sh --no-demo  install only (what CI uses)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

# System tools the plugins use to render MIDI (timidity, fluidsynth, General MIDI soundfonts, two sampled acoustic
# drum kits, the freepats patch set and Hydrogen's sample drumkits as further training kits; the OPL3 FM soundfont,
# a held-out kit of beatsight's evaluation).
apt_pkgs="timidity timgm6mb-soundfont fluidsynth fluidr3mono-gm-soundfont csound-soundfont opl3-soundfont avldrums.lv2-soundfont freepats hydrogen-drumkits openttd-openmsx hydrogen-data freedoom"
need_apt=0
for f in /usr/share/sounds/sf2/TimGM6mb.sf2 /usr/share/sounds/sf2/sf_GMbank.sf2 /usr/share/sounds/sf3/FluidR3Mono_GM.sf3 \
         /usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2 /usr/share/sounds/sf2/OPL-3_FM_128M.sf2 /etc/timidity/freepats.cfg \
         /usr/share/hydrogen/data/drumkits/ForzeeStereo/drumkit.xml \
         /usr/share/games/openttd/baseset/openmsx/openmsx.obm /usr/share/hydrogen/data/demo_songs/GM_kit_demo1.h2song \
         /usr/share/games/doom/freedoom2.wad; do [ -f "$f" ] || need_apt=1; done
if ! command -v timidity >/dev/null || ! command -v fluidsynth >/dev/null || [ "$need_apt" = 1 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "== installing $apt_pkgs"
    (apt-get install -y --no-install-recommends $apt_pkgs >/dev/null 2>&1 ||
      (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends $apt_pkgs >/dev/null)) ||
      echo "!! apt-get failed; rendering plugins will say what is missing"
  else
    echo "!! not root: install the renderers yourself with:"
    echo "   sudo apt-get install -y --no-install-recommends $apt_pkgs"
  fi
fi
# Debian's timidity.cfg sources fluidr3_gm.cfg, shipped only with the 145 MB fluid-soundfont-gm; without it every
# timidity call sleeps 1 s. An empty file removes the stall (our renderer passes its own soundfont config).
if [ -f /etc/timidity/timidity.cfg ] && grep -q '^source /etc/timidity/fluidr3_gm.cfg' /etc/timidity/timidity.cfg \
   && [ ! -e /etc/timidity/fluidr3_gm.cfg ]; then
  if [ -w /etc/timidity ]; then touch /etc/timidity/fluidr3_gm.cfg; echo "== created empty /etc/timidity/fluidr3_gm.cfg (avoids a 1 s stall per render)";
  else echo "!! timidity will stall 1 s per file; fix with: sudo touch /etc/timidity/fluidr3_gm.cfg"; fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip >/dev/null
# torch first: a CPU build 2.13.0 where none is present, so no requirement pulls a multi-GB CUDA build.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "== installing torch 2.13.0"
  $PIP install -q "torch==2.13.0"
fi
echo "== installing mlrun-music (core), the five plugins, the example third-party plugin and test tools"
$PIP install -q -e ".[test,tensorboard]"
for p in phase emopia chromasonic beatsight kelly; do
  [ -f "plugins/$p/pyproject.toml" ] && $PIP install -q -e "plugins/$p"
done
[ -f examples/mlrun-music-scales/pyproject.toml ] && $PIP install -q -e examples/mlrun-music-scales
$PIP install -q -e tests/plugins/toy   # the tiny task the core's tests train

if [ "$demo" = "1" ]; then
  exec "$VENV/bin/python" scripts/demo.py
fi
