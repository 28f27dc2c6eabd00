"""Why a model does or does not follow its emotion prompt, measured on the validation split of its dataset.

python benchmarks/emopia/diagnose_emotion.py [CHECKPOINT] [--split val] [--json OUT]

No checkpoint: the shipped model. Three measurements:

1. Sensitivity: the next-token loss of every validation window under its own quadrant and under each other
   quadrant, and the KL divergence between the two next-token distributions, by position in the window. A model
   that uses the emotion input has a lower loss under the right quadrant and a KL clearly above zero. Also the
   loss under "no emotion" (meaningful for models trained with --emotion-dropout).
2. Reach: the same KL at late positions (the emotion input is concatenated to every position's input, so it is
   visible everywhere; a KL that vanishes late means the context has taken over).
3. Separability of the PROXY labels in the training windows: each window (the unit the model learns from) decoded
   and measured; valence against the window's major-minor profile difference (> 0 = major), arousal against its
   onsets per second (the dataset's threshold), on all windows and on windows that open a clip.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from mlrun_music import api
from mlrun_music.fileio import write_json
from mlrun_music_emopia import tokens
from mlrun_music_emopia.data import loader as data_mod
from mlrun_music_emopia.features import metrics

BUCKETS = ((0, 16), (16, 64), (64, 128), (128, 256), (256, 100000))


@torch.no_grad()
def sensitivity(model, items, batch: int = 32) -> dict:
    pad = tokens.vocab().pad
    loss_true = loss_other = loss_none = 0.0
    count = 0
    kl_sum = np.zeros(len(BUCKETS) + 1)
    kl_n = np.zeros(len(BUCKETS) + 1)
    bos = tokens.vocab().bos
    best_is_true = 0
    n_windows = 0
    for i in range(0, len(items), batch):
        b = data_mod.collate([data_mod.Windows(items)[j] for j in range(i, min(len(items), i + batch))])
        x, y, emo, dur = b["tokens"], b["targets"], b["emotion"], b["duration"]
        real = y != pad
        logp = {}
        for q in range(4):
            logp[q] = torch.log_softmax(model(x, torch.full_like(emo, q), dur).float(), -1)
        nll = torch.stack([-logp[q].gather(-1, y[..., None])[..., 0] for q in range(4)])  # [4, B, T]
        none = torch.log_softmax(model(x, torch.full_like(emo, 4), dur).float(), -1)  # the "no emotion" class
        loss_none += float((-none.gather(-1, y[..., None])[..., 0] * real).sum())
        per_window = (nll * real).sum(-1)  # [4, B]
        own = nll[emo, torch.arange(len(emo))]
        loss_true += float((own * real).sum())
        others = [nll[(emo + k) % 4, torch.arange(len(emo))] for k in (1, 2, 3)]
        loss_other += float(sum((o * real).sum() for o in others)) / 3
        count += int(real.sum())
        best_is_true += int((per_window.argmin(0) == emo).sum())
        n_windows += len(emo)
        p_true = torch.stack([logp[int(q)][j] for j, q in enumerate(emo)])  # [B, T, V]
        for k in (1, 2, 3):
            p_other = torch.stack([logp[int((q + k) % 4)][j] for j, q in enumerate(emo)])
            kl = (p_true.exp() * (p_true - p_other)).sum(-1)  # [B, T]
            pos = torch.arange(kl.shape[1])
            for bi, (lo, hi) in enumerate(BUCKETS):
                m = real & (pos >= lo) & (pos < hi)
                kl_sum[bi] += float((kl * m).sum())
                kl_n[bi] += int(m.sum())
            m = real & (pos < 16) & (x[:, :1] == bos)  # the opening of a clip: no context yet
            kl_sum[-1] += float((kl * m).sum())
            kl_n[-1] += int(m.sum())
    return {"windows": n_windows, "tokens": count,
            "loss_own_quadrant": loss_true / count, "loss_other_quadrants": loss_other / count,
            "loss_no_emotion": loss_none / count,
            "windows_best_explained_by_own_quadrant": best_is_true / n_windows,
            "kl_own_vs_other_by_position": {f"{lo}-{hi - 1 if hi < 100000 else 'end'}":
                                            (kl_sum[b] / kl_n[b] if kl_n[b] else None)
                                            for b, (lo, hi) in enumerate(BUCKETS)},
            "kl_own_vs_other_first_16_tokens_of_a_clip": kl_sum[-1] / kl_n[-1] if kl_n[-1] else None}


def separability(prep, clips, length: int, threshold: float) -> dict:
    rows = {"all": [], "first": []}
    for c in clips:
        for w_i, w in enumerate(data_mod.windows(prep.ids[c.clip_id], length)):
            try:
                m = metrics(tokens.decode(list(w)))
            except Exception:
                m = None
            if m is None:
                continue
            score = tokens.decode(list(w)).to("second")
            starts = {round(float(n.time), 3) for t in score.tracks for n in t.notes}
            ends = [float(n.time + n.duration) for t in score.tracks for n in t.notes]
            span = max(max(ends) - min(starts), 1e-3)
            rec = (c.quadrant in (1, 4), c.quadrant in (1, 2), m["major_minor"] > 0, len(starts) / span)
            rows["all"].append(rec)
            if w_i == 0:
                rows["first"].append(rec)
    out = {}
    for k, r in rows.items():
        a = np.array(r, dtype=np.float64)
        out[k] = {"windows": len(r), "valence_from_mode": float(np.mean(a[:, 0] == a[:, 2])),
                  "arousal_from_onset_rate": float(np.mean(a[:, 1] == (a[:, 3] > threshold))),
                  "major_share_in_major_quadrants": float(a[a[:, 0] == 1, 2].mean()),
                  "major_share_in_minor_quadrants": float(a[a[:, 0] == 0, 2].mean())}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", nargs="?")
    ap.add_argument("--split", default="val", choices=("train", "val"))
    ap.add_argument("--threshold", type=float, default=3.4, help="Arousal threshold in onsets per second.")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    loaded = api.load_model("emopia", args.checkpoint, quiet=True)
    log = logging.getLogger("diagnose")
    with tempfile.TemporaryDirectory() as tmp:
        prep = data_mod.prepare(loaded.config, Path(tmp), log, save_split=False, reuse_split=False, restart=False)
    L = loaded.config.max_seq_len
    items = data_mod.window_items(prep, prep.clips[args.split], L)
    result = {"checkpoint": str(loaded.path), "split": args.split,
              "sensitivity": sensitivity(loaded.model, items),
              "separability_train_windows": separability(prep, prep.clips["train"], L, args.threshold)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        write_json(Path(args.json), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
