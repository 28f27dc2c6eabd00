"""A smoke run with the original project's option names, training options, apply (torch, ONNX, streaming), export, inspect and evaluate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from tests.phase.conftest import SF2, TINY, read_json


def _circ(a: np.ndarray, b: np.ndarray) -> float:
    d = np.abs(a - b) % 1.0
    return float(np.minimum(d, 1 - d).max())


def test_smoke_run_with_the_original_option_names(mlrun, tmp_path, corpus):
    """render one file, chop, train one epoch, apply: the original project's commands and option names."""
    one = sorted(corpus.midi.rglob("*.mid"))[0]
    r = mlrun("phase", "render", "--single-file", one, "--single-soundfont", SF2,
              "--out-path", "data/rendered_midi/smoke/single/song", "--midi-jitter-max-seconds", "0.05",
              "--max-processes", "1", "--overwrite")
    assert r.code == 0, r.err
    song = tmp_path / "data/rendered_midi/smoke/single/song"
    assert (song / "events.csv").is_file() and (song / "bars.csv").is_file() and list(song.glob("*.ogg"))
    r = mlrun("phase", "chop", "--in-path", "data/rendered_midi/smoke", "--out-path", "data/chunks/smoke_phase",
              "--max-processes", "1", "--chunk-seconds", "6")
    assert r.code == 0, r.err
    chunk = sorted((tmp_path / "data/chunks/smoke_phase").glob("single-song-TimGM6mb-*.ogg"))[0]
    r = mlrun("train", "phase", "--chunks-path", "data/chunks/smoke_phase", "--checkpoints-path", "checkpoints",
              "--tag", "smoke-phase", "--num-epochs", "1", "--batch-size", "2", "--anticipation-min", "0.0",
              "--anticipation-max", "1.0", "--warmup-seconds", "1.0", "--channels", "8", "--blocks", "2",
              "--val-fraction", "0")
    assert r.code == 0, r.err
    ckpt = tmp_path / "checkpoints/phase/smoke-phase/checkpoints/final.pt"  # the core's run layout
    assert ckpt.is_file()
    assert not list(ckpt.parent.glob("epoch_*.pt"))  # periodic checkpoints only with --keep-every
    r = mlrun("phase", "apply", ckpt, chunk, "--anticipation", "0.25")
    assert r.code == 0, r.err
    pred = np.loadtxt(str(chunk) + ".phase_prediction")
    assert len(pred) == 6 * 50 and np.all((pred >= 0) & (pred < 1))


def test_training_options_continue_and_schedule(mlrun, tmp_path, corpus):
    base = ["train", "phase", "--chunks-path", corpus.chunks, "--checkpoints-path", "ck", "--tag", "run",
            "--learning-rate", "0.01", "--learning-rate-decay", "0.5", "--keep-every", "1", *TINY]
    r = mlrun(*base, "--num-epochs", "1")
    assert r.code == 0, r.err
    r = mlrun(*base, "--continue-from", "1", "--num-epochs", "1", "--onnx")  # one more epoch
    assert r.code == 0, r.err
    assert "1 more epochs" in r.err
    run = tmp_path / "ck/phase/run"
    assert (run / "exports/phase_tcn_mel.onnx").is_file()  # --onnx exports at the end
    assert (run / "checkpoints/epoch_1.pt").is_file() and (run / "checkpoints/epoch_2.pt").is_file()
    history = read_json(run / "history.json")
    rows = history if isinstance(history, list) else history.get("epochs", history.get("history"))
    lrs = [row["lr"] for row in rows]
    assert np.allclose(lrs, [0.01, 0.005])  # exponential decay per epoch (the rate used in each epoch)
    state = torch.load(run / "checkpoints/epoch_2.pt", weights_only=True)
    assert state["task"] == "phase" and state["model_name"] == "phase_tcn_mel"
    # The decoded-chunk cache is written once and reused.
    assert list((corpus.chunks / ".mlrun-cache").glob("chunks-*/audio.npy"))
    assert "decoded chunk cache" in r.err


