"""Making a study's clips: every item x system, and each item's check-trial material.

For each system: load its registered checkpoint once (checking the file is the one registered),
run it on the items' poses in batches (items of different instruments share a batch), asking
for the stimulus rate (a MIDI system renders its MIDI once, there; a waveform system is
resampled); fit the audio to
the video's exact duration with short fades, normalise it to one loudness with a true-peak
ceiling, mux it with the item's silent video (prepared once per item, H.264, stripped) into an
MP4 (constant-bitrate audio: every version of an item has one byte length) and store it
under a random name. Provenance lives in the database only.

Resumable: each clip is written to a temporary file, then stored and saved with its row in one
transaction; clips that exist are skipped unless `force`. A failure is recorded on the task (item,
system, error) and the task goes on with the rest. Jobs and their tasks: studies.stimuli.jobs.
"""

import dataclasses
import gc
import hashlib
import logging
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import File
from django.db import transaction

from foley_models import load_generator
from foley_models.render import ffmpeg, loudness
from foley_models.render.audio_io import read_wav, write_wav
from studies import storage
from studies.errors import StudyError
from studies.models import (
    CheckClip,
    CheckKind,
    Clip,
    GenerationJob,
    GenerationTask,
    Item,
    System,
    SystemRole,
    Trial,
)
from studies.stimuli import audit, checks, sizes
from studies.stimuli.background import JobCancelled, job_raise_if_cancelled
from studies.stimuli.checkpoints import checkpoint_local

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StimulusFormat:
    sample_rate: int = 44100
    target_lufs: float = -23.0
    ceiling_dbtp: float = -1.0
    fade_s: float = 0.02

    @classmethod
    def from_settings(cls) -> "StimulusFormat":
        return cls(
            sample_rate=settings.STIMULUS_SAMPLE_RATE,
            target_lufs=settings.STIMULUS_LOUDNESS_LUFS,
            ceiling_dbtp=settings.STIMULUS_TRUE_PEAK_DBTP,
        )


# --- one task's run ---------------------------------------------------------------------------


@dataclass
class _Run:
    """What one task (studies.stimuli.jobs) carries while it makes clips."""

    job: GenerationJob
    task: GenerationTask
    fmt: StimulusFormat
    work: Path
    progress: object = None
    after_advance: object = None  # refreshes the job's totals from its tasks
    videos: dict = field(default_factory=dict)  # item pk -> prepared silent video

    def advance(self, *, failed: dict | None = None) -> None:
        task = self.task
        if failed is None:
            task.done += 1
        else:
            task.failed += 1
            task.errors = [*task.errors, failed]
            log.warning("generation job %s: %s", self.job.pk, failed)
        task.save(update_fields=["done", "failed", "errors"])
        if self.after_advance:
            self.after_advance()
        if self.progress:
            self.progress(self.job)
        job_raise_if_cancelled(self.job)  # a cancel stops the task between two clips


def provenance_of_run(run: _Run) -> dict:
    return {"job": run.job.pk, "task": run.task.pk, "worker": run.task.worker}


def clips_make(run: _Run, system: System, items: list[Item]) -> None:
    """The system's clips for these items; items whose clip exists (made by this job, when
    it forces) count as done without work, so a retried task makes nothing twice."""
    todo = []
    for item in items:
        clip = Clip.objects.filter(item=item, system=system).first()
        if clip is not None and (not run.job.force or clip.provenance.get("job") == run.job.pk):
            run.advance()
        else:
            todo.append(item)
    if todo:
        _run_system(run, system, todo)


def checks_make(run: _Run, items: list[Item]) -> None:
    """Each item's check material, unless it exists (made by this job, when it forces)."""
    for item in items:
        done = has_checks(item) and (
            not run.job.force
            or CheckClip.objects.filter(item=item, provenance__job=run.job.pk).exists()
        )
        if done:
            run.advance()
            continue
        try:
            _make_checks(run, item)
            run.advance()
        except Exception as exc:  # one item's check material failing must not stop others
            if transient(exc):
                raise
            run.advance(failed=failure(item, None, exc))


def equalize(item: Item) -> None:
    """Pad the item's versions to one byte length (a no-op for generated clips, which come out
    equal), unless raters already have trials on it: a file must not change under them (dry
    runs' trials do not count)."""
    if not Trial.objects.filter(item=item, session__simulated=False).exists():
        sizes.item_versions_equalize(item)


def has_clip(item: Item, system: System) -> bool:
    return Clip.objects.filter(item=item, system=system).exists()


