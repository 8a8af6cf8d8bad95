"""Spectral tools written with torch's STFT: resampling, a mel filterbank, log-mel spectrograms,
Griffin-Lim phase reconstruction and the log-mel spectral distance.

No pretrained vocoder exists here, so the GAN baseline's mel spectrograms become audio through
Griffin-Lim (fast variant with momentum, Perraudin et al. 2013), as in torchaudio's GriffinLim.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.signal import resample_poly


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of mono audio to another rate (float32 out)."""
    audio = np.asarray(audio, dtype=np.float32)
    if rate_in == rate_out:
        return audio
    g = math.gcd(int(rate_in), int(rate_out))
    return resample_poly(audio, rate_out // g, rate_in // g).astype(np.float32)


@dataclass(frozen=True)
class MelSpec:
    sample_rate: int = 16000
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    fmin: float = 40.0
    fmax: float = 7600.0
    floor: float = 1e-5  # amplitude floor before the log


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(spec: MelSpec) -> torch.Tensor:
    """Triangular filters equally spaced on the HTK mel scale, area-normalised: [n_mels, F]."""
    if spec.fmax > spec.sample_rate / 2:
        raise ValueError(f"fmax {spec.fmax} Hz is above Nyquist for {spec.sample_rate} Hz")
    freqs = np.linspace(0, spec.sample_rate / 2, spec.n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(spec.fmin), _hz_to_mel(spec.fmax), spec.n_mels + 2))
    bank = np.zeros((spec.n_mels, len(freqs)))
    for m in range(spec.n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (freqs - lo) / (mid - lo)
        falling = (hi - freqs) / (hi - mid)
        bank[m] = np.clip(np.minimum(rising, falling), 0, None) * 2.0 / (hi - lo)
    return torch.from_numpy(bank.astype(np.float32))


def _window(spec: MelSpec, device) -> torch.Tensor:
    return torch.hann_window(spec.n_fft, device=device)


def stft(audio: torch.Tensor, spec: MelSpec) -> torch.Tensor:
    """Complex STFT [B, F, frames] of audio [B, N] (centred frames, Hann window)."""
    return torch.stft(
        audio,
        spec.n_fft,
        spec.hop,
        window=_window(spec, audio.device),
        center=True,
        return_complex=True,
    )


def istft(spectrum: torch.Tensor, spec: MelSpec, length: int | None = None) -> torch.Tensor:
    return torch.istft(
        spectrum, spec.n_fft, spec.hop, window=_window(spec, spectrum.device), length=length
    )


def log_mel(audio: torch.Tensor, spec: MelSpec) -> torch.Tensor:
    """Natural-log mel amplitudes [B, n_mels, frames] of audio [B, N]."""
    magnitude = stft(audio, spec).abs()
    mel = mel_filterbank(spec).to(audio.device) @ magnitude
    return torch.log(mel.clamp(min=spec.floor))


def mel_to_magnitude(log_mel_spec: torch.Tensor, spec: MelSpec) -> torch.Tensor:
    """Linear magnitudes [B, F, frames] whose mel projection approximates the given log-mel:
    the non-negative least-squares solution's usual stand-in, the pseudo-inverse clamped at 0."""
    bank = mel_filterbank(spec).to(log_mel_spec.device)
    inverse = torch.linalg.pinv(bank)
    return (inverse @ torch.exp(log_mel_spec)).clamp(min=0.0)


def griffin_lim(
    magnitude: torch.Tensor,
    spec: MelSpec,
    *,
    n_iter: int = 32,
    momentum: float = 0.99,
    length: int | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Audio [B, N] whose STFT magnitude approximates `magnitude` [B, F, frames]."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    phase = torch.rand(magnitude.shape, generator=generator) * (2 * math.pi)
    angles = torch.polar(torch.ones_like(phase), phase).to(magnitude.device)
    previous = torch.zeros_like(angles)
    for _ in range(n_iter):
        rebuilt = stft(istft(magnitude * angles, spec, length), spec)
        angles = rebuilt - previous * (momentum / (1 + momentum))
        angles = angles / angles.abs().clamp(min=1e-16)
        previous = rebuilt
    return istft(magnitude * angles, spec, length)


def log_mel_distance(a: np.ndarray, b: np.ndarray, spec: MelSpec) -> float:
    """Log-mel spectral distance in dB between two mono signals at spec.sample_rate: the mean
    over frames of the RMS over mel bands of the difference of 20 log10 mel amplitudes. The
    shorter signal is zero-padded."""
    n = max(len(a), len(b))
    pair = np.zeros((2, n), dtype=np.float32)
    pair[0, : len(a)], pair[1, : len(b)] = a, b
    mels = log_mel(torch.from_numpy(pair), spec) * (20.0 / math.log(10.0))
    return float(torch.sqrt(((mels[0] - mels[1]) ** 2).mean(dim=0)).mean())
