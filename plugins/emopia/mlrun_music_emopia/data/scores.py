"""The ``scores`` dataset: real scores from music21's corpus, reduced to piano, cut into EMOPIA-length clips and
labelled with PROXY quadrants, written in the EMOPIA 1.0 layout so the EMOPIA loader reads them.

Steps (everything parsed is cached under ``mlrun_music.cache.cache_dir("emopia") / "scores"``):

1. **Pieces**: a fixed, sorted selection from ``music21.corpus`` (:func:`selection`): string-quartet movements
   (Beethoven, Mozart, Haydn, Robert Schumann), keyboard and song pieces (Joplin, Chopin, Clara Schumann, C. P. E.
   Bach, Schubert, Beach, Handel, Corelli, J. R. Johnson, Liliuokalani), Bach chorales and fiddle tunes from Ryan's
   Mammoth Collection. Each is parsed with music21 and written as MIDI (repeats expanded, tempo marks kept; 120 bpm
   where the score has none), then reduced to one piano part with :func:`tokens.piano_score` (all parts merged,
   drums dropped), the same reduction the EMOPIA loader applies. A piece that fails to parse or export, takes longer
   than ``--scores-timeout`` seconds, or has too few notes is skipped and counted.
2. **Clips**: a piece of L seconds (at the score's tempo) becomes ceil(L / 45) clips of equal length, each cut at
   the nearest bar line, so clips last about 20 to 50 s (EMOPIA's are about 30 to 40 s); pieces under 20 s are
   skipped.
3. **Split by work**: movements of one work (a corpus folder such as ``beethoven/opus18no1``) or one file form a
   "song"; works are split 70/15/15, seeded and stratified by collection, so no work is in two splits. The split
   is written as ``split/{train,val,test}_SL.csv``, the official-split files the EMOPIA loader reads.
4. **Proxy labels** (not listener annotations): valence from **mode**, i.e. music21's Krumhansl-Schmuckler key
   profiles (the weights behind ``Stream.analyze('key')``) correlated with the clip's duration-weighted
   pitch-class histogram: major -> positive valence, minor -> negative. Arousal from **tempo and note density**:
   note onsets per second at the score's tempo (onsets per beat x beats per second), high when above a threshold
   chosen on the TRAINING split only: the training-clip quantile between 30 % and 70 % that makes the smallest
   training quadrant largest (ties: nearest the median). Q1 = major & high, Q2 = minor & high, Q3 = minor & low,
   Q4 = major & low.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import random
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, write_bytes, write_json, write_text
from mlrun_music.time_budget import OverBudget, time_budget

from .. import tokens

PREP_VERSION = 1
MIN_SECONDS = 20.0
MAX_CLIP_SECONDS = 45.0
MIN_NOTES = 40
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
SPLITS = ("train", "val", "test")

PROXY_TEXT = ("quadrants are PROXY labels, not listener annotations: valence = mode of the clip's key (music21's "
              "Krumhansl-Schmuckler profiles; major positive, minor negative); arousal = note onsets per second at "
              "the score's tempo, high above a threshold chosen on the training split")

#: Single pieces (keyboard, song with piano, small ensemble) taken whole.
SINGLES = (
    "joplin/maple_leaf_rag.mxl", "chopin/mazurka06-2.krn", "schumann_clara/opus17/movement3.xml",
    "schumann_clara/polonaise_op1n1.mxl", "schumann_clara/polonaise_op1n2.mxl", "schumann_clara/polonaise_op1n3.mxl",
    "schumann_clara/polonaise_op1n4.mxl", "cpebach/h186.mxl", "schubert/Lindenbaum.xml",
    "beach/prayer_of_a_tired_child.musicxml", "handel/rinaldo/Lascia_chio_pianga.mxl", "corelli/opus3no1/1grave.xml",
    "johnson_j_r/lift_every_voice.mxl", "liliuokalani/aloha_oe.mxl", "schumann_robert/dichterliebe_no2.xml",
    "schumann_robert/opus48no2.mxl",
)
QUARTET_COMPOSERS = ("beethoven", "mozart", "haydn", "schumann_robert")


def _rel(path: Any) -> str:
    text = str(path).replace(os.sep, "/")
    return text.split("/corpus/", 1)[1] if "/corpus/" in text else text


def selection(chorales: int = 240, tunes: int = 150) -> list[str]:
    """The corpus pieces used, as corpus-relative paths: quartet movements (MusicXML only), the singles, the first
    ``chorales`` Bach chorales (sorted by BWV file name) and every k-th of Ryan's Mammoth tunes (``tunes`` of them).
    Only paths the installed corpus has are returned."""
    from music21 import corpus

    have = sorted(_rel(p) for p in corpus.getPaths())
    have_set = set(have)
    quartets = [p for p in have if p.split("/")[0] in QUARTET_COMPOSERS and p.endswith(".mxl")
                and p.count("/") == 2 and p not in SINGLES]
    singles = [p for p in SINGLES if p in have_set]
    bach = [p for p in have if p.startswith("bach/bwv") and p.endswith(".mxl") and p.count("/") == 1][:chorales]
    reels = [p for p in have if p.startswith("ryansMammoth/") and p.endswith(".abc")]
    step = max(1, len(reels) // max(tunes, 1))
    reels = reels[::step][:tunes]
    return quartets + singles + bach + reels


def work_of(piece: str) -> str:
    """The work a piece belongs to: the folder of a movement (``beethoven/opus18no1``), else the file itself."""
    parts = _rel(piece).split("/")
    if len(parts) >= 3 and parts[-1].startswith("movement"):
        return "/".join(parts[:-1])
    return _rel(piece)


def collection_of(piece: str) -> str:
    first = _rel(piece).split("/")[0]
    if first == "bach" and "bwv" in piece:
        return "chorales"
    if first == "ryansMammoth":
        return "tunes"
    if first in QUARTET_COMPOSERS and "movement" in piece:
        return "quartets"
    return "singles"


def song_id(work: str) -> str:
    """An 11-character id (the EMOPIA file-name field) derived from the work's name."""
    return base64.urlsafe_b64encode(hashlib.sha1(work.encode()).digest()).decode()[:11]


