"""Note onsets detected in audio: how `evaluate` scores systems that output a waveform.

Spectral flux of a compressed log-mel spectrogram (10 ms hop, positive changes summed over bands,
a band's previous frame taken as the max of its neighbours as in SuperFlux, Boeck & Widmer 2013),
then peak picking: a local maximum over +-30 ms that exceeds the local mean by `delta` and a
floor set from the loudest part of the clip, at least 30 ms after the previous onset.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from foley_models.render.spectral import MelSpec, mel_filterbank, resample, stft

RATE = 16000
HOP_S = 0.01


def _spec() -> MelSpec:
    return MelSpec(sample_rate=RATE, n_fft=1024, hop=int(RATE * HOP_S), n_mels=80, fmax=7600.0)


def onset_strength(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Spectral-flux envelope, one value per 10 ms frame."""
    audio = resample(np.asarray(audio, dtype=np.float32), sample_rate, RATE)
    if len(audio) == 0:
        return np.zeros(0)
    spec = _spec()
    x = torch.from_numpy(audio)[None]
    mel = mel_filterbank(spec) @ stft(x, spec).abs()  # [1, M, T]
    compressed = torch.log1p(100.0 * mel)[0]  # [M, T]
    # Previous frame, max over +-1 band: vibrato and glides do not count as onsets.
    widened = F.max_pool1d(compressed.T[None], kernel_size=3, stride=1, padding=1)[0].T
    diff = compressed[:, 1:] - widened[:, :-1]
    flux = diff.clamp(min=0).sum(dim=0)
    return np.concatenate([[0.0], flux.numpy().astype(np.float64)])


def detect_onsets(
    audio: np.ndarray,
    sample_rate: int,
    *,
    delta: float = 0.2,
    floor: float = 0.1,
    min_gap_s: float = 0.03,
    ratio: float = 3.0,
) -> np.ndarray:
    """Onset times (s) in mono audio. `delta` and `floor` are fractions of the clip's largest
    flux; silence and steady noise give no onsets."""
    flux = onset_strength(audio, sample_rate)
    if len(flux) < 3 or flux.max() <= 1e-6:
        return np.zeros(0)
    # The clip's largest flux, robustly: the 99th percentile guards against one click.
    scale = max(float(np.percentile(flux, 99)), 1e-6)
    envelope = flux / scale
    n = len(envelope)
    around = 3  # +-30 ms
    before, after = 10, 3
    wide = 25  # +-250 ms
    chosen: list[int] = []
    gap = max(1, int(math.ceil(min_gap_s / HOP_S)))
    for t in range(1, n):
        lo, hi = max(0, t - around), min(n, t + around + 1)
        if envelope[t] < envelope[lo:hi].max() or envelope[t] <= 0:
            continue
        local = envelope[max(0, t - before) : min(n, t + after + 1)]
        if envelope[t] < local.mean() + delta or envelope[t] < floor:
            continue
        # Steady noise has flux everywhere: a peak must stand well above its surroundings.
        if envelope[t] < ratio * np.median(envelope[max(0, t - wide) : min(n, t + wide + 1)]):
            continue
        if chosen and t - chosen[-1] < gap:
            continue
        chosen.append(t)
    return np.array(chosen, dtype=np.float64) * HOP_S
