"""Songs for the frame-level transcriber: random grooves played by a rendered or a procedurally synthesised kit,
mixed with rendered accompaniment at a random level, as log-mel frames plus the hits' times and classes.
Also the held-out test songs (the transcription benchmark's material)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Sequence

import attrs
import numpy as np

from ..kits import synth, synthkit
from ..kits.classes import COMPONENTS
from ..transcribe.frames import FPS, log_mel_frames
from ..kits.soundfonts import drum_kit, kit_name

SAMPLE_RATE = synth.SAMPLE_RATE


@attrs.frozen
class KitSource:
    """Who plays a song's drums: a soundfont or patch set with a renderer, or (``path`` None) a new synthetic kit
    per song."""

    path: str | None
    renderer: str = ""

    @property
    def name(self) -> str:
        return f"{kit_name(self.path)}/{self.renderer}" if self.path else "synthetic"


@attrs.frozen
class Song:
    """Frames ``[T, N_MELS]`` (float16 to keep caches small) and hits ``[n, 2]`` as (time s, class index)."""

    frames: np.ndarray
    hits: np.ndarray
    source: str


def synthetic_drums(hits: Sequence[synth.Hit], rng: np.random.Generator) -> np.ndarray:
    """``hits`` played by a random procedural kit (:mod:`..kits.synthkit`), with the kit's room; float64 mono."""
    kit = synthkit.random_kit(rng)
    n = int((max((h.time for h in hits), default=0.0) + 2.0) * SAMPLE_RATE)
    out = np.zeros(n)
    for h in hits:
        x = synthkit.hit(kit, h.component, h.velocity / 127, rng)
        s = int(round(h.time * SAMPLE_RATE))
        e = min(n, s + len(x))
        out[s:e] += x[: e - s]
    return synthkit.room(out, kit, rng)


def mix(drums: np.ndarray, other: np.ndarray, accompaniment_db: float) -> np.ndarray:
    """``drums + other`` with ``other`` scaled to ``accompaniment_db`` relative to the drums' RMS; peak 0.9."""
    n = max(len(drums), len(other))
    drums, other = np.pad(drums, (0, n - len(drums))), np.pad(other, (0, n - len(other)))
    gain = np.sqrt(np.mean(drums ** 2) / (np.mean(other ** 2) + 1e-12)) * 10 ** (accompaniment_db / 20)
    out = drums + gain * other
    return (out / (np.max(np.abs(out)) + 1e-12) * 0.9).astype(np.float32)


def training_audio(seed: int, kit: KitSource, accompaniment: Sequence[KitSource], free_fraction: float = 0.0,
                   free_spacing: float = 1.0) -> tuple[np.ndarray, list[synth.Hit]]:
    """One random song as audio (peak 0.9) and its hits: a 2-6 bar groove (:func:`..kits.synth.groove`) on ``kit``
    (or, with ``free_fraction``, 4-12 s of :func:`..kits.synth.free_hits`, gaps times ``free_spacing``), a random
    accompaniment rendered with one of ``accompaniment`` that may run on a few seconds after the drums, mixed 18 dB
    below to 6 dB above the drums (1 song in 10 without accompaniment)."""
    rng = np.random.default_rng([4242, seed])
    if rng.random() < free_fraction:
        tempo = float(rng.uniform(80, 150))
        hits = synth.free_hits(rng, float(rng.uniform(4, 12)), free_spacing)
    else:
        tempo, hits = synth.groove(rng, bars=int(rng.choice([2, 4, 4, 6])))
    if kit.path is None:
        drums = synthetic_drums(hits, rng)
    else:
        hits = synth.for_kit(hits, drum_kit(kit.path))
        drums = synth.render(hits, kit.path, kit.renderer, tempo)
    band = accompaniment[int(rng.integers(len(accompaniment)))]
    other = synth.render([], band.path, band.renderer, tempo,
                         synth.accompaniment(rng, tempo, len(drums) / SAMPLE_RATE + rng.uniform(0, 4)))
    level = float(rng.uniform(-18, 6)) if rng.random() > 0.1 else -120.0
    return mix(drums, other, level), hits


def training_song(seed: int, kit: KitSource, accompaniment: Sequence[KitSource], free_fraction: float = 0.0,
                  free_spacing: float = 1.0) -> Song:
    """:func:`training_audio` as frames and labels."""
    audio, hits = training_audio(seed, kit, accompaniment, free_fraction, free_spacing)
    labels = np.array([[h.time, COMPONENTS.index(h.component)] for h in hits], np.float32).reshape(-1, 2)
    # A free song whose every hit the kit cannot play, without accompaniment, is silent: frames at the floor, no
    # labels (not NaN frames from 0 / 0).
    peak = float(np.max(np.abs(audio)))
    return Song(log_mel_frames(audio / peak if peak > 0 else audio).astype(np.float16), labels, kit.name)


def _song_job(job: tuple[int, KitSource, tuple[KitSource, ...], float, float]) -> Song:
    return training_song(*job)


