"""The music21 corpus dataset: Bach chorales rendered to audio, with proxy emotion labels, for three models.

Offline real data for EmotionRecognizer, MelodyTransformer and HarmonyPredictor when DEAM, Lakh MIDI and the chord
JSON are absent. Each chorale of music21's bundled corpus is parsed once and rendered several times (each
"variant" at its own tempo and transposition, piano, TimGM6mb SoundFont) by the core's renderer; only the score
span that fits the first ``CLIP_SECONDS`` of audio is rendered, which is what the features read. Each variant is
rendered at one of ``RENDER_RATES`` (22.05, 44.1 or 48 kHz, rotating over the variants from piece to piece) and
brought to the features' 22.05 kHz by the core's resampler, the one ``load_audio`` applies to a user's file: the
models see the spectrum that audio recorded or rendered at those rates has after resampling.

Each piece has six variants: the four-part chorale (texture ``full``) at a slow, a moderate and a fast tempo, and
one sparse texture of it at the same three tempi and transpositions (each at another of the three rates than the
full variant of its tempo): ``outer`` (soprano and bass only) or ``arpeggio`` (the chord sounding on each beat
broken into notes spread evenly over the beat, lowest first, softly, velocity ``ARPEGGIO_VELOCITY``); which sparse
texture a piece gets is fixed by a hash of its name, so each is heard on about half the pieces.

PROXY labels (no listener rated these pieces):
- valence: the sign of the mode music21's key analysis (Krumhansl-Schmuckler) finds, major positive and minor
  negative, times the analysis' correlation coefficient (clipped to [0.1, 1]);
- arousal: the mean of a tempo term, log2(bpm / 100) / log2(1.7), and a note-density term,
  log2(onsets per second / 2.5) / 1.3, each clipped to [-1, 1]; the onsets are the distinct note-on times of the
  variant's own MIDI file (what is rendered: soprano and bass alone play fewer, an arpeggio more).

Per model:
- EmotionRecognizer: the variant's features (the plugin's ``FeatureExtractor``: 128 log-mel bands averaged over
  the clip) -> emotion embedding of the proxy (valence, arousal);
- MelodyTransformer: proxy emotion -> pitch histogram of the soprano (the chorale melody) in each 16 s window of
  the clip of the ``full`` variants, scaled so its commonest pitch is 1 (the Lakh definition, on the melody line),
  key-relative: every soprano is moved down by its variant's tonic pitch class (0-11 semitones) so that its tonic
  is a C, and pitch 60 + k is the k-th semitone above the tonic (63 the minor third, 64 the major third);
- HarmonyPredictor: [proxy emotion, features[0:64]] -> distribution of the chords (music21 ``chordify``, one chord
  per beat, named in the 64-chord vocabulary) sounding in the clip.

Pieces are split train / validation / test by a hash of the piece name, so no piece (in any variant) is in two
splits. Everything lands under ``cache_dir("kelly")/corpus-v3``; preparing again reuses what is there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, write_json

from .common import Pairs, emotion_embedding

VERSION = "corpus-v3"
SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"
CLIP_SECONDS = 30.0
#: Tempo bands (bpm) of the variants of each piece: slow, moderate, fast (the exact bpm is drawn per piece).
TEMPO_BANDS = ((48.0, 66.0), (88.0, 112.0), (140.0, 176.0))
TRANSPOSE = range(-5, 7)
#: Sample rates the variants are rendered at before resampling to the features' rate: the rates user audio comes at.
RENDER_RATES = (22050, 44100, 48000)
MELODY_WINDOW_SECONDS = 16.0
#: Textures of the variants: the four-part chorale, and the two sparse ones (one of them per piece).
TEXTURES = ("full", "outer", "arpeggio")
ARPEGGIO_VELOCITY = 50
DEFAULT_MAX_PIECES = 300
MODELS_SERVED = ("EmotionRecognizer", "MelodyTransformer", "HarmonyPredictor")

_QUALITY = {"major": "", "minor": "m", "diminished": "dim", "augmented": "aug"}


def corpus_dir(override: str = "") -> Path:
    """``override`` when given, else ``<kelly cache>/corpus-v3``."""
    from mlrun_music.cache import cache_dir

    return Path(override) if override else cache_dir("kelly") / VERSION


def split_of(piece: str) -> str:
    """``train``, ``val`` or ``test`` for a piece, fixed by a hash of its name (never by variant)."""
    h = zlib.crc32(piece.encode()) % 10
    return "test" if h < 2 else "val" if h == 2 else "train"


def proxy_valence(mode: str, correlation: float) -> float:
    sign = 1.0 if mode == "major" else -1.0
    return float(sign * np.clip(correlation, 0.1, 1.0))


def proxy_arousal(bpm: float, onsets_per_second: float) -> float:
    tempo_term = np.clip(np.log2(bpm / 100.0) / np.log2(1.7), -1, 1)
    density_term = np.clip(np.log2(max(onsets_per_second, 1e-3) / 2.5) / 1.3, -1, 1)
    return float(np.clip(0.5 * tempo_term + 0.5 * density_term, -1, 1))


def chord_name(chord: Any) -> str | None:
    """A music21 chord in the 64-chord vocabulary's spelling (``A#m``, ``G7``...), or None."""
    from .chords import canonical

    try:
        root = chord.root()
    except Exception:  # music21 raises its own errors on empty chords
        return None
    if root is None:
        return None
    name = root.name.replace("-", "b")
    if chord.isDominantSeventh():
        return canonical(name + "7")
    quality = _QUALITY.get(chord.quality)
    if quality is None:
        return None
    return canonical(name + quality)


