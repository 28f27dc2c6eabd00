"""chromasonic's options (torch-free): the training defaults of the original project (epochs 100, batch 32,
learning rate 1e-3, patience 15, plateau schedule, gradient clipping 1.0) on top of the core trainer's fields.

Options that only one dataset or model reads are declared with it (``datasets=`` / ``models=``): giving one to a
run that does not use it is an error. The sizes every network reads (``--hidden-size``, ``--num-layers``,
``--dropout``) are not tied to lstm and transformer, since a third-party model (the scales example's gru) reads
them too."""

from __future__ import annotations

import attrs

from mlrun_music.config import TrainConfig, option, trainer_default
from mlrun_music.errors import UserError

from .data.abc import MAX_TUNE_NOTES

MODEL_GROUPS = {"both": ("lstm", "transformer"), "all": ("lstm", "transformer", "markov")}
#: The datasets read from ABC files (parsed into the melody cache).
ABC_DATASETS = ("folk", "nottingham", "folder")


@attrs.define(kw_only=True)
class ChromasonicConfig(TrainConfig):
    """Data, model and training settings; every field is a ``--kebab-case`` option of ``mlrun train chromasonic``."""

    # What to train (the core's --model / --dataset, with this task's meaning)
    model: str = option("all", "lstm, transformer, markov, both (lstm + transformer), all, or a comma list.")
    dataset: str = option("", "folk (default: O'Neill's / Ryan's Mammoth from music21's corpus; folder when "
                              "--data-dir is given), nottingham, folder, synthetic, or a dataset another plugin "
                              "adds.")
    # Data
    data_dir: str = option("", "Your own tunes: a folder of ABC, MIDI and MusicXML files (any depth; --dataset "
                               "folder, the default with it); with --dataset nottingham, the NMD's .abc files "
                               "(default: download into the cache once).", datasets=("folder", "nottingham"))
    track: int = option(0, "MIDI and MusicXML files of --dataset folder: take the melody from the Nth track (part) "
                           "holding pitched notes, 1 = first; 0 = the one with the most notes.", min=0, max=1000,
                        datasets=("folder",))
    cache_dir: str = option("", "Cache for parsed melodies and downloads (default: the chromasonic folder of the "
                                "mlrun-music cache: $MLRUN_MUSIC_CACHE, else the user cache folder).",
                            datasets=ABC_DATASETS)
    folk_collections: str = option("oneills1850,ryansMammoth", "music21 corpus collections used by --dataset folk.",
                                   datasets=("folk",))
    nottingham_url: str = option("https://ifdo.ca/~seymour/nottingham/nottingham_database.zip",
                                 "Where --dataset nottingham downloads the NMD zip from.", datasets=("nottingham",),
                                 unless=("data_dir",))
    nottingham_sha256: str = option("f79a4bffe78b16d630d4d69f9c62775a7aa246d0973c4d8714ab6c5139ff5a3b",
                                    "Expected SHA-256 of the NMD zip; a mismatch is refused.",
                                    datasets=("nottingham",), unless=("data_dir",))
    max_tunes: int = option(0, "Use only the first N parsed tunes (0 = all; for quick runs).", min=0,
                            datasets=ABC_DATASETS)
    parse_workers: int = option(2, "Processes that parse ABC files not yet cached.", min=1, max=64,
                                datasets=ABC_DATASETS)
    num_sequences: int = option(1000, "Number of random-walk melodies for --dataset synthetic.", min=10,
                                max=1_000_000, datasets=("synthetic",))
    synthetic_length: int = option(32, "Notes per random-walk melody.", min=4, max=10_000, datasets=("synthetic",))
    min_melody_length: int = option(16, "Drop tunes with fewer note events.", min=2)
    max_melody_length: int = option(512, "Drop tunes with more note events.", min=2, max=MAX_TUNE_NOTES)
    normalize_key: bool = option(True, "Transpose each tune so its key signature has no sharps or flats.")
    max_duration: float = option(8.0, "Longer notes are clipped to this many quarter lengths.", min=0.1, max=64.0)
    min_token_count: int = option(2, "Note events (pitch + duration) seen fewer times in training become <unk>.",
                                  min=1)
    sequence_length: int = option(64, "Context window in note events (training windows and model context).",
                                  min=4, max=4096)
    window_stride: int = option(0, "Step between training windows of a tune (0 = half the window).", min=0)
    # Models
    hidden_size: int = option(128, "LSTM hidden size and Transformer width.", min=4, max=8192, models_except=("markov",))
    embedding_size: int = option(64, "LSTM token embedding size.", min=2, max=8192, models=("lstm",))
    num_layers: int = option(2, "LSTM / Transformer layers.", min=1, max=48, models_except=("markov",))
    num_heads: int = option(8, "Transformer attention heads (must divide --hidden-size).", min=1, max=128,
                            models=("transformer",))
    feedforward_size: int = option(512, "Transformer feed-forward size.", min=4, max=65536, models=("transformer",))
    dropout: float = option(0.2, "Dropout.", min=0.0, max=0.9, models_except=("markov",))
    transformer_positions: str = option("alibi", "Transformer positions: alibi (a per-head penalty on distance; "
                                                 "better on folk, see BENCHMARKS.md) or learned (absolute, per "
                                                 "window index).",
                                        choices=("learned", "alibi"), models=("transformer",))
    markov_order: int = option(2, "Markov baseline order (notes of context).", min=1, max=6, models=("markov",))
    markov_smoothing: str = option("witten_bell", "Markov smoothing: witten_bell (interpolated) or additive "
                                                  "(add-alpha with back-off).", choices=("witten_bell", "additive"),
                                   models=("markov",))
    markov_alpha: float = option(0.1, "Add-alpha constant of the Markov model (the unigram of Witten-Bell, "
                                      "every order of additive).", min=1e-6, max=100.0, models=("markov",))
    # Training: the original project's defaults
    epochs: int = option(100, "Number of epochs.", min=1, max=100000)
    batch_size: int = option(32, "Batch size.", min=1, max=1 << 20)
    learning_rate: float = option(1e-3, "Learning rate.", min=0.0, max=10.0)
    lr_scheduler: str = trainer_default("lr_scheduler", "reduce_on_plateau")
    early_stopping_patience: int = option(15, "Stop after this many epochs without improvement (0 = off).",
                                          min=0, aliases=("--patience",))
    grad_clip: float = option(1.0, "Clip the gradient norm to this value (0 = off).", min=0.0)

    def validate(self) -> None:
        if self.data_dir and not self.dataset:
            self.dataset = "folder"
        if self.min_melody_length > self.max_melody_length:
            raise UserError(f"--min-melody-length {self.min_melody_length} is larger than --max-melody-length "
                            f"{self.max_melody_length}")


