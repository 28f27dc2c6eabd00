"""What ``mlrun chromasonic generate`` does: load a checkpoint, build the opening, sample, write MIDI (and ABC)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mlrun_music.api import load_model
from mlrun_music.errors import UserError

from .generate import parse_seed_notes, sample
from .melody import Vocabulary, tokens_of
from .midi import write_abc, write_midi


def _rebuild(config: Any, log: logging.Logger) -> Any:
    """The checkpoint's dataset, rebuilt from its config; its data report goes to a temporary folder (not beside
    the checkpoint, which may be a shipped model inside the installed package)."""
    import tempfile

    from .evaluate import rebuild_data

    with tempfile.TemporaryDirectory(prefix="chromasonic-generate-") as tmp:
        return rebuild_data(config, log, Path(tmp), "chromasonic")


def _opening_from_tune(seed_from: str, loaded: Any, length: int, log: logging.Logger) -> tuple[list[int], str]:
    info, config = loaded.info, loaded.config
    vocab = Vocabulary(tuple(info["vocab"]))
    path = Path(seed_from)
    if path.suffix.lower() == ".abc" or path.is_file():
        from .abc import parse_abc_file

        if not path.is_file():
            raise UserError(f"--seed-from: {path} does not exist")
        res = parse_abc_file(str(path), path.name)
        if not res["melodies"]:
            why = res.get("file_error") or (res["skipped"][0]["reason"] if res["skipped"] else "no tunes")
            raise UserError(f"--seed-from: no usable tune in {path} ({why})")
        from .melody import Melody

        melody = Melody.from_json(res["melodies"][0])
    else:
        data = _rebuild(config, log)
        wanted = seed_from.lower()
        found = [m for ds in (data.test, data.val, data.train) if ds is not None for m in ds.melodies
                 if wanted in m.title.lower()]
        if not found:
            raise UserError(f"--seed-from: no tune titled like '{seed_from}' in the run's dataset "
                            f"(pass an .abc file, or a title such as '{data.test.melodies[0].title}')")
        melody = found[0]
    ids = vocab.encode(tokens_of(melody, info["normalize_key"], info["max_duration"]))[:length]
    return ids, melody.title


def run_generate(checkpoint: str, *, seed_notes: str | None, seed_from: str | None, seed_length: int,
                 length: int, temperature: float, top_k: int, random_seed: int, bpm: float, out: str,
                 abc_out: str | None, device: str) -> dict[str, Any]:
    """Generate one melody; returns what was written."""
    if seed_notes and seed_from:
        raise UserError("use either --seed-notes or --seed-from, not both")
    log = logging.getLogger("mlrun_music")
    loaded = load_model("chromasonic", checkpoint, device)
    info = loaded.info
    vocab = Vocabulary(tuple(info["vocab"]))
    title = "chromasonic melody"
    if seed_notes:
        opening = parse_seed_notes(seed_notes, vocab, info)
    elif seed_from:
        opening, tune = _opening_from_tune(seed_from, loaded, seed_length, log)
        title = f"after {tune}" if tune else title
    else:
        data = _rebuild(loaded.config, log)
        tune = data.test.melodies[random_seed % len(data.test.melodies)]
        opening = vocab.encode(tokens_of(tune, info["normalize_key"], info["max_duration"]))[:seed_length]
        title = f"after {tune.title}" if tune.title else title
    ids = sample(loaded.model, [opening], length, int(info["sequence_length"]), temperature, random_seed,
                 top_k)[0]
    melody = vocab.decode(ids)
    if not melody:
        raise UserError("the generated melody is empty")
    written = write_midi(melody, out, bpm=bpm)
    result = {"out": str(written), "notes": len(melody), "opening": len(opening), "generated": length,
              "seconds": sum(d for _, d in melody) * 60.0 / bpm}
    if abc_out:
        result["abc"] = str(write_abc(melody, abc_out, title))
    return result