def chorale_paths() -> list[Path]:
    """Four-part Bach chorales bundled with music21 (sorted)."""
    from music21 import corpus

    by_stem: dict[str, Path] = {}
    for p in sorted(Path(str(p)) for p in corpus.getComposer("bach")):
        if p.name.startswith("bwv"):
            by_stem.setdefault(p.stem, p)
    return sorted(by_stem.values(), key=lambda p: p.stem)


def sparse_texture(piece: str) -> str:
    """The sparse texture (``outer`` or ``arpeggio``) a piece is rendered in besides the full one."""
    return TEXTURES[1 + zlib.crc32(piece.encode() + b"texture") % 2]


def _variant_plan(piece: str) -> list[tuple[float, int, int, str]]:
    """``(bpm, transposition, render rate, texture)`` per variant: the full texture at the three tempo bands, then
    the piece's sparse texture at the same tempi and transpositions. The rates rotate by piece, so each tempo band
    is heard at every rate across the corpus and no rate goes with a tempo; the sparse variant of a tempo is
    rendered at the next rate after its full variant's."""
    rng = np.random.default_rng(zlib.crc32(piece.encode()))
    plan = [(float(round(rng.uniform(lo, hi))), int(rng.choice(list(TRANSPOSE)))) for lo, hi in TEMPO_BANDS]
    turn = zlib.crc32(piece.encode()[::-1]) % len(RENDER_RATES)
    sparse = sparse_texture(piece)
    return ([(bpm, shift, RENDER_RATES[(k + turn) % len(RENDER_RATES)], "full") for k, (bpm, shift) in enumerate(plan)]
            + [(bpm, shift, RENDER_RATES[(k + turn + 1) % len(RENDER_RATES)], sparse)
               for k, (bpm, shift) in enumerate(plan)])


def _write_arpeggio(path: Path, beat_pitches: list[list[int]]) -> None:
    """A one-track MIDI file (480 ticks a beat, no tempo): per beat, the chord's pitches lowest first, spread
    evenly over the beat, each held to the end of the beat, at ``ARPEGGIO_VELOCITY``."""
    import mido

    events: list[tuple[int, int, int]] = []  # (tick, note, velocity; 0 = off)
    for beat, pitches in enumerate(beat_pitches):
        if not pitches:
            continue
        step = 480 // len(pitches)
        for k, p in enumerate(pitches):
            events += [(beat * 480 + k * step, p, ARPEGGIO_VELOCITY), (beat * 480 + 470, p, 0)]
    events.sort(key=lambda e: (e[0], e[2] > 0))
    track, now = mido.MidiTrack([mido.Message("program_change", program=0, time=0)]), 0
    for tick, note, vel in events:
        track.append(mido.Message("note_on", note=note, velocity=vel, time=tick - now))
        now = tick
    with atomic_path(path, suffix=".mid") as tmp:
        mido.MidiFile(ticks_per_beat=480, tracks=[track]).save(str(tmp))


def midi_onsets(path: Path) -> list[float]:
    """Distinct note-on times (quarter notes) of a MIDI file."""
    import mido

    mid = mido.MidiFile(str(path))
    times: set[int] = set()
    for track in mid.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                times.add(now)
    return sorted(t / mid.ticks_per_beat for t in times)


