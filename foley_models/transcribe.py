"""Transcription of any soundtrack to MIDI, offline: Basic Pitch (Bittner et al., "A lightweight
instrument-agnostic model for polyphonic note transcription and multipitch estimation", ICASSP
2022). The network is the ONNX file the `basic-pitch` wheel ships (installed without its
TensorFlow dependencies by `./run setup`), run by onnxruntime on the CPU; the windowing and the
note creation around it are ours.

The model sees 43,844-sample windows at 22,050 Hz and returns, per window, 172 frames labelled
at 86 frames/s (the rate it was trained with) of note and onset posteriors for the 88 piano
keys. Windows overlap by 30 frames; each keeps its middle frames, and every frame's time is
computed from its own window's start, so no drift builds up over a long recording.

Notes, as in the paper's post-processing: onsets are peaks in time of the onset posterior
(augmented with rises of the note posterior) above `onset_threshold`; each is followed while
the note posterior stays above `frame_threshold` (gaps of up to `ENERGY_TOLERANCE` frames
bridged) and kept if longer than `min_note_s`; then the energy no note explains is turned into
notes from its strongest frames outwards (the "Melodia trick"). Velocity is the mean posterior.
"""

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pretty_midi

from foley_models.render.spectral import resample

SAMPLE_RATE = 22050
FFT_HOP = 256
WINDOW_SAMPLES = 2 * SAMPLE_RATE - FFT_HOP  # 43,844
LABEL_FPS = SAMPLE_RATE // FFT_HOP  # 86: the frame rate of the training labels
FRAMES_PER_WINDOW = 2 * LABEL_FPS  # 172
OVERLAP_FRAMES = 30
HOP_SAMPLES = WINDOW_SAMPLES - OVERLAP_FRAMES * FFT_HOP
LEAD_SAMPLES = OVERLAP_FRAMES * FFT_HOP // 2
LOWEST_MIDI = 21  # A0, the first of the 88 keys
ENERGY_TOLERANCE = 11
BATCH = 16

MODEL_RELATIVE = Path("saved_models") / "icassp_2022" / "nmp.onnx"


class TranscriptionError(RuntimeError):
    pass