# ---------------------------------------------------------------------------------------------------------------
# Parsing one piece (music21 -> MIDI -> one piano track -> clips)








def _parse_to_midi(piece: str, out: Path) -> None:
    """music21: parse a corpus path (or a file path) and write it as MIDI."""
    from music21 import converter, corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if Path(piece).is_absolute():
            stream = converter.parse(piece)
        else:
            stream = corpus.parse(piece)
        if hasattr(stream, "scores"):  # an Opus (several tunes in one file): its first score
            first = next(iter(stream.scores), None)
            if first is None:
                raise ValueError("no score in the file")
            stream = first
        with atomic_path(out, suffix=".mid") as tmp:
            stream.write("midi", fp=str(tmp))


def _seconds_map(score: Any) -> Callable[[np.ndarray], np.ndarray]:
    """ticks -> seconds under the score's tempo map (120 bpm before the first tempo)."""
    tpq = score.ticks_per_quarter
    changes = sorted((int(t.time), float(t.qpm)) for t in score.tempos) or [(0, tokens.DEFAULT_TEMPO)]
    if changes[0][0] > 0:
        changes.insert(0, (0, tokens.DEFAULT_TEMPO))
    starts = np.array([c[0] for c in changes], dtype=np.float64)
    spt = np.array([60.0 / (max(c[1], 1e-6) * tpq) for c in changes])  # seconds per tick
    base = np.concatenate([[0.0], np.cumsum(np.diff(starts) * spt[:-1])])

    def f(ticks: np.ndarray) -> np.ndarray:
        ticks = np.asarray(ticks, dtype=np.float64)
        i = np.clip(np.searchsorted(starts, ticks, side="right") - 1, 0, len(starts) - 1)
        return base[i] + (ticks - starts[i]) * spt[i]
    return f