def as_piano(score: Any) -> None:
    """Strip a music21 score's tempo marks and instruments and give every part a piano, in place: the variant's
    tempo is applied to the MIDI file afterwards, and every piece is heard on the corpus SoundFont's piano."""
    from music21 import instrument, tempo

    for mark in list(score.recurse().getElementsByClass(tempo.MetronomeMark)):
        mark.activeSite.remove(mark)
    for part in score.parts:
        for inst in list(part.recurse().getElementsByClass(instrument.Instrument)):
            inst.activeSite.remove(inst)
        part.insert(0, instrument.Piano())


def _prepare_piece(path: Path, out: Path, extractor: Any) -> list[dict[str, Any]]:
    """Parse and analyse one chorale once, then render each variant (tempo and transposition applied to the MIDI
    events with mido); returns the variants' records (features included)."""
    from music21 import converter, stream

    from mlrun_music.audio.io import resample
    from mlrun_music.audio.render import render_midi

    from .features import SAMPLE_RATE
    from .chords import INDEX, ROOTS

    score = converter.parse(str(path))
    if len(score.parts) < 2:
        raise ValueError("fewer than two parts")
    key = score.analyze("key")
    piece = path.stem
    beat_chords = []  # (quarter offset, name or None) of the chord sounding at each beat
    sonorities = []  # (quarter offset, end, sorted distinct MIDI pitches) of every chordify chord
    for c in score.chordify().flatten().getElementsByClass("Chord"):
        if float(c.offset) % 1.0 == 0.0:
            beat_chords.append((float(c.offset), chord_name(c)))
        pitches = sorted({int(p.midi) for p in c.pitches})
        sonorities.append((float(c.offset), float(c.offset + c.quarterLength), pitches))
    beats = int(np.ceil(max((end for _, end, _ in sonorities), default=0.0)))
    beat_pitches = [next((ps for start, end, ps in sonorities if start <= b < end), []) for b in range(beats)]
    soprano = [(float(n.offset), int(p.midi)) for n in score.parts[0].flatten().notes for p in n.pitches]
    as_piano(score)
    bases = {"full": out / "midi" / f"{piece}.mid", "outer": out / "midi" / f"{piece}_outer.mid",
             "arpeggio": out / "midi" / f"{piece}_arpeggio.mid"}
    bases["full"].parent.mkdir(parents=True, exist_ok=True)
    score.write("midi", fp=str(bases["full"]))
    sparse = sparse_texture(piece)
    if sparse == "outer":
        stream.Score([score.parts[0], score.parts[-1]]).write("midi", fp=str(bases["outer"]))
    else:
        _write_arpeggio(bases["arpeggio"], beat_pitches)
    tonic = int(key.tonic.pitchClass)
    records = []
    for variant, (bpm, shift, rate, texture) in enumerate(_variant_plan(piece)):
        limit = CLIP_SECONDS * bpm / 60.0  # quarter notes that fit the clip
        midi_path = out / "midi" / f"{piece}_v{variant}.mid"
        _write_variant(bases[texture], midi_path, bpm, shift, limit)
        audio = resample(render_midi(midi_path, SOUNDFONT, sample_rate=rate), rate, SAMPLE_RATE)
        features = extractor.from_audio(audio)
        seconds = min(CLIP_SECONDS, len(audio) / SAMPLE_RATE)
        ops = sum(1 for o in midi_onsets(midi_path) if o < limit) / max(seconds, 1e-3)
        chords = []
        for offset, name in beat_chords:
            if offset >= limit:
                break
            if name is None:
                chords.append("?")
                continue
            root, quality = _split_name(name)
            moved = f"{ROOTS[(ROOTS.index(root) + shift) % 12]}{quality}"
            chords.append(moved if moved in INDEX else "?")
        melody = [(o * 60.0 / bpm, m + shift) for o, m in soprano if o < limit]
        records.append({
            "piece": piece, "variant": variant, "bpm": bpm, "transpose": shift, "render_rate": rate,
            "texture": texture, "split": split_of(piece),
            "key": str(key), "mode": key.mode, "tonic_pitch_class": (tonic + shift) % 12,
            "key_correlation": round(float(key.correlationCoefficient), 4),
            "onsets_per_second": round(ops, 4), "seconds": round(seconds, 3),
            "valence": round(proxy_valence(key.mode, key.correlationCoefficient), 4),
            "arousal": round(proxy_arousal(bpm, ops), 4),
            "chords": chords, "soprano": [m for _, m in melody],
            "soprano_seconds": [round(t, 4) for t, _ in melody],
            "features": [round(float(v), 5) for v in features],
        })
    return records


def _split_name(name: str) -> tuple[str, str]:
    root = name[:2] if len(name) > 1 and name[1] == "#" else name[:1]
    return root, name[len(root):]


