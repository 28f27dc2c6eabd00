"""Causal tracking after the network: a phase-locked loop that turns the frame-wise phase into a steady bar clock.

The loop keeps a bar phase and a bar rate. Each frame it advances the phase by the rate, measures the circular
error to the network's phase, and corrects the phase by ``gain`` times the error and the rate by ``rate_gain``
times it. The rate stays within a prior band of bar lengths (:data:`BAR_SECONDS`) and each frame's step within
(1 - c) and (1 + c) times the rate (:data:`MAX_CORRECTION`), so the clock moves forward steadily and wraps once per
bar of its own: its wraps are the downbeats. A wrap of the network's phase near the clock's downbeat
(:data:`SNAP`) moves the clock onto it; other wraps of the network are ignored. It reads only past frames, one at a
time, and costs a few arithmetic operations per 20 ms frame.
"""

from __future__ import annotations

import numpy as np

from mlrun_music.errors import UserError

from .config import FPS, TRACKERS
from .config import TRACKER_GAIN as DEFAULT_GAIN
from .config import TRACKER_RATE_GAIN as DEFAULT_RATE_GAIN

#: The prior band of bar lengths (seconds) the clock's rate is kept in.
BAR_SECONDS = (0.8, 4.5)
#: The clock's rate before any correction: half a bar per second, the rate head's starting bias.
START_BARS_PER_SECOND = 0.5
#: The largest correction of the clock's step per frame, as a share of its rate: the clock runs between
#: (1 - c) and (1 + c) times its rate, so a jump of the network's phase cannot make it wrap twice in a bar, and
#: where the network's phase stands still (silence, sounds it cannot place) it keeps running instead of stalling.
MAX_CORRECTION = 0.75
#: The snap window (bars): a wrap of the network's phase within this distance of the clock's downbeat sets the
#: clock to the network's phase (its downbeat timing is precise where the network is right), and the clock waits at
#: most this long at the end of its bar for that wrap; wraps of the network elsewhere in the bar are ignored.
SNAP = 0.1
#: Where the clock waits: just below 1, and still below 1 once written with six decimals.
HOLD_PHASE = 1.0 - 1e-6


def check_tracker(name: str, gain: float, rate_gain: float) -> None:
    """One-line errors for bad tracker settings."""
    if name not in TRACKERS:
        raise UserError(f"--tracker must be one of {', '.join(TRACKERS)}, got '{name}'")
    if not (0.0 < gain <= 1.0) or not np.isfinite(gain):
        raise UserError(f"--tracker-gain must be in (0, 1], got {gain:g}")
    if not (0.0 <= rate_gain <= 0.1) or not np.isfinite(rate_gain):
        raise UserError(f"--tracker-rate-gain must be in [0, 0.1], got {rate_gain:g}")


class BarClock:
    """The phase-locked loop, frame by frame (:meth:`step`) or a block of frames at a time (:meth:`run`); both give
    the same values, so a stream fed in blocks equals one offline pass."""

    def __init__(self, gain: float = DEFAULT_GAIN, rate_gain: float = DEFAULT_RATE_GAIN, fps: float = FPS,
                 max_correction: float = MAX_CORRECTION, snap: float = SNAP) -> None:
        check_tracker("pll", gain, rate_gain)
        self.gain, self.rate_gain, self.max_correction, self.snap = gain, rate_gain, max_correction, snap
        self.rate_min, self.rate_max = 1.0 / (BAR_SECONDS[1] * fps), 1.0 / (BAR_SECONDS[0] * fps)
        self.rate = START_BARS_PER_SECOND / fps  # bars per frame
        self.phase: float | None = None  # set by the first observed frame
        self.previous = float("nan")  # the network's phase one frame ago
        self.armed = True  # the network's phase has passed mid-bar since its last wrap (the evaluation's hysteresis)
        self.held = 0  # frames the clock has waited at the end of its bar

    def step(self, observed: float) -> float:
        """Feed the network's phase of one frame; returns the clock's phase for that frame."""
        if not np.isfinite(observed):  # nothing to lock to: run free
            if self.phase is not None:
                self.phase = (self.phase + self.rate) % 1.0
            return self.phase if self.phase is not None else float("nan")
        observed = float(observed) % 1.0
        wrapped = self.armed and self.previous - observed > 0.5  # the network's own downbeat, NaN-safe
        if wrapped:
            self.armed = False
        if 0.25 <= observed <= 0.75:
            self.armed = True
        self.previous = observed
        if self.phase is None:
            self.phase = observed
            return self.phase
        error = (observed - self.phase - self.rate + 0.5) % 1.0 - 0.5  # in [-0.5, 0.5)
        step = self.rate * self.max_correction
        ahead = self.phase + min(max(self.gain * error, -step), step) + self.rate
        self.rate = min(max(self.rate + self.rate_gain * error, self.rate_min), self.rate_max)
        near_downbeat = self.phase >= 1.0 - self.snap or self.phase <= self.snap
        if wrapped and near_downbeat:  # the network's downbeat where the clock expects one: take its timing
            self.phase, self.held = observed, 0
        elif ahead >= 1.0 and self.held < self.snap / self.rate:  # wait a little for the network's downbeat
            self.phase, self.held = HOLD_PHASE, self.held + 1
        else:
            if ahead >= 1.0:
                self.held = 0
            self.phase = ahead % 1.0
        return self.phase

    def run(self, observed: np.ndarray) -> np.ndarray:
        """:meth:`step` over a block of frames."""
        step = self.step
        return np.array([step(float(v)) for v in np.asarray(observed, dtype=np.float64)], dtype=np.float64)


def make_tracker(name: str, gain: float = DEFAULT_GAIN, rate_gain: float = DEFAULT_RATE_GAIN) -> BarClock | None:
    """The tracker ``name`` (None for ``none``), settings checked."""
    check_tracker(name, gain, rate_gain)
    return BarClock(gain, rate_gain) if name == "pll" else None


def track(phase: np.ndarray, name: str, gain: float = DEFAULT_GAIN, rate_gain: float = DEFAULT_RATE_GAIN
          ) -> np.ndarray:
    """A whole phase track through the tracker ``name`` (unchanged for ``none``)."""
    clock = make_tracker(name, gain, rate_gain)
    return phase if clock is None else clock.run(phase)
