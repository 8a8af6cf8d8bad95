"""The latency check: how late a rater hears sound against the picture, from a tap-along task.

The page shows a square that flashes at a steady beat and asks the rater to tap along (Space or
the Tap button), then plays beeps at the same beat with nothing to see and asks the same. A
rater tapping along a steady beat anticipates it, so each tap lands near the moment the event
reaches them; the beeps reach them late by their device's audio delay (Bluetooth headphones
add 100-300 ms), so their taps to the beeps lag by that much more than their taps to the
flashes. The page reports, on its own clock (performance.now(), ms), when each flash was
drawn, when each beep left the browser (the audio clock mapped by
AudioContext.getOutputTimestamp(), which includes the output latency the browser knows of),
and when each tap came. The estimate is computed here:

    delay = median(audio tap - beep) - median(visual tap - flash)

over the taps after the first LEAD_IN events (the rater finding the beat), each matched to the
nearest event within half a beat. Too few taps, or taps too unsteady to trust, are refused
with the reason, and the rater does the check again.
"""

from dataclasses import dataclass

import numpy as np

LEAD_IN = 2  # events before the rater has found the beat
MIN_TAPS = 5  # matched taps needed in each phase
MAX_SPREAD_MS = 120.0  # interquartile range of one phase's asynchronies
MAX_EVENTS = 40


class LatencyError(ValueError):
    """The taps cannot give an estimate; the message says why, for the rater."""


@dataclass(frozen=True)
class Estimate:
    delay_ms: float
    visual_ms: float  # median asynchrony to the flashes
    audio_ms: float  # median asynchrony to the beeps
    visual_taps: int
    audio_taps: int

    def as_dict(self) -> dict:
        return {
            "delay_ms": round(self.delay_ms, 1),
            "visual_asynchrony_ms": round(self.visual_ms, 1),
            "audio_asynchrony_ms": round(self.audio_ms, 1),
            "visual_taps": self.visual_taps,
            "audio_taps": self.audio_taps,
        }


def _asynchronies(events: list[float], taps: list[float], what: str) -> np.ndarray:
    events_a = np.sort(np.asarray(events, dtype=float))
    if len(events_a) < LEAD_IN + MIN_TAPS:
        raise LatencyError(f"the check showed too few {what}; please do it again")
    period = float(np.median(np.diff(events_a)))
    counted = events_a[LEAD_IN:]
    out = []
    for event in counted:
        near = [t - event for t in taps if abs(t - event) <= period / 2]
        if near:
            out.append(min(near, key=abs))
    if len(out) < MIN_TAPS:
        raise LatencyError(
            f"too few taps along with the {what} ({len(out)} of {len(counted)}); please tap "
            "once for each, in time with it, and do the check again"
        )
    values = np.asarray(out)
    q1, q3 = np.percentile(values, [25, 75])
    if q3 - q1 > MAX_SPREAD_MS:
        raise LatencyError(
            f"the taps along with the {what} were too uneven to measure; please tap steadily, "
            "in time with each one, and do the check again"
        )
    return values


def estimate(
    *, flashes: list[float], visual_taps: list[float], beeps: list[float], audio_taps: list[float]
) -> Estimate:
    for name, values in (
        ("flashes", flashes), ("visual_taps", visual_taps), ("beeps", beeps),
        ("audio_taps", audio_taps),
    ):  # fmt: skip
        if len(values) > MAX_EVENTS * 2 or not all(np.isfinite(values)):
            raise LatencyError(f"the check's report is not readable ({name})")
    visual = _asynchronies(flashes, visual_taps, "flashes")
    audio = _asynchronies(beeps, audio_taps, "beeps")
    v, a = float(np.median(visual)), float(np.median(audio))
    return Estimate(a - v, v, a, len(visual), len(audio))
