"""Options of both beatsight tasks (``mlrun train beatsight``, ``mlrun train beatsight-transcriber``) and of their
evaluations, with their validation. Torch- and numpy-free (``mlrun info`` and the CLI read it)."""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from mlrun_music.config import TrainConfig, option, trainer_default
from mlrun_music.errors import UserError

#: Debian's hydrogen-drumkits: the kits that play a drum set (not the hand-percussion ones, nor "The Black Pearl",
#: the same samples as the AVL kit above).
HYDROGEN_KITS = ("Audiophob", "BJA_Pacific", "ColomboAcousticDrumkit", "ElectricEmpireKit", "ForzeeStereo",
                 "HardElectro1", "Millo-Drums_v.1", "Millo_MultiLayered2", "Millo_MultiLayered3", "VariBreaks",
                 "rumpf_kit_z01_h2")
DEFAULT_EXTRA_KITS = ("/usr/share/sounds/sf2/sf_GMbank.sf2", "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
                      "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2", "/etc/timidity/freepats.cfg",
                      *(f"/usr/share/hydrogen/data/drumkits/{k}" for k in HYDROGEN_KITS))

#: The held-out kits of `mlrun evaluate beatsight-transcriber --part-songs`, one of each kind, fixed before any was
#: scored: a sampled General MIDI soundfont (the test kit), a real acoustic sampled kit (Hydrogen's GMRockKit), an
#: electronic kit (Hydrogen's TR-808 emulation) and a synthesised one (the OPL3 FM soundfont). No training kit may be
#: one of them.
HELD_OUT_KITS = ("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3", "/usr/share/hydrogen/data/drumkits/GMRockKit",
                 "/usr/share/hydrogen/data/drumkits/TR808EmulationKit", "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2")


def same_kit(a: str, b: str) -> bool:
    """Whether two kit paths name one kit (a Hydrogen kit by its folder or its drumkit.xml)."""
    def norm(p: str) -> Path:
        q = Path(p)
        q = q.parent if q.name == "drumkit.xml" else q
        return q.resolve() if q.exists() else q

    return norm(a) == norm(b)


@attrs.define(kw_only=True)
class KitOptions(TrainConfig):
    """Options shared by both beatsight tasks: which kits render the embedded default, and the held-out test kit."""

    soundfont: str = option("/usr/share/sounds/sf2/TimGM6mb.sf2", "Embedded default: the training soundfont.")
    extra_soundfonts: str = option(
        ",".join(DEFAULT_EXTRA_KITS),
        "Embedded default: further training kits, comma-separated: soundfonts (rendered with fluidsynth), timidity "
        "patch sets (.cfg, rendered with timidity) or Hydrogen drumkits (a folder with drumkit.xml; samples mixed, "
        "instruments matched to components by name); the AVL Drumkits' own key map is known. Missing kits are "
        "skipped with a warning. Never the test kit or a soundfont with its samples (FluidR3, MuseScore_General).")
    test_soundfont: str = option("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3",
                                 "Embedded default: a second kit, never trained on, for the test split "
                                 "(rendered with fluidsynth; timidity cannot read .sf3).")
    cache_dir: str = option("", "Where rendered audio is cached; empty = the subfolder beatsight of the shared cache "
                                "($MLRUN_MUSIC_CACHE, else the user cache folder, ~/.cache/mlrun-music on Linux).")

    def validate(self) -> None:
        """No training kit may be (or share samples with) the held-out test kit, nor be one of :data:`HELD_OUT_KITS`."""
        from .kits.soundfonts import leaks_test_kit

        for sf in [self.soundfont, *self.extra_soundfonts.split(",")]:
            if sf.strip() and leaks_test_kit(sf.strip(), self.test_soundfont):
                raise UserError(f"training soundfont {sf.strip()} is (or shares samples with) the held-out test kit "
                                f"{self.test_soundfont}; training on it would make the test figures meaningless")
            held = next((k for k in HELD_OUT_KITS if sf.strip() and same_kit(sf.strip(), k)), None)
            if held:
                raise UserError(f"training kit {sf.strip()} is a held-out kit of the evaluation ({held}); training on "
                                "it would make the held-out figures meaningless")


