"""A corpus of bad files, generated here, through every command that reads a file.

Each case must end in success or in one error line naming the problem, with a non-zero exit: never a traceback,
never a hang (each call has a time limit), never a changed input, never a partial output file.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import signal
import struct
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

#: Seconds one command may take on one bad file before the case counts as a hang.
LIMIT_S = 60


def _midi_bytes(track: bytes, division: int = 480, fmt: int = 1, ntracks: int = 1) -> bytes:
    head = b"MThd" + struct.pack(">IHHH", 6, fmt, ntracks, division)
    return head + b"MTrk" + struct.pack(">I", len(track)) + track


def _wav(rate: int, samples: np.ndarray, subtype: str = "FLOAT") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


class _Evil:
    def __reduce__(self):  # a pickle that would run a command when loaded without weights_only
        return (print, ("pwned",))


def corpus() -> dict[str, Callable[[Path], None]]:
    """File name -> a function writing it."""
    tone = (0.3 * np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000)).astype(np.float32)
    cases: dict[str, Callable[[Path], None]] = {
        "empty.wav": lambda p: p.write_bytes(b""),
        "text.wav": lambda p: p.write_text("this is not audio\n" * 20),
        "header_only.wav": lambda p: p.write_bytes(_wav(16000, np.zeros(0, np.float32))[:44]),
        "one_sample.wav": lambda p: p.write_bytes(_wav(16000, np.array([0.5], np.float32))),
        "one_hertz.wav": lambda p: p.write_bytes(_wav(1, np.ones(8, np.float32) * 0.5)),
        "nan.wav": lambda p: p.write_bytes(_wav(16000, np.full(16000, np.nan, np.float32))),
        "dc.wav": lambda p: p.write_bytes(_wav(16000, np.full(16000, 0.5, np.float32))),
        "truncated.wav": lambda p: p.write_bytes(_wav(16000, tone)[:100]),
        "empty.mid": lambda p: p.write_bytes(b""),
        "header_only.mid": lambda p: p.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 1, 1, 480)),
        "truncated.mid": lambda p: p.write_bytes(_midi_bytes(b"\x00\x90\x3c\x40\x83\x60")[:-2]),
        "running_status.mid": lambda p: p.write_bytes(_midi_bytes(b"\x00\x3c\x40" * 50 + b"\x00\xff\x2f\x00")),
        "huge_delta.mid": lambda p: p.write_bytes(_midi_bytes(b"\x00\x90\x3c\x40\x8f\xff\xff\x7f\x80\x3c\x40"
                                                              b"\x00\xff\x2f\x00")),
        "smpte.mid": lambda p: p.write_bytes(_midi_bytes(b"\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00",
                                                         division=0xE728)),
        "type2.mid": lambda p: p.write_bytes(_midi_bytes(b"\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00",
                                                         fmt=2)),
        "tempo0.mid": lambda p: p.write_bytes(_midi_bytes(b"\x00\xff\x51\x03\x00\x00\x00\x00\x90\x3c\x40\x60\x80\x3c"
                                                          b"\x40\x00\xff\x2f\x00")),
        "zero_division.mid": lambda p: p.write_bytes(_midi_bytes(b"\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00",
                                                                 division=0)),
        "nested.json": lambda p: p.write_text("[" * 50000 + "]" * 50000),
        "wrong_shape.json": lambda p: p.write_text(json.dumps({"layers": "no", "in_shape": 3})),
        "evil.pt": lambda p: p.write_bytes(pickle.dumps(_Evil())),
        "zip_garbage.pt": lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 200),
        "folder.wav": lambda p: p.mkdir(),
        "bad_name_\udcff.wav": lambda p: p.write_bytes(_wav(16000, tone)),
    }
    return cases


#: Each command, as arguments around the file (``{f}``); ``{o}`` is an output path that must not appear on failure.
COMMANDS = {
    "render": ["render", "{f}", "-o", "{o}.wav"],
    "evaluate": ["evaluate", "toy", "{f}", "--output", "{o}"],
    "export": ["export", "toy", "{f}", "--format", "onnx", "--output", "{o}.onnx"],
    "train --config": ["train", "toy", "--config", "{f}", "--output-dir", "{o}"],
    "beatsight process": ["beatsight", "process", "{f}", "--no-ml", "--output", "{o}.bsm"],
    "beatsight score": ["beatsight", "score", "{f}", "{f}", "--output", "{o}.json"],
    "phase apply": ["phase", "apply", "{f}", "--output", "{o}.csv"],
    "kelly pipeline": ["kelly", "pipeline", "{f}", "--output", "{o}.json"],
    "kelly validate": ["kelly", "validate", "{f}"],
    "chromasonic generate": ["chromasonic", "generate", "--model", "markov", "--seed-from", "{f}",
                             "--out", "{o}.mid"],
}


#: How the CLI reports an exception nobody diagnosed: "error: SomeError: ... (run with --debug ...)".
CATCH_ALL = re.compile(r"error: [A-Za-z_.]*(Error|Exception)\b")


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def test_every_command_survives_every_bad_file(mlrun, tmp_path):
    from mlrun_music import api

    installed = {t["name"] for t in api.list_tasks()}
    files = tmp_path / "in"
    files.mkdir()
    for name, write in corpus().items():
        try:
            write(files / name)
        except (UnicodeEncodeError, OSError):  # a file system that refuses undecodable names
            continue
    digests = {p: (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir") for p in files.iterdir()}
    rows, failures = [], []
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for label, template in COMMANDS.items():
            plugin = label.split()[0]
            if plugin in ("beatsight", "phase", "kelly", "chromasonic") and plugin not in installed:
                continue
            for path in sorted(digests, key=str):
                out = tmp_path / "out" / f"{label.replace(' ', '_')}-{len(rows)}"
                args = [a.replace("{f}", str(path)).replace("{o}", str(out)) for a in template]
                start = time.perf_counter()
                signal.alarm(LIMIT_S)
                try:
                    r = mlrun(*args)
                except _Hang:
                    failures.append(f"{label} {path.name}: no answer in {LIMIT_S} s")
                    continue
                finally:
                    signal.alarm(0)
                seconds = time.perf_counter() - start
                outcome = "ok" if r.code == 0 else f"exit {r.code}"
                rows.append((label, path.name, outcome, f"{seconds:.1f} s", r.err.strip()[:90]))
                if "Traceback" in r.text:
                    failures.append(f"{label} {path.name}: traceback")
                if r.code != 0:
                    # Progress and log lines may come first; the error is the last line, and the only one.
                    errors = [ln for ln in r.err.strip().splitlines() if ln.startswith("error: ")]
                    if len(errors) != 1 or not r.err.strip().endswith(errors[0]):
                        failures.append(f"{label} {path.name}: not one error line: {r.err.strip()[-300:]!r}")
                    elif CATCH_ALL.match(errors[0]):
                        failures.append(f"{label} {path.name}: a catch-all error, not a diagnosis: {errors[0][:200]}")
                    leftovers = [p for p in out.parent.glob(out.name + "*") if p.is_file()] \
                        if out.parent.exists() else []
                    if leftovers:
                        failures.append(f"{label} {path.name}: left {leftovers[0].name} behind after failing")
                for p, digest in digests.items():
                    now = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
                    if now != digest:
                        failures.append(f"{label} {path.name}: changed the input {p.name}")
    finally:
        signal.signal(signal.SIGALRM, old)
    print("\n".join(" | ".join(row) for row in rows))
    print(f"{len(rows)} cases, {sum(r[2] != 'ok' for r in rows)} refused, {len(failures)} failures")
    assert not failures, "\n".join(failures)
    assert len(rows) >= 100
