"""The scales dataset and the GRU model; chromasonic's public helper does splitting, vocabulary and windows."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mlrun_music_chromasonic.data.splits import splits_from_melodies
from mlrun_music_chromasonic.models.neural import vocab_size

MAJOR = (0, 2, 4, 5, 7, 9, 11, 12)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11, 12)
RHYTHMS = ((0.5,), (1.0,), (0.75, 0.25), (1.0, 0.5, 0.5))


def exercises(keys: int = 12) -> list[dict[str, Any]]:
    """Up-and-down scales and broken-chord arpeggios in ``keys`` tonics from middle C, major and minor, several
    rhythms: 16 short melodies per tonic (192 for all twelve)."""
    tunes = []
    for tonic in range(60, 60 + keys):
        for mode, steps in (("major", MAJOR), ("minor", HARMONIC_MINOR)):
            scale = [tonic + s for s in steps]
            arpeggio = [scale[0], scale[2], scale[4], scale[7], scale[4], scale[2], scale[0]]
            for r, rhythm in enumerate(RHYTHMS):
                for kind, pitches in (("scale", scale + scale[-2::-1]), ("arpeggio", arpeggio * 2)):
                    notes = [(p, rhythm[i % len(rhythm)]) for i, p in enumerate(pitches)] + [(None, 1.0)]
                    tunes.append({"title": f"{kind} {tonic} {mode} r{r}", "notes": notes})
    return tunes


def load_scales(config: Any, ctx: Any):
    """The DatasetSpec factory: build melodies, let chromasonic turn them into its DataSplits."""
    return splits_from_melodies(exercises(config.scales_keys), config, source="scales (mlrun-music-scales)")


class MelodyGRU(nn.Module):
    def __init__(self, vocab: int, width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.gru = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.embed(tokens))
        return self.head(out)


def build_gru(config: Any, info: dict[str, Any]) -> nn.Module:
    return MelodyGRU(vocab_size(info), config.hidden_size)
