"""The embedded default: a generator of emotion-labelled piano MIDI in the EMOPIA 1.0 layout.

Each quadrant differs in the musical cues listeners associate with it (mode, tempo, register, note density,
dynamics, articulation), so a conditioned model has real signal to learn and a classifier real cues to use:

======  ==========================  ==========  =============  ===========  ==========  ==================
quad    mode / harmony              tempo bpm   melody range   density      velocity    articulation
======  ==========================  ==========  =============  ===========  ==========  ==================
Q1      major, diatonic             120-150     high (72-88)   8ths/16ths   85-105      staccato chords
Q2      harmonic minor, dim chords  130-170     low-mid        16ths        95-120      accented, chromatic
Q3      natural minor               55-75       low-mid        quarters     35-55       legato, sustained
Q4      major, added 9ths           65-90       mid-high       quarters/8s  45-65       legato arpeggios
======  ==========================  ==========  =============  ===========  ==========  ==================

Songs hold 2 to 4 clips sharing key and tempo; about one song in ten has a clip in a neighbouring quadrant, as in
the real data, so song-grouped splitting matters. Output: ``midis/Q{q}_{11-char id}_{n}.mid``, ``label.csv``
(ID,4Q,annotator) and ``metadata_by_song.csv``; no split files (the loader then makes its own seeded split).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from mlrun_music.fileio import atomic_path, write_text

TPQ = 480
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MAJOR = (0, 2, 4, 5, 7, 9, 11)
NAT_MINOR = (0, 2, 3, 5, 7, 8, 10)
HARM_MINOR = (0, 2, 3, 5, 7, 8, 11)

#: Per quadrant: scale, progressions (scale-degree roots), tempo range, melody range, melody note lengths in
#: beats, velocity range, articulation (sounding share of the time until the next note), accompaniment style.
STYLES: dict[int, dict[str, Any]] = {
    1: dict(scale=MAJOR, progs=[(0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4)], tempo=(120, 150), mel=(72, 88),
            lengths=(0.25, 0.5, 0.5, 0.5), vel=(85, 105), artic=0.45, accomp="staccato", chord_oct=60),
    2: dict(scale=HARM_MINOR, progs=[(0, 3, 4, 0), (0, 1, 4, 6), (0, 6, 4, 1)], tempo=(130, 170), mel=(55, 72),
            lengths=(0.25, 0.25, 0.25, 0.5), vel=(95, 120), artic=0.75, accomp="hammer", chord_oct=43),
    3: dict(scale=NAT_MINOR, progs=[(0, 5, 2, 6), (0, 3, 4, 0), (0, 3, 5, 4)], tempo=(55, 75), mel=(52, 67),
            lengths=(1.0, 1.0, 2.0, 0.5), vel=(35, 55), artic=1.0, accomp="sustain", chord_oct=45),
    4: dict(scale=MAJOR, progs=[(0, 3, 0, 4), (0, 5, 3, 4), (3, 4, 0, 0)], tempo=(65, 90), mel=(67, 84),
            lengths=(0.5, 1.0, 1.0, 0.5), vel=(45, 65), artic=0.95, accomp="arpeggio", chord_oct=55),
}


def _song_id(rng: random.Random) -> str:
    return "".join(rng.choice(_ID_CHARS) for _ in range(11))


def _triad(scale: tuple[int, ...], degree: int, root: int, base: int, q: int) -> list[int]:
    """Pitches of the triad on ``degree``, near ``base``; Q2 flattens the fifth of some chords (diminished)."""
    notes = []
    for step in (0, 2, 4):
        d = degree + step
        notes.append(base + root + scale[d % 7] + 12 * (d // 7))
    if q == 2 and degree in (1, 6):
        notes[2] -= 1 if (notes[2] - notes[0]) == 7 else 0
    if q == 4 and degree in (0, 3):
        notes.append(notes[0] + 14)  # added ninth: the open, relaxed colour of calm pop piano
    return notes


def _clip_notes(q: int, rng: random.Random, root: int, tempo: float, bars: int) -> list[tuple[float, float, int, int]]:
    """(start_beat, length_beats, pitch, velocity) of one clip."""
    st = STYLES[q]
    scale = st["scale"]
    prog = rng.choice(st["progs"])
    lo_v, hi_v = st["vel"]
    notes: list[tuple[float, float, int, int]] = []
    mel_lo, mel_hi = st["mel"]
    degree = rng.randrange(7)
    for bar in range(bars):
        chord_deg = prog[bar % len(prog)]
        chord = _triad(scale, chord_deg, root, st["chord_oct"], q)
        t0 = bar * 4.0
        # Accompaniment: the articulation and density cues of each quadrant.
        if st["accomp"] == "staccato":
            for beat in (0, 1, 2, 3):
                for p in chord[:3]:
                    notes.append((t0 + beat, 0.3, p, rng.randint(lo_v - 15, hi_v - 15)))
            notes.append((t0, 1.0, chord[0] - 12, rng.randint(lo_v - 10, hi_v - 10)))
        elif st["accomp"] == "hammer":
            for eighth in range(8):
                accent = 12 if eighth % 3 == 0 else 0
                for p in (chord[0], chord[2]):
                    notes.append((t0 + eighth / 2, 0.35, p, min(127, rng.randint(lo_v - 20, hi_v - 20) + accent)))
            notes.append((t0, 2.0, chord[0] - 12, rng.randint(lo_v, hi_v)))
            notes.append((t0 + 2, 2.0, chord[0] - 11, rng.randint(lo_v, hi_v)))  # chromatic bass: tension
        elif st["accomp"] == "sustain":
            for p in chord:
                notes.append((t0, 4.0, p, rng.randint(lo_v - 8, hi_v - 8)))
            notes.append((t0, 4.0, chord[0] - 12, rng.randint(lo_v - 5, hi_v - 5)))
        else:  # arpeggio
            pattern = chord + [chord[1] + 12, chord[2], chord[1]]
            for i in range(8):
                notes.append((t0 + i / 2, 1.0, pattern[i % len(pattern)], rng.randint(lo_v - 8, hi_v - 8)))
        # Melody: a scale-degree random walk in the quadrant's register and rhythm.
        t = t0
        while t < t0 + 4 - 1e-9:
            length = min(rng.choice(st["lengths"]), t0 + 4 - t)
            degree += rng.choice((-2, -1, -1, 0, 1, 1, 2))
            pitch = 60 + root + scale[degree % 7] + 12 * (degree // 7)
            while pitch < mel_lo:
                pitch += 12
                degree += 7
            while pitch > mel_hi:
                pitch -= 12
                degree -= 7
            if q == 2 and rng.random() < 0.25:
                notes.append((t, length / 2, pitch + 1, rng.randint(lo_v, hi_v)))  # chromatic neighbour
                notes.append((t + length / 2, length / 2 * st["artic"], pitch, rng.randint(lo_v, hi_v)))
            else:
                dur = length * st["artic"] if st["artic"] < 1 else length * 1.05
                notes.append((t, dur, pitch, rng.randint(lo_v, hi_v)))
            t += length
    return notes


def write_clip(path: Path, notes: list[tuple[float, float, int, int]], tempo: float) -> None:
    """Write one piano track with a tempo event (atomically)."""
    import symusic

    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(time=0, qpm=float(tempo)))
    score.time_signatures.append(symusic.TimeSignature(time=0, numerator=4, denominator=4))
    track = symusic.Track(name="Piano", program=0, is_drum=False)
    for start, length, pitch, vel in sorted(notes):
        track.notes.append(symusic.Note(time=int(round(start * TPQ)), duration=max(1, int(round(length * TPQ))),
                                        pitch=int(min(108, max(21, pitch))), velocity=int(min(127, max(1, vel)))))
    score.tracks.append(track)
    with atomic_path(path, suffix=".mid") as tmp:
        score.dump_midi(str(tmp))


def generate_corpus(root: str | Path, songs: int = 80, seed: int = 0) -> dict[str, Any]:
    """Write an EMOPIA-layout corpus of ``songs`` songs under ``root`` (``root/midis``, ``root/label.csv``).

    Deterministic for (songs, seed). Returns counts per quadrant.
    """
    root = Path(root)
    rng = random.Random(seed * 1_000_003 + songs)
    labels = ["ID,4Q,annotator"]
    meta = ["songID,num_Q1,num_Q2,num_Q3,num_Q4,DominantQ"]
    counts = {q: 0 for q in QUADRANTS_ORDER}
    for s in range(songs):
        q_song = QUADRANTS_ORDER[s % 4]
        sid = _song_id(rng)
        root_key = rng.randrange(12) - 5
        lo, hi = STYLES[q_song]["tempo"]
        tempo = rng.uniform(lo, hi)
        n_clips = rng.randint(2, 4)
        per_q = {q: 0 for q in QUADRANTS_ORDER}
        for n in range(n_clips):
            q = q_song
            if n == n_clips - 1 and rng.random() < 0.1:
                q = {1: 4, 2: 1, 3: 2, 4: 3}[q_song]  # a neighbouring quadrant, as songs do change mood
                lo_q, hi_q = STYLES[q]["tempo"]
                clip_tempo = rng.uniform(lo_q, hi_q)
            else:
                clip_tempo = tempo * rng.uniform(0.97, 1.03)
            bar_s = 4 * 60.0 / clip_tempo
            bars = max(4, int(round(rng.uniform(16, 32) / bar_s)))
            notes = _clip_notes(q, rng, root_key, clip_tempo, bars)
            name = f"Q{q}_{sid}_{n}"
            write_clip(root / "midis" / f"{name}.mid", notes, clip_tempo)
            labels.append(f"{name},{q},S")
            per_q[q] += 1
            counts[q] += 1
        dom = max(QUADRANTS_ORDER, key=lambda q: (per_q[q], -q))
        meta.append(f"{sid},{per_q[1]},{per_q[2]},{per_q[3]},{per_q[4]},Q{dom}")
    write_text(root / "metadata_by_song.csv", "\n".join(meta) + "\n")
    write_text(root / "label.csv", "\n".join(labels) + "\n")  # written last: its presence marks a complete corpus
    return {"songs": songs, "clips": sum(counts.values()), "per_quadrant": {f"Q{q}": c for q, c in counts.items()}}


QUADRANTS_ORDER = (1, 2, 3, 4)


def ensure_corpus(root: str | Path, songs: int, seed: int) -> tuple[Path, bool]:
    """Generate the corpus in ``root`` unless a complete one (with the same parameters) is there already.

    Returns (root, generated_now).
    """
    root = Path(root)
    stamp = root / ".synthetic.json"
    wanted = f'{{"songs": {songs}, "seed": {seed}, "version": 1}}'
    if (root / "label.csv").is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return root, False
    stale = root / "midis"
    if stale.is_dir():  # our own folder from other parameters: drop its clips so none are mixed in
        for f in stale.glob("*.mid"):
            f.unlink()
    stamp.unlink(missing_ok=True)
    generate_corpus(root, songs=songs, seed=seed)
    write_text(stamp, wanted)
    return root, True
