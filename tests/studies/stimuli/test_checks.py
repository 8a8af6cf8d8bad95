import numpy as np

from studies.stimuli import checks

RATE = 8000


def test_sync_shifts_misalign_by_at_least_a_second_both_ways():
    for duration in (2.0, 3.0, 6.0, 10.0):
        shifts = checks.sync_shifts(duration, 3)
        assert len(shifts) == 3
        assert all(min(s, duration - s) >= checks.MIN_SHIFT_S - 1e-9 for s in shifts)
    assert checks.sync_shifts(1.9, 3) == []
    assert len(set(checks.sync_shifts(6.0, 3))) == 3  # distinct foils when there is room


def test_shifted_is_a_circular_delay():
    audio = np.random.default_rng(0).standard_normal(3 * RATE).astype(np.float32)
    out = checks.shifted(audio, RATE, 1.0)
    far = slice(RATE + 200, 2 * RATE)  # away from the seam
    assert np.allclose(out[far], audio[200:RATE]) and len(out) == len(audio)


def test_noise_foils_are_loud_noise_and_differ():
    audio = 0.1 * np.sin(np.arange(RATE) / 5).astype(np.float32)
    foils = checks.noise_foils(audio, 3, seed=1)
    for foil in foils:
        noise = foil - audio
        snr = 10 * np.log10(np.mean(audio**2) / np.mean(noise**2))
        assert abs(snr - checks.NOISE_SNR_DB) < 0.3
    assert not np.allclose(foils[0], foils[1])
    assert np.array_equal(foils[0], checks.noise_foils(audio, 3, seed=1)[0])
