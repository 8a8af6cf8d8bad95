import numpy as np

from studies.stimuli import screening


def _band_energy(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / screening.RATE)
    return float(spectrum[(freqs > low) & (freqs < high)].sum())


def test_headphone_trials_are_deterministic_per_seed():
    a, answer_a = screening.headphone_trial(123)
    b, answer_b = screening.headphone_trial(123)
    assert np.array_equal(a, b) and answer_a == answer_b
    answers = {screening.headphone_trial(seed)[1] for seed in range(30)}
    assert answers == {1, 2, 3}
    assert screening.seed_for("tok", 1) != screening.seed_for("tok", 2)


def test_only_the_target_interval_differs_between_ears_and_only_in_the_huggins_band():
    audio, answer = screening.headphone_trial(7)
    n, gap = int(screening.INTERVAL_S * screening.RATE), int(screening.GAP_S * screening.RATE)
    for i in (1, 2, 3):
        start = (i - 1) * (n + gap)
        left, right = audio[start : start + n, 0], audio[start : start + n, 1]
        if i != answer:
            assert np.allclose(left, right)  # diotic noise: no tone anywhere
            continue
        difference = left - right
        in_band = _band_energy(difference, 560, 640)
        assert in_band > 0.95 * _band_energy(difference, 20, 20000)
        # Over loudspeakers the ears hear the sum: the band cancels, so there is no cue.
        mono = left + right
        assert _band_energy(mono, 570, 630) < 0.05 * _band_energy(left + left, 570, 630)


def test_beeps_have_a_fixed_length_whatever_their_count():
    lengths = set()
    for seed in range(10):
        audio, count = screening.beeps(seed)
        assert 2 <= count <= 5
        lengths.add(audio.shape)
    assert len(lengths) == 1
