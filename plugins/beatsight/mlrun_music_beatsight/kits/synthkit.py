"""Procedural drum kits for domain randomisation: every kit draws its own sound parameters, so the classifier
cannot learn one soundfont's samples and has to learn what makes a kick a kick.

A :class:`SynthKit` holds the parameters of the 12 components (two snare variants, like GM's acoustic and
electric snare; pedal and closed hi-hat both count as ``hihat_closed``). :func:`hit` renders one hit at a
velocity; :func:`training_segment` renders a stored-segment-sized item (onset at SEGMENT_PRE_SAMPLES) with
optional context (the tail of an earlier hit, a quieter simultaneous hit, room reverb, an EQ of the "recording").
All randomness comes from the ``numpy.random.Generator`` passed in: the same seed gives the same audio.

Tom pitches follow the General MIDI layout relative to each other (floor < mid < high, as notes 41/43 < 45/47 <
48/50) around a per-kit reference drawn within a few semitones of the usual tuning, because a single hit carries
no other cue for which tom it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .classes import COMPONENTS
from ..transcribe.features import SAMPLE_RATE, SEGMENT_PRE_SAMPLES, SEGMENT_SAMPLES

HIT_SECONDS = 0.6
_N = int(HIT_SECONDS * SAMPLE_RATE)
_T = np.arange(_N, dtype=np.float64) / SAMPLE_RATE
# Ratios of the six square-wave oscillators of classic analogue hi-hats/cymbals (inharmonic on purpose).
_METAL_RATIOS = np.array([1.0, 1.4836, 1.8007, 2.5473, 2.6312, 3.8993])


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _lu(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Log-uniform draw."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _unit(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to a peak of 1 (silence stays silence)."""
    return x / (np.max(np.abs(x)) + 1e-9)