def model_names(spec: str, known: tuple[str, ...] = ("lstm", "transformer", "markov")) -> list[str]:
    """``"both"`` -> lstm, transformer; ``"all"`` -> all three; ``"lstm,markov"`` -> both named. UserError otherwise."""
    names: list[str] = []
    for part in [p.strip() for p in (spec or "all").split(",") if p.strip()]:
        group = MODEL_GROUPS.get(part, (part,))
        for name in group:
            if name not in known:
                raise UserError(f"--model: unknown model '{part}'; choose {', '.join(known)}, both, all "
                                f"or a comma list")
            if name not in names:
                names.append(name)
    if not names:
        raise UserError("--model: no model named")
    return names


def check_heads(hidden_size: int, num_heads: int, label: str = "") -> None:
    """A UserError unless the Transformer's ``num_heads`` divide its width ``hidden_size``."""
    if hidden_size % num_heads:
        raise UserError(f"{label}--num-heads {num_heads} must divide --hidden-size {hidden_size}")


def models_in_run(config: ChromasonicConfig, models: tuple[str, ...] = ("lstm", "transformer", "markov")
                  ) -> list[str]:
    """The models one run trains (``--model``) among the task's registered ``models``.

    The core asks before anything is written, so the Transformer's sizes are checked here, with its own
    ``--model.transformer.*`` options applied (``validate`` cannot: it also sees each model's own options, and an
    LSTM's width need not suit the Transformer's heads)."""
    names = model_names(config.model, models)
    if "transformer" in names:
        own = config.per_model.get("transformer", {})
        check_heads(own.get("hidden_size", config.hidden_size), own.get("num_heads", config.num_heads),
                    "transformer: " if own else "")
    return names


@attrs.define(kw_only=True)
class EvaluateConfig:
    """Options of ``mlrun evaluate chromasonic`` and ``mlrun chromasonic compare``."""

    num_generated: int = option(100, "Melodies generated from held-out openings for diversity/coherence/"
                                     "musicality.", min=1, max=100_000)
    opening_length: int = option(8, "Notes of each held-out tune given as the opening.", min=1, max=4096)
    generate_length: int = option(64, "Notes generated after each opening.", min=4, max=100_000)
    temperature: float = option(1.0, "Sampling temperature.", min=0.01, max=100.0)
    generation_seed: int = option(0, "Seed for sampling.")
    rhythm: str = option("metre", "Sampling rule of the generated melodies: metre (no event crosses a bar line of "
                                  "its tune's metre; one that starts off the eighth grid ends by the next beat) or free (the "
                                  "model's rhythm as sampled).", choices=("metre", "free"))
    batch_size: int = option(64, "Windows per batch when scoring.", min=1, max=1 << 16)


#: The shipped models, lowest held-out perplexity first (the first is the default of `mlrun chromasonic generate`):
#: transformer 7.44, lstm 7.86, markov 10.84 on the 296 test tunes (their cards).
SHIPPED = (
    ("transformer", "Causal Transformer (ALiBi positions), best of 15 epochs on the folk tunes; the default."),
    ("lstm", "2-layer LSTM, best of 40 epochs on the folk tunes."),
    ("markov", "Order-2 Markov chain (Witten-Bell) counted on the folk tunes: the baseline."),
)
