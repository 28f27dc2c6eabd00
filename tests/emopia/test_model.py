"""Model sizes and options, the training defaults, the run's files, and the KV cache."""

from __future__ import annotations

import json

import torch

from mlrun_music import api
from mlrun_music_emopia.models.transformer import EmotionTransformer


def test_training_defaults_and_size_options(mlrun):
    r = mlrun("info", "emopia", "--json")
    assert r.code == 0
    opts = {o["name"]: o for o in json.loads(r.out)["options"]}
    want = {"d_model": 512, "n_layers": 6, "n_heads": 8, "d_ff": 2048, "max_seq_len": 512, "dropout": 0.1,
            "batch_size": 8, "learning_rate": 1e-4, "weight_decay": 0.01, "optimizer": "adamw",
            "lr_scheduler": "cosine", "grad_clip": 1.0, "epochs": 50, "seed": 42,
            # the core's checkpoint files: best.pt, final.pt and latest.pt, no periodic ones unless asked
            "checkpoint_every": 0, "keep_best": 1, "best_name": "best.pt"}
    assert {k: opts[k]["default"] for k in want} == want
    config = api.make_config("emopia")
    model = EmotionTransformer(vocab_size=300, d_model=config.d_model, n_layers=config.n_layers,
                               n_heads=config.n_heads, d_ff=config.d_ff, max_seq_len=config.max_seq_len)
    n = sum(p.numel() for p in model.parameters())
    assert 19.0e6 < n < 20.5e6  # decoder-only (a TransformerDecoder of these sizes adds 6M of cross-attention)
    r = mlrun("train", "emopia", "--d-model", "30", "--n-heads", "4")
    assert r.code == 2 and "--d-model 30 must be divisible by --n-heads 4" in r.err


def test_kv_cache_matches_full_recomputation():
    torch.manual_seed(0)
    model = EmotionTransformer(vocab_size=50, d_model=32, n_layers=2, n_heads=4, d_ff=64, max_seq_len=40,
                               dropout=0.0).eval()
    tokens = torch.randint(0, 50, (3, 30))
    emotion = torch.tensor([0, 1, 3])
    duration = torch.tensor([0.3, 0.5, 0.8])
    with torch.no_grad():
        full = model(tokens, emotion, duration)
        cache = model.new_cache(3)
        first = model(tokens[:, :10], emotion, duration, cache)
        steps = [model(tokens[:, i:i + 1], emotion, duration, cache) for i in range(10, 30)]
    incremental = torch.cat([first, *steps], dim=1)
    assert torch.allclose(full, incremental, atol=1e-5)
    # the emotion input changes the prediction
    with torch.no_grad():
        other = model(tokens, torch.tensor([2, 2, 2]), duration)
    assert not torch.allclose(full, other, atol=1e-4)


def test_training_writes_the_core_checkpoints_and_log(trained):
    ckpts = sorted(p.name for p in (trained / "checkpoints").iterdir())
    assert ckpts == ["best.pt", "final.pt", "latest.pt"], ckpts
    log = (trained / "train.log").read_text()
    assert "embedded SYNTHETIC" in log and "epoch 3/3" in log
    info = torch.load(trained / "checkpoints" / "final.pt", weights_only=True)["model_info"]
    assert info["trained_quadrants"] == [1, 2, 3, 4] and info["tokenizer"].startswith("miditok-REMI")


def test_entry_point_and_commands_stay_torch_free():
    import subprocess
    import sys

    code = ("import sys, mlrun_music_emopia.plugin, mlrun_music_emopia.commands; "
            "print(','.join(m for m in ('torch', 'numpy', 'mido', 'symusic', 'miditok', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