def has_checks(item: Item) -> bool:
    kinds = set(CheckClip.objects.filter(item=item, is_target=True).values_list("kind", flat=True))
    wanted = {CheckKind.NOISE} | ({CheckKind.SYNC} if _sync_possible(item) else set())
    return wanted <= kinds


def _sync_possible(item: Item) -> bool:
    return bool(checks.sync_shifts(item.duration_s, 1))


def transient(exc: BaseException) -> bool:
    """An error of the infrastructure (database, object store, network), not of one clip: the
    task stops and is run again (studies.stimuli.jobs) instead of recording the clip failed."""
    from botocore.exceptions import ClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, JobCancelled):  # not a clip's failure: the task stops
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    kinds = (ConnectionError, TimeoutError, BotoConnectionError, OperationalError, InterfaceError)
    return isinstance(exc, kinds)


def failure(item: Item | None, system: System | None, exc: BaseException) -> dict:
    return {
        "item": item.key if item else "",
        "system": system.key if system else "",
        "error": f"{type(exc).__name__}: {exc}",
        "where": traceback.format_exc(limit=-3)[-1500:],
    }


# --- one system -------------------------------------------------------------------------------


def _run_system(run: _Run, system: System, items: list[Item]) -> None:
    job = run.job
    if system.role != SystemRole.GENERATED:
        _run_recording(run, system, items)
        return
    try:
        if system.checkpoint is None:
            raise StudyError(f"system {system.key} has no registered checkpoint")
        path, digest = checkpoint_local(checkpoint=system.checkpoint)
        generator = load_generator(path, device=job.device)
    except Exception as exc:
        if transient(exc):
            raise
        for item in items:
            run.advance(failed=failure(item, system, exc))
        return
    try:
        groups: dict[tuple, list[Item]] = {}
        for item in items:
            groups.setdefault((item.fps, item.layout), []).append(item)
        for (fps, layout), group in groups.items():
            for start in range(0, len(group), job.batch_size):
                chunk = group[start : start + job.batch_size]
                _run_chunk(run, system, generator, digest, chunk, fps=fps, layout=layout)
    finally:
        del generator
        gc.collect()
        _empty_cuda_cache()


# The MUSHRA low anchor of ITU-R BS.1534-3: the reference low-passed at 3.5 kHz.
ANCHOR_CUTOFF_HZ = 3500.0


def low_anchor(audio: np.ndarray, sample_rate: int, cutoff_hz: float = ANCHOR_CUTOFF_HZ):
    """The reference low-passed at cutoff_hz (8th-order Butterworth, zero phase: the anchor
    keeps the reference's timing exactly)."""
    from scipy import signal

    sos = signal.butter(8, cutoff_hz, btype="low", fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sos, audio).astype(np.float32)


def _run_recording(run: _Run, system: System, items: list[Item]) -> None:
    """A reference system's clips are the items' own recordings (an anchor's, the recording
    low-passed), through the same fit, loudness, encoding and size rules as every other clip,
    so nothing but their sound tells them apart."""
    for item in items:
        try:
            if not item.reference_audio:
                raise StudyError(
                    f"item {item.key} has no reference recording (Item.reference_audio), which "
                    f"the {system.role} system {system.key} is made from"
                )
            audio, origin = _item_audio(run, item)
            params = {}
            if system.role == SystemRole.ANCHOR:
                audio = low_anchor(audio, run.fmt.sample_rate)
                params = {"lowpass_hz": ANCHOR_CUTOFF_HZ, "filter": "butterworth-8-zero-phase"}
            provenance = {
                **provenance_of_run(run),
                "role": system.role,
                "made_from": origin,
                "reference_sha256": storage.sha256_of(item.reference_audio),
                **params,
            }
            _store(run, item, audio, provenance, system=system)
            run.advance()
        except Exception as exc:  # one item failing must not stop the others
            if transient(exc):
                raise
            run.advance(failed=failure(item, system, exc))