def test_apply_torch_onnx_streaming_agree(mlrun, tmp_path, corpus):
    chunk = sorted(corpus.chunks.glob("*.ogg"))[0]
    audio, _ = sf.read(str(chunk), dtype="float32")
    # Any rate and channel count: a 44.1 kHz stereo copy.
    from scipy.signal import resample_poly

    stereo = np.stack([resample_poly(audio, 441, 160), 0.5 * resample_poly(audio, 441, 160)], axis=1)
    sf.write(str(tmp_path / "song.wav"), stereo.astype(np.float32), 44100)
    ck = corpus.checkpoint
    r = mlrun("export", "phase", ck, "--output", "model.onnx")
    assert r.code == 0, r.err
    check = read_json(tmp_path / "model.onnx.check.json")
    assert set(check["inputs"]) == {"frames", "anticipation"} and list(check["outputs"]) == ["phase_sincos"]
    outs = {}
    for name, extra in (("torch", [ck]), ("onnx", ["--onnx-model", "model.onnx", "--warmup-seconds", "1"]),
                        ("stream", [ck, "--streaming", "--block-ms", "13"]),
                        ("stream_numpy", [ck, "--streaming", "--block-ms", "20", "--stream-backend", "numpy"])):
        r = mlrun("phase", "apply", *extra, "song.wav", "--anticipation", "0.5", "--output", f"{name}.txt")
        assert r.code == 0, r.err
        outs[name] = np.loadtxt(tmp_path / f"{name}.txt")
    assert len(outs["torch"]) == len(audio) // 320
    assert _circ(outs["torch"], outs["onnx"]) < 1e-4
    assert _circ(outs["torch"], outs["stream"]) < 1e-5 and _circ(outs["torch"], outs["stream_numpy"]) < 1e-5
    r = mlrun("phase", "apply", ck, "song.wav", "--stream-backend", "numpy")
    assert r.code != 0 and "--stream-backend applies to --streaming" in r.err
    # The anticipation input changes the output.
    r = mlrun("phase", "apply", ck, "song.wav", "--anticipation", "0", "--output", "a0.txt")
    assert _circ(np.loadtxt(tmp_path / "a0.txt"), outs["torch"]) > 1e-3


def test_streaming_matches_offline_in_python(corpus):
    from mlrun_music.api import load_model
    from mlrun_music_phase.apply import PhaseStream, predict_phase
    from mlrun_music_phase.models.tcn import PhaseTCNMel

    torch.manual_seed(0)
    original = PhaseTCNMel(n_mels=16, channels=8, blocks=3, rate_head=False).eval()  # anticipation as input only
    for model, backend in ((load_model("phase", corpus.checkpoint).model, "onnxruntime"), (original, "onnxruntime"),
                           (original, "numpy")):
        rng = np.random.default_rng(0)
        audio = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
        offline = predict_phase(model, audio, 0.3)
        stream = PhaseStream(model, 0.3, backend)
        got = []
        pos = 0
        while pos < len(audio):  # irregular block sizes, some shorter than a frame
            n = int(rng.integers(1, 900))
            got.append(stream.push(audio[pos:pos + n]))
            pos += n
        got = np.concatenate(got)
        assert len(got) == len(offline) and _circ(got, offline) < 1e-5


def test_rate_head_rotates_by_anticipation():
    """With the rate head, the output a seconds ahead is the a = 0 output rotated by 2*pi*a*rate."""
    from mlrun_music_phase.models.tcn import PhaseTCNMel, sincos_to_phase

    torch.manual_seed(1)
    model = PhaseTCNMel(n_mels=16, channels=8, blocks=2).eval()
    model.inp.weight.data[:, -1] = 0  # make the anticipation feature inert: only the rotation remains
    frames = 0.1 * torch.randn(1, 60, 320)
    with torch.no_grad():
        h = model.features(frames, torch.tensor([0.0]))
        for b in model.blocks:
            h = b(h)
        rate = torch.nn.functional.softplus(model.head(h)[..., 2])
        p0 = sincos_to_phase(model(frames, torch.tensor([0.0])))
        p1 = sincos_to_phase(model(frames, torch.tensor([0.7])))
    expected = torch.remainder(p0 + 0.7 * rate, 1.0)
    assert _circ(p1.numpy(), expected.numpy()) < 1e-4


