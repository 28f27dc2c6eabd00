"""The body of `mlrun emopia generate`: load a checkpoint, sample, write MIDI files and a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mlrun_music import api
from mlrun_music.fileio import write_json

from .emotions import QUADRANTS, parse_emotion
from .generate import timed_sample, write_midi


def run(checkpoint: str | None, emotion: str, duration: float, num_samples: int, temperature: float, top_k: int,
        seed: int, out_dir: str | None, device: str, use_cache: bool, shipped: str | None = None,
        written: list[Path] | None = None) -> Iterator[str]:
    """Generate and write (no checkpoint: the shipped model); yields the lines the command prints and appends each
    MIDI file to ``written``."""
    loaded = api.load_model("emopia", checkpoint, device, shipped=shipped)
    q = parse_emotion(emotion, loaded.info.get("trained_quadrants", (1, 2, 3, 4)))
    out = Path(out_dir) if out_dir else api.default_output_dir(loaded.path, "generated", loaded)
    samples, wall = timed_sample(loaded.model, loaded.info, q, duration, n=num_samples, temperature=temperature,
                                 top_k=top_k, seed=seed, use_cache=use_cache)
    name = QUADRANTS[q][0]
    records = []
    for i, s in enumerate(samples):
        path = out / f"{name}_Q{q}_seed{seed}_{i:02d}.mid"
        length = write_midi(s.score, path)
        if written is not None:
            written.append(path)
        notes = sum(len(t.notes) for t in s.score.tracks)
        records.append({"file": path.name, "emotion": name, "quadrant": q, "target_seconds": duration,
                        "seconds": round(length, 3), "notes": notes, "tokens": s.n_tokens, "stop": s.stop})
        yield f"wrote {path} ({length:.1f} s, {notes} notes, {s.n_tokens} tokens, stopped by {s.stop})"
    n_tok = sum(s.n_tokens for s in samples)
    write_json(out / f"{name}_Q{q}_seed{seed}.json", {
        "checkpoint": str(loaded.path), "emotion": name, "quadrant": q, "duration": duration,
        "temperature": temperature, "top_k": top_k, "seed": seed, "kv_cache": use_cache,
        "tokens_per_second": n_tok / wall if wall > 0 else None, "samples": records})
    yield f"{len(samples)} piece(s) of Q{q} ({name}) in {wall:.1f} s ({n_tok / max(wall, 1e-9):.0f} tokens/s)"
