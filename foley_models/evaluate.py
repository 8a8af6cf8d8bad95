"""`python -m foley_models evaluate`: one table for any systems on a dataset split.

Every system is scored on the same clips (back-to-back windows of `clip_s`, by default the
shortest training clip among the checkpoints):
- audio onset F1: onsets our detector finds in the generated audio against the ground-truth MIDI
  onsets (mir_eval matching, 50 ms), micro-averaged over clips;
- log-mel distance (dB) between the generated audio and the clip's reference recording, at
  16 kHz, averaged over clips;
- for systems that predict MIDI, note-onset F1 and onset+pitch F1 of that MIDI;
- for every system, onset+pitch F1 of its audio transcribed by Basic Pitch
  (foley_models.transcribe; MIDI systems are so scored both ways);
- the beat metrics between the clip's motion and the onsets heard in the audio (FACT's
  BeatAlign, Bailando's variant, LORIS's and D2M-GAN's Beats Coverage and Hit at 1 s and
  0.25 s; foley_models.metrics), per clip then averaged;
and each again with the poses shuffled across performances as a control (each clip gets another
performance's motion, the ground truth and the motion its video shows stay its own). The
reference recordings get a row of their own, scored the same way.
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


class _Scores:
    """One system's scores over the clips, accumulated clip by clip."""

    def __init__(self, *, transcribe: bool):
        self.audio_onset, self.midi_onset = metrics.Counts(), metrics.Counts()
        self.note, self.transcribed = metrics.Counts(), metrics.Counts()
        self.distances: list[float] = []
        self.has_midi, self.transcribe = False, transcribe
        self.beats: dict[str, list[float]] = {}

    def _beat(self, key: str, value: float) -> None:
        self.beats.setdefault(key, []).append(value)

    def add(self, clip, clip_s, audio, rate, midi, motion_pose, fps, reference=None) -> None:
        """`motion_pose`: the motion the clip's video shows (the clip's own, also when the
        system was given another performance's motion: that is the control)."""
        ref = [n for n in clip.notes if n.start < clip_s]
        ref_on = metrics.unique_onsets([n.start for n in ref])
        heard = audio_onsets.detect_onsets(audio, rate)
        self.audio_onset.add(metrics.onset_matches(ref_on, heard), len(ref_on), len(heard))
        if reference is not None:
            generated = resample(audio, rate, DISTANCE_SPEC.sample_rate)
            self.distances.append(log_mel_distance(generated, reference, DISTANCE_SPEC))
        motion = metrics.motion_beats(motion_pose, fps)
        self._beat("beat_align", metrics.beat_align(motion, heard))
        self._beat("beat_align_music", metrics.beat_align_music(motion, heard))
        aligned = metrics.motion_onset_align(motion_pose, fps, clip.instrument, heard)
        if aligned is not None:
            self._beat("motion_onset_align", aligned)
        for bin_s in metrics.BINS_S:
            scores = metrics.beats_coverage_hit(ref_on, heard, clip_s, bin_s=bin_s)
            for name, value in scores.items():
                self._beat(f"beats_{name}_{bin_s:g}s", value)
        if midi is not None:
            self.has_midi = True
            est = [n for inst in midi.instruments for n in inst.notes]
            est_on = metrics.unique_onsets([n.start for n in est])
            self.midi_onset.add(metrics.onset_matches(ref_on, est_on), len(ref_on), len(est_on))
            self.note.add(metrics.note_matches(ref, est), len(ref), len(est))
        if self.transcribe:
            from foley_models.transcribe import transcribe as transcribe_audio

            est = transcribe_audio(audio, rate).instruments[0].notes
            self.transcribed.add(metrics.note_matches(ref, est), len(ref), len(est))

    def row(self, prefix: str) -> dict:
        audio = self.audio_onset.f1()
        row = {
            f"{prefix}audio_onset_f1": audio["f1"],
            f"{prefix}audio_onset_precision": audio["precision"],
            f"{prefix}audio_onset_recall": audio["recall"],
            f"{prefix}logmel_db": float(np.mean(self.distances)) if self.distances else None,
            f"{prefix}onset_f1": self.midi_onset.f1()["f1"] if self.has_midi else None,
            f"{prefix}note_f1": self.note.f1()["f1"] if self.has_midi else None,
            f"{prefix}transcribed_note_f1": self.transcribed.f1()["f1"]
            if self.transcribe
            else None,
        }
        for key, values in self.beats.items():  # per-clip scores averaged, as FACT and LORIS do
            row[f"{prefix}{key}"] = float(np.mean(values))
        return row


