import numpy as np
import pretty_midi
import pytest

from foley_models import audio_onsets, metrics
from foley_models.render.fluidsynth import Renderer


def _melody(instrument_pitches, gaps, seed):
    rng = np.random.default_rng(seed)
    notes, t = [], 0.2
    for _ in range(24):
        pitch = int(rng.choice(instrument_pitches))
        notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=t, end=t + 0.25))
        t += float(rng.choice(gaps))
    return notes


@pytest.mark.parametrize(
    "instrument, pitches, minimum",
    [("piano", range(48, 84), 0.9), ("guitar", range(45, 76), 0.85)],
)
def test_detects_onsets_of_rendered_midi(soundfont, instrument, pitches, minimum):
    notes = _melody(pitches, (0.15, 0.3, 0.45), seed=1)
    rate = 22050
    audio = Renderer(sample_rate=rate, soundfont=soundfont).render(notes, instrument)
    found = audio_onsets.detect_onsets(audio, rate)
    reference = np.array([n.start for n in notes])
    matched = metrics.onset_matches(reference, found)
    counts = metrics.Counts()
    counts.add(matched, len(reference), len(found))
    assert counts.f1()["f1"] >= minimum, (counts.f1(), found)


def test_silence_and_steady_noise_have_no_onsets():
    rng = np.random.default_rng(0)
    assert len(audio_onsets.detect_onsets(np.zeros(32000, np.float32), 16000)) == 0
    noise = rng.normal(0, 0.1, 16000 * 5).astype(np.float32)
    assert len(audio_onsets.detect_onsets(noise, 16000)) <= 1


def test_a_click_train_gives_its_clicks():
    rate = 16000
    audio = np.random.default_rng(1).normal(0, 1e-4, rate * 3).astype(np.float32)
    times = [0.3, 0.8, 1.1, 1.9, 2.5]
    for t in times:
        i = int(t * rate)
        audio[i : i + 400] += np.hanning(800)[400:] * np.sin(np.arange(400) * 0.3)
    found = audio_onsets.detect_onsets(audio, rate)
    assert len(found) == len(times)
    assert np.allclose(found, times, atol=0.03)