def _bar_lines(score: Any, end: int) -> np.ndarray:
    """Tick of every bar line up to ``end`` from the score's time signatures (4/4 before the first)."""
    tpq = score.ticks_per_quarter
    sigs = sorted((int(t.time), int(t.numerator), int(t.denominator)) for t in score.time_signatures)
    if not sigs or sigs[0][0] > 0:
        sigs.insert(0, (0, 4, 4))
    bars: list[int] = []
    for i, (t0, num, den) in enumerate(sigs):
        t1 = sigs[i + 1][0] if i + 1 < len(sigs) else end
        length = max(1, int(round(num * tpq * 4 / den)))
        t = t0
        while t < t1:
            bars.append(t)
            t += length
    bars.append(end)
    return np.unique(np.asarray(bars, dtype=np.int64))


def cut_points(score: Any) -> list[int]:
    """Clip boundaries in ticks: ceil(L / 45 s) clips of equal length, each boundary moved to the nearest bar line."""
    notes = score.tracks[0].notes
    end = int(max(n.time + n.duration for n in notes))
    to_s = _seconds_map(score)
    total = float(to_s(np.array([end]))[0])
    n = max(1, math.ceil(total / MAX_CLIP_SECONDS))
    bars = _bar_lines(score, end)
    bar_s = to_s(bars)
    points = [0]
    for k in range(1, n):
        target = total * k / n
        tick = int(bars[int(np.argmin(np.abs(bar_s - target)))])
        if tick > points[-1]:
            points.append(tick)
    points.append(end)
    return points


def _clip(score: Any, start: int, stop: int) -> Any:
    """The notes starting in [start, stop), shifted to 0 and cut at ``stop``, with the tempo in force."""
    import symusic

    out = symusic.Score(score.ticks_per_quarter)
    tempos = sorted(score.tempos, key=lambda t: t.time)
    before = [t for t in tempos if t.time <= start]
    out.tempos.append(symusic.Tempo(time=0, qpm=float(before[-1].qpm if before else tokens.DEFAULT_TEMPO)))
    for t in tempos:
        if start < t.time < stop:
            out.tempos.append(symusic.Tempo(time=int(t.time - start), qpm=float(t.qpm)))
    track = symusic.Track(name="Piano", program=0, is_drum=False)
    for n in score.tracks[0].notes:
        if start <= n.time < stop:
            track.notes.append(symusic.Note(time=int(n.time - start), duration=int(max(1, min(n.duration,
                                                                                               stop - n.time))),
                                            pitch=int(n.pitch), velocity=int(n.velocity)))
    out.tracks.append(track)
    return out


def key_profile_correlations(histogram: np.ndarray) -> tuple[float, float, int]:
    """(best major correlation, best minor correlation, tonic pitch class of the best key) of a 12-bin pitch-class
    histogram against music21's Krumhansl-Schmuckler key profiles (Pearson, as music21 computes them)."""
    from music21.analysis.discrete import KrumhanslSchmuckler

    ks = KrumhanslSchmuckler()
    h = np.asarray(histogram, dtype=np.float64)
    best = {}
    for mode in ("major", "minor"):
        w = np.asarray(ks.getWeights(mode), dtype=np.float64)
        rs = []
        for tonic in range(12):
            prof = np.roll(w, tonic)
            rs.append(float(np.corrcoef(h, prof)[0, 1]) if h.std() > 0 else 0.0)
        best[mode] = (max(rs), int(np.argmax(rs)))
    tonic = best["major"][1] if best["major"][0] >= best["minor"][0] else best["minor"][1]
    return best["major"][0], best["minor"][0], tonic


