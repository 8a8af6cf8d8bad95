"""Transcription with Basic Pitch's bundled ONNX model, on FluidSynth renderings."""

import numpy as np
import pretty_midi
import pytest

from foley_models import metrics, transcribe
from foley_models.render.fluidsynth import Renderer

SCALE = [60, 62, 64, 65, 67, 69, 71, 72, 48, 55, 76, 79]


def _scale(start: float = 0.3, step: float = 0.5) -> list[pretty_midi.Note]:
    return [
        pretty_midi.Note(90, p, start + i * step, start + i * step + 0.4)
        for i, p in enumerate(SCALE)
    ]


def _f1(ref, est) -> float:
    matched = metrics.note_matches(ref, est)
    p, r = matched / max(len(est), 1), matched / len(ref)
    return 2 * p * r / (p + r) if p + r else 0.0


def test_a_rendered_piano_scale_is_transcribed_note_for_note():
    notes = _scale()
    audio = Renderer(22050).render(notes, "piano")
    midi = transcribe.transcribe(audio, 22050)
    found = midi.instruments[0].notes
    assert _f1(notes, found) >= 0.8
    # Every reference note's onset is found within 50 ms at its pitch.
    for ref in notes:
        hits = [n for n in found if n.pitch == ref.pitch and abs(n.start - ref.start) <= 0.05]
        assert hits, f"no note {ref.pitch} near {ref.start:.2f} s"
        assert 1 <= hits[0].velocity <= 127


def test_frame_times_do_not_drift_over_many_windows():
    # 30 s: about 18 model windows; a note near the end keeps its time.
    notes = _scale(start=25.0, step=0.4)
    audio = Renderer(22050).render(notes, "piano", duration_s=31.0)
    times, note, onset = transcribe.posteriorgrams(audio, 22050)
    assert np.all(np.diff(times) > 0) and times[-1] < 31.0
    found = transcribe.notes_from_posteriorgrams(times, note, onset)
    assert _f1(notes, found) >= 0.8


def test_any_rate_is_resampled_and_silence_has_no_notes():
    silence = np.zeros(44100 * 3, np.float32)
    assert transcribe.transcribe(silence, 44100).instruments[0].notes == []
    tone = Renderer(44100).render([pretty_midi.Note(100, 69, 0.5, 1.5)], "piano")
    found = transcribe.transcribe(tone, 44100).instruments[0].notes
    assert [n.pitch for n in found if abs(n.start - 0.5) < 0.05] == [69]


def test_a_missing_model_names_the_fix(monkeypatch):
    monkeypatch.setattr(transcribe.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(transcribe.TranscriptionError, match="./run setup"):
        transcribe.model_path()
