import numpy as np
import pytest

from foley_models.render import loudness

RATE = 44100


def _t(seconds=3.0):
    return np.arange(int(seconds * RATE)) / RATE


def test_fit_duration_gives_exact_length_and_silent_edges():
    tone = 0.5 * np.sin(2 * np.pi * 440 * _t(1.0)).astype(np.float32)
    for seconds in (0.5, 1.0, 2.3):
        out = loudness.fit_duration(tone, RATE, seconds)
        assert len(out) == round(seconds * RATE) and out.dtype == np.float32
        assert abs(out[0]) < 1e-6 and abs(out[-1]) < 1e-3
    padded = loudness.fit_duration(tone, RATE, 2.0)
    assert np.all(padded[RATE + 10 :] == 0)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: 0.05 * np.sin(2 * np.pi * 220 * _t()),
        lambda rng: 0.3 * rng.standard_normal(len(_t())),
        # Loud clicks over faint noise: reaching -23 LUFS needs the peak limiter.
        lambda rng: 0.001 * rng.standard_normal(len(_t())) + 0.9 * ((_t() % 0.5) < 0.001),
    ],
)
def test_normalise_reaches_the_target_under_the_true_peak_ceiling(make):
    audio = make(np.random.default_rng(0)).astype(np.float32)
    out = loudness.normalise(audio, RATE, target_lufs=-23.0, ceiling_dbtp=-1.0)
    assert abs(loudness.integrated_lufs(out.audio, RATE) + 23.0) <= 0.05
    assert loudness.true_peak_dbtp(out.audio) <= -1.0 + 0.01
    assert len(out.audio) == len(audio)


def test_normalise_refuses_silence_and_broken_audio():
    with pytest.raises(loudness.LoudnessError, match="silent"):
        loudness.normalise(np.zeros(RATE, dtype=np.float32), RATE)
    with pytest.raises(loudness.LoudnessError, match="NaN"):
        loudness.normalise(np.full(RATE, np.nan, dtype=np.float32), RATE)
    with pytest.raises(loudness.LoudnessError, match="400 ms"):
        loudness.normalise(np.ones(100, dtype=np.float32), RATE)