def clip_features(score: Any) -> dict[str, Any]:
    """What the proxy labels read from one clip: mode (key profiles), onsets per second, tempo."""
    notes = score.tracks[0].notes
    tpq = score.ticks_per_quarter
    end = max(n.time + n.duration for n in notes)
    to_s = _seconds_map(score)
    seconds = float(to_s(np.array([end]))[0])
    hist = np.zeros(12)
    for n in notes:
        hist[n.pitch % 12] += n.duration / tpq
    r_major, r_minor, tonic = key_profile_correlations(hist)
    onsets = len({int(n.time) for n in notes})
    beats = end / tpq
    return {"seconds": round(seconds, 3), "notes": len(notes), "onsets_per_second": round(onsets / seconds, 4),
            "notes_per_second": round(len(notes) / seconds, 4), "tempo": round(60.0 * beats / seconds, 2),
            "onsets_per_beat": round(onsets / max(beats, 1e-9), 4),
            "mode": "major" if r_major >= r_minor else "minor", "tonic_pc": tonic,
            "major_minus_minor": round(r_major - r_minor, 4)}


def parse_piece(piece: str, folder: Path, timeout: float) -> dict[str, Any]:
    """Parse one piece into ``folder`` (piece MIDI and clip MIDIs). Returns its index entry: ``{"ok": True,
    "clips": [...]}`` or ``{"ok": False, "reason": ...}``."""
    pid = song_id(_rel(piece))
    whole = folder / "pieces" / f"{pid}.mid"
    t0 = time.perf_counter()
    try:
        with time_budget(timeout):
            _parse_to_midi(piece, whole)
    except OverBudget:
        return {"ok": False, "reason": f"took longer than {timeout:g} s to parse and export"}
    except Exception as exc:  # music21 raises many kinds on scores it cannot read
        return {"ok": False, "reason": f"music21 could not parse or export it ({type(exc).__name__})",
                "detail": str(exc).splitlines()[0][:160] if str(exc) else ""}
    elapsed = time.perf_counter() - t0
    if elapsed > timeout:
        return {"ok": False, "reason": f"took longer than {timeout:g} s to parse and export"}
    try:
        score, _ = tokens.piano_score(tokens.load_score(str(whole)))
    except tokens.SkipClip as exc:
        return {"ok": False, "reason": f"exported MIDI unusable ({exc})"}
    with atomic_path(whole, suffix=".mid") as tmp:  # keep the one-piano-part reduction
        score.dump_midi(str(tmp))
    if len(score.tracks[0].notes) < MIN_NOTES:
        return {"ok": False, "reason": f"fewer than {MIN_NOTES} notes"}
    points = cut_points(score)
    total = float(_seconds_map(score)(np.array([points[-1]]))[0])
    if total < MIN_SECONDS:
        return {"ok": False, "reason": f"shorter than {MIN_SECONDS:g} s"}
    clips = []
    for i, (a, b) in enumerate(zip(points[:-1], points[1:])):
        clip = _clip(score, a, b)
        if len(clip.tracks[0].notes) < MIN_NOTES // 2:
            continue
        path = folder / "clips" / f"{pid}_{i}.mid"
        with atomic_path(path, suffix=".mid") as tmp:
            clip.dump_midi(str(tmp))
        clips.append({"file": f"clips/{pid}_{i}.mid", **clip_features(clip)})
    if not clips:
        return {"ok": False, "reason": "no clip with enough notes"}
    return {"ok": True, "id": pid, "seconds": round(total, 2), "parse_seconds": round(elapsed, 2), "clips": clips}


# ---------------------------------------------------------------------------------------------------------------
# The corpus: parse (cached), split, label, write the EMOPIA layout


def cache_folder() -> Path:
    """Where parsed scores and the layout live: ``<cache>/emopia/scores``."""
    from mlrun_music.cache import cache_dir

    return cache_dir("emopia") / "scores"


