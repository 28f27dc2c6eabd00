"""'No drum' items: accompaniment onsets trained towards a uniform output, so process can drop them."""

from __future__ import annotations

import json
import math

import torch
from tests.beatsight.conftest import TINY

from mlrun_music_beatsight.models.classifier import loss


class _Fixed(torch.nn.Module):
    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.logits


def test_no_drum_items_are_pulled_to_uniform_and_left_out_of_accuracy():
    labels, weights = torch.tensor([-1]), torch.ones(1)
    flat = loss(_Fixed(torch.zeros(1, 12)), (None, labels, weights), None)
    assert math.isclose(flat.loss.item(), math.log(12), rel_tol=1e-6)  # the minimum: a uniform output
    sure = torch.zeros(1, 12)
    sure[0, 3] = 8.0
    assert loss(_Fixed(sure), (None, labels, weights), None).loss.item() > flat.loss.item() + 1
    mixed = torch.zeros(3, 12)
    mixed[0, 2] = mixed[1, 5] = 5.0
    out = loss(_Fixed(mixed), (None, torch.tensor([2, 4, -1]), torch.ones(3)), None)
    assert out.metrics["accuracy"].item() == 0.5  # one right, one wrong; the no-drum item does not count


def test_training_adds_no_drum_items(mlrun, tmp_path, cache):
    r = mlrun("train", "beatsight", *TINY, "--no-drum-fraction", "0.5", "--cache-dir", cache)
    assert r.code == 0, r.text
    report = json.loads((tmp_path / "runs" / "beatsight" / "default" / "data_report.json").read_text())
    n_train = sum(report["train_counts"].values())
    assert report["no_drum_items"] == round(0.5 * n_train) and report["no_drum_onsets"] > 5