def _empty_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _seed(system: System, items: list[Item]) -> int:
    text = f"{system.study_id}:{system.key}:" + ",".join(i.key for i in items)
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _run_chunk(run, system, generator, digest, chunk, *, fps, layout) -> None:
    seed = _seed(system, chunk)
    try:
        if fps is None:
            raise StudyError("the item has no frame rate (fps); set it in the admin")
        poses = [_load_pose(item) for item in chunk]
        started = time.monotonic()
        outputs = generator.generate(
            poses,
            [item.category for item in chunk],
            seed=seed,
            fps=fps,
            layout=layout,
            sample_rate=run.fmt.sample_rate,  # rendered (or resampled) once, at this rate
            **system.sampling,
        )
        seconds = time.monotonic() - started
    except Exception as exc:
        if transient(exc):
            raise
        for item in chunk:
            run.advance(failed=failure(item, system, exc))
        return
    for item, out in zip(chunk, outputs, strict=True):
        try:
            audio, native = out.audio, generator.config.sample_rate
            provenance = {
                "system": system.key,
                "checkpoint": system.checkpoint.path,
                "checkpoint_sha256": digest,
                "preset": system.checkpoint.preset,
                "step": system.checkpoint.step,
                "seed": seed,
                "batch": [i.key for i in chunk],
                "sampling": system.sampling,
                "device": str(generator.device),
                "generation_s": round(seconds / len(chunk), 3),
                "native_sample_rate": native,
                "midi_notes": _n_notes(out),
                **provenance_of_run(run),
            }
            _store(run, item, audio, provenance, system=system)
            run.advance()
        except Exception as exc:
            if transient(exc):
                raise
            run.advance(failed=failure(item, system, exc))


def _n_notes(out) -> int | None:
    if out.midi is None:
        return None
    return sum(len(inst.notes) for inst in out.midi.instruments)


def _load_pose(item: Item) -> np.ndarray:
    if not item.pose:
        raise StudyError(f"item {item.key} has no pose file")
    with item.pose.open("rb") as handle:
        pose = np.load(handle, allow_pickle=False)
    n_frames = int(round(item.duration_s * item.fps))
    if abs(len(pose) - n_frames) > 1:
        raise StudyError(
            f"item {item.key}: the pose has {len(pose)} frames but {item.duration_s:g} s at "
            f"{item.fps:g} fps is {n_frames}"
        )
    return pose


# --- finishing and storing ----------------------------------------------------------------


def _video(run: _Run, item: Item) -> Path:
    """The item's silent video, re-encoded once per job (H.264, exact frames, stripped), so every
    clip of the item carries the identical picture stream."""
    if item.pk not in run.videos:
        if not item.video:
            raise StudyError(f"item {item.key} has no video")
        run.work.mkdir(parents=True, exist_ok=True)
        with storage.local_copy(item.video, run.work) as source:
            fps = item.fps or ffmpeg.frame_rate(source)  # items added by hand may lack it
            n_frames = int(round(item.duration_s * fps))
            run.videos[item.pk] = ffmpeg.cut_video(
                source,
                run.work / f"item-{item.pk}.mp4",
                start_s=0.0,
                n_frames=n_frames,
                fps=fps,
            )
    return run.videos[item.pk]


# The encoder changes the loudness of some material (MP3 loses up to 0.7 LU on white noise, so
# noisy systems and noise foils would play quieter): the clip is measured as delivered and
# encoded again with the difference made up, until it is within this of the target.
DELIVERED_TOLERANCE_LU = 0.1


def _finish(run: _Run, item: Item, audio: np.ndarray) -> tuple[Path, loudness.Normalised]:
    """Fit, normalise and mux one soundtrack, loudness measured on the decoded result; returns
    the MP4 (in the work folder) and the normalisation, whose loudness is the delivered one."""
    fmt = run.fmt
    fitted = loudness.fit_duration(audio, fmt.sample_rate, item.duration_s, fmt.fade_s)
    run.work.mkdir(parents=True, exist_ok=True)
    target = fmt.target_lufs
    for attempt in range(3):
        norm = loudness.normalise(
            fitted, fmt.sample_rate, target_lufs=target, ceiling_dbtp=fmt.ceiling_dbtp
        )
        fd, wav_name = tempfile.mkstemp(dir=run.work, suffix=".wav")
        os.close(fd)
        wav = write_wav(Path(wav_name), norm.audio, fmt.sample_rate)
        mp4 = ffmpeg.mux_clip(_video(run, item), wav, wav.with_suffix(".mp4"))
        wav.unlink()
        decoded = ffmpeg.extract_audio(mp4, run.work / "delivered.wav", sample_rate=fmt.sample_rate)
        delivered = loudness.integrated_lufs(read_wav(decoded)[0], fmt.sample_rate)
        decoded.unlink()
        error = fmt.target_lufs - delivered
        if abs(error) <= DELIVERED_TOLERANCE_LU or attempt == 2:
            break
        mp4.unlink()
        target += error
    return mp4, dataclasses.replace(norm, loudness_lufs=delivered)


