"""Settings of the phase task: the audio frame rate every module shares and the options of train and evaluate
(torch-free: imported by ``mlrun list``)."""

from __future__ import annotations

import attrs

from mlrun_music.config import TrainConfig, option, trainer_default
from mlrun_music.errors import UserError

#: Frames per second of labels and model outputs (16 kHz / 320 samples).
FPS = 50
SAMPLE_RATE = 16000
HOP = 320

# Documented limits of the data sizes (``phase generate``, ``phase chop``, ``phase render`` and the embedded
# default), checked before any work: beyond them a run would not end in useful time, or would write songs that
# rendering skips (longer than 20 minutes, :data:`~mlrun_music_phase.data.midi_analysis.MAX_SECONDS`).
MAX_SONGS = 100_000
SONG_SECONDS = (5.0, 1000.0)
CHUNK_SECONDS = (2.0, 600.0)
#: The largest anticipation (seconds) the model is trained for; chunk labels extend at most this far.
MAX_ANTICIPATION = 1.0
#: The largest drum jitter of ``phase render`` (seconds): more would move hits across beats.
MAX_JITTER_SECONDS = 0.5
#: The ``scores`` set (music21 corpus pieces): sources, pieces per source, measures and seconds kept per piece.
SCORES_SOURCES = "chorales,oneill,ryan,essen,classical"
SCORES_PER_SOURCE = (1, 200)
SCORES_MAX_BARS = 5000
SCORES_SECONDS = (10.0, 1200.0)
#: The ``songs`` set (General MIDI songs from system packages): seconds kept per song.
SONGS_SECONDS = (10.0, 1200.0)
#: Training datasets that read the scores set, and the one that adds the songs set's train split.
SCORES_DATASETS = ("scores", "mixed", "mixed-songs")
SONGS_DATASETS = ("mixed-songs",)
#: Trackers of ``--tracker`` (:mod:`~mlrun_music_phase.tracker`; ``none`` leaves the network's phase as it is) and
#: the loop's settings, chosen on validation data (docs/experiments/phase.md, 2026-12-06).
TRACKERS = ("none", "pll")
TRACKER_GAIN = 0.3
TRACKER_RATE_GAIN = 0.002
SCORES_SOUNDFONT_HELP = ("Soundfont of the scores set; empty = FluidR3Mono_GM.sf3 through fluidsynth (the shipped "
                         "model trained on TimGM6mb, sf_GMbank and freepats).")


