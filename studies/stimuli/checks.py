"""Check-trial soundtracks made from an item's own audio (pure numpy).

A noise check puts the clean soundtrack in one slot and the same soundtrack under clearly audible
white noise in the others; a sync check puts the aligned soundtrack in one slot and copies shifted
by at least MIN_SHIFT_S in the others. The shift is circular (the music wraps around) so the foils
keep the target's length and loudness and no silent gap gives them away; a short dip hides the
seam. Every variant is loudness-normalised afterwards like any clip.
"""

import numpy as np

MIN_SHIFT_S = 1.0
NOISE_SNR_DB = 0.0  # noise as loud (RMS) as the music: unmistakable on any playback device
SEAM_S = 0.015


def noise_foils(audio: np.ndarray, n: int, *, seed: int, snr_db: float = NOISE_SNR_DB):
    """`n` copies of the audio with white noise at `snr_db` (each with its own noise)."""
    rng = np.random.default_rng(seed)
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if rms <= 0:
        raise ValueError("cannot make a noise check from silent audio")
    scale = rms / 10 ** (snr_db / 20)
    return [(audio + scale * rng.standard_normal(len(audio))).astype(np.float32) for _ in range(n)]


def sync_shifts(duration_s: float, n: int) -> list[float]:
    """Circular shifts (seconds) that misalign by at least MIN_SHIFT_S both ways, spread over
    what the duration allows; alternating early and late. Empty when the item is too short."""
    if duration_s < 2 * MIN_SHIFT_S:
        return []
    span = duration_s - 2 * MIN_SHIFT_S  # shifts in [MIN, duration - MIN] are far enough both ways
    return [MIN_SHIFT_S + span * (k + 0.5) / n for k in range(n)]


def shifted(audio: np.ndarray, sample_rate: int, shift_s: float) -> np.ndarray:
    """The audio delayed circularly by shift_s, with a short dip over the seam."""
    k = int(round(shift_s * sample_rate)) % len(audio)
    out = np.roll(np.asarray(audio, dtype=np.float32), k)
    half = int(SEAM_S * sample_rate)
    if 0 < k and half > 0:
        dip = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, half, dtype=np.float32))
        lo, hi = max(0, k - half), min(len(out), k + half)
        out[lo:k] *= dip[::-1][half - (k - lo) :]
        out[k:hi] *= dip[: hi - k]
    return out