def model_path() -> Path:
    """The ONNX model inside the installed basic-pitch package (its __init__ is not run: it
    would look for TensorFlow)."""
    spec = importlib.util.find_spec("basic_pitch")
    if spec is None or not spec.submodule_search_locations:
        raise TranscriptionError(
            "basic-pitch is not installed: run ./run setup (it installs basic-pitch==0.4.0 "
            "without its TensorFlow dependencies, for its bundled ONNX model)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_RELATIVE
    if not path.is_file():
        raise TranscriptionError(f"basic-pitch is installed but has no {MODEL_RELATIVE}")
    return path


@lru_cache(maxsize=1)
def _session():
    try:
        import onnxruntime as ort
    except ImportError:
        raise TranscriptionError("onnxruntime is not installed: run ./run setup") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(
        str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    # The exported graph's outputs: :0 contour (264 bins), :1 note, :2 onset (88 keys each).
    note, onset = (next(n for n in names if n.endswith(f":{k}")) for k in (1, 2))
    return session, session.get_inputs()[0].name, note, onset


def posteriorgrams(
    audio: np.ndarray, sample_rate: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame times in s, note posteriors [N, 88], onset posteriors [N, 88]) of mono audio."""
    audio = resample(np.asarray(audio, dtype=np.float32), sample_rate, SAMPLE_RATE)
    duration_s = len(audio) / SAMPLE_RATE
    padded = np.concatenate([np.zeros(LEAD_SAMPLES, np.float32), audio])
    starts = list(range(0, max(len(padded), 1), HOP_SAMPLES))
    windows = np.zeros((len(starts), WINDOW_SAMPLES, 1), np.float32)
    for w, start in enumerate(starts):
        chunk = padded[start : start + WINDOW_SAMPLES]
        windows[w, : len(chunk), 0] = chunk
    session, input_name, note_name, onset_name = _session()
    notes, onsets = [], []
    for first in range(0, len(windows), BATCH):
        note, onset = session.run(
            [note_name, onset_name], {input_name: windows[first : first + BATCH]}
        )
        notes.append(note)
        onsets.append(onset)
    note, onset = np.concatenate(notes), np.concatenate(onsets)
    keep = np.arange(OVERLAP_FRAMES // 2, FRAMES_PER_WINDOW - OVERLAP_FRAMES // 2)
    times = np.concatenate(
        [(start - LEAD_SAMPLES) / SAMPLE_RATE + keep / LABEL_FPS for start in starts]
    )
    note = note[:, keep].reshape(-1, note.shape[-1])
    onset = onset[:, keep].reshape(-1, onset.shape[-1])
    inside = times < duration_s
    return times[inside], note[inside], onset[inside]


def _inferred_onsets(note: np.ndarray, onset: np.ndarray, n_diff: int = 2) -> np.ndarray:
    """Onsets plus rises of the note posterior over 1..n_diff frames, scaled to the onsets."""
    rises = []
    for n in range(1, n_diff + 1):
        shifted = np.concatenate([np.zeros((n, note.shape[1])), note[:-n]])
        rises.append(note - shifted)
    rise = np.clip(np.min(rises, axis=0), 0, None)
    rise[:n_diff] = 0
    if rise.max() > 0:
        rise *= onset.max() / rise.max()
    return np.maximum(onset, rise)


def _follow(energy: np.ndarray, start: int, key: int, threshold: float, step: int) -> int:
    """From `start`, walk in direction `step` while the energy stays above the threshold, with
    gaps of up to ENERGY_TOLERANCE frames; returns the last frame in the note."""
    i, below, last = start, 0, start
    n = len(energy)
    while 0 <= i + step < n and below < ENERGY_TOLERANCE:
        i += step
        if energy[i, key] < threshold:
            below += 1
        else:
            below, last = 0, i
    return last


def notes_from_posteriorgrams(
    times: np.ndarray,
    note: np.ndarray,
    onset: np.ndarray,
    *,
    onset_threshold: float = 0.5,
    frame_threshold: float = 0.3,
    min_note_s: float = 0.1277,
    melodia: bool = True,
) -> list[pretty_midi.Note]:
    n = len(times)
    if n < 3:
        return []
    min_frames = int(round(min_note_s * LABEL_FPS))
    energy = note.astype(np.float64).copy()
    onsets = _inferred_onsets(note, onset)
    peaks = (
        (onsets[1:-1] >= onset_threshold)
        & (onsets[1:-1] > onsets[:-2])
        & (onsets[1:-1] > onsets[2:])
    )
    frames, keys = np.nonzero(peaks)
    frames = frames + 1
    found: list[tuple[int, int, int, float]] = []

    def take(first: int, last: int, key: int) -> None:
        found.append((first, last, key, float(note[first : last + 1, key].mean())))
        for k in (key - 1, key, key + 1):
            if 0 <= k < energy.shape[1]:
                energy[first : last + 1, k] = 0.0

    for t, key in sorted(zip(frames, keys, strict=True), reverse=True):  # latest onsets first
        last = _follow(energy, t, key, frame_threshold, +1)
        if last - t + 1 <= min_frames:
            continue
        take(t, last, key)
    if melodia:
        while energy.max() > frame_threshold:
            t, key = np.unravel_index(int(np.argmax(energy)), energy.shape)
            first = _follow(energy, t, key, frame_threshold, -1)
            last = _follow(energy, t, key, frame_threshold, +1)
            energy[t, key] = 0.0
            if last - first + 1 <= min_frames:
                energy[first : last + 1, key] = 0.0
                continue
            take(first, last, key)
    frame_s = 1.0 / LABEL_FPS
    out = []
    for first, last, key, amplitude in sorted(found):
        velocity = int(np.clip(round(127 * amplitude), 1, 127))
        end = times[last] + frame_s
        out.append(pretty_midi.Note(velocity, LOWEST_MIDI + key, float(times[first]), float(end)))
    return out


def transcribe(
    audio: np.ndarray, sample_rate: int, *, program: int = 0, **options
) -> pretty_midi.PrettyMIDI:
    """A MIDI file of the notes heard in mono audio (one instrument, the given GM program)."""
    times, note, onset = posteriorgrams(audio, sample_rate)
    midi = pretty_midi.PrettyMIDI()
    instrument = pretty_midi.Instrument(program=program)
    instrument.notes = notes_from_posteriorgrams(times, note, onset, **options)
    midi.instruments.append(instrument)
    return midi