def test_inspect_and_evaluate(mlrun, tmp_path, corpus):
    r = mlrun("phase", "inspect", corpus.root / "ck", "phase/tiny/checkpoints/final.pt",  # CHECKPOINTS-DIR RELATIVE
              "--dataset-path", corpus.chunks, "--anticipation", "0.25", "--count", "2", "--output", "plots")
    assert r.code == 0, r.err
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert len(pngs) == 2 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    r = mlrun("evaluate", "phase", corpus.checkpoint, "--data", corpus.rendered, "--output", "ev",
              "--anticipations", "0,0.5", "--warmup-seconds", "2")
    assert r.code == 0, r.err
    m = read_json(tmp_path / "ev" / "metrics.json")["metrics"]
    assert m["items"] == 4
    for key in ("anticipation_0", "anticipation_0.5"):
        for name in ("model", "untrained_model", "tempo_only"):
            row = m["by_anticipation"][key][name]
            assert 0 <= row["circ_mae_bars"] <= 0.5 and 0 <= row["within_0.05_bar"] <= 1
            assert 0 <= row["downbeat_f"] <= 1
    assert set(m["model_by_meter"]) == {"3/4", "4/4", "6/8", "7/8"}
    assert (tmp_path / "ev" / "evaluation.png").read_bytes()[:4] == b"\x89PNG"
    # On a chunk folder too; a checkpoint trained on --chunks-path needs --data.
    r = mlrun("evaluate", "phase", corpus.checkpoint, "--data", corpus.chunks, "--output", "ev2", "--max-items", "3")
    assert r.code == 0, r.err
    assert read_json(tmp_path / "ev2" / "metrics.json")["metrics"]["items"] == 3
    r = mlrun("evaluate", "phase", corpus.checkpoint)
    assert r.code == 2 and "--data" in r.err


def test_tempo_only_baseline_is_exact_for_a_known_grid():
    """The scorer on a synthetic truth: a perfect guess scores 1, a half-bar shift scores 0."""
    from mlrun_music_phase.evaluate import EvalItem, score
    from mlrun_music_phase.data.labels import phase_at

    bars = np.arange(0, 40, 1.7)
    item = EvalItem("x", np.zeros(16000 * 30, np.float32), lambda t: phase_at(t, bars), bars[:-1], 1.7, "4/4")
    n = 30 * 50
    for a in (0.0, 0.5):
        perfect = phase_at(np.arange(n) / 50 + a, bars)
        s = score(perfect, item, a, 2.0, 0.07)
        assert s["f"] == 1.0 and s["circ_mae_sum"] < 1e-6
        s = score(np.mod(perfect + 0.5, 1), item, a, 2.0, 0.07)
        assert s["f"] == 0.0


def test_default_chain_is_announced_and_cached(mlrun, tmp_path):
    args = ["train", "phase", "--checkpoints-path", "ck", "--num-epochs", "1", "--default-data-path", "dd",
            "--default-songs", "3", "--default-test-songs", "2", "--default-song-seconds", "16",
            "--default-chunk-seconds", "5", "--default-test-soundfonts", str(SF2), "--max-steps", "1", *TINY]
    r = mlrun(*args, "--tag", "first")
    assert r.code == 0, r.err
    assert "preparing the embedded synthetic default" in r.err and "held-out meter 7/8" in r.err
    prepared = read_json(next((tmp_path / "dd").glob("default-*/prepared.json")))
    assert prepared["train"]["chop"]["chunks"] > 0 and prepared["test"]["chop"]["chunks"] > 0
    # Training songs are spread over TimGM6mb and, when installed (setup.sh installs them), sf_GMbank
    # (csound-soundfont) and the freepats patch set; each song records its soundfont.
    expected = ["TimGM6mb.sf2"] + [Path(p).name for p in ("/usr/share/sounds/sf2/sf_GMbank.sf2",
                                                          "/etc/timidity/freepats.cfg") if Path(p).is_file()]
    fonts = [Path(p).name for p in prepared["params"]["train_soundfonts"]]
    assert fonts == expected and ", ".join(expected) in r.err
    used = {read_json(p)["soundfont"] for p in (tmp_path / "dd").glob("default-*/rendered/train/**/render.json")}
    assert sorted(Path(p).name for p in used) == sorted(expected)
    train_midi = list((tmp_path / "dd").glob("default-*/midi/train/generate_manifest.json"))[0]
    assert "7/8" not in {m for s in read_json(train_midi)["songs"] for m in s["meters"]}
    r = mlrun(*args, "--tag", "second")
    assert r.code == 0, r.err
    assert "using the cached embedded synthetic default" in r.err and "preparing" not in r.err
    report = read_json(tmp_path / "ck" / "phase" / "second" / "data_report.json")
    assert "embedded_default" in report and report["chunks"] > 0


