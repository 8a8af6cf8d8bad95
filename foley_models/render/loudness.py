"""Making soundtracks comparable: exact length with short fades, ITU-R BS.1770 loudness
normalisation with a true-peak ceiling.

Raters compare clips side by side, so a louder clip would win for being louder. Every clip of a
study is brought to one integrated loudness (pyloudnorm's BS.1770-4 meter, -23 LUFS by default,
as EBU R128). Where that gain would push the true peak (4x oversampled, BS.1770 Annex 2) above
the ceiling, a look-ahead peak limiter takes the peaks down and the gain is measured again, so
the loudness stays on target instead of the whole clip being turned down.
"""

from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

# Below this the audio is treated as silence: there is nothing to normalise.
SILENCE_LUFS = -70.0


class LoudnessError(ValueError):
    pass


@dataclass(frozen=True)
class Normalised:
    audio: np.ndarray  # float32, mono
    loudness_lufs: float  # measured after normalisation
    source_lufs: float  # measured before
    true_peak_dbtp: float  # after normalisation
    gain_db: float
    limited: bool  # whether the peak limiter had to act


def fit_duration(audio: np.ndarray, sample_rate: int, duration_s: float, fade_s: float = 0.02):
    """Exactly round(duration_s * rate) samples (cut or padded with silence), with raised-cosine
    fades of fade_s at both ends so a cut never clicks."""
    n = int(round(duration_s * sample_rate))
    audio = np.asarray(audio, dtype=np.float32)[:n]
    if len(audio) < n:
        audio = np.concatenate([audio, np.zeros(n - len(audio), dtype=np.float32)])
    k = min(int(round(fade_s * sample_rate)), n // 2)
    if k > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k))).astype(np.float32)
        audio = audio.copy()
        audio[:k] *= ramp
        audio[n - k :] *= ramp[::-1]
    return audio


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """BS.1770 integrated loudness in LUFS (-inf for silence)."""
    audio = np.asarray(audio, dtype=np.float64)
    if len(audio) < int(0.4 * sample_rate):
        raise LoudnessError(
            f"audio of {len(audio) / sample_rate:.2f} s is shorter than the 400 ms BS.1770 block"
        )
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio))


def true_peak_dbtp(audio: np.ndarray, oversample: int = 4) -> float:
    """Peak of the 4x oversampled signal in dBTP (BS.1770 Annex 2)."""
    up = resample_poly(np.asarray(audio, dtype=np.float64), oversample, 1)
    peak = float(np.max(np.abs(up))) if len(up) else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def _limit(audio: np.ndarray, sample_rate: int, ceiling: float, oversample: int = 4):
    """A look-ahead limiter: the gain needed to keep the oversampled peaks under `ceiling`
    (linear), held over 5 ms and smoothed, so peaks are taken down without clicks."""
    up = np.abs(resample_poly(audio.astype(np.float64), oversample, 1))
    up = up[: len(audio) * oversample].reshape(len(audio), oversample).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(up, 1e-12))
    hold = max(1, int(0.005 * sample_rate))
    gain = -maximum_filter1d(-need, size=2 * hold + 1)  # the smallest gain near each sample
    gain = uniform_filter1d(gain, size=hold)
    gain = np.minimum(gain, need)  # smoothing must never let a peak through
    return (audio * gain).astype(np.float32)


def normalise(
    audio: np.ndarray,
    sample_rate: int,
    *,
    target_lufs: float = -23.0,
    ceiling_dbtp: float = -1.0,
    tolerance_lu: float = 0.05,
) -> Normalised:
    """The audio at `target_lufs` integrated loudness with true peaks at most `ceiling_dbtp`.

    Raises LoudnessError for silence (nothing to bring to a loudness)."""
    audio = np.asarray(audio, dtype=np.float32)
    if not np.all(np.isfinite(audio)):
        raise LoudnessError("the audio contains NaN or infinite samples")
    source = integrated_lufs(audio, sample_rate)
    if not source > SILENCE_LUFS:
        raise LoudnessError(f"the audio is silent (integrated loudness {source:.1f} LUFS)")
    ceiling = 10 ** (ceiling_dbtp / 20)
    out, limited, loudness = audio, False, source
    for _ in range(30):
        out = (out * 10 ** ((target_lufs - loudness) / 20)).astype(np.float32)
        if true_peak_dbtp(out) > ceiling_dbtp + 0.01:
            out = _limit(out, sample_rate, ceiling * 0.98)
            limited = True
        loudness = integrated_lufs(out, sample_rate)
        if abs(loudness - target_lufs) <= tolerance_lu:
            break
    peak = true_peak_dbtp(out)
    if abs(loudness - target_lufs) > 0.5 or peak > ceiling_dbtp + 0.1:
        raise LoudnessError(
            f"cannot reach {target_lufs} LUFS under a {ceiling_dbtp} dBTP ceiling "
            f"(got {loudness:.2f} LUFS, {peak:.2f} dBTP): the audio is too peaky"
        )
    return Normalised(
        audio=out,
        loudness_lufs=loudness,
        source_lufs=source,
        true_peak_dbtp=peak,
        gain_db=loudness - source,
        limited=limited,
    )
