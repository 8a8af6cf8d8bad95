"""Training and evaluation clips cut from a dataset: pose crops with their MIDI window and audio.

Shared by every system. Poses are normalised per clip (as at generation time), so a generator
sees the same kind of input in training and in a study.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from foley_models.data import dataset
from foley_models.data.layouts import augment, normalise
from foley_models.render.audio_io import read_wav


@dataclass
class Source:
    performance: dataset.Performance
    pose: np.ndarray  # [T, C, V, M] as stored
    notes: list[pretty_midi.Note]  # encoded instrument's notes
    audio_path: Path | None


@dataclass
class Clip:
    pose: np.ndarray  # [T, C, V, M] normalised (and augmented in training)
    notes: list[pretty_midi.Note]  # times relative to the clip start, inside the MIDI window
    instrument: str
    start_s: float
    source_id: str
    audio_path: Path | None


def load_split(
    root: Path,
    split: str,
    *,
    instruments: tuple[str, ...] | None = None,
    need_midi: bool = True,
    fps: float | None = None,
) -> list[Source]:
    """The split's performances (of `instruments`; with MIDI if `need_midi`). With `fps` (what
    a model's time encoding assumes), a performance at another frame rate is an error: clips
    are cut at the data's rate, so training on it would silently misalign every target."""
    root = Path(root)
    sources = []
    wrong = []
    for p in dataset.read_index(root):
        if p.split != split or (instruments and p.instrument not in instruments):
            continue
        if need_midi and not p.midi:
            continue
        if fps is not None and abs(p.fps - fps) > 1e-6:
            wrong.append(f"{p.id} ({p.fps:g} fps)")
            continue
        notes = []
        if p.midi:
            pm = dataset.load_midi(root / p.midi)
            pitched = [i for i in pm.instruments if not i.is_drum]
            notes = sorted(pitched[0].notes, key=lambda n: n.start) if pitched else []
        sources.append(
            Source(p, dataset.load_pose(root, p), notes, root / p.audio if p.audio else None)
        )
    if wrong:
        raise dataset.DatasetError(
            f"{root}: the model trains on {fps:g} fps poses, but split {split!r} has "
            f"{', '.join(wrong[:5])}{' and more' if len(wrong) > 5 else ''}; resample the poses "
            f"to {fps:g} fps"
        )
    if not sources:
        raise dataset.DatasetError(
            f"{root}: no performances in split {split!r}"
            + (f" for {', '.join(instruments)}" if instruments else "")
        )
    return sources


def cut(
    source: Source,
    start_s: float,
    clip_s: float,
    window_s: float,
    rng: np.random.Generator | None = None,
) -> Clip:
    """The clip starting at start_s: pose frames, and notes with onsets in the MIDI window."""
    fps = source.performance.fps
    n = int(round(clip_s * fps))
    first = int(round(start_s * fps))
    pose = source.pose[first : first + n]
    if len(pose) < n:  # pad a short tail with undetected frames
        pad = np.zeros((n - len(pose), *pose.shape[1:]), dtype=pose.dtype)
        pose = np.concatenate([pose, pad])
    layout = source.performance.layout
    pose = normalise(pose, layout)
    if rng is not None:
        pose = augment(pose, layout, rng)
    end = start_s + window_s
    notes = [
        pretty_midi.Note(
            velocity=x.velocity,
            pitch=x.pitch,
            start=x.start - start_s,
            end=min(x.end, end) - start_s,
        )
        for x in source.notes
        if start_s <= x.start < end
    ]
    return Clip(
        pose,
        notes,
        source.performance.instrument,
        start_s,
        source.performance.id,
        source.audio_path,
    )


def random_clip(
    sources: list[Source],
    clip_s: float,
    window_s: float,
    rng: np.random.Generator,
    augment_pose: bool = True,
) -> Clip:
    source = sources[int(rng.integers(len(sources)))]
    latest = max(0.0, source.performance.duration_s - window_s)
    return cut(
        source, float(rng.uniform(0, latest)), clip_s, window_s, rng if augment_pose else None
    )


def consecutive_clips(
    sources: list[Source], clip_s: float, window_s: float, limit: int | None = None
) -> list[Clip]:
    """Back-to-back clips from time 0 of each performance; a last partial clip is dropped."""
    clips = []
    for source in sources:
        start = 0.0
        while start + clip_s <= source.performance.duration_s:
            clips.append(cut(source, start, clip_s, window_s))
            start += clip_s
    if limit is not None and len(clips) > limit:
        step = len(clips) / limit
        clips = [clips[int(i * step)] for i in range(limit)]
    return clips


def clip_audio(clip: Clip, duration_s: float) -> tuple[np.ndarray, int]:
    """The reference audio of a clip (duration_s from the clip start)."""
    if clip.audio_path is None:
        raise dataset.DatasetError(f"{clip.source_id}: no reference audio")
    audio, rate = read_wav(clip.audio_path)
    first = int(round(clip.start_s * rate))
    n = int(round(duration_s * rate))
    segment = audio[first : first + n]
    if len(segment) < n:
        segment = np.pad(segment, (0, n - len(segment)))
    return segment, rate
