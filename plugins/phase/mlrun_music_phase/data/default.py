"""The embedded default: generate synthetic songs, render them, chop them; once, then cached.

Training songs use every meter but the held-out one and the training soundfonts; held-out songs (a different seed)
use every meter, the held-out meter included, and a soundfont never used for training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import attrs

from mlrun_music.cache import cache_dir
from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json

VERSION = 1
LABEL_EXTRA_SECONDS = 1.0  # labels extend 1 s past each chunk: the largest anticipation supported
SF2 = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
SF2_EXTRA = Path("/usr/share/sounds/sf2/sf_GMbank.sf2")  # Debian's csound-soundfont: a second training timbre
FREEPATS = Path("/etc/timidity/freepats.cfg")  # Debian's freepats GUS patches (timidity): a third training timbre
SF3_TEST = Path("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3")


@attrs.frozen
class Prepared:
    root: Path
    train_chunks: Path
    test_chunks: Path
    test_songs: Path
    params: dict


def _split_list(text: str) -> list[Path]:
    return [Path(p.strip()) for p in text.split(",") if p.strip()]


def default_soundfonts(config: Any) -> tuple[list[Path], list[Path]]:
    """Training and held-out soundfonts: the config's, else the Debian ones that are installed."""
    has_fluidsynth = shutil.which("fluidsynth") is not None
    train = _split_list(config.default_soundfonts)
    if not train:
        # MuseScore_General.sf3 would add variety but fluidsynth takes ~10 s per song to load it. Each further
        # training timbre family raised held-out F (sf_GMbank: 0.688 -> 0.834 at 0 s, freepats: 0.885 -> 0.911;
        # docs/experiments/phase.md), so both join when installed.
        train = [SF2] + [p for p in (SF2_EXTRA, FREEPATS) if p.is_file()]
    test = _split_list(config.default_test_soundfonts)
    if not test:
        test = [SF3_TEST] if SF3_TEST.exists() and has_fluidsynth else [SF2]
    return train, test


def default_root(config: Any) -> Path:
    """The folder of the embedded default: --default-data-path, else the core's cache folder of phase."""
    return cache_dir("phase", config.default_data_path)


def prepare_default(config: Any, log: logging.Logger | None = None) -> Prepared:
    """Generate, render and chop the embedded default unless a finished copy with the same parameters exists."""
    from ..render import render_corpus
    from .chop import chop_corpus
    from .generate import METERS, generate_corpus

    log = log or logging.getLogger("mlrun_music")
    train_fonts, test_fonts = default_soundfonts(config)
    holdout = config.default_holdout_meter
    params = {"version": VERSION, "songs": config.default_songs, "test_songs": config.default_test_songs,
              "song_seconds": config.default_song_seconds, "chunk_seconds": config.default_chunk_seconds,
              "label_extra_seconds": LABEL_EXTRA_SECONDS, "holdout_meter": holdout,
              "train_soundfonts": [str(p) for p in train_fonts], "test_soundfonts": [str(p) for p in test_fonts]}
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    root = default_root(config) / f"default-{key}"
    prepared = Prepared(root, root / "chunks" / "train", root / "chunks" / "test", root / "rendered" / "test",
                        params)
    done = root / "prepared.json"
    if done.is_file():
        log.info("phase: no --chunks-path given; using the cached embedded synthetic default in %s", root)
        return prepared
    log.info("phase: no --chunks-path given; preparing the embedded synthetic default in %s: generating %d "
             "training + %d held-out songs (held-out meter %s, training soundfonts %s, held-out soundfont %s), "
             "rendering and chopping them (done once, then reused)", root, config.default_songs,
             config.default_test_songs, holdout or "none", ", ".join(p.name for p in train_fonts),
             ", ".join(p.name for p in test_fonts))
    if set(test_fonts) & set(train_fonts):
        log.warning("phase: the held-out soundfont is also a training soundfont (install fluidsynth and "
                    "fluidr3mono-gm-soundfont for a separate one)")
    fonts_train = [_check(p) for p in train_fonts]
    fonts_test = [_check(p) for p in test_fonts]
    train_meters = [m for m in METERS if m != holdout]
    if not train_meters:
        raise UserError("--default-holdout-meter leaves no meter to train on")
    report: dict[str, Any] = {"params": params}
    generate_corpus(root / "midi" / "train", config.default_songs, seed=1, meters=train_meters,
                    seconds=config.default_song_seconds, artist_prefix="train")
    generate_corpus(root / "midi" / "test", config.default_test_songs, seed=2, meters=list(METERS),
                    seconds=config.default_song_seconds, artist_prefix="test")
    for split, fonts in (("train", fonts_train), ("test", fonts_test)):
        r = render_corpus(out_path=root / "rendered" / split, midi_path=root / "midi" / split, soundfonts=fonts,
                          renderer="auto", jitter=0.02, max_processes=config.max_processes, seed=3)
        log.info("phase: rendered %s songs: %d done, %d skipped", split, r["rendered"] + r["already_done"],
                 r["skipped"])
        c = chop_corpus(in_path=root / "rendered" / split, out_path=root / "chunks" / split,
                        max_processes=config.max_processes, seed=4, chunk_seconds=config.default_chunk_seconds,
                        label_extra=LABEL_EXTRA_SECONDS)
        log.info("phase: chopped %s songs into %d chunks", split, c["chunks"])
        if c["chunks"] == 0:
            raise UserError(f"the embedded default produced no {split} chunk: raise --default-song-seconds above "
                            f"--default-chunk-seconds")
        report[split] = {"render": {k: v for k, v in r.items() if k != "skipped_files"}, "chop": c}
    write_json(done, report)
    return prepared


def _check(path: Path) -> Path:
    from mlrun_music.audio.render import check_soundfont

    return check_soundfont(path)