def _write_variant(source: Path, target: Path, bpm: float, shift: int, quarters: float) -> None:
    """``source`` at ``bpm``, transposed by ``shift`` semitones, without notes starting after ``quarters``."""
    import mido

    mid = mido.MidiFile(str(source))
    limit = int(quarters * mid.ticks_per_beat)
    out = mido.MidiFile(ticks_per_beat=mid.ticks_per_beat, type=mid.type)
    for k, track in enumerate(mid.tracks):
        events, now = [], 0
        for msg in track:
            now += msg.time
            if msg.type == "set_tempo":
                continue
            if msg.type == "note_on" and msg.velocity > 0 and now >= limit:
                continue
            if msg.type in ("note_on", "note_off"):
                msg = msg.copy(note=int(np.clip(msg.note + shift, 0, 127)))
            events.append((now, msg))
        if k == 0:
            events.insert(0, (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
        new, last = mido.MidiTrack(), 0
        for when, msg in events:
            new.append(msg.copy(time=when - last))
            last = when
        out.tracks.append(new)
    with atomic_path(target, suffix=".mid") as tmp:
        out.save(str(tmp))


def prepare(override: str = "", max_pieces: int = DEFAULT_MAX_PIECES, log: logging.Logger | None = None
            ) -> Path:
    """Render and analyse up to ``max_pieces`` chorales into the cache (reusing pieces done before); returns the
    folder. ``records.jsonl`` holds one line per variant; ``failed.json`` the pieces that could not be used."""
    from .features import FeatureExtractor

    log = log or logging.getLogger("mlrun_music")
    out = corpus_dir(override)
    out.mkdir(parents=True, exist_ok=True)
    records_path, failed_path = out / "records.jsonl", out / "failed.json"
    done: set[str] = set()
    if records_path.is_file():
        for line in records_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                done.add(json.loads(line)["piece"])
    failed = json.loads(failed_path.read_text(encoding="utf-8")) if failed_path.is_file() else {}
    paths = chorale_paths()[:max_pieces]
    todo = [p for p in paths if p.stem not in done and p.stem not in failed]
    if todo:
        log.info("corpus: preparing %d chorale(s) into %s (%d done earlier)", len(todo), out, len(done))
    extractor = FeatureExtractor(seconds=CLIP_SECONDS)
    t0 = time.perf_counter()
    with open(records_path, "a", encoding="utf-8") as fh:  # fileio: an append-only journal, so a stopped run resumes
        for i, path in enumerate(todo, 1):
            try:
                records = _prepare_piece(path, out, extractor)
            except Exception as exc:  # music21 and the renderer raise many kinds; the piece is left out, named
                failed[path.stem] = f"{type(exc).__name__}: {str(exc)[:120]}"
                write_json(failed_path, failed)
                continue
            for r in records:
                fh.write(json.dumps(r) + "\n")
            fh.flush()
            if i % 20 == 0 or i == len(todo):
                log.info("corpus: %d/%d pieces, %.0f s", i, len(todo), time.perf_counter() - t0)
    write_json(out / "prepared.json", {
        "version": VERSION, "max_pieces": max_pieces, "pieces": len({r["piece"] for r in read_records(out)}),
        "failed": len(failed), "soundfont": SOUNDFONT, "clip_seconds": CLIP_SECONDS, "tempo_bands": TEMPO_BANDS,
        "render_rates": RENDER_RATES, "textures": TEXTURES})
    return out


def read_records(folder: Path, max_pieces: int = 0) -> list[dict[str, Any]]:
    path = folder / "records.jsonl"
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if max_pieces:
        keep = {p.stem for p in chorale_paths()[:max_pieces]}
        records = [r for r in records if r["piece"] in keep]
    return records


def is_prepared(override: str = "", max_pieces: int = DEFAULT_MAX_PIECES) -> bool:
    """Whether ``max_pieces`` chorales were prepared in the folder (pieces that failed count as done)."""
    path = corpus_dir(override) / "prepared.json"
    if not path.is_file():
        return False
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("max_pieces", 0)) >= max_pieces
    except (OSError, ValueError, TypeError):
        return False


def fingerprint(records: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in records:
        h.update(f"{r['piece']}/{r['variant']}/{r['bpm']}/{r['transpose']}/{r.get('render_rate', 22050)}/"
                 f"{r.get('texture', 'full')}".encode())
    return h.hexdigest()[:16]


def samples(model: str, records: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``(x, y, notes)`` for ``model`` from the records (one per variant; windows for the melody)."""
    from .chords import INDEX, VOCAB

    xs, ys = [], []
    notes: dict[str, Any] = {"unnamed_chords": 0, "chords": 0}
    for r in records:
        emotion = emotion_embedding(r["valence"], r["arousal"])
        if model == "EmotionRecognizer":
            xs.append(np.asarray(r["features"], np.float32))
            ys.append(emotion)
        elif model == "MelodyTransformer":
            if r.get("texture", "full") != "full":
                continue
            pitches = np.asarray(r["soprano"]) - int(r.get("tonic_pitch_class", 0))
            times = np.asarray(r["soprano_seconds"])
            for start in np.arange(0.0, r["seconds"], MELODY_WINDOW_SECONDS):
                sel = pitches[(times >= start) & (times < start + MELODY_WINDOW_SECONDS)]
                if len(sel):
                    hist = np.bincount(sel, minlength=128).astype(np.float32)[:128]
                    xs.append(emotion)
                    ys.append(hist / hist.max())
        elif model == "HarmonyPredictor":
            hist = np.zeros(len(VOCAB), np.float32)
            for name in r["chords"]:
                notes["chords"] += 1
                if name in INDEX:
                    hist[INDEX[name]] += 1
                else:
                    notes["unnamed_chords"] += 1
            if hist.sum() > 0:
                xs.append(np.concatenate([emotion, np.asarray(r["features"][:64], np.float32)]))
                ys.append(hist / hist.sum())
        else:
            raise ValueError(f"the corpus dataset does not serve {model}")
    if not xs:
        raise UserError(f"the corpus dataset has no usable samples for {model}")
    return np.stack(xs), np.stack(ys), notes


def splits(model: str, config: Any, log: logging.Logger | None = None
           ) -> tuple[Pairs, Pairs | None, Pairs | None, dict[str, Any]]:
    """Train, validation and test pairs for ``model`` (preparing the corpus first when it is not in the cache);
    validation or test is None when no prepared piece falls into it (a corpus of a few pieces)."""
    override = getattr(config, "corpus_dir", "")
    max_pieces = getattr(config, "corpus_pieces", DEFAULT_MAX_PIECES)
    folder = corpus_dir(override)
    records = read_records(folder, max_pieces)
    wanted = len(chorale_paths()[:max_pieces])
    failed = json.loads((folder / "failed.json").read_text()) if (folder / "failed.json").is_file() else {}
    if len({r["piece"] for r in records}) + len(failed) < wanted:
        prepare(override, max_pieces, log)
        records = read_records(folder, max_pieces)
    if not records:
        raise UserError(f"the corpus dataset at {folder} holds no pieces (see {folder / 'failed.json'})")
    records = with_textures(records, getattr(config, "corpus_textures", "all"))
    parts, report = {}, {"location": str(folder), "fingerprint": fingerprint(records),
                         "labels": "proxy: valence from mode (key analysis), arousal from tempo and note density"}
    if model == "MelodyTransformer":
        report["target"] = "key-relative soprano pitch histogram (tonic moved to C; 63 = minor third, 64 = major)"
    for name in ("train", "val", "test"):
        chosen = [r for r in records if r["split"] == name]
        report[f"{name}_pieces"] = len({r["piece"] for r in chosen})
        if not chosen and name != "train":  # a small corpus: the trainer holds out part of train instead
            parts[name], report[f"{name}_samples"] = None, 0
            continue
        x, y, notes = samples(model, chosen)
        parts[name] = Pairs(x, y)
        report[f"{name}_samples"] = len(x)
        if model == "HarmonyPredictor":
            report[f"{name}_chords"] = notes["chords"]
            report[f"{name}_chords_outside_vocabulary"] = notes["unnamed_chords"]
    return parts["train"], parts["val"], parts["test"], report


def with_textures(records: list[dict[str, Any]], textures: str) -> list[dict[str, Any]]:
    """``records`` of the ``textures`` a model uses: ``all``, or ``full`` (the four-part variants only)."""
    return records if textures == "all" else [r for r in records if r.get("texture", "full") == "full"]


def test_records(config: Any = None) -> list[dict[str, Any]]:
    """The held-out (test-split) records of the textures ``config`` uses, as prepared."""
    override = getattr(config, "corpus_dir", "") if config is not None else ""
    max_pieces = getattr(config, "corpus_pieces", DEFAULT_MAX_PIECES) if config is not None else DEFAULT_MAX_PIECES
    records = [r for r in read_records(corpus_dir(override), max_pieces) if r["split"] == "test"]
    return with_textures(records, getattr(config, "corpus_textures", "all") if config is not None else "all")
