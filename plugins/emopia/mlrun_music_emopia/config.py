"""Options of `mlrun train emopia` and `mlrun evaluate emopia` (torch-free: imported by `mlrun list`)."""

from __future__ import annotations

import attrs

from mlrun_music.config import TrainConfig, option, trainer_default
from mlrun_music.errors import UserError


@attrs.define(kw_only=True)
class EmopiaConfig(TrainConfig):
    """Options of `mlrun train emopia`. Defaults: a ~20M-parameter transformer trained with batch 8, AdamW 1e-4,
    a cosine schedule, gradient clip 1.0, for 50 epochs, seed 42."""

    # Data: each dataset's own options are refused with the others
    data_dir: str = option("", "--dataset emopia: the local EMOPIA_1.0 folder (midis/, label.csv, split/); giving it "
                               "selects that dataset. EMOPIA: https://annahung31.github.io/EMOPIA (CC BY-NC-SA 4.0).",
                           datasets=("emopia",))
    synthetic_songs: int = option(80, "--dataset default: songs in the embedded synthetic corpus (2-4 clips each).",
                                  min=4, max=5000, datasets=("default",))
    scores_chorales: int = option(240, "--dataset scores: Bach chorales taken from music21's corpus.", min=0,
                                  max=1000, datasets=("scores",))
    scores_tunes: int = option(150, "--dataset scores: fiddle tunes taken from Ryan's Mammoth Collection.", min=0,
                               max=2000, datasets=("scores",))
    scores_timeout: float = option(30.0, "--dataset scores: seconds one score may take to parse and export "
                                         "(slower ones are skipped and counted).", min=1.0, max=3600.0,
                                   datasets=("scores",))
    balance: bool = option(True, "Oversample smaller emotion classes in the training split (after splitting).")
    augment: bool = option(True, "Train-only augmentation: transposition, tempo and velocity changes.")
    augment_transpose: int = option(5, "Largest transposition in semitones (+-).", min=0, max=12)
    augment_tempo: float = option(0.1, "Largest relative tempo change (+-).", min=0.0, max=0.5)
    augment_velocity: float = option(0.2, "Largest relative velocity change (+-; 0.2 = x0.8..1.2).", min=0.0,
                                     max=0.9)
    # Model
    d_model: int = option(512, "Transformer width.", min=8, max=4096)
    n_layers: int = option(6, "Decoder layers.", min=1, max=64, aliases=("--num-layers",))
    n_heads: int = option(8, "Attention heads (must divide --d-model).", min=1, max=64, aliases=("--num-heads",))
    d_ff: int = option(2048, "Feed-forward width.", min=8, max=16384, aliases=("--dim-feedforward",))
    max_seq_len: int = option(512, "Tokens per training window (longer clips are cut into windows).",
                              min=16, max=8192)
    dropout: float = option(0.1, "Dropout.", min=0.0, max=0.9)
    emotion_dim: int = option(64, "Size of the emotion embedding.", min=1, max=1024)
    duration_dim: int = option(32, "Size of the duration embedding.", min=1, max=1024)
    emotion_dropout: float = option(0.2, "Share of training windows whose emotion is replaced by 'no emotion', so "
                                         "sampling can use classifier-free guidance (0 = off).", min=0.0, max=0.9)
    # Training, through the core trainer's fields
    seed: int = trainer_default("seed", 42)
    epochs: int = option(50, "Number of epochs.", min=1, max=100000, aliases=("--num-epochs",))
    batch_size: int = option(8, "Batch size.", min=1, max=1 << 20)
    learning_rate: float = option(1e-4, "Learning rate.", min=0.0, max=10.0, aliases=("--lr",))
    optimizer: str = trainer_default("optimizer", "adamw")
    weight_decay: float = option(0.01, "Weight decay.", min=0.0, max=1.0)
    lr_scheduler: str = trainer_default("lr_scheduler", "cosine")
    grad_clip: float = option(1.0, "Clip the gradient norm to this value (0 = off).", min=0.0)

    def validate(self) -> None:
        """``--data-dir`` alone means the EMOPIA dataset; model sizes the attention heads can split."""
        if self.data_dir and not self.dataset:
            self.dataset = "emopia"
        if self.dataset == "emopia" and not self.data_dir:
            raise UserError("--dataset emopia needs --data-dir DIR (a local EMOPIA_1.0 folder; "
                            "https://annahung31.github.io/EMOPIA)")
        if self.d_model % self.n_heads:
            raise UserError(f"--d-model {self.d_model} must be divisible by --n-heads {self.n_heads}")
        if (self.d_model // self.n_heads) % 2:
            raise UserError(f"--d-model / --n-heads must be even (got {self.d_model // self.n_heads})")


@attrs.define(kw_only=True)
class EmopiaEvalConfig:
    """Options of `mlrun evaluate emopia`."""

    samples_per_emotion: int = option(8, "Samples generated per emotion for metrics and controllability.",
                                      min=1, max=200)
    duration: float = option(0.0, "Seconds per generated sample (0 = the mean clip length of that emotion).",
                             min=0.0, max=600.0)
    temperature: float = option(1.0, "Sampling temperature (emopia generate's default).", min=0.01, max=10.0)
    top_k: int = option(0, "Sample among the k most likely allowed tokens (0 = all, emopia generate's default).",
                        min=0, max=100000)
    seed: int = option(0, "Seed for generation.")
    batch_size: int = option(8, "Windows per batch for the test loss.", min=1, max=4096)
    guidance: float | None = option(None, "Classifier-free guidance for models trained with --emotion-dropout (1 = "
                                          "the conditional model as trained; default: emopia generate's, 6, for "
                                          "such models and 1 otherwise).", min=0.0, max=20.0)
    fill_beats: bool = option(True, "Refuse a bar or position that would leave a whole beat silent (as emopia "
                                    "generate does by default).")
    steer: bool = option(False, "Also generate with emotion steering (the quadrant's mode and onset density, as "
                                "`emopia generate --steer` does) and report it under 'steered'.")
    tonic_bias: float = option(1.0, "With --steer: logit bonus of the key's tonic and fifth.", min=0.0, max=20.0)
    density_bias: float = option(1.0, "With --steer: strength of the onset-gap bias (0 = none).", min=0.0,
                                 max=20.0)