class _Clips:
    """The clips every system is scored on, their poses, shuffled motions and references."""

    def __init__(self, data, split, clip_s, max_clips, instruments, seed):
        self.clip_s = clip_s
        self.sources = clips.load_split(data, split, instruments=instruments)
        self.test = clips.consecutive_clips(self.sources, clip_s, clip_s, limit=max_clips)
        self.shuffled = _shuffle_index(
            [c.source_id for c in self.test], np.random.default_rng(seed)
        )
        self.fps = self.sources[0].performance.fps
        self.layout = self.sources[0].performance.layout
        self.by_id = {s.performance.id: s for s in self.sources}
        self.references, self.reference_audio = {}, {}
        for i, clip in enumerate(self.test):
            if clip.audio_path is not None:
                audio, rate = clips.clip_audio(clip, clip_s)
                self.reference_audio[i] = (audio, rate)
                self.references[i] = resample(audio, rate, DISTANCE_SPEC.sample_rate)

    def raw_pose(self, clip):
        first = int(round(clip.start_s * self.fps))
        return self.by_id[clip.source_id].pose[first : first + int(round(self.clip_s * self.fps))]

    def by_instrument(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for i, clip in enumerate(self.test):
            groups.setdefault(clip.instrument, []).append(i)
        return groups


SAMPLED = ("wavenet", "samplernn")  # the systems that sample with a temperature


def evaluate_checkpoint(
    path: Path,
    data: Path,
    *,
    split: str = "test",
    max_clips: int = 64,
    device: str = "auto",
    seed: int = 0,
    clip_s: float | None = None,
    transcribe: bool = True,
    temperature: float | None = None,
) -> dict:
    """`temperature`: the sampling temperature of the sample-level systems (WaveNet,
    SampleRNN), kept in their rows; other systems ignore it. None: the generator's default."""
    if temperature is not None and not temperature > 0:
        raise ValueError(f"the sampling temperature must be above 0, not {temperature}")
    gen = load_generator(path, device)
    config = gen.config
    sampling = {}
    if temperature is not None and gen.system in SAMPLED:
        sampling["temperature"] = temperature
    clip_s = clip_s or config.clip_s
    c = _Clips(data, split, clip_s, max_clips, getattr(config, "instruments", None), seed)
    result = {"system": gen.system, "checkpoint": str(path), "clips": len(c.test), "clip_s": clip_s}
    result.update(sampling)
    for name, order in (("", list(range(len(c.test)))), ("shuffled_", c.shuffled)):
        scores = _Scores(transcribe=transcribe)
        for instrument, indices in c.by_instrument().items():
            outputs = gen.generate(
                [c.raw_pose(c.test[order[i]]) for i in indices],
                instrument,
                seed=seed,
                fps=c.fps,
                layout=c.layout,
                **sampling,
            )
            for i, out in zip(indices, outputs, strict=True):
                clip = c.test[i]
                scores.add(clip, clip_s, out.audio, out.sample_rate, out.midi, c.raw_pose(clip),
                           c.fps, c.references.get(i))  # fmt: skip
        result.update(scores.row(name))
    return result


def evaluate_reference(
    data: Path,
    *,
    clip_s: float,
    split: str = "test",
    max_clips: int = 64,
    seed: int = 0,
    instruments: tuple[str, ...] | None = None,
    transcribe: bool = True,
) -> dict | None:
    """The reference recordings scored like a system (an upper anchor for every metric; their
    log-mel distance to themselves is 0). "Shuffled" pairs each recording with another
    performance's motion: the chance level of the beat metrics. None without recordings."""
    c = _Clips(data, split, clip_s, max_clips, instruments, seed)
    if not c.reference_audio:
        return None
    result = {"system": "reference", "checkpoint": "", "clips": len(c.reference_audio),
              "clip_s": clip_s}  # fmt: skip
    for name, order in (("", list(range(len(c.test)))), ("shuffled_", c.shuffled)):
        scores = _Scores(transcribe=transcribe)
        for i, (audio, rate) in c.reference_audio.items():
            motion = c.raw_pose(c.test[order[i]])
            scores.add(c.test[i], clip_s, audio, rate, None, motion, c.fps, None)
        result.update(scores.row(name))
    return result


def evaluate_checkpoints(
    paths: list[Path], data: Path, *, clip_s: float | None = None, reference: bool = True, **kw
):
    """Rows for several systems on the same clips (default: the shortest training clip), and
    the reference recordings' row last."""
    from foley_models.models import checkpoint

    configs = [checkpoint.load(p)["config"] for p in paths]
    if clip_s is None:
        clip_s = min(float(config["clip_s"]) for config in configs)
    rows = [evaluate_checkpoint(p, data, clip_s=clip_s, **kw) for p in paths]
    if reference:
        kept = {k: v for k, v in kw.items() if k in ("split", "max_clips", "seed", "transcribe")}
        instruments = configs[0].get("instruments")
        row = evaluate_reference(data, clip_s=clip_s, instruments=instruments, **kept)
        if row is not None:
            rows.append(row)
    return rows


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
    "transcribed_note_f1",
    "beat_align",
    "shuffled_beat_align",
    "motion_onset_align",
    "shuffled_motion_onset_align",
    "beats_loris_f1_1s",
    "shuffled_beats_loris_f1_1s",
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