@attrs.define(kw_only=True)
class BeatsightConfig(KitOptions):
    """Options of ``mlrun train beatsight``: the original project's defaults (Adam 1e-3, batch 32, 50 epochs,
    plateau)."""

    data_dir: str = option("", "The exported folder (`mlrun beatsight collect export`) of --dataset folder, which "
                               "it selects when given alone; `--dataset DIR` does the same.", datasets=("folder",))
    epochs: int = option(50, "Number of epochs.", min=1, max=100000)
    batch_size: int = option(32, "Batch size.", min=1, max=1 << 20)
    learning_rate: float = option(1e-3, "Learning rate (Adam).", min=0.0, max=10.0)
    lr_scheduler: str = trainer_default("lr_scheduler", "reduce_on_plateau")
    monitor: str = option("val_accuracy", "Metric that picks the best checkpoint (and drives the plateau schedule).")
    monitor_mode: str = option("max", "Whether the monitored metric should go down or up.", choices=("min", "max"))
    dropout: float = option(0.3, "Dropout before the last linear layer.", min=0.0, max=0.95)
    augment: bool = option(True, "On-the-fly augmentation of training hits (gain, noise, EQ, speed, mixing).")
    mix_probability: float = option(0.7, "Chance of mixing non-drum audio into a training hit (an augmentation).",
                                    min=0.0, max=1.0, unless=("augment",))
    mix_max_db: float = option(10.0, "Mixed-in non-drum audio is from 20 dB below the hit up to this many dB above "
                                    "it (quiet hi-hats sit under louder accompaniment in real songs).",
                               min=-20.0, max=30.0, unless=("augment",))
    no_drum_fraction: float = option(0.2, "'No drum' items added per training hit: windows of the non-drum mixing "
                                          "audio at its onsets, trained towards a uniform output (outlier "
                                          "exposure), so process drops non-drum onsets by --confidence. 0 = off.",
                                     min=0.0, max=5.0)
    class_weighting: bool = option(True, "Weight the loss by inverse class frequency (rare classes count more).")
    default_velocities: int = option(8, "Embedded default: velocity levels per drum note and renderer.",
                                     min=1, max=64)
    default_grooves: int = option(12, "Embedded default: rendered training grooves (4 bars each).", min=0, max=500)
    default_renderers: str = option("timidity,fluidsynth", "Embedded default: renderers, comma-separated.")
    extra_grooves: int = option(4, "Embedded default: grooves rendered with each extra kit (besides its one-shots).",
                                min=0, max=500)
    synthetic_kits: int = option(150, "Embedded default: random procedurally synthesised drum kits added to "
                                      "training (domain randomisation; 0 = soundfont renders only).",
                                 min=0, max=100000, datasets=("default",))
    synthetic_val_kits: int = option(12, "Embedded default: further synthetic kits, never trained on, added to the "
                                         "validation split.", min=0, max=10000, datasets=("default",))
    synthetic_hits_per_class: int = option(1, "Embedded default: hits per class and synthetic kit.", min=1, max=100,
                                           datasets=("default",))
    synthetic_seed: int = option(0, "Embedded default: seed of the synthetic kits.", min=0, max=2**31 - 1,
                                 datasets=("default",))

    def validate(self) -> None:
        """``--data-dir DIR`` alone means ``--dataset folder``, which needs it; ``--dataset DIR`` (the core picks the
        ``folder`` dataset for a path) and a different ``--data-dir`` contradict each other; the renderers must be
        known."""
        if self.data_dir and not self.dataset:
            self.dataset = "folder"
        if self.dataset == "folder" and not self.data_dir:
            raise UserError("--dataset folder needs --data-dir DIR (an exported dataset folder); or give --dataset DIR")
        if (self.data_dir and self.dataset not in ("", "default", "folder") and self.dataset != self.data_dir
                and (os.sep in self.dataset or "/" in self.dataset or Path(self.dataset).exists())):
            raise UserError(f"--dataset {self.dataset} and --data-dir {self.data_dir} disagree; give one")
        super().validate()
        renderers = [r.strip() for r in self.default_renderers.split(",") if r.strip()]
        if not renderers or any(r not in ("timidity", "fluidsynth") for r in renderers):
            raise UserError(f"--default-renderers must list timidity and/or fluidsynth, got {self.default_renderers!r}")


@attrs.define(kw_only=True)
class BeatsightEvalConfig:
    """Options of ``mlrun evaluate beatsight``."""

    heuristic_baseline: bool = option(True, "Also score the heuristic classifier on the same hits (baseline).")