@attrs.define(kw_only=True)
class PhaseConfig(TrainConfig):
    """Options of ``mlrun train phase``: the original project's option names (as aliases) and defaults on top of
    the generic trainer; runs go to the core's ``<output-dir>/phase/<tag>/``."""

    output_dir: str = option("runs", "Folder that holds run folders.", aliases=("--checkpoints-path",))
    epochs: int = option(30, "Number of epochs.", min=1, max=100000, aliases=("--num-epochs",))
    batch_size: int = option(8, "Batch size.", min=1, max=4096)
    learning_rate: float = option(1e-4, "Learning rate (Adam).", min=0.0, max=10.0)
    lr_scheduler: str = trainer_default("lr_scheduler", "exponential")
    lr_decay: float = option(0.95, "Per-epoch decay of the exponential schedule.", min=0.0, max=1.0,
                             aliases=("--learning-rate-decay",))
    device: str = option("auto", "auto, cpu, cuda, cuda:N or mps.", aliases=("--device-type",))
    # Data
    chunks_path: str = option("", "Folder of chunks from `mlrun phase chop` (.ogg/.flac + .phase); empty = the "
                                  "embedded synthetic default (generated, rendered and chopped once, then cached).")
    anticipation_min: float = option(0.0, "Smallest anticipation drawn per sequence (seconds).", min=0.0,
                                     max=MAX_ANTICIPATION)
    anticipation_max: float = option(1.0, "Largest anticipation drawn per sequence (seconds); the chunks' labels "
                                          "must extend at least this far past the chunk.", min=0.0,
                                     max=MAX_ANTICIPATION)
    warmup_seconds: float = option(8.0, "Leading seconds of every sequence ignored by the loss (no context yet).",
                                   min=0.0, max=600.0)
    augment_speed: float = option(0.0, "Random speed augmentation: each item is an excerpt played at a speed in "
                                       "[1/(1+s), 1+s] (0 = off: whole chunks as they are).", min=0.0, max=1.0)
    augment_gain_db: float = option(0.0, "Random gain of up to this many dB (with --augment-speed > 0).",
                                    min=0.0, max=40.0, when=("augment_speed",))
    augment_eq_db: float = option(0.0, "Random timbre: a smooth random EQ of up to +-N dB at 8 log-spaced bands "
                                       "plus a random spectral tilt of up to +-N dB on every training item "
                                       "(0 = off; validation stays unaugmented).", min=0.0, max=40.0)
    augment_reverb: float = option(0.0, "Random synthetic room on every training item: wet level up to this "
                                        "(0 = off; RT60 0.1-0.8 s; validation stays unaugmented).",
                                   min=0.0, max=2.0)
    feature_cache: bool = option(True, "Decode chunk audio once into a cache file beside the chunks.")
    # Model
    channels: int = option(64, "Channels of the TCN.", min=4, max=1024)
    blocks: int = option(8, "Residual blocks (dilations 1, 2, 4, ...).", min=1, max=12)
    n_mels: int = option(64, "Mel bands of the front end (27.5 Hz to 8 kHz).", min=8, max=128)
    rate_head: bool = option(True, "Also predict the phase rate and rotate the output ahead by anticipation * rate "
                                   "(--no-rate-head: the anticipation is only an input feature, as the original).")
    # Embedded default data
    default_data_path: str = option("", "Cache folder of the embedded default data; empty = the phase folder of "
                                        "the mlrun-music cache ($MLRUN_MUSIC_CACHE, else the user cache folder).",
                                    unless=("chunks_path",))
    default_songs: int = option(160, "Synthetic training songs of the embedded default.", min=2, max=MAX_SONGS,
                                unless=("chunks_path",))
    default_test_songs: int = option(28, "Held-out synthetic songs (including a held-out meter and soundfont).",
                                     min=1, max=MAX_SONGS, unless=("chunks_path",))
    default_song_seconds: float = option(80.0, "Approximate length of each synthetic song.", min=SONG_SECONDS[0],
                                         max=SONG_SECONDS[1], unless=("chunks_path",))
    default_chunk_seconds: float = option(32.0, "Chunk length used when chopping the embedded default.",
                                          min=CHUNK_SECONDS[0], max=CHUNK_SECONDS[1], unless=("chunks_path",))
    default_soundfonts: str = option("", "Comma-separated soundfonts for the default's training songs; empty = "
                                         "TimGM6mb, plus sf_GMbank (csound-soundfont) and the freepats patch "
                                         "set (/etc/timidity/freepats.cfg) when installed.", unless=("chunks_path",))
    default_test_soundfonts: str = option("", "Comma-separated soundfonts for the held-out songs; empty = "
                                              "FluidR3Mono_GM (fluidsynth) when installed.", unless=("chunks_path",))
    default_holdout_meter: str = option("7/8", "Meter that only appears in held-out songs ('' = none).",
                                        choices=("", "2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "12/8"),
                                        unless=("chunks_path",))
    max_processes: int = option(2, "Processes for rendering and chopping the embedded default.", min=1, max=256,
                                unless=("chunks_path",))
    # The scores set (--dataset scores or mixed)
    scores_per_source: int = option(20, "--dataset scores/mixed: pieces taken from each source.",
                                    min=SCORES_PER_SOURCE[0], max=SCORES_PER_SOURCE[1], datasets=SCORES_DATASETS)
    scores_first: int = option(SCORES_PER_SOURCE[1], "--dataset scores/mixed: index of the first piece of each "
                                                     "source (the evaluation set takes pieces from 0, at most "
                                                     f"{SCORES_PER_SOURCE[1]} per source, so the default never "
                                                     "trains on one).", min=0, max=100000, datasets=SCORES_DATASETS)
    scores_sources: str = option(SCORES_SOURCES, "--dataset scores/mixed: comma-separated sources.",
                                 datasets=SCORES_DATASETS)
    scores_max_seconds: float = option(120.0, "--dataset scores/mixed: keep the measures of each piece that end by "
                                              "this time.", min=SCORES_SECONDS[0], max=SCORES_SECONDS[1],
                                       datasets=SCORES_DATASETS)
    scores_soundfont: str = option("", "--dataset scores/mixed: comma-separated soundfonts, each rendering every "
                                       "piece once; empty = TimGM6mb plus sf_GMbank when installed (never the "
                                       "evaluation set's FluidR3Mono_GM).", datasets=SCORES_DATASETS)

    # The songs set (--dataset mixed-songs)
    songs_dirs: str = option("", "--dataset mixed-songs: folders of .mid files and Doom WADs, separated by ':'; "
                                 "empty = Debian's openttd-openmsx music and freedoom's WADs. Only the songs of "
                                 "the train split are used.", datasets=SONGS_DATASETS)
    songs_max_seconds: float = option(600.0, "--dataset mixed-songs: keep the bars of each song that end by this "
                                             "time.", min=SONGS_SECONDS[0], max=SONGS_SECONDS[1],
                                      datasets=SONGS_DATASETS)

    def validate(self) -> None:
        """Cross-field rules."""
        if self.anticipation_max < self.anticipation_min:
            raise UserError(f"--anticipation-max ({self.anticipation_max}) is below --anticipation-min "
                            f"({self.anticipation_min})")


@attrs.define(kw_only=True)
class PhaseEvalConfig:
    """Options of ``mlrun evaluate phase``."""

    anticipations: str = option("0,0.25,0.5,1.0", "Comma-separated anticipations (seconds) to evaluate at.")
    max_items: int = option(0, "Evaluate at most this many songs or chunks (0 = all).", min=0)
    tolerance: float = option(0.07, "Downbeat F-measure window (seconds).", min=0.001, max=1.0)
    warmup_seconds: float = option(-1.0, "Ignore this many leading seconds (-1 = the checkpoint's warmup).",
                                   min=-1.0, max=600.0)
    baselines: bool = option(True, "Also evaluate an untrained model and a tempo-only guess.")
    dataset: str = option("", "scores = real pieces from music21's corpus; songs = General MIDI songs with drums "
                              "from system packages (both built once, cached); empty = --data, else the "
                              "checkpoint's held-out data.", choices=("", "scores", "songs"))
    scores_per_source: int = option(6, "--dataset scores: pieces per source.", min=SCORES_PER_SOURCE[0],
                                    max=SCORES_PER_SOURCE[1])
    scores_sources: str = option(SCORES_SOURCES, "--dataset scores: comma-separated sources.")
    scores_first: int = option(0, "--dataset scores: index of the first piece of each source.", min=0, max=100000)
    scores_max_bars: int = option(0, "--dataset scores: keep at most this many measures of each piece after "
                                     "expanding repeats (0 = all; else at least 3).", min=0, max=SCORES_MAX_BARS)
    scores_max_seconds: float = option(120.0, "--dataset scores: keep the measures of each piece that end by this "
                                              "time.", min=SCORES_SECONDS[0], max=SCORES_SECONDS[1])
    scores_soundfont: str = option("", "--dataset scores: " + SCORES_SOUNDFONT_HELP)
    scores_timeout: float = option(60.0, "--dataset scores: seconds one score may take to parse (else skipped "
                                         "and counted).", min=1.0, max=3600.0)
    songs_dirs: str = option("", "--dataset songs: folders of .mid files and Doom WADs, separated by ':'; empty = "
                                 "Debian's openttd-openmsx music and freedoom's WADs.")
    songs_split: str = option("test", "--dataset songs: the fixed split by song to evaluate on (test, val or "
                                      "train; from a hash of each song's id).", choices=("test", "val", "train"))
    songs_max_seconds: float = option(120.0, "--dataset songs: keep the bars of each song that end by this time.",
                                      min=SONGS_SECONDS[0], max=SONGS_SECONDS[1])
    songs_soundfont: str = option("", "--dataset songs: soundfont; empty = FluidR3Mono_GM.sf3 through fluidsynth "
                                      "(the shipped model trained on TimGM6mb, sf_GMbank and freepats).")
    tracker: str = option("none", "Causal tracking after the network (as `mlrun phase apply --tracker`): pll = a "
                                  "phase-locked loop giving one downbeat per bar, scored as `model` beside the "
                                  "network's own phase (`raw_model`); none = the network's phase.",
                          choices=TRACKERS)
    tracker_gain: float = option(TRACKER_GAIN, "--tracker pll: share of the phase error corrected per frame.",
                                 min=1e-6, max=1.0, when=("tracker",))
    tracker_rate_gain: float = option(TRACKER_RATE_GAIN, "--tracker pll: share of the phase error added to the "
                                                         "bar rate per frame.", min=0.0, max=0.1,
                                      when=("tracker",))