def _store(run: _Run, item: Item, audio: np.ndarray, provenance: dict, *, system: System):
    mp4, norm = _finish(run, item, audio)
    duration = ffmpeg.duration_s(mp4)
    provenance = {
        **provenance,
        "loudness_lufs": round(norm.loudness_lufs, 3),
        "source_lufs": round(norm.source_lufs, 3),
        "true_peak_dbtp": round(norm.true_peak_dbtp, 3),
        "limited": norm.limited,
        "duration_s": duration,
        "sample_rate": run.fmt.sample_rate,
    }
    sound = audit.file_audit(mp4)  # what launch checks (identical, silent, clipped)
    clip = Clip.objects.filter(item=item, system=system).first()
    old_name = clip.media.name if clip else None
    clip = clip or Clip(item=item, system=system)
    clip.duration_s, clip.loudness_lufs, clip.provenance = duration, norm.loudness_lufs, provenance
    _attach_and_save(clip, mp4, old_name)
    clip.provenance["audio"] = {**sound, "media": clip.media.name}  # the name it was given
    clip.save(update_fields=["provenance"])


def _attach_and_save(row, mp4: Path, old_name: str | None) -> None:
    """Store the file under a random name, then save the row; the old file goes after commit."""
    with mp4.open("rb") as handle:
        row.media.save("clip.mp4", File(handle), save=False)
    mp4.unlink()
    try:
        with transaction.atomic():
            row.save()
            if old_name:
                storage = row.media.storage
                transaction.on_commit(lambda: storage.delete(old_name))
    except BaseException:
        row.media.storage.delete(row.media.name)
        raise


# --- check material ---------------------------------------------------------------------------


def _item_audio(run: _Run, item: Item) -> tuple[np.ndarray, str]:
    """The item's own audio: its reference recording, else its first system's soundtrack."""
    rate = run.fmt.sample_rate
    run.work.mkdir(parents=True, exist_ok=True)
    if item.reference_audio:
        source, origin = item.reference_audio, "reference recording"
    else:
        clip = Clip.objects.filter(item=item).order_by("system_id").first()
        if clip is None:
            raise StudyError(
                f"item {item.key} has neither reference audio nor a clip to check with"
            )
        source, origin = clip.media, f"soundtrack of system {clip.system.key}"
    with storage.local_copy(source, run.work) as path:
        wav = ffmpeg.extract_audio(path, run.work / f"ref-{item.pk}.wav", sample_rate=rate)
    audio, _ = read_wav(wav)
    wav.unlink()
    return audio, origin


def _make_checks(run: _Run, item: Item) -> None:
    audio, origin = _item_audio(run, item)
    rate = run.fmt.sample_rate
    clean = loudness.fit_duration(audio, rate, item.duration_s, run.fmt.fade_s)
    from studies.designs import design_of

    n_foils = max(1, design_of(item.study).n_versions(item.study) - 1)
    seed = int(hashlib.sha256(f"{item.study_id}:{item.key}:checks".encode()).hexdigest()[:8], 16)
    variants = [(CheckKind.NOISE, True, clean, {})]
    for k, noisy in enumerate(checks.noise_foils(clean, n_foils, seed=seed)):
        variants.append((CheckKind.NOISE, False, noisy, {"snr_db": checks.NOISE_SNR_DB, "k": k}))
    shifts = checks.sync_shifts(item.duration_s, n_foils)
    if shifts:
        variants.append((CheckKind.SYNC, True, clean, {"shift_s": 0.0}))
        for shift in shifts:
            foil = checks.shifted(clean, rate, shift)
            variants.append((CheckKind.SYNC, False, foil, {"shift_s": round(shift, 3)}))
    made = []
    for kind, is_target, sound, params in variants:
        mp4, norm = _finish(run, item, sound)
        made.append((kind, is_target, mp4, norm, params))
    old = list(CheckClip.objects.filter(item=item))
    with transaction.atomic():
        for row in old:
            transaction.on_commit(lambda name=row.media.name, s=row.media.storage: s.delete(name))
            row.delete()
        for kind, is_target, mp4, norm, params in made:
            row = CheckClip(
                item=item,
                kind=kind,
                is_target=is_target,
                duration_s=ffmpeg.duration_s(mp4),
                provenance={
                    **provenance_of_run(run),
                    "made_from": origin,
                    "loudness_lufs": round(norm.loudness_lufs, 3),
                    **params,
                },
            )
            with mp4.open("rb") as handle:
                row.media.save("check.mp4", File(handle), save=False)
            mp4.unlink()
            row.save()