@attrs.define(kw_only=True)
class TranscriberConfig(KitOptions):
    """Options of ``mlrun train beatsight-transcriber`` (frame-level transcription of whole songs)."""

    epochs: int = option(12, "Number of epochs.", min=1, max=100000)
    batch_size: int = option(16, "Chunks per batch.", min=1, max=1 << 20)
    learning_rate: float = option(1e-3, "Learning rate.", min=0.0, max=10.0)
    optimizer: str = trainer_default("optimizer", "adamw")
    weight_decay: float = option(1e-4, "Weight decay.", min=0.0, max=1.0)
    grad_clip: float = option(1.0, "Clip the gradient norm to this value (0 = off).", min=0.0)
    lr_scheduler: str = trainer_default("lr_scheduler", "cosine")
    monitor: str = option("val_onset_f", "Metric that picks the best checkpoint.")
    monitor_mode: str = option("max", "Whether the monitored metric should go down or up.", choices=("min", "max"))
    hidden: int = option(64, "GRU units per direction.", min=4, max=4096)
    dropout: float = option(0.1, "Dropout after each conv block and between the GRU layers.", min=0.0, max=0.95)
    positive_weight: float = option(4.0, "Loss weight of onset frames against the many frames without one.",
                                    min=0.01, max=1000.0)
    class_weighting: bool = option(False, "Weight each class's hit frames by its inverse frequency in the training "
                                          "songs (china and ride bell are rarer: many kits lack them).")
    chunk_seconds: float = option(4.0, "Length of the training chunks cut from the songs.", min=0.5, max=120.0)
    threshold: float = option(0.6, "Peak threshold on a class activation: the default of `process --confidence` "
                                   "with this model and of `mlrun evaluate` (0.6: best on training-kit songs, "
                                   "docs/experiments/beatsight.md).", min=0.0, max=1.0)
    renderer: str = option("timidity", "Embedded default: the renderer of --soundfont.",
                           choices=("timidity", "fluidsynth"))
    songs_per_kit: int = option(60, "Embedded default: training songs per rendered kit.", min=0, max=100000)
    synthetic_songs: int = option(400, "Embedded default: training songs on procedurally synthesised random kits "
                                       "(a new kit per song).", min=0, max=100000)
    free_song_fraction: float = option(0.25, "Embedded default: share of songs with hits at random times instead of "
                                             "a groove (every class equally often), so the model learns sounds, "
                                             "not the groove generator's patterns.", min=0.0, max=1.0)
    free_hit_spacing: float = option(1.0, "Embedded default: scale of the gaps between those songs' hits (50-700 ms at "
                                          "1; 2 lets most hits ring out alone, like one-shots).", min=0.2, max=10.0)
    val_songs_per_kit: int = option(4, "Embedded default: validation songs per rendered kit (other seeds).",
                                    min=0, max=100000)
    val_synthetic_songs: int = option(16, "Embedded default: validation songs on other synthetic kits.",
                                      min=0, max=100000)
    part_windows: int = option(0, "Embedded default: excerpts of each human-written training song (the train split "
                                  "of --part-dirs' drum parts; validation songs give at most 2), each on a random "
                                  "training kit with the song's own accompaniment; 0 = none.", min=0, max=1000)
    part_seconds: float = option(12.0, "Embedded default: length of those excerpts.", min=2.0, max=600.0)
    part_dirs: str = option("", "Folders of human-written drum parts (General MIDI, Doom WAD, Hydrogen songs; "
                                f"separated by '{os.pathsep}'); empty = the Debian packages' folders.")
    kit_augmentation: bool = option(False, "Embedded default: make each human-written excerpt's kit another kit "
                                           "(pitch shift, EQ, compression or saturation, generated room reverb, "
                                           "noise; each with probability 1/2).")
    test_songs: int = option(6, "Evaluation: held-out songs rendered with --test-soundfont (the transcription "
                                "benchmark's grooves, seeds 5000 on).", min=1, max=10000)


@attrs.define(kw_only=True)
class TranscriberEvalConfig:
    """Options of ``mlrun evaluate beatsight-transcriber``."""

    threshold: float = option(-1.0, "Peak threshold (-1 = the model's --threshold).", min=-1.0, max=1.0)
    songs: int = option(0, "Songs to transcribe (0 = the model's --test-songs).", min=0, max=10000)
    mix_songs: int = option(0, "Songs transcribed at each mix level (drums only; accompaniment 6 dB below, level "
                               "with and 6 dB above the drums); 0 = as many as --songs.", min=0, max=10000)
    heuristic_baseline: bool = option(True, "Also transcribe the same songs with the onset pipeline "
                                            "(spectral-flux onsets + heuristic classifier) as a baseline.")
    generated: bool = option(True, "Transcribe the generated songs of the test kit (--songs, --mix-songs) and "
                                   "its one-shots; --no-generated with --part-songs gives the held-out table alone.")
    part_songs: int = option(0, "Held-out table: human-written songs (the test split of --part-dirs' drum parts; "
                                "the validation split with --split val) transcribed on each --held-out-kits kit at "
                                "each mix level; 0 = no table.", min=0, max=10000)
    part_seconds: float = option(30.0, "Held-out table: seconds of each song (from the bar of its first hit).",
                                 min=2.0, max=600.0)
    part_dirs: str = option("", "Held-out table: folders of drum parts (General MIDI, Doom WAD, Hydrogen songs; "
                                f"separated by '{os.pathsep}'); empty = the Debian packages' folders.")
    held_out_kits: str = option(",".join(HELD_OUT_KITS), "Held-out table: kits, comma-separated (soundfonts or "
                                "Hydrogen kit folders; missing ones are left out with a warning).")
    held_out_band: str = option(HELD_OUT_KITS[0], "Held-out table: the soundfont that plays the accompaniment "
                                "of the drum-only kits (Hydrogen kits).")