def parse_all(pieces: list[str], folder: Path, timeout: float, log: Callable[[str], None] = lambda s: None
              ) -> dict[str, dict[str, Any]]:
    """Parse every piece not yet in ``folder/index.json`` (written every few pieces, so an interrupted run keeps
    what it parsed); returns the index entries of ``pieces``."""
    index_path = folder / "index.json"
    index: dict[str, Any] = {}
    if index_path.is_file():
        try:
            data = json.loads(index_path.read_text(encoding="utf-8"))
            if data.get("version") == PREP_VERSION and data.get("timeout") == timeout:
                index = data.get("pieces", {})
        except (OSError, ValueError):
            index = {}
    todo = [p for p in pieces if p not in index]
    if todo:
        log(f"scores: parsing {len(todo)} piece(s) with music21 into {folder} ({len(pieces) - len(todo)} cached)")
    t0 = time.perf_counter()
    for i, piece in enumerate(todo, 1):
        index[piece] = parse_piece(piece, folder, timeout)
        if i % 10 == 0 or i == len(todo):
            write_json(index_path, {"version": PREP_VERSION, "timeout": timeout, "pieces": index})
        if i % 25 == 0:
            log(f"scores: {i}/{len(todo)} parsed in {time.perf_counter() - t0:.0f} s")
    return {p: index[p] for p in pieces}


def split_works(pieces: list[str], seed: int) -> dict[str, str]:
    """work -> split: seeded 70/15/15 by work within each collection (no work is in two splits)."""
    by_collection: dict[str, list[str]] = {}
    for p in pieces:
        w = work_of(p)
        group = by_collection.setdefault(collection_of(p), [])
        if w not in group:
            group.append(w)
    rng = random.Random(seed ^ 0x5C0E)
    out: dict[str, str] = {}
    for name in sorted(by_collection):
        works = sorted(by_collection[name])
        rng.shuffle(works)
        n = len(works)
        n_val = max(1, round(n * SPLIT_FRACTIONS[1])) if n >= 3 else 0
        n_test = max(1, round(n * SPLIT_FRACTIONS[2])) if n >= 3 else 0
        for i, w in enumerate(works):
            out[w] = "val" if i < n_val else "test" if i < n_val + n_test else "train"
    return out


def arousal_threshold(train_rates: list[float], valence_major: list[bool]) -> float:
    """The onset rate splitting high from low arousal, chosen on training clips only: among the 30th..70th
    percentiles, the one whose smallest quadrant is largest (ties: nearest the median)."""
    rates = np.asarray(train_rates, dtype=np.float64)
    major = np.asarray(valence_major, dtype=bool)
    best: tuple[Any, ...] | None = None
    for pct in range(30, 71):
        thr = float(np.percentile(rates, pct))
        high = rates > thr
        counts = [int(np.sum(major & high)), int(np.sum(~major & high)), int(np.sum(~major & ~high)),
                  int(np.sum(major & ~high))]
        key = (min(counts), -abs(pct - 50))
        if best is None or key > best[0]:
            best = (key, thr)
    assert best is not None
    return round(best[1], 4)


def quadrant(major: bool, high: bool) -> int:
    return {(True, True): 1, (False, True): 2, (False, False): 3, (True, False): 4}[(major, high)]


