"""Objective metrics of a study's clips (foley_models.metrics and .transcribe), for `analyze
--objective`: each clip's soundtrack decoded from its MP4 and scored against its item's own
motion (pose), reference MIDI and reference recording, where the item has them.

Per clip: onset F1 against the reference MIDI's onsets (50 ms), FACT's BeatAlign against the
item's motion beats, LORIS's Beats Hit and F1 at 0.25 s and 1 s bins, onset+pitch F1 of the
transcribed soundtrack against the reference MIDI, and the log-mel distance to the reference
recording. A result is kept in the clip's provenance with the media name it was computed for,
so only new or replaced clips are scored again.
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from studies import storage
from studies.models import Clip, Study

VERSION = 2  # bumped when the metrics change: cached results are recomputed
RATE = 22050


def _read_audio(field_file) -> np.ndarray:
    from foley_models.render import ffmpeg
    from foley_models.render.audio_io import read_wav

    with storage.local_copy(field_file) as path, tempfile.TemporaryDirectory() as tmp:
        wav = ffmpeg.extract_audio(path, Path(tmp) / "a.wav", sample_rate=RATE)
        return read_wav(wav)[0]


def _item_inputs(item) -> dict:
    from foley_models.data.dataset import load_midi

    inputs = {"pose": None, "notes": None, "reference": None}
    if item.pose and item.fps:
        with storage.local_copy(item.pose) as path:
            inputs["pose"] = np.load(path, allow_pickle=False)
    if item.reference_midi:
        with storage.local_copy(item.reference_midi) as path:
            midi = load_midi(path)
        inputs["notes"] = [n for inst in midi.instruments for n in inst.notes]
    if item.reference_audio:
        inputs["reference"] = _read_audio(item.reference_audio)
    return inputs


def clip_metrics(clip: Clip, inputs: dict) -> dict:
    from foley_models import audio_onsets, metrics
    from foley_models.render.spectral import MelSpec, log_mel_distance, resample
    from foley_models.transcribe import transcribe

    item = clip.item
    audio = _read_audio(clip.media)
    duration = len(audio) / RATE
    heard = audio_onsets.detect_onsets(audio, RATE)
    out: dict = {}
    notes = inputs["notes"]
    if notes is not None:
        truth = metrics.unique_onsets([n.start for n in notes if n.start < duration])
        counts = metrics.Counts()
        counts.add(metrics.onset_matches(truth, heard), len(truth), len(heard))
        out["onset_f1"] = counts.f1()["f1"]
        for bin_s in (0.25, 1.0):
            r = metrics.beats_coverage_hit(truth, heard, duration, bin_s=bin_s)
            out[f"beats_hit_{bin_s:g}s"] = r["loris_hit"]
            out[f"beats_f1_{bin_s:g}s"] = r["loris_f1"]
        found = transcribe(audio, RATE).instruments[0].notes
        ref = [n for n in notes if n.start < duration]
        note = metrics.Counts()
        note.add(metrics.note_matches(ref, found), len(ref), len(found))
        out["transcribed_note_f1"] = note.f1()["f1"]
    if inputs["pose"] is not None:
        motion = metrics.motion_beats(inputs["pose"], item.fps)
        out["beat_align"] = metrics.beat_align(motion, heard)
        aligned = metrics.motion_onset_align(inputs["pose"], item.fps, item.category, heard)
        if aligned is not None:
            out["motion_onset_align"] = aligned
    if inputs["reference"] is not None:
        spec = MelSpec(sample_rate=16000, n_fft=1024, hop=256, n_mels=80, fmax=7600.0)
        a = resample(audio, RATE, 16000)
        b = resample(inputs["reference"], RATE, 16000)
        n = min(len(a), len(b))
        out["logmel_db"] = log_mel_distance(a[:n], b[:n], spec)
    return out


def study_clip_metrics(*, study: Study, progress=None) -> pd.DataFrame:
    """One row per clip (item key, system key, metrics), computing what is not cached."""
    rows = []
    clips = list(Clip.objects.filter(item__study=study).select_related("item", "system"))
    clips.sort(key=lambda c: (c.item_id, c.system_id))
    inputs_of: dict[int, dict] = {}
    for n, clip in enumerate(clips, 1):
        cached = clip.provenance.get("objective", {})
        if cached.get("media") == clip.media.name and cached.get("version") == VERSION:
            values = cached["values"]
        else:
            if clip.item_id not in inputs_of:
                inputs_of = {clip.item_id: _item_inputs(clip.item)}  # one item at a time
            values = clip_metrics(clip, inputs_of[clip.item_id])
            clip.provenance = {
                **clip.provenance,
                "objective": {"media": clip.media.name, "version": VERSION, "values": values},
            }
            Clip.objects.filter(pk=clip.pk).update(provenance=clip.provenance)
        rows.append({"item": clip.item.key, "system": clip.system.key, **values})
        if progress:
            progress(n, len(clips))
    return pd.DataFrame(rows)