def _log_spread(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` frequencies drawn uniformly on a log scale between ``lo`` and ``hi``."""
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _env(decay: float, attack: float = 0.0005) -> np.ndarray:
    return (1.0 - np.exp(-_T / attack)) * np.exp(-_T / decay)


def _bandpass(x: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    nyq = SAMPLE_RATE / 2
    lo, hi = max(lo, 20.0), min(hi, nyq * 0.95)
    if hi <= lo * 1.05:
        hi = min(lo * 1.5, nyq * 0.95)
    return sosfilt(butter(order, [lo / nyq, hi / nyq], btype="band", output="sos"), x)


def _highpass(x: np.ndarray, f: float, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(order, min(f, SAMPLE_RATE * 0.45) / (SAMPLE_RATE / 2), btype="high", output="sos"), x)


def _lowpass(x: np.ndarray, f: float, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(order, min(f, SAMPLE_RATE * 0.45) / (SAMPLE_RATE / 2), btype="low", output="sos"), x)


def _sweep_phase(f_end: float, f_start: float, tau: float) -> np.ndarray:
    """Phase of a sine whose frequency falls exponentially from ``f_start`` to ``f_end`` with time constant tau."""
    return 2 * np.pi * (f_end * _T + (f_start - f_end) * tau * (1.0 - np.exp(-_T / tau)))


def _partials(rng: np.random.Generator, freqs: np.ndarray, amps: np.ndarray, decays: np.ndarray) -> np.ndarray:
    out = np.zeros(_N)
    for f, a, d in zip(freqs, amps, decays):
        out += a * np.sin(2 * np.pi * f * _T + rng.uniform(0, 2 * np.pi)) * np.exp(-_T / d)
    return out


class SynthKit:
    """The sound parameters of one random kit (see :func:`random_kit`)."""

    def __init__(self, params: dict[str, dict[str, Any]]) -> None:
        self.params = params


def random_kit(rng: np.random.Generator) -> SynthKit:
    """Draw one kit: parameters for every component (and per-kit recording colour)."""
    p: dict[str, dict[str, Any]] = {}
    p["kick"] = {"f_end": _u(rng, 38, 72), "sweep": _u(rng, 1.5, 5.0), "tau_p": _lu(rng, 0.006, 0.05),
                 "decay": _lu(rng, 0.08, 0.45), "click": _lu(rng, 0.03, 0.6), "click_f": _lu(rng, 1500, 6000),
                 "drive": _u(rng, 1.0, 4.0), "h2": _u(rng, 0.0, 0.3)}
    for name in ("snare", "snare_b"):
        p[name] = {"f": _lu(rng, 150, 300), "modes": [1.0, _u(rng, 1.4, 1.75), _u(rng, 2.0, 2.7)],
                   "tone_decay": _lu(rng, 0.025, 0.12), "noise_decay": _lu(rng, 0.07, 0.3),
                   "snappy": _u(rng, 0.35, 0.9), "lo": _lu(rng, 600, 2500), "hi": _lu(rng, 5000, 14000),
                   "drive": _u(rng, 1.0, 3.0)}
    metal = _lu(rng, 250, 600)
    hat_hp = _lu(rng, 1000, 9000)
    hat_noise = _u(rng, 0.2, 0.8)
    hat_lp = _lu(rng, 4000, 20000)
    p["hihat_closed"] = {"base": metal, "hp": hat_hp, "lp": hat_lp, "noise": hat_noise, "decay": _lu(rng, 0.018, 0.09),
                         "pedal_decay": _lu(rng, 0.012, 0.05)}
    p["hihat_open"] = {"base": metal, "hp": hat_hp * _u(rng, 0.8, 1.1), "lp": hat_lp, "noise": hat_noise,
                       "decay": _lu(rng, 0.25, 1.0), "wobble": _u(rng, 0.0, 0.3)}
    for name, lo_dec, hi_dec in (("crash", 0.9, 2.5), ("crash2", 0.7, 2.5)):
        p[name] = {"n": int(rng.integers(40, 90)), "lo": _lu(rng, 250, 700), "hi": _lu(rng, 7000, 15000),
                   "tilt": _u(rng, -1.2, 0.2), "noise": _u(rng, 0.3, 1.0), "decay": _lu(rng, lo_dec, hi_dec),
                   "bright_hp": _lu(rng, 300, 2500)}
    p["china"] = {"n": int(rng.integers(30, 70)), "lo": _lu(rng, 300, 900), "hi": _lu(rng, 4000, 9000),
                  "decay": _lu(rng, 0.4, 1.4), "noise": _u(rng, 0.5, 1.2), "am": _lu(rng, 20, 120),
                  "drive": _u(rng, 2.0, 6.0), "band": (_lu(rng, 800, 1800), _lu(rng, 3000, 7000))}
    p["ride"] = {"n": int(rng.integers(25, 60)), "lo": _lu(rng, 1500, 3500), "hi": _lu(rng, 8000, 15000),
                 "ping_f": _lu(rng, 350, 900), "ping": _u(rng, 0.2, 0.8), "decay": _lu(rng, 1.5, 4.0),
                 "noise": _u(rng, 0.05, 0.35), "stick": _u(rng, 0.1, 0.6)}
    p["ride_bell"] = {"f": _lu(rng, 800, 3200), "ratios": [1.0, _u(rng, 1.9, 2.2), _u(rng, 2.6, 3.1),
                                                           _u(rng, 3.9, 4.6), _u(rng, 5.2, 6.3)],
                      "decay": _lu(rng, 0.8, 3.0), "wash": _u(rng, 0.05, 1.0), "lo": p["ride"]["lo"],
                      "hi": p["ride"]["hi"]}
    # Toms: per-kit reference (low-mid tom, GM 45/47) within +-3 semitones of ~115 Hz; floor and high toms are
    # several semitones below/above it, like the GM notes. Two notes per tom class, like 41/43, 45/47, 48/50.
    ref = 115.0 * 2 ** (_u(rng, -3, 3) / 12)
    low = ref * 2 ** (-_u(rng, 2.5, 6) / 12)
    high = ref * 2 ** (_u(rng, 3, 7) / 12)
    tom_common = {"bend": _u(rng, 0.0, 0.25), "decay_scale": _lu(rng, 0.6, 1.6), "stick": _u(rng, 0.05, 0.5),
                  "h": [_u(rng, 1.45, 1.65), _u(rng, 2.0, 2.4)], "harm": _u(rng, 0.1, 0.5)}
    for name, f in (("tom_low", low), ("tom_mid", ref), ("tom_high", high)):
        p[name] = {"f": f, "step": 2 ** (_u(rng, 1, 2.5) / 12), **tom_common}
    p["room"] = {"decay": _lu(rng, 0.03, 0.5), "mix": _u(rng, 0.0, 0.35), "tilt": _u(rng, -0.6, 0.6),
                 "lp": _lu(rng, 6000, 20000), "noise_db": _u(rng, -75, -45)}
    return SynthKit(p)


def _kick(q: dict, vel: float, rng: np.random.Generator) -> np.ndarray:
    f_end = q["f_end"] * _u(rng, 0.98, 1.02)
    phase = _sweep_phase(f_end, f_end * q["sweep"] * (0.8 + 0.4 * vel), q["tau_p"])
    body = (np.sin(phase) + q["h2"] * np.sin(2 * phase)) * _env(q["decay"], 0.0008)
    click = _bandpass(rng.standard_normal(_N), q["click_f"] * 0.5, q["click_f"] * 2) * np.exp(-_T / 0.003)
    x = body + q["click"] * (0.5 + vel) * click
    return np.tanh(q["drive"] * x) / np.tanh(q["drive"])


def _snare(q: dict, vel: float, rng: np.random.Generator) -> np.ndarray:
    f = q["f"] * _u(rng, 0.98, 1.02)
    bend = 1.0 + 0.15 * np.exp(-_T / 0.01)
    tone = sum(a * np.sin(2 * np.pi * f * m * np.cumsum(bend) / SAMPLE_RATE) for m, a in zip(q["modes"], (1, .5, .3)))
    tone = tone * _env(q["tone_decay"])
    noise = _bandpass(rng.standard_normal(_N), q["lo"], q["hi"] * (0.6 + 0.4 * vel)) * _env(q["noise_decay"])
    noise = _unit(noise)
    x = (1 - q["snappy"]) * tone / (np.max(np.abs(tone)) + 1e-9) + q["snappy"] * noise
    return np.tanh(q["drive"] * x) / np.tanh(q["drive"])


def _metal(base: float, rng: np.random.Generator) -> np.ndarray:
    freqs = base * _METAL_RATIOS * rng.uniform(0.97, 1.03, len(_METAL_RATIOS))
    return sum(np.sign(np.sin(2 * np.pi * f * _T + rng.uniform(0, 6.3))) for f in freqs) / len(freqs)


def _hihat(q: dict, vel: float, rng: np.random.Generator, decay: float, wobble: float = 0.0) -> np.ndarray:
    x = _metal(q["base"], rng) + q["noise"] * rng.standard_normal(_N)
    x = _lowpass(_highpass(x, q["hp"] * (0.8 + 0.3 * vel), order=2), q["lp"], order=1)
    env = _env(decay, 0.0004)
    if wobble:
        env = env * (1 + wobble * np.sin(2 * np.pi * _u(rng, 4, 12) * _T))
    return x * env


def _pedal_hat(q: dict, vel: float, rng: np.random.Generator) -> np.ndarray:
    x = _hihat(q, vel, rng, q["pedal_decay"])
    chick = _bandpass(rng.standard_normal(_N), 300, 2000) * _env(0.01, 0.002)
    return x + 0.3 * chick


def _cymbal(q: dict, vel: float, rng: np.random.Generator) -> np.ndarray:
    n = q["n"]
    freqs = _log_spread(rng, q["lo"], q["hi"], n)
    amps = (freqs / q["lo"]) ** q["tilt"] * rng.uniform(0.3, 1.0, n)
    decays = q["decay"] * (freqs / q["lo"]) ** -0.3 * rng.uniform(0.6, 1.2, n)
    tone = _partials(rng, freqs, amps, decays)
    tone = _unit(tone)
    noise = _highpass(rng.standard_normal(_N), q["bright_hp"]) * (np.exp(-_T / (q["decay"] * 0.5)) +
                                                                  2.0 * np.exp(-_T / 0.03))
    noise = _unit(noise)
    x = tone + q["noise"] * noise
    return x * (1.0 - np.exp(-_T / 0.001))


def _china(q: dict, vel: float, rng: np.random.Generator) -> np.ndarray:
    n = q["n"]
    freqs = _log_spread(rng, q["lo"], q["hi"], n)
    tone = _partials(rng, freqs, rng.uniform(0.3, 1.0, n), q["decay"] * rng.uniform(0.5, 1.2, n))
    tone = _unit(tone)
    noise = _bandpass(rng.standard_normal(_N), *q["band"]) * np.exp(-_T / q["decay"])
    noise = _unit(noise)
    x = (tone + q["noise"] * noise) * (1 + 0.6 * np.sin(2 * np.pi * q["am"] * _T))
    x = np.tanh(q["drive"] * x) / np.tanh(q["drive"])
    return x * (1.0 - np.exp(-_T / 0.0008))


def _ride(q: dict, vel: float, rng: np.random.Generator) -> np.ndarray:
    n = q["n"]
    freqs = _log_spread(rng, q["lo"], q["hi"], n)
    shimmer = _partials(rng, freqs, rng.uniform(0.2, 1.0, n), q["decay"] * rng.uniform(0.5, 1.0, n))
    shimmer = _unit(shimmer)
    ping_f = q["ping_f"] * np.array([1.0, 2.76, 5.4])
    ping = _partials(rng, ping_f, np.array([1.0, 0.5, 0.25]), np.full(3, q["decay"] * 0.7))
    stick = _highpass(rng.standard_normal(_N), 3000) * np.exp(-_T / 0.004)
    wash = _highpass(rng.standard_normal(_N), 5000) * np.exp(-_T / q["decay"])
    x = shimmer + q["ping"] * ping + q["stick"] * stick / (np.max(np.abs(stick)) + 1e-9) + q["noise"] * wash
    return x * (1.0 - np.exp(-_T / 0.0005))


def _bell(q: dict, vel: float, rng: np.random.Generator) -> np.ndarray:
    freqs = q["f"] * np.array(q["ratios"]) * rng.uniform(0.995, 1.005, len(q["ratios"]))
    tone = _partials(rng, freqs, np.array([1.0, 0.7, 0.5, 0.35, 0.2]), q["decay"] * np.array([1, .8, .6, .5, .4]))
    wash = _bandpass(rng.standard_normal(_N), q["lo"], q["hi"]) * np.exp(-_T / q["decay"])
    x = _unit(tone) + q["wash"] * wash / (np.max(np.abs(wash)) + 1e-9)
    return x * (1.0 - np.exp(-_T / 0.0005))


def _tom(q: dict, vel: float, rng: np.random.Generator) -> np.ndarray:
    f = q["f"] * (q["step"] if rng.random() < 0.5 else 1.0) * _u(rng, 0.99, 1.01)  # the class's two notes
    bend = 1.0 + q["bend"] * (0.5 + vel) * np.exp(-_T / 0.05)
    phase = 2 * np.pi * f * np.cumsum(bend) / SAMPLE_RATE
    decay = q["decay_scale"] * 0.35 * (115.0 / f) ** 0.5
    x = (np.sin(phase) + q["harm"] * (np.sin(q["h"][0] * phase) * np.exp(-_T / 0.08) +
                                       0.5 * np.sin(q["h"][1] * phase) * np.exp(-_T / 0.05))) * _env(decay, 0.001)
    stick = _bandpass(rng.standard_normal(_N), 1000, 6000) * np.exp(-_T / 0.005)
    return x + q["stick"] * (0.5 + vel) * stick / (np.max(np.abs(stick)) + 1e-9)


def hit(kit: SynthKit, component: str, velocity: float, rng: np.random.Generator) -> np.ndarray:
    """One hit of ``component`` at ``velocity`` (0..1): ``HIT_SECONDS`` of float64 audio starting at the onset,
    peak about ``velocity ** ~1.5`` (louder hits are also brighter where the model says so)."""
    p = kit.params
    vel = float(np.clip(velocity, 0.05, 1.0))
    if component == "kick":
        x = _kick(p["kick"], vel, rng)
    elif component == "snare":
        x = _snare(p["snare" if rng.random() < 0.6 else "snare_b"], vel, rng)
    elif component == "hihat_closed":
        x = _pedal_hat(p["hihat_closed"], vel, rng) if rng.random() < 0.25 else \
            _hihat(p["hihat_closed"], vel, rng, p["hihat_closed"]["decay"])
    elif component == "hihat_open":
        x = _hihat(p["hihat_open"], vel, rng, p["hihat_open"]["decay"], p["hihat_open"]["wobble"])
    elif component in ("crash", "crash2"):
        x = _cymbal(p[component], vel, rng)
    elif component == "china":
        x = _china(p["china"], vel, rng)
    elif component == "ride":
        x = _ride(p["ride"], vel, rng)
    elif component == "ride_bell":
        x = _bell(p["ride_bell"], vel, rng)
    elif component.startswith("tom_"):
        x = _tom(p[component], vel, rng)
    else:
        raise ValueError(f"unknown component {component!r}")
    if vel < 0.7:  # soft hits are darker
        x = _lowpass(x, 3000 + 17000 * vel / 0.7)
    return _unit(x) * vel ** 1.5


def room(x: np.ndarray, kit: SynthKit, rng: np.random.Generator) -> np.ndarray:
    """The kit's 'recording': a short noise reverb, a tilt EQ, a low-pass and a noise floor."""
    from scipy.signal import fftconvolve, lfilter

    q = kit.params["room"]
    if q["mix"] > 0.02:
        n = int(min(q["decay"] * 3, 0.4) * SAMPLE_RATE)
        ir = rng.standard_normal(n) * np.exp(-np.arange(n) / (q["decay"] * SAMPLE_RATE))
        wet = fftconvolve(x, ir)[: len(x)]
        x = x + q["mix"] * wet * (np.max(np.abs(x)) / (np.max(np.abs(wet)) + 1e-9))
    c = 0.85
    low = lfilter([1 - c], [1, -c], x)
    x = x + q["tilt"] * (low - x)
    x = _lowpass(x, q["lp"])
    return x + rng.standard_normal(len(x)) * 10 ** (q["noise_db"] / 20) * (np.max(np.abs(x)) + 1e-9)


def training_segment(kit: SynthKit, component: str, rng: np.random.Generator,
                     context_probability: float = 0.5) -> np.ndarray:
    """A stored-size segment (``SEGMENT_SAMPLES``, onset at ``SEGMENT_PRE_SAMPLES``) of ``component`` from ``kit``
    at a random velocity; with ``context_probability`` an earlier hit's tail and/or a quieter simultaneous hit of
    another component (as in grooves: cymbal tails under a snare, a hi-hat under a kick)."""
    velocity = _u(rng, 0.25, 1.0)
    total = SEGMENT_SAMPLES + _N
    out = np.zeros(total)
    out[SEGMENT_PRE_SAMPLES: SEGMENT_PRE_SAMPLES + _N] += hit(kit, component, velocity, rng)
    if rng.random() < context_probability:
        other = COMPONENTS[int(rng.integers(len(COMPONENTS)))]
        start = SEGMENT_PRE_SAMPLES - int(_u(rng, 0.06, 0.3) * SAMPLE_RATE)
        before = hit(kit, other, _u(rng, 0.2, 1.0), rng) * _u(rng, 0.2, 1.0)
        lo = max(start, 0)
        out[lo: start + _N] += before[lo - start:]
    if rng.random() < context_probability * 0.5:
        other = COMPONENTS[int(rng.integers(len(COMPONENTS)))]
        if other != component:
            out[SEGMENT_PRE_SAMPLES: SEGMENT_PRE_SAMPLES + _N] += \
                hit(kit, other, velocity, rng) * 10 ** (-_u(rng, 6, 20) / 20)
    out = room(out, kit, rng)[:SEGMENT_SAMPLES]
    return (_unit(out) * 0.5).astype(np.float32)


def synthetic_hits(n_kits: int, hits_per_class: int, seed: int,
                   context_probability: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Segments ``[n_kits * 12 * hits_per_class, SEGMENT_SAMPLES]`` and labels from ``n_kits`` random kits
    (kit ``k`` drawn from ``seed`` and ``k``), every class ``hits_per_class`` times per kit."""
    segs, labels = [], []
    for k in range(n_kits):
        rng = np.random.default_rng([seed, k])
        kit = random_kit(rng)
        for _ in range(hits_per_class):
            for c, comp in enumerate(COMPONENTS):
                segs.append(training_segment(kit, comp, rng, context_probability))
                labels.append(c)
    if not segs:
        return np.zeros((0, SEGMENT_SAMPLES), np.float32), np.zeros(0, np.int64)
    return np.stack(segs), np.array(labels, dtype=np.int64)
