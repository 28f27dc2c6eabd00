"""Which proxy emotion input lets GroovePredictor generalise to unheard songs of the drum-parts dataset.

Variants: the share of the tempo term in the arousal proxy (the rest is the window's onset density), and the
valence: 0 (what the dataset uses) or the mode of the song's pitched parts (major vs minor key-profile fit,
``data.midi.mode_valence``; 0 for songs without pitched notes). Each variant trains the GroovePredictor network
(Adam 1e-3, batch 64, at most 100 epochs, the epoch with the best validation MSE kept, patience 15) with three
seeds and prints its MSE as a ratio to the mean predictor (the training targets' mean) on the validation songs,
where the setting is chosen, and on the test songs, which only report.

    python benchmarks/kelly/groove_inputs.py [--drum-parts-dirs DIRS] [--seeds 3]
"""

from __future__ import annotations

import argparse
import os
import types

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mlrun_music_kelly.data import drums  # noqa: E402
from mlrun_music_kelly.data.midi import mode_valence  # noqa: E402
from mlrun_music_kelly.models.networks import build  # noqa: E402


def dataset(parts: list, tempo_weight: float, valence: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    drums.TEMPO_WEIGHT = tempo_weight
    chunks: dict[str, list] = {"train": [], "val": [], "test": []}
    for part in parts:
        x, y = drums.samples(part)
        if not len(x):
            continue
        if valence == "mode" and part.pitch_classes:
            x[:, :32] = mode_valence(np.asarray(part.pitch_classes, float))
        chunks[drums.split_of(drums.song_name(part))].append((x, y))
    return {k: (torch.as_tensor(np.concatenate([c[0] for c in v])), torch.as_tensor(np.concatenate([c[1] for c in v])))
            for k, v in chunks.items()}


def fit(data: dict, seed: int) -> tuple[float, float]:
    """(validation MSE, test MSE) of the epoch with the best validation MSE."""
    torch.manual_seed(seed)
    model = build("GroovePredictor")
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = data["train"]
    best, since = (float("inf"), float("inf")), 0
    for _ in range(100):
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            ((model(x[idx]) - y[idx]) ** 2).mean().backward()
            opt.step()
        with torch.no_grad():
            val = ((model(data["val"][0]) - data["val"][1]) ** 2).mean().item()
            if val < best[0] - 1e-4:
                best, since = (val, ((model(data["test"][0]) - data["test"][1]) ** 2).mean().item()), 0
            else:
                since += 1
        if since >= 15:
            break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drum-parts-dirs", default="")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    parts, report = drums.read_parts(types.SimpleNamespace(drum_parts_dirs=args.drum_parts_dirs, max_files=0))
    print(f"{len(parts)} songs in 4/4 ({report.summary()})\n")
    print("| tempo share of arousal | valence | validation MSE / mean predictor | test MSE / mean predictor |")
    print("| --- | --- | --- | --- |")
    for tempo_weight in (0.5, 0.25, 0.0):
        for valence in ("mode", "zero"):
            data = dataset(parts, tempo_weight, valence)
            mean = data["train"][1].mean(dim=0)
            base = [((data[s][1] - mean) ** 2).mean().item() for s in ("val", "test")]
            runs = np.array([fit(data, seed) for seed in range(1, args.seeds + 1)])
            val, test = runs[:, 0] / base[0], runs[:, 1] / base[1]
            print(f"| {tempo_weight:g} | {valence} | {val.mean():.3f} (+-{val.std():.3f}) | "
                  f"{test.mean():.3f} (+-{test.std():.3f}) |")


if __name__ == "__main__":
    main()
