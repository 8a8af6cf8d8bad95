import numpy as np
import torch

from foley_models.render import spectral

SPEC = spectral.MelSpec(sample_rate=16000, n_fft=512, hop=128, n_mels=40, fmax=7600.0)


def _signal(seconds=1.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    chirp = np.sin(2 * np.pi * (200 * t + 400 * t**2))
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * chirp).astype(np.float32)


def test_griffin_lim_reconstructs_a_known_magnitude_spectrogram():
    x = torch.from_numpy(_signal())[None]
    target = spectral.stft(x, SPEC).abs()
    y = spectral.griffin_lim(target, SPEC, n_iter=64, length=x.shape[1])
    rebuilt = spectral.stft(y, SPEC).abs()
    convergence = (torch.linalg.norm(rebuilt - target) / torch.linalg.norm(target)).item()
    assert y.shape == x.shape
    assert convergence < 0.1
    # Random phases alone are far off: the iterations did the work.
    start = spectral.griffin_lim(target, SPEC, n_iter=0, length=x.shape[1])
    start_error = torch.linalg.norm(spectral.stft(start, SPEC).abs() - target)
    assert start_error / torch.linalg.norm(target) > 3 * convergence


def test_mel_filterbank_peaks_rise_with_the_band_and_cover_the_range():
    bank = spectral.mel_filterbank(SPEC).numpy()
    assert bank.shape == (40, 257)
    peaks = bank.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > peaks[0]
    assert (bank >= 0).all()


def test_log_mel_distance_is_zero_for_equal_signals_and_grows_with_difference():
    x = _signal()
    assert spectral.log_mel_distance(x, x, SPEC) < 1e-6
    near = spectral.log_mel_distance(x, x * 0.9, SPEC)
    far = spectral.log_mel_distance(x, np.random.default_rng(0).normal(0, 0.3, len(x)), SPEC)
    assert 0 < near < far


def test_resample_keeps_duration_and_a_tone():
    x = _signal(rate=22050)
    y = spectral.resample(x, 22050, 16000)
    assert len(y) == 16000
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert abs(np.argmax(spectrum) - 440) <= 2
