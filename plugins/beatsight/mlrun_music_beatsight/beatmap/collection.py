"""A collection of labelled drum hits on disk, and its export into train/val folders.

Layout (``--data-dir``, default ``training_data``): ``<component>/<id>.wav`` plus ``metadata.json`` =
``{"samples": [{id, component, source_audio, onset_time, window_ms, sample_rate, source, path, ...}],
"version": "1.0.0"}``. Each WAV holds a window of the source from ``pre_ms`` before the onset to ``post_ms`` after
it, wider than the classifier's window so augmentation can shift time. Component names are checked against the 12
classes and only the canonical name from :data:`COMPONENTS` becomes a folder, so no input reaches a path as given.
A sample's id is derived from (audio sha256, onset in ms, component): adding it twice is a no-op.
``metadata.json`` is always written atomically, after the WAV it describes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, current_umask, write_json

from .bsm import read_bsm, sha256_of
from ..kits.classes import COMPONENTS, component_index

SAMPLE_RATE = 44100
PRE_MS = 100.0
POST_MS = 400.0
METADATA_VERSION = "1.0.0"
#: The original project's recommended minimum samples per component (crash2, ride_bell and china: this plugin's).
RECOMMENDED_MIN = {"kick": 100, "snare": 100, "hihat_closed": 150, "hihat_open": 50, "crash": 75, "ride": 75,
                   "tom_high": 50, "tom_mid": 50, "tom_low": 50, "crash2": 50, "ride_bell": 50, "china": 50}
SILENT_PEAK = 1e-4


@attrs.define
class AddReport:
    """What an add or extract did."""

    added: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = attrs.field(factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def line(self) -> str:
        skipped = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())) or "none"
        return f"added {self.added}, duplicates {self.duplicates}, skipped: {skipped}"


class Collection:
    """The collection folder: read, add samples, export."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir)
        self.metadata_path = self.root / "metadata.json"
        self.samples: list[dict[str, Any]] = self._read()
        self._ids = {s["id"] for s in self.samples}

    def _read(self) -> list[dict[str, Any]]:
        if not self.metadata_path.exists():
            return []
        try:
            data = json.loads(self.metadata_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{self.metadata_path}: cannot read the collection's metadata ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("samples"), list):
            raise UserError(f"{self.metadata_path}: not a collection metadata file (no 'samples' list)")
        for i, s in enumerate(data["samples"]):
            if not isinstance(s, dict) or not isinstance(s.get("id"), str) or s.get("component") not in COMPONENTS:
                raise UserError(f"{self.metadata_path}: samples[{i}] is malformed (needs an id and a known component)")
        return data["samples"]

    def save(self) -> None:
        write_json(self.metadata_path, {"samples": self.samples, "version": METADATA_VERSION})

    def wav_path(self, sample: dict[str, Any]) -> Path:
        # Built from the canonical component name and a hex id of its own, never from the stored path.
        return self.root / COMPONENTS[component_index(sample["component"])] / f"{_safe_id(sample['id'])}.wav"

    def add(self, audio: np.ndarray, audio_hash: str, source_audio: str, onset: float, component: str,
            source: str, report: AddReport, extra: dict[str, Any] | None = None) -> None:
        """Cut the window around ``onset`` (seconds) and add it, unless it is a duplicate or silent."""
        import soundfile as sf

        name = COMPONENTS[component_index(component)]
        onset_ms = int(round(onset * 1000))
        sample_id = hashlib.sha256(f"{audio_hash}|{onset_ms}|{name}".encode()).hexdigest()[:16]
        if sample_id in self._ids:
            report.duplicates += 1
            return
        window = cut_window(audio, onset, SAMPLE_RATE, PRE_MS, POST_MS)
        core = window[int(PRE_MS / 1000 * SAMPLE_RATE):]
        if core.size == 0 or float(np.max(np.abs(core[: int(0.15 * SAMPLE_RATE)]))) < SILENT_PEAK:
            report.skip("silent at the onset")
            return
        sample = {"id": sample_id, "component": name, "source_audio": source_audio, "onset_time": onset,
                  "window_ms": PRE_MS + POST_MS, "pre_ms": PRE_MS, "sample_rate": SAMPLE_RATE, "source": source,
                  "path": f"{name}/{sample_id}.wav", "audio_hash": audio_hash, **(extra or {})}
        target = self.wav_path(sample)
        with atomic_path(target, suffix=".wav") as tmp:
            sf.write(str(tmp), window, SAMPLE_RATE, subtype="FLOAT")
        self.samples.append(sample)
        self._ids.add(sample_id)
        report.added += 1

    def counts(self) -> dict[str, int]:
        out = {c: 0 for c in COMPONENTS}
        for s in self.samples:
            out[s["component"]] += 1
        return out


def _safe_id(sample_id: str) -> str:
    if not sample_id or any(ch not in "0123456789abcdef" for ch in sample_id):
        raise UserError(f"collection sample id {sample_id!r} is not a hex id")
    return sample_id


def cut_window(audio: np.ndarray, onset: float, sr: int, pre_ms: float, post_ms: float) -> np.ndarray:
    """``audio[onset - pre, onset + post]`` (seconds -> samples), zero-padded past either end."""
    start = int(round(onset * sr)) - int(round(pre_ms / 1000 * sr))
    length = int(round(pre_ms / 1000 * sr)) + int(round(post_ms / 1000 * sr))
    out = np.zeros(length, dtype=np.float32)
    lo, hi = max(start, 0), min(start + length, len(audio))
    if hi > lo:
        out[lo - start: hi - start] = audio[lo:hi]
    return out


def _load(audio_path: str | Path) -> tuple[np.ndarray, str]:
    from mlrun_music.audio import load_audio

    audio = load_audio(audio_path, SAMPLE_RATE)
    return audio, sha256_of(audio_path)


def add_sample(data_dir: str | Path, audio_path: str | Path, time: float, component: str) -> AddReport:
    """``collect add-sample``: one labelled hit at ``time`` seconds."""
    component_index(component, where="COMPONENT")
    collection = Collection(data_dir)
    audio, audio_hash = _load(audio_path)
    duration = len(audio) / SAMPLE_RATE
    if not (0.0 <= time < duration):
        raise UserError(f"TIME {time:g} s is outside the audio {audio_path} ({duration:.3f} s long)")
    report = AddReport()
    collection.add(audio, audio_hash, str(audio_path), time, component, "manual", report)
    if report.skipped:
        raise UserError(f"{audio_path}: no sound at {time:g} s (the window after the onset is silent)")
    if report.added:
        collection.save()
    return report


def extract_beatmap(data_dir: str | Path, bsm_path: str | Path, audio_path: str | Path) -> tuple[AddReport, list[str]]:
    """``collect extract-beatmap``: every hit of a beatmap becomes a sample. Returns the report and warnings."""
    beatmap = read_bsm(bsm_path)
    collection = Collection(data_dir)
    audio, audio_hash = _load(audio_path)
    warnings = []
    if beatmap["audio"]["hash"] != audio_hash:
        warnings.append(f"{bsm_path}: audio.hash does not match {audio_path} ({audio_hash[:19]}...); "
                        f"the beatmap may belong to other audio")
    duration = len(audio) / SAMPLE_RATE
    report = AddReport()
    for hit in beatmap["hitObjects"]:
        t = hit["time"] / 1000.0
        if t >= duration:
            report.skip("after the end of the audio")
            continue
        collection.add(audio, audio_hash, str(audio_path), t, hit["component"], f"beatmap:{Path(bsm_path).name}",
                       report, extra={"velocity": hit.get("velocity")})
    if report.added:
        collection.save()
    return report, warnings


def existing_collection(data_dir: str | Path) -> Collection:
    """The collection at ``data_dir``, which must exist (reading a folder that is not there is a typo, not an empty
    collection)."""
    if not Path(data_dir).is_dir():
        raise UserError(f"collection folder {data_dir} does not exist (--data-dir; add samples with `mlrun beatsight "
                        f"collect add-sample` or `extract-beatmap`)")
    return Collection(data_dir)


def stats(data_dir: str | Path) -> dict[str, Any]:
    """Counts per component with the recommended minimum."""
    collection = existing_collection(data_dir)
    counts = collection.counts()
    return {"data_dir": str(collection.root), "total": sum(counts.values()),
            "components": [{"component": c, "count": counts[c], "recommended_min": RECOMMENDED_MIN[c],
                            "below_min": counts[c] < RECOMMENDED_MIN[c]} for c in COMPONENTS]}


def stratified_split(labels: list[str], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of train and val: per component, a seeded shuffle, then ``round(n * val_fraction)`` to val
    (at least one when a component has two or more samples and ``val_fraction`` > 0)."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for comp in COMPONENTS:
        idx = [i for i, lab in enumerate(labels) if lab == comp]
        if not idx:
            continue
        order = [idx[j] for j in rng.permutation(len(idx))]
        n_val = int(round(len(idx) * val_fraction))
        if val_fraction > 0 and n_val == 0 and len(idx) >= 2:
            n_val = 1
        n_val = min(n_val, len(idx) - 1) if len(idx) > 1 else 0
        val += order[:n_val]
        train += order[n_val:]
    return sorted(train), sorted(val)


def export(data_dir: str | Path, out_dir: str | Path, val_fraction: float = 0.2, seed: int = 0) -> dict[str, Any]:
    """``collect export``: ``train/``, ``val/``, ``train_labels.json``, ``val_labels.json``, ``components.json``.

    Built in a temporary folder beside ``out_dir`` and renamed into place, so a failure leaves nothing half-done.
    A WAV that soundfile cannot read is left out and counted (``skipped``), so training never meets it.
    """
    collection = existing_collection(data_dir)
    if not collection.samples:
        raise UserError(f"the collection {collection.root} is empty: nothing to export "
                        f"(add samples with `mlrun beatsight collect add-sample` or `extract-beatmap`)")
    out_dir = Path(out_dir)
    root = collection.root.resolve()
    if out_dir.resolve() == root or root in out_dir.resolve().parents:
        raise UserError(f"export folder {out_dir} is inside the collection {collection.root}; export elsewhere "
                        f"(the collection's folders are its component names)")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UserError(f"export folder {out_dir} already exists and is not empty")
    labels = [s["component"] for s in collection.samples]
    train_idx, val_idx = stratified_split(labels, val_fraction, seed)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; the export is an ordinary folder
    counts: dict[str, int] = {}
    unreadable: list[str] = []
    try:
        for split, idx in (("train", train_idx), ("val", val_idx)):
            (tmp / split).mkdir()
            rows = []
            for i in idx:
                s = collection.samples[i]
                src = collection.wav_path(s)
                if not src.is_file():
                    raise UserError(f"{collection.metadata_path}: sample {s['id']} lists {src}, which is missing")
                if not _readable_wav(src):
                    unreadable.append(str(src))
                    continue
                name = f"{_safe_id(s['id'])}.wav"
                shutil.copyfile(src, tmp / split / name)
                rows.append({"file": name, "label": s["component"], "component_idx": COMPONENTS.index(s["component"]),
                             "onset_ms": float(s.get("pre_ms", PRE_MS))})
            write_json(tmp / f"{split}_labels.json", rows)
            counts[split] = len(rows)
        if not counts["train"]:
            raise UserError(f"the collection {collection.root} holds no readable training sample "
                            f"({len(unreadable)} unreadable WAVs, e.g. {unreadable[0] if unreadable else '-'})")
        write_json(tmp / "components.json", {"components": list(COMPONENTS), "num_classes": len(COMPONENTS)})
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"out_dir": str(out_dir), "train": counts["train"], "val": counts["val"], "seed": seed,
            "val_fraction": val_fraction, "skipped_unreadable": unreadable}


def _readable_wav(path: Path) -> bool:
    """Whether soundfile reads ``path`` to the end with at least one frame."""
    import soundfile as sf

    try:
        audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception:  # noqa: BLE001 - soundfile raises several types for damaged files
        return False
    return audio.shape[0] > 0
