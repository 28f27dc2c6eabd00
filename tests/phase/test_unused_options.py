"""Options of the embedded default are refused with --chunks-path (the run would not use them): one line naming
the option and why, before anything is written."""

from __future__ import annotations

import attrs

from tests.phase.conftest import TINY

#: Each option that only the embedded default uses, with a value other than its default.
DEFAULT_ONLY = {"--default-data-path": "dd", "--default-songs": "3", "--default-test-songs": "2",
                "--default-song-seconds": "30", "--default-chunk-seconds": "8", "--default-soundfonts": "x.sf2",
                "--default-test-soundfonts": "y.sf2", "--default-holdout-meter": "5/4", "--max-processes": "1"}


def test_every_embedded_default_option_is_declared_unused_with_chunks_path():
    from mlrun_music_phase.config import PhaseConfig

    declared = {"--" + f.name.replace("_", "-") for f in attrs.fields(PhaseConfig)
                if "chunks_path" in f.metadata.get("unless", ())}
    assert declared == set(DEFAULT_ONLY)


def test_embedded_default_options_with_chunks_path_are_refused(mlrun, tmp_path, corpus):
    for flag, value in DEFAULT_ONLY.items():
        r = mlrun("train", "phase", "--chunks-path", corpus.chunks, "--output-dir", "out", "--tag", "t",
                  "--num-epochs", "1", *TINY, flag, value)
        assert r.code == 2, (flag, r.err)
        assert r.err.strip().splitlines() == [f"error: {flag} is unused when --chunks-path is given"], r.err
        assert not (tmp_path / "out").exists()
    # From a config file too.
    (tmp_path / "run.toml").write_text(f'chunks_path = "{corpus.chunks}"\ndefault_songs = 4\n')
    r = mlrun("train", "phase", "--config", "run.toml", "--output-dir", "out", *TINY)
    assert r.code == 2 and "--default-songs is unused when --chunks-path is given" in r.err
    assert not (tmp_path / "out").exists()
    # --max-processes matches its default: given but equal is still given, and still refused.
    r = mlrun("train", "phase", "--chunks-path", corpus.chunks, "--output-dir", "out", "--max-processes", "2", *TINY)
    assert r.code == 2 and "--max-processes is unused when --chunks-path is given" in r.err


def test_gain_augmentation_without_speed_augmentation_is_refused(mlrun, tmp_path):
    r = mlrun("train", "phase", "--augment-gain-db", "6", "--epochs", "1")
    assert r.code == 2 and r.err.strip() == \
        "error: --augment-gain-db is used only with --augment-speed set (it is at its default)"
    assert not (tmp_path / "runs").exists()