def build_layout(pieces: list[str], folder: Path, seed: int, timeout: float,
                 log: Callable[[str], None] = lambda s: None) -> tuple[Path, dict[str, Any]]:
    """Parse (cached), split by work, label with the proxies and write ``folder/EMOPIA_layout``; returns
    (root, report). Rewrites the layout only when pieces, seed or parsed data changed."""
    entries = parse_all(pieces, folder, timeout, log)
    ok = {p: e for p, e in entries.items() if e.get("ok")}
    skipped: dict[str, list[str]] = {}
    for p, e in entries.items():
        if not e.get("ok"):
            skipped.setdefault(e["reason"], []).append(_rel(p))
    if not ok:
        raise UserError(f"scores: none of the {len(pieces)} pieces could be used "
                        f"({'; '.join(f'{k}: {len(v)}' for k, v in skipped.items())})")
    works = split_works(list(ok), seed)
    train_clips = [c for p, e in ok.items() if works[work_of(p)] == "train" for c in e["clips"]]
    if not train_clips:
        raise UserError("scores: the training split holds no clips (too few usable pieces)")
    thr = arousal_threshold([c["onsets_per_second"] for c in train_clips], [c["mode"] == "major" for c in train_clips])
    fingerprint = hashlib.sha256(json.dumps({"v": PREP_VERSION, "seed": seed, "pieces": sorted(ok), "thr": thr,
                                             "works": works}, sort_keys=True).encode()).hexdigest()[:16]
    root = folder / "EMOPIA_layout"
    stamp = root / ".scores.json"
    if stamp.is_file() and (root / "label.csv").is_file():
        try:
            report = json.loads(stamp.read_text(encoding="utf-8"))
            if report.get("fingerprint") == fingerprint:
                return root, report
        except (OSError, ValueError):
            pass
    if (root / "midis").is_dir():
        shutil.rmtree(root / "midis")
    (root / "midis").mkdir(parents=True, exist_ok=True)
    labels = ["ID,4Q,annotator"]
    split_rows: dict[str, list[str]] = {s: ["clip_name"] for s in SPLITS}
    counts = {s: {f"Q{q}": 0 for q in (1, 2, 3, 4)} for s in SPLITS}
    clip_rows = []
    numbers: dict[str, int] = {}
    for p in sorted(ok, key=lambda x: (work_of(x), x)):
        w = work_of(p)
        sid, split = song_id(w), works[w]
        for c in ok[p]["clips"]:
            q = quadrant(c["mode"] == "major", c["onsets_per_second"] > thr)
            n = numbers.get(sid, 0)
            numbers[sid] = n + 1
            name = f"Q{q}_{sid}_{n}"
            write_bytes(root / "midis" / f"{name}.mid", (folder / c["file"]).read_bytes())
            labels.append(f"{name},{q},proxy")
            split_rows[split].append(f"{name}.mid")
            counts[split][f"Q{q}"] += 1
            clip_rows.append({"clip": name, "piece": _rel(p), "work": w, "split": split, "quadrant": q,
                              **{k: c[k] for k in ("seconds", "notes", "tempo", "onsets_per_second", "mode",
                                                   "major_minus_minor")}})
    for s in SPLITS:
        write_text(root / "split" / f"{s}_SL.csv", "\n".join(split_rows[s]) + "\n")
    write_text(root / "clips.csv", "clip,piece,work,split,quadrant,seconds,notes,tempo,onsets_per_second,mode\n" +
               "".join(f"{r['clip']},{r['piece']},{r['work']},{r['split']},{r['quadrant']},{r['seconds']},"
                       f"{r['notes']},{r['tempo']},{r['onsets_per_second']},{r['mode']}\n" for r in clip_rows))
    collections: dict[str, int] = {}
    for p in ok:
        collections[collection_of(p)] = collections.get(collection_of(p), 0) + 1
    report = {
        "fingerprint": fingerprint, "source": "music21 corpus (music21 " + _m21_version() + ")",
        "proxy_labels": PROXY_TEXT, "arousal_threshold_onsets_per_second": thr,
        "pieces_selected": len(pieces), "pieces_used": len(ok), "pieces_per_collection": collections,
        "works_per_split": {s: sum(1 for w in set(map(work_of, ok)) if works[w] == s) for s in SPLITS},
        "pieces_skipped": {k: {"count": len(v), "examples": v[:5]} for k, v in sorted(skipped.items())},
        "clips": len(clip_rows), "clips_per_quadrant": counts,
        "clip_seconds": {"min": min(r["seconds"] for r in clip_rows), "max": max(r["seconds"] for r in clip_rows),
                         "mean": round(float(np.mean([r["seconds"] for r in clip_rows])), 2)},
        "parse_seconds": round(sum(float(e.get("parse_seconds", 0.0)) for e in ok.values()), 1),
    }
    write_text(root / "label.csv", "\n".join(labels) + "\n")
    write_text(stamp, json.dumps(report, indent=1))
    return root, report


def _m21_version() -> str:
    import music21

    return str(music21.__version__)


def ensure(config: Any, log: Any) -> tuple[Path, dict[str, Any]]:
    """The ``scores`` corpus for a training or evaluation config: its EMOPIA-layout root and report."""
    pieces = selection(config.scores_chorales, config.scores_tunes)
    folder = cache_folder()
    return build_layout(pieces, folder, config.seed, config.scores_timeout, log.info)
