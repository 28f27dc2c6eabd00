"""The ``scores`` dataset: real pieces from music21's corpus, written as MIDI from the score, rendered with a
soundfont the shipped model never heard, with bar lines taken from the score's measures.

1. **Pieces** (:func:`candidates`): five sources, each in a fixed order so that a larger ``per_source`` keeps the
   smaller set as its first pieces: ``chorales`` (Bach, ``bach/bwv*.mxl``), ``oneill`` (O'Neill's 1850 tunes) and
   ``ryan`` (Ryan's Mammoth Collection), both taken round-robin over 2/4, 3/4, 4/4, 6/8 and 9/8, ``essen`` (Essen
   folk songs, round-robin over their meters) and ``classical`` (the Maple Leaf Rag and string-quartet / sonata
   movements). ABC tunes are cut out of their collection file by their ``X:`` field, so a tune is parsed alone.
2. **Score -> MIDI**: repeats expanded (music21 ``expandRepeats``); a score whose repeats cannot be expanded is
   played once as written and counted. Tempo marks are kept (120 quarter notes per minute where there is none);
   fermatas are played as written (no hold). ``max_bars`` / ``max_seconds`` keep the first measures only.
3. **Bar lines**: the start of every measure of the first part after expansion, except a pickup (a short first
   measure) and the second half of a bar split across a repeat sign (a short measure completing the short one
   before it); in seconds through the written MIDI's tempo map, plus the end of the last measure.
4. **Audio**: rendered with ``soundfont`` (default FluidR3Mono_GM through fluidsynth; the shipped model trained on
   TimGM6mb, sf_GMbank and freepats), 16 kHz mono, loudness-normalised, in the rendered-song layout of
   ``phase render`` (``bars.csv``, ``<soundfont>.ogg``, ``render.json``), so ``phase chop`` and
   ``mlrun evaluate phase --data`` read it too.

Pieces that fail to parse, take longer than ``timeout`` seconds, hold no measures or have bars outside
:data:`BAR_SECONDS` are skipped and counted by reason in ``scores_report.json``. Every piece's folder is cached
(a skip is cached as ``skipped.json``), keyed by the settings that change its files.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json, write_text
from mlrun_music.time_budget import OverBudget, time_budget

from ..config import SAMPLE_RATE, SCORES_MAX_BARS, SCORES_PER_SOURCE, SCORES_SECONDS, SCORES_SOURCES
from .songs import DONE_MARKER, normalise, write_audio

SOURCES = ("chorales", "oneill", "ryan", "essen", "classical")
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3")
PER_SOURCE = SCORES_PER_SOURCE
MAX_BARS = (0, SCORES_MAX_BARS)
MAX_SECONDS = SCORES_SECONDS
#: Median bar lengths (seconds) a piece must have to be used (an Essen tune notated in 4/1 at 120 quarter notes
#: per minute would have 8 s bars).
BAR_SECONDS = (0.5, 5.0)
FOLK_METERS = ("2/4", "3/4", "4/4", "6/8", "9/8")
CLASSICAL = ("joplin/maple_leaf_rag.mxl", "mozart/k80/movement1.mxl", "haydn/opus74no1/movement3.mxl",
             "beethoven/opus18no1/movement3.mxl", "mozart/k155/movement2.mxl", "haydn/opus74no2/movement4.mxl",
             "beethoven/opus59no1/movement2.mxl", "mozart/k156/movement3.mxl", "schubert/d576.mxl",
             "haydn/opus1no1/movement3.mxl", "mozart/k458/movement2.mxl", "beethoven/opus18no2/movement3.mxl")
VERSION = 3


# ---------------------------------------------------------------------------------------------------------------
# Selection


def _rel(path: Any) -> str:
    text = str(path).replace("\\", "/")
    return text.split("/corpus/", 1)[1] if "/corpus/" in text else text


def _abc_tunes(path: Path) -> list[tuple[int, str, str]]:
    """(index, meter, text) of every tune of an ABC collection; each text is the file header plus the tune."""
    text = path.read_text(encoding="latin-1")
    parts = re.split(r"(?m)^(?=X:)", text)
    header = "" if parts[0].startswith("X:") else parts[0]
    tunes = []
    for i, part in enumerate(p for p in parts if p.startswith("X:")):
        m = re.search(r"(?m)^M:\s*([^\s%]+)", part) or re.search(r"(?m)^M:\s*([^\s%]+)", header)
        meter = m.group(1) if m else "?"
        meter = {"C": "4/4", "C|": "2/2"}.get(meter, meter)
        tunes.append((i, meter, header + part))
    return tunes


def _round_robin(groups: dict[str, list[Any]], order: tuple[str, ...] | None = None) -> list[Any]:
    keys = list(order) if order else sorted(groups, key=lambda k: (-len(groups[k]), k))
    out: list[Any] = []
    lists = [list(groups.get(k, [])) for k in keys]
    while any(lists):
        for lst in lists:
            if lst:
                out.append(lst.pop(0))
    return out


def _spread(items: list[Any], key: str) -> list[Any]:
    """A fixed order that spreads through a sorted list (by a hash of each item's name), so early items are not
    all from one end of a collection."""
    return sorted(items, key=lambda it: hashlib.sha256(f"{key}:{it[0]}".encode()).hexdigest())


def candidates(source: str) -> list[dict[str, Any]]:
    """The pieces of one source in their fixed order: ``{"id", "corpus", "tune", "meter"}`` (``tune`` = the
    ABC text of one tune, or None for a file parsed whole)."""
    from music21 import corpus

    have = sorted({_rel(p): p for p in corpus.getPaths()}.items())
    if source == "chorales":
        files = [(r, p) for r, p in have if r.startswith("bach/bwv") and r.endswith(".mxl") and r.count("/") == 1]
        return [{"id": Path(r).stem, "corpus": r, "tune": None, "meter": "?"} for r, _ in _spread(files, source)]
    if source == "classical":
        known = dict(have)
        return [{"id": r.replace("/", "_").removesuffix(".mxl"), "corpus": r, "tune": None, "meter": "?"}
                for r in CLASSICAL if r in known]
    prefix = {"oneill": "oneills1850/", "ryan": "ryansMammoth/", "essen": "essenFolksong/"}.get(source)
    if prefix is None:
        raise UserError(f"--scores-sources: unknown source '{source}'; sources: {', '.join(SOURCES)}")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r, p in have:
        if not (r.startswith(prefix) and r.endswith(".abc")):
            continue
        for i, meter, text in _abc_tunes(Path(p)):
            piece = {"id": f"{Path(r).stem}-{i}", "corpus": r, "tune": text, "meter": meter}
            groups.setdefault(meter, []).append(piece)
    for meter, items in groups.items():
        groups[meter] = [it for _, it in _spread([(it["id"], it) for it in items], source)]
    if source == "essen":
        return _round_robin(groups)
    return _round_robin(groups, FOLK_METERS)


# ---------------------------------------------------------------------------------------------------------------
# One piece








class Skip(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def _parse(piece: dict[str, Any]) -> Any:
    from music21 import converter, corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if piece["tune"] is not None:
            score = converter.parse(piece["tune"], format="abc")
        else:
            score = corpus.parse(piece["corpus"])
    if hasattr(score, "scores"):  # an Opus
        first = next(iter(score.scores), None)
        if first is None:
            raise Skip("unparseable score", "no score in the file")
        score = first
    return score


def downbeat_flags(lengths: list[float], bar_lengths: list[float]) -> list[bool]:
    """Which measures (quarter-note lengths, with their time signature's bar length) start a bar: not a pickup
    (a short first measure) nor a short measure that completes the short measure before it (a bar split across a
    repeat sign)."""
    flags: list[bool] = []
    carry = 0.0
    for i, (length, bar) in enumerate(zip(lengths, bar_lengths)):
        short = length < bar - 1e-6
        if i == 0 and short and len(lengths) > 1:
            flags.append(False)
            carry = 0.0
        elif carry > 0 and abs(carry + length - bar) < 1e-6:
            flags.append(False)
            carry = 0.0
        else:
            flags.append(True)
            carry = length if short else 0.0
    return flags


def _measures(score: Any) -> list[Any]:
    from music21 import stream

    return list(score.parts[0].getElementsByClass(stream.Measure)) if score.parts else \
        list(score.getElementsByClass(stream.Measure))


def _remove_repeats(score: Any) -> None:
    """Repeat bar lines and marks taken out, so the score plays once as written."""
    from music21 import bar, repeat, spanner, stream

    for m in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(m.leftBarline, bar.Repeat):
            m.leftBarline = None
        if isinstance(m.rightBarline, bar.Repeat):
            m.rightBarline = None
    for cls in (repeat.RepeatExpression, spanner.RepeatBracket):
        for el in list(score.recurse().getElementsByClass(cls)):
            el.activeSite.remove(el)


def _remove_grace_notes(score: Any) -> None:
    """Grace notes (no duration) out: music21 writes their note-off before their note-on, and fluidsynth then
    holds a sustaining instrument's voice forever."""
    for n in list(score.recurse().notes):
        if n.duration.isGrace or n.duration.quarterLength == 0:
            n.activeSite.remove(n)


def _truncate(score: Any, keep: int) -> None:
    from music21 import stream

    parts = list(score.parts) or [score]
    for part in parts:
        for m in list(part.getElementsByClass(stream.Measure))[keep:]:
            part.remove(m)


def _write_midi(score: Any, path: Path) -> None:
    """The score as MIDI, each part on a channel of its own (music21 puts parts with one instrument on one
    channel, where a unison of two parts leaves a voice that fluidsynth never releases)."""
    import mido

    from mlrun_music.fileio import atomic_path

    with warnings.catch_warnings(), atomic_path(path, suffix=".mid") as tmp:
        warnings.simplefilter("ignore")
        score.write("midi", fp=str(tmp))
        mid = mido.MidiFile(str(tmp))
        channels = [c for c in range(16) if c != 9]
        part = 0
        for track in mid.tracks:
            if not any(hasattr(msg, "channel") for msg in track):
                continue
            channel = channels[part % len(channels)]
            part += 1
            for i, msg in enumerate(track):
                if hasattr(msg, "channel") and msg.channel != 9:
                    track[i] = msg.copy(channel=channel)
        mid.save(str(tmp))


def _tempo_map(midi_path: Path) -> Any:
    import mido

    from .midi_analysis import TempoMap

    mid = mido.MidiFile(str(midi_path))
    changes = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                changes.append((tick, int(msg.tempo)))
    return mid.ticks_per_beat, TempoMap.build(mid.ticks_per_beat, changes)


def _bars(score: Any, midi_path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Bar-start seconds plus the closing bound, and what they were made of."""
    ms = _measures(score)
    if not ms:
        raise Skip("no measures")
    offsets = [float(m.getOffsetBySite(ms[0].activeSite)) for m in ms]
    lengths = [float(m.duration.quarterLength) for m in ms]
    bar_lengths = [float(m.barDuration.quarterLength) for m in ms]
    flags = downbeat_flags(lengths, bar_lengths)
    tpq, tm = _tempo_map(midi_path)
    quarters = [o for o, f in zip(offsets, flags) if f] + [offsets[-1] + lengths[-1]]
    seconds = np.array([tm.to_seconds(q * tpq) for q in quarters], dtype=np.float64)
    meters = []
    for m in ms:
        ts = m.timeSignature
        if ts is not None and (not meters or meters[-1] != ts.ratioString):
            meters.append(ts.ratioString)
    return seconds, {"measures": len(ms), "pickup": not flags[0], "joined": int(len(flags) - sum(flags)),
                     "meters": meters or ["4/4"]}


def render_bars(midi_path: Path, bars: np.ndarray, soundfont: Path, renderer: str,
                end_seconds: float | None = None) -> np.ndarray:
    """The audio of ``midi_path`` (cut at ``end_seconds``) once its bar lines pass the check both real sets
    apply (median bar within :data:`BAR_SECONDS`); raises :class:`Skip` naming the reason otherwise."""
    from mlrun_music.audio.render import RenderError, render_midi

    median = float(np.median(np.diff(bars)))
    if not BAR_SECONDS[0] <= median <= BAR_SECONDS[1]:
        raise Skip("bar length out of range", f"median bar {median:.2f} s")
    try:
        audio = render_midi(midi_path, soundfont, SAMPLE_RATE, renderer)
    except RenderError as exc:
        raise Skip("renderer failure", str(exc)[:150]) from None
    if end_seconds is not None:
        audio = audio[: int(end_seconds * SAMPLE_RATE)]
    if audio.size == 0 or float(np.max(np.abs(audio))) < 1e-5:
        raise Skip("renderer failure", "silent audio")
    return audio


def build_piece(piece: dict[str, Any], out_dir: Path, *, source: str, soundfont: Path, renderer: str, max_bars: int,
                max_seconds: float, timeout: float) -> dict[str, Any]:
    """One piece into ``out_dir`` (cached); returns its render.json or ``{"skipped": reason, ...}``."""
    done, skipped = out_dir / DONE_MARKER, out_dir / "skipped.json"
    for marker in (done, skipped):
        if marker.is_file():
            return json.loads(marker.read_text(encoding="utf-8"))
    midi_path = out_dir / "score.mid"
    try:
        try:
            with time_budget(timeout):
                score = _parse(piece)
                repeats = "expanded"
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        score = score.expandRepeats()
                except OverBudget:
                    raise
                except Exception:  # noqa: BLE001 - music21 raises many kinds for inconsistent repeat marks
                    repeats = "played once as written"
                    _remove_repeats(score)
                _remove_grace_notes(score)
                if not _measures(score):
                    raise Skip("no measures")
                if max_bars:
                    _truncate(score, max_bars)
                out_dir.mkdir(parents=True, exist_ok=True)
                _write_midi(score, midi_path)
                bars, info = _bars(score, midi_path)
                if bars[-1] > max_seconds:  # keep the measures that end by max_seconds
                    ms = _measures(score)
                    tpq, tm = _tempo_map(midi_path)
                    ends = [tm.to_seconds((float(m.getOffsetBySite(ms[0].activeSite)) + float(
                        m.duration.quarterLength)) * tpq) for m in ms]
                    _truncate(score, max(1, sum(e <= max_seconds for e in ends)))
                    _write_midi(score, midi_path)
                    bars, info = _bars(score, midi_path)
        except OverBudget:
            raise Skip("parse timeout", f"more than {timeout:g} s") from None
        except Skip:
            raise
        except Exception as exc:  # noqa: BLE001 - a score music21 cannot read is skipped and counted
            raise Skip("unparseable score", f"{type(exc).__name__}: {str(exc)[:120]}") from None
        if len(bars) < 3 or np.any(np.diff(bars) <= 0):
            raise Skip("too few bars", f"{len(bars) - 1} bars")
        audio = render_bars(midi_path, bars, soundfont, renderer)
    except Skip as skip:
        out_dir.mkdir(parents=True, exist_ok=True)
        result = {"skipped": skip.reason, "detail": skip.detail, "piece": piece["corpus"], "id": piece["id"]}
        write_json(skipped, result)
        return result
    audio = normalise(audio[: int((bars[-1] + 0.5) * SAMPLE_RATE)])
    name = f"{soundfont.stem}.ogg"
    write_audio(out_dir / name, audio)
    write_text(out_dir / "bars.csv", "".join(f"{b:.6f}\n" for b in bars))
    result = {"audio": name, "source": source, "piece": piece["corpus"], "id": piece["id"], "soundfont": str(soundfont),
              "renderer": renderer, "sample_rate": SAMPLE_RATE, "seconds": len(audio) / SAMPLE_RATE,
              "bars": len(bars) - 1, "repeats": repeats, **info}
    write_json(done, result)
    return result


# ---------------------------------------------------------------------------------------------------------------
# The set


def check_sizes(per_source: int, max_bars: int, max_seconds: float) -> None:
    if not PER_SOURCE[0] <= per_source <= PER_SOURCE[1]:
        raise UserError(f"--scores-per-source must be {PER_SOURCE[0]} to {PER_SOURCE[1]}, got {per_source}")
    if max_bars and not 3 <= max_bars <= MAX_BARS[1]:
        raise UserError(f"--scores-max-bars must be 0 (all) or 3 to {MAX_BARS[1]}, got {max_bars}")
    if not MAX_SECONDS[0] <= max_seconds <= MAX_SECONDS[1]:
        raise UserError(f"--scores-max-seconds must be {MAX_SECONDS[0]:g} to {MAX_SECONDS[1]:g}, got {max_seconds}")


def build_scores(*, per_source: int = 6, sources: str = SCORES_SOURCES, first: int = 0, max_bars: int = 0,
                 max_seconds: float = 120.0, soundfont: str = "", timeout: float = 60.0, cache: str = "",
                 log: Any = None) -> Path:
    """Build (or reuse) the set; returns the folder of its songs (``<source>/<piece>/``), which holds
    ``scores_report.json``."""
    from mlrun_music.audio.render import check_soundfont, renderer_for
    from mlrun_music.cache import cache_dir

    check_sizes(per_source, max_bars, max_seconds)
    names = [s.strip() for s in sources.split(",") if s.strip()]
    for s in names:
        if s not in SOURCES:
            raise UserError(f"--scores-sources: unknown source '{s}'; sources: {', '.join(SOURCES)}")
    if not names:
        raise UserError(f"--scores-sources: name at least one of {', '.join(SOURCES)}")
    sf_path = Path(soundfont) if soundfont else DEFAULT_SOUNDFONT
    check_soundfont(sf_path)
    renderer = renderer_for(sf_path, "auto")
    key = hashlib.sha256(f"v{VERSION}:{max_bars}:{max_seconds}:{sf_path.name}".encode()).hexdigest()[:12]
    pieces_root = cache_dir("phase", cache) / "scores" / key
    set_dir = pieces_root / "sets" / hashlib.sha256(
        f"{','.join(names)}:{first}:{per_source}".encode()).hexdigest()[:12]
    report: dict[str, Any] = {"soundfont": str(sf_path), "renderer": renderer, "max_bars": max_bars,
                              "max_seconds": max_seconds, "first": first, "per_source": per_source, "sources": {},
                              "skipped": {}, "repeats_played_once": 0}
    for source in names:
        chosen = candidates(source)[first:first + per_source]
        used = 0
        for piece in chosen:
            folder = pieces_root / "pieces" / source / piece["id"]
            result = build_piece(piece, folder, source=source, soundfont=sf_path, renderer=renderer, max_bars=max_bars,
                                 max_seconds=max_seconds, timeout=timeout)
            link = set_dir / source / piece["id"]
            if "skipped" in result:
                report["skipped"].setdefault(result["skipped"], []).append(f"{source}/{piece['id']}")
                continue
            used += 1
            report["repeats_played_once"] += result.get("repeats") != "expanded"
            link.mkdir(parents=True, exist_ok=True)
            for name in ("bars.csv", result["audio"], DONE_MARKER):
                target = link / name
                if not target.exists():
                    target.symlink_to(folder / name)
        report["sources"][source] = {"chosen": len(chosen), "used": used}
        if log is not None:
            log.info("scores: %s: %d of %d pieces used", source, used, len(chosen))
    report["pieces"] = sum(v["used"] for v in report["sources"].values())
    report["skipped_count"] = {k: len(v) for k, v in report["skipped"].items()}
    set_dir.mkdir(parents=True, exist_ok=True)
    write_json(set_dir / "scores_report.json", report)
    if not report["pieces"]:
        raise UserError(f"scores: no piece could be used (skipped: {report['skipped_count']})")
    return set_dir