def test_plugin_module_is_torch_free():
    code = ("import sys, mlrun_music_phase.plugin, mlrun_music_phase.commands; "
            "bad = [m for m in ('torch', 'numpy', 'scipy', 'matplotlib', 'mido', 'music21') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_augmented_run_from_earlier_weights(mlrun, tmp_path, corpus):
    """--augment-speed trains on stretched excerpts (validation on whole chunks); --init-from reuses weights."""
    base = ["train", "phase", "--chunks-path", corpus.chunks, "--checkpoints-path", "ck", "--num-epochs", "1", *TINY]
    r = mlrun(*base, "--tag", "first")
    assert r.code == 0, r.err
    r = mlrun(*base, "--tag", "aug", "--augment-speed", "0.2", "--augment-gain-db", "6",
              "--init-from", "ck/phase/first/checkpoints/final.pt", "--learning-rate", "0")
    assert r.code == 0, r.err
    assert "model weights from ck/phase/first/checkpoints/final.pt" in r.err
    first = torch.load(tmp_path / "ck/phase/first/checkpoints/final.pt", weights_only=True)["model"]
    aug = torch.load(tmp_path / "ck/phase/aug/checkpoints/final.pt", weights_only=True)["model"]
    assert all(torch.equal(first[k], aug[k]) for k in first)  # learning rate 0: the weights came through unchanged
    r = mlrun(*base, "--tag", "bad", "--init-from", "ck/phase/first/checkpoints/final.pt", "--channels", "16")
    assert r.code != 0 and "--init-from" in r.err and "Traceback" not in r.err


def test_stretched_excerpt_follows_the_labels():
    """An excerpt played 1.2x faster from frame 10: audio and phase sampled at 10 + 1.2 j, wraps kept sharp."""
    from mlrun_music_phase.data.chunks import stretch_chunk

    frames, extra = 200, 50
    labels = np.mod(np.arange(frames + extra) / 37.0, 1.0)  # a bar every 37 frames
    audio = np.sin(np.arange(frames * 320) / 50.0).astype(np.float32)
    out_audio, out_labels = stretch_chunk(audio, labels, 1.2, 10.0, 120, extra)
    assert out_audio.shape == (120 * 320,) and out_labels.shape == (170,)
    expect = np.mod((10 + 1.2 * np.arange(170)) / 37.0, 1.0)
    assert _circ(out_labels, expect) < 1e-6
    assert np.allclose(out_audio[:1000], np.sin((3200 + np.arange(1000) * 1.2) / 50.0), atol=1e-3)


def test_wrap_detection_ignores_trembling_around_the_downbeat():
    from mlrun_music_phase.data.labels import wrap_times

    track = np.array([0.5, 0.9, 0.99, 0.01, 0.98, 0.02, 0.3, 0.6, 0.95, 0.05, 0.97, 0.1])
    assert np.allclose(wrap_times(track, 50) * 50, [2.5, 8.5])
    assert len(wrap_times(track, 50, hysteresis=False)) == 4
    clean = np.mod(np.arange(500) / 45.0, 1.0)  # clean tracks give the same wraps either way
    assert np.allclose(wrap_times(clean, 50), wrap_times(clean, 50, hysteresis=False))