def training_songs(kits: Sequence[KitSource], per_kit: int, synthetic: int, first_seed: int,
                   accompaniment: Sequence[KitSource], free_fraction: float = 0.0, workers: int = 2,
                   free_spacing: float = 1.0) -> list[Song]:
    """``per_kit`` songs on each kit and ``synthetic`` songs on synthetic kits, seeds from ``first_seed``; rendered
    in ``workers`` processes (the renderers are single-threaded)."""
    band = tuple(accompaniment)
    jobs = [(first_seed + 10_000 * k + j, kit, band, free_fraction, free_spacing) for k, kit in enumerate(kits)
            for j in range(per_kit)]
    jobs += [(first_seed + 90_000 + j, KitSource(None), band, free_fraction, free_spacing) for j in range(synthetic)]
    if workers <= 1 or len(jobs) < 4:
        return [_song_job(j) for j in jobs]
    # Spawned, not forked: a fork of a process whose torch/OpenMP threads already ran (a test session, a notebook)
    # can deadlock in the child.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_song_job, jobs, chunksize=4))


def pack(songs: Sequence[Song]) -> dict[str, np.ndarray]:
    """Songs as flat arrays for an ``.npz`` cache."""
    return {"frames": np.concatenate([s.frames for s in songs]) if songs else np.zeros((0, 1), np.float16),
            "lengths": np.array([len(s.frames) for s in songs], np.int64),
            "hits": np.concatenate([s.hits for s in songs]) if songs else np.zeros((0, 2), np.float32),
            "n_hits": np.array([len(s.hits) for s in songs], np.int64),
            "sources": np.array([s.source for s in songs])}


def unpack(d: dict[str, np.ndarray]) -> list[Song]:
    """The inverse of :func:`pack`."""
    fo = np.concatenate([[0], np.cumsum(d["lengths"])])
    ho = np.concatenate([[0], np.cumsum(d["n_hits"])])
    return [Song(d["frames"][fo[i]:fo[i + 1]], d["hits"][ho[i]:ho[i + 1]], str(d["sources"][i]))
            for i in range(len(d["lengths"]))]


def test_parts(seed: int, soundfont: str, renderer: str) -> tuple[np.ndarray, np.ndarray, list[synth.Hit], float]:
    """The drums and the accompaniment of the held-out test song ``seed`` (:func:`test_song`), unmixed:
    (drums, accompaniment, hits, tempo)."""
    rng = np.random.default_rng(seed)
    tempo, hits = synth.groove(rng, bars=4)
    drums = synth.render(hits, soundfont, renderer, tempo)
    other = synth.render([], soundfont, renderer, tempo, synth.accompaniment(rng, tempo, len(drums) / SAMPLE_RATE))
    return drums, other, hits, tempo


def test_song(seed: int, soundfont: str, renderer: str, accompaniment_db: float = -6.0
              ) -> tuple[np.ndarray, list[synth.Hit], float]:
    """A held-out test song (the transcription benchmark's): a 4-bar groove and its accompaniment, both rendered
    with ``soundfont``, mixed at ``accompaniment_db``: (audio peak 0.9, hits, tempo)."""
    drums, other, hits, tempo = test_parts(seed, soundfont, renderer)
    return mix(drums, other, accompaniment_db), hits, tempo


#: Tempi (quarter notes per minute) and metres of :func:`tempo_song`; 4/4 three times as often as each other metre.
TEMPO_RANGE = (60.0, 220.0)
TEMPO_METRES = ("4/4", "4/4", "4/4", "3/4", "2/4", "5/4", "6/8", "7/8", "12/8")


@attrs.frozen
class TempoSong:
    """A song of known tempo: audio (peak 0.9), its drum hits, tempo (quarter notes per minute) and metre."""

    audio: np.ndarray
    hits: list[synth.Hit]
    tempo: float
    metre: str


def tempo_song(seed: int, soundfont: str, renderer: str, accompaniment_db: float = -6.0,
               band: tuple[str, str] | None = None) -> TempoSong:
    """A song of known tempo for tempo checks: a :func:`..kits.synth.metre_groove` in a random metre of
    :data:`TEMPO_METRES` at a tempo drawn uniformly from :data:`TEMPO_RANGE`, 8-16 s long, drums on ``soundfont``
    (made playable on its kit), accompaniment in the same metre on ``band`` (soundfont, renderer; default the
    drums' own) mixed at ``accompaniment_db``."""
    rng = np.random.default_rng([7331, seed])
    metre = synth.METRES[str(rng.choice(TEMPO_METRES))]
    tempo = float(rng.uniform(*TEMPO_RANGE))
    bar = metre.steps * 15.0 / tempo
    bars = int(np.clip(np.ceil(float(rng.uniform(8, 14)) / bar), 2, 12))
    hits = synth.for_kit(synth.metre_groove(rng, metre, tempo, bars), drum_kit(soundfont))
    drums = synth.render(hits, soundfont, renderer, tempo)
    band_font, band_renderer = band or (soundfont, renderer)
    notes = synth.accompaniment(rng, tempo, len(drums) / SAMPLE_RATE, metre.pulses, metre.pulse)
    other = synth.render([], band_font, band_renderer, tempo, notes)
    return TempoSong(mix(drums, other, accompaniment_db), hits, tempo, metre.name)


def describe(songs: Sequence[Song]) -> dict[str, Any]:
    """Counts for the data report: songs and seconds per source, hits per class."""
    by_source: dict[str, list[float]] = {}
    counts = np.zeros(len(COMPONENTS), np.int64)
    for s in songs:
        by_source.setdefault(s.source, []).append(len(s.frames) / FPS)
        np.add.at(counts, s.hits[:, 1].astype(np.int64), 1)
    return {"songs": {k: len(v) for k, v in by_source.items()},
            "seconds": {k: round(float(sum(v)), 1) for k, v in by_source.items()},
            "hits": dict(zip(COMPONENTS, counts.tolist()))}
