"""`python -m foley_models evaluate`: one table for any systems on a dataset split.

Every system is scored on the same clips (back-to-back windows of `clip_s`, by default the
shortest training clip among the checkpoints):
- audio onset F1: onsets our detector finds in the generated audio against the ground-truth MIDI
  onsets (mir_eval matching, 50 ms), micro-averaged over clips;
- log-mel distance (dB) between the generated audio and the clip's reference recording, at
  16 kHz, averaged over clips;
- for systems that predict MIDI, note-onset F1 and onset+pitch F1 of that MIDI;
and each again with the poses shuffled across performances as a control (each clip gets another
performance's motion, the ground truth stays its own).
"""

import json
from pathlib import Path

import numpy as np

from foley_models import audio_onsets, metrics
from foley_models.models import clips
from foley_models.models.registry import load_generator
from foley_models.render.spectral import MelSpec, log_mel_distance, resample

DISTANCE_SPEC = MelSpec(sample_rate=16000, n_fft=1024, hop=256, n_mels=80, fmax=7600.0)


def _shuffle_index(sources: list[str], rng: np.random.Generator) -> list[int]:
    """A permutation that gives every clip a clip of another performance where possible."""
    n = len(sources)
    for _ in range(100):
        order = rng.permutation(n)
        if all(sources[i] != sources[order[i]] for i in range(n)):
            return list(order)
    return list(rng.permutation(n))


def evaluate_checkpoint(
    path: Path,
    data: Path,
    *,
    split: str = "test",
    max_clips: int = 64,
    device: str = "auto",
    seed: int = 0,
    clip_s: float | None = None,
) -> dict:
    gen = load_generator(path, device)
    config = gen.config
    clip_s = clip_s or config.clip_s
    sources = clips.load_split(data, split, instruments=getattr(config, "instruments", None))
    test = clips.consecutive_clips(sources, clip_s, clip_s, limit=max_clips)
    rng = np.random.default_rng(seed)
    shuffled = _shuffle_index([c.source_id for c in test], rng)
    fps = sources[0].performance.fps
    layout = sources[0].performance.layout
    by_id = {s.performance.id: s for s in sources}

    def raw_pose(clip):
        first = int(round(clip.start_s * fps))
        return by_id[clip.source_id].pose[first : first + int(round(clip_s * fps))]

    references = {}
    for i, clip in enumerate(test):
        if clip.audio_path is not None:
            audio, rate = clips.clip_audio(clip, clip_s)
            references[i] = resample(audio, rate, DISTANCE_SPEC.sample_rate)

    result = {"system": gen.system, "checkpoint": str(path), "clips": len(test), "clip_s": clip_s}
    for name, order in (("", list(range(len(test)))), ("shuffled_", shuffled)):
        audio_onset, midi_onset, note = metrics.Counts(), metrics.Counts(), metrics.Counts()
        distances, has_midi = [], False
        by_instrument: dict[str, list[int]] = {}
        for i, clip in enumerate(test):
            by_instrument.setdefault(clip.instrument, []).append(i)
        for instrument, indices in by_instrument.items():
            outputs = gen.generate(
                [raw_pose(test[order[i]]) for i in indices],
                instrument,
                seed=seed,
                fps=fps,
                layout=layout,
            )
            for i, out in zip(indices, outputs, strict=True):
                ref = [n for n in test[i].notes if n.start < clip_s]
                ref_on = metrics.unique_onsets([n.start for n in ref])
                heard = audio_onsets.detect_onsets(out.audio, out.sample_rate)
                audio_onset.add(metrics.onset_matches(ref_on, heard), len(ref_on), len(heard))
                if i in references:
                    generated = resample(out.audio, out.sample_rate, DISTANCE_SPEC.sample_rate)
                    distances.append(log_mel_distance(generated, references[i], DISTANCE_SPEC))
                if out.midi is not None:
                    has_midi = True
                    est = [n for inst in out.midi.instruments for n in inst.notes]
                    est_on = metrics.unique_onsets([n.start for n in est])
                    midi_onset.add(metrics.onset_matches(ref_on, est_on), len(ref_on), len(est_on))
                    note.add(metrics.note_matches(ref, est), len(ref), len(est))
        result[f"{name}audio_onset_f1"] = audio_onset.f1()["f1"]
        result[f"{name}audio_onset_precision"] = audio_onset.f1()["precision"]
        result[f"{name}audio_onset_recall"] = audio_onset.f1()["recall"]
        result[f"{name}logmel_db"] = float(np.mean(distances)) if distances else None
        result[f"{name}onset_f1"] = midi_onset.f1()["f1"] if has_midi else None
        result[f"{name}note_f1"] = note.f1()["f1"] if has_midi else None
    return result


def evaluate_checkpoints(paths: list[Path], data: Path, *, clip_s: float | None = None, **kw):
    """Rows for several systems on the same clips (default: the shortest training clip)."""
    if clip_s is None:
        from foley_models.models import checkpoint

        clip_s = min(float(checkpoint.load(p)["config"]["clip_s"]) for p in paths)
    return [evaluate_checkpoint(p, data, clip_s=clip_s, **kw) for p in paths]


COLUMNS = (
    "system",
    "clips",
    "audio_onset_f1",
    "shuffled_audio_onset_f1",
    "logmel_db",
    "shuffled_logmel_db",
    "onset_f1",
    "shuffled_onset_f1",
    "note_f1",
    "shuffled_note_f1",
)


def format_results(rows: list[dict]) -> str:
    """One row per system; '-' where a number does not apply (MIDI scores of audio systems)."""

    def cell(value) -> str:
        if value is None:
            return "-"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    widths = [max(len(c), *(len(cell(r.get(c))) for r in rows)) for c in COLUMNS]
    lines = ["  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    for r in rows:
        lines.append(
            "  ".join(cell(r.get(c)).rjust(w) for c, w in zip(COLUMNS, widths, strict=True))
        )
    return "\n".join(lines)


def write_json(path: Path, rows: list[dict]) -> None:
    from foley_models.data.dataset import atomic_write_bytes

    atomic_write_bytes(Path(path), json.dumps(rows, indent=2).encode())
