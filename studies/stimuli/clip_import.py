"""Bring your own clips: every system's soundtrack (or video) for every item, from a folder or a
manifest, through the same pipeline as generated clips.

Folder layout (any other layout: a manifest CSV `item, system, path[, category, start_s,
end_s]`, paths relative to the manifest, with `videos` and `reference` as system names for the
items' videos and recordings):

    DIR/videos/<item>.mp4        the performance video of each item (its sound is dropped)
    DIR/<system>/<item>.<ext>    each system's soundtrack, or a video with one
    DIR/reference/<item>.<ext>   optional: the original recording

`plan` reads everything, decodes every file once and lists every problem (missing pairs,
durations that differ from the item's by more than the tolerance, silent or clipped audio,
undecodable files, unknown extensions) without writing anything. `run` imports what the plan
found good: items and systems are created when missing; each soundtrack is fitted to its
item's video (fades), loudness-normalised with a true-peak ceiling, muxed under the item's
silent video (a system's own picture only with keep_system_video) as CBR MP3 in MP4, stored
under a random name with the source's sha256 in its provenance (studies.stimuli.generation's
_finish and _store). A file already imported with the same content is skipped, so a run can be
repeated or resumed; one bad file is reported and the rest go on.
"""

import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.files.base import File
from django.db import transaction

from foley_models.render import ffmpeg
from foley_models.render.audio_io import read_wav
from studies import storage
from studies.errors import StudyError
from studies.models import Clip, Item, Study, System, SystemRole, key_validator
from studies.stimuli import audit

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm")
DURATION_TOLERANCE_S = 0.1
VIDEOS, REFERENCE = "videos", "reference"


@dataclass
class Source:
    item: str
    system: str  # a system key, or VIDEOS / REFERENCE
    path: Path
    category: str = ""
    start_s: float | None = None
    end_s: float | None = None
    # Filled by the plan:
    duration_s: float | None = None
    sha256: str = ""
    problem: str = ""
    action: str = ""  # import, skip (already imported), replace

    @property
    def label(self) -> str:
        return f"{self.item}/{self.system}"


@dataclass
class Plan:
    study: Study
    sources: list[Source]
    problems: list[str] = field(default_factory=list)  # every problem, by item and system
    category: str = ""
    keep_system_video: bool = False

    @property
    def clips(self) -> list[Source]:
        return [s for s in self.sources if s.system not in (VIDEOS, REFERENCE)]

    def rows(self) -> list[dict]:
        """One row per file for the dry-run table."""
        return [
            {
                "item": s.item,
                "system": s.system,
                "file": s.path.name,
                "seconds": "-" if s.duration_s is None else f"{s.duration_s:.3f}",
                "action": s.action or "-",
                "problem": s.problem,
            }
            for s in self.sources
        ]


def sources_from_folder(root: Path) -> tuple[list[Source], list[str]]:
    problems, sources = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            if path.name.startswith("."):
                continue
            sources.append(Source(item=path.stem, system=folder.name, path=path))
    if not any(s.system == VIDEOS for s in sources):
        problems.append(f"{root}: no videos/ folder with the items' performance videos")
    return sources, problems


def sources_from_manifest(path: Path) -> tuple[list[Source], list[str]]:
    problems, sources = [], []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"item", "system", "path"} - set(reader.fieldnames or [])
        if missing:
            raise StudyError(f"{path}: missing columns: {', '.join(sorted(missing))}")
        for row in reader:
            line = reader.line_num
            try:
                start = float(row["start_s"]) if (row.get("start_s") or "").strip() else None
                end = float(row["end_s"]) if (row.get("end_s") or "").strip() else None
            except ValueError:
                problems.append(f"{path}:{line}: start_s and end_s must be numbers")
                continue
            if start is not None and end is not None and end <= start:
                problems.append(f"{path}:{line}: end_s must come after start_s")
                continue
            sources.append(
                Source(
                    item=row["item"].strip(),
                    system=row["system"].strip(),
                    path=(path.parent / row["path"].strip()),
                    category=(row.get("category") or "").strip(),
                    start_s=start,
                    end_s=end,
                )
            )
    return sources, problems


def plan(
    *,
    study: Study,
    source: Path,
    category: str = "",
    tolerance_s: float = DURATION_TOLERANCE_S,
    keep_system_video: bool = False,
    progress=None,
) -> Plan:
    """What an import of `source` (a folder, or a manifest .csv) would do, and every problem."""
    source = Path(source)
    if not source.exists():
        raise StudyError(f"{source}: no such folder or manifest")
    if source.is_dir():
        sources, problems = sources_from_folder(source)
    else:
        sources, problems = sources_from_manifest(source)
    result = Plan(study, sources, problems, category, keep_system_video)
    _check_names(result)
    _check_files(result, progress)
    _check_pairs(result, tolerance_s)
    _check_existing(result)
    result.problems += [f"{s.label}: {s.problem}" for s in sources if s.problem]
    return result


def _check_names(result: Plan) -> None:
    seen = {}
    for s in result.sources:
        for value, what in ((s.item, "item"), (s.system, "system")):
            try:
                key_validator(value)
            except Exception:
                s.problem = s.problem or (
                    f"{what} name {value!r} is not a key (lowercase letters, digits, '_' and '-')"
                )
        ext = s.path.suffix.lower()
        allowed = VIDEO_EXTENSIONS if s.system == VIDEOS else AUDIO_EXTENSIONS + VIDEO_EXTENSIONS
        if not s.problem and ext not in allowed:
            s.problem = f"unknown extension {ext or '(none)'!r} (use {', '.join(allowed)})"
        if not s.problem and (s.item, s.system) in seen:
            s.problem = f"a second file for the same item and system ({seen[(s.item, s.system)]})"
        seen.setdefault((s.item, s.system), s.path.name)


def _check_files(result: Plan, progress) -> None:
    """Decode every file once: its duration, its content hash, silent or clipped audio."""
    todo = [s for s in result.sources if not s.problem]
    for n, s in enumerate(todo, start=1):
        if not s.path.is_file():
            s.problem = f"no such file {s.path}"
            continue
        s.sha256 = storage.sha256_of(s.path)
        try:
            if s.system == VIDEOS:
                ffmpeg.frame_rate(s.path)  # a video stream is needed
                s.duration_s = ffmpeg.duration_s(s.path)
            else:
                samples = _decode(s.path, audit.AUDIT_SAMPLE_RATE)
                s.duration_s = len(samples) / audit.AUDIT_SAMPLE_RATE
                a = audit.audio_audit(samples)
                if a["rms_dbfs"] < audit.SILENT_DBFS:
                    s.problem = f"silent audio (RMS {a['rms_dbfs']:.1f} dBFS)"
                elif a["clipped_share"] > audit.CLIPPED_SHARE:
                    s.problem = f"clipped audio ({a['clipped_share']:.2%} of samples at full scale)"
        except Exception as exc:  # ffmpeg names what is wrong with the file
            s.problem = f"cannot be decoded: {str(exc).strip().splitlines()[-1][:200]}"
        if s.start_s is not None and s.duration_s is not None and not s.problem:
            end = s.end_s if s.end_s is not None else s.duration_s
            if end > s.duration_s + 1e-3:
                s.problem = f"end_s {end:g} is past the file's end ({s.duration_s:.3f} s)"
            else:
                s.duration_s = end - s.start_s
        if progress:
            progress(n, len(todo))


def _check_pairs(result: Plan, tolerance_s: float) -> None:
    existing = {i.key: i for i in Item.objects.filter(study=result.study)}
    videos = {s.item: s for s in result.sources if s.system == VIDEOS and not s.problem}
    systems = sorted({s.system for s in result.clips})
    items = sorted({s.item for s in result.sources})
    have = {(s.item, s.system) for s in result.sources}
    for item in items:
        if item not in videos and item not in existing:
            result.problems.append(f"{item}: no video (videos/{item}.mp4) and no such item")
        for system in systems:
            if (item, system) not in have:
                result.problems.append(f"{item}/{system}: missing (no file for this pair)")
    for s in result.sources:
        if s.problem or s.system == VIDEOS:
            continue
        video = videos.get(s.item)
        target = video.duration_s if video else getattr(existing.get(s.item), "duration_s", None)
        if target is not None and abs(s.duration_s - target) > tolerance_s:
            s.problem = (
                f"lasts {s.duration_s:.3f} s but the item's video lasts {target:.3f} s (more "
                f"than {tolerance_s:g} s apart)"
            )


def _check_existing(result: Plan) -> None:
    """Idempotence by content: a clip made from the same file is skipped; one made from
    another file is replaced only while no rater has a trial on its item."""
    clips = {
        (c.item.key, c.system.key): c
        for c in Clip.objects.filter(item__study=result.study).select_related("item", "system")
    }
    shown = set(
        Item.objects.filter(study=result.study, trials__session__simulated=False).values_list(
            "key", flat=True
        )
    )
    for s in result.sources:
        if s.problem:
            continue
        if s.system in (VIDEOS, REFERENCE):
            s.action = "item" if s.system == VIDEOS else "recording"
            continue
        clip = clips.get((s.item, s.system))
        if clip is None:
            s.action = "import"
        elif clip.provenance.get("source_sha256") == s.sha256:
            s.action = "skip"
        elif s.item in shown:
            s.problem = "a different clip exists and raters have trials on this item"
        else:
            s.action = "replace"


# --- the import -------------------------------------------------------------------------------


@dataclass
class Outcome:
    imported: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    items_created: int = 0
    systems_created: int = 0


def run(plan_: Plan, *, progress=None) -> Outcome:
    """Import every file the plan found good; a file that fails now is reported and the rest
    go on."""
    from studies.stimuli.generation import StimulusFormat

    outcome = Outcome()
    study = plan_.study
    good = [s for s in plan_.sources if not s.problem]
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        work = _Work(fmt=StimulusFormat.from_settings(), work=Path(tmp))
        items = _items_ensure(plan_, [s for s in good if s.system == VIDEOS], outcome)
        changed = {
            s.item
            for s in good
            if s.system == REFERENCE and s.item in items and _reference_store(items[s.item], s)
        }
        systems = _systems_ensure(study, sorted({s.system for s in good if s in plan_.clips}))
        outcome.systems_created = systems.pop("_created")
        clips = [s for s in good if s in plan_.clips]
        for n, s in enumerate(clips, start=1):
            item = items.get(s.item)
            try:
                if item is None:
                    raise StudyError("its item could not be made")
                if s.action == "skip":
                    outcome.skipped += 1
                else:
                    _clip_store(work, item, systems[s.system], s, plan_.keep_system_video)
                    outcome.imported += 1
            except Exception as exc:  # one bad file must not stop the rest
                outcome.failed.append(f"{s.label}: {exc}")
            if progress:
                progress(n, len(clips))
        _recording_clips(work, study, items, changed, outcome)
    return outcome


@dataclass
class _Work:
    """What generation._finish and _store read from a run: the format, a work folder and the
    items' prepared silent videos."""

    fmt: object
    work: Path
    videos: dict = field(default_factory=dict)


def _items_ensure(plan_: Plan, videos: list[Source], outcome: Outcome) -> dict[str, Item]:
    study = plan_.study
    items = {i.key: i for i in Item.objects.filter(study=study)}
    for s in videos:
        if s.item in items:
            continue
        category = s.category or plan_.category
        if not category:
            plan_.problems.append(f"{s.item}: no category (give --category or a category column)")
            continue
        fps = ffmpeg.frame_rate(s.path)
        start = s.start_s or 0.0
        n_frames = int(round((s.duration_s or ffmpeg.duration_s(s.path)) * fps))
        item = Item(
            study=study,
            key=s.item,
            category=category,
            duration_s=n_frames / fps,
            fps=fps,
            source=f"imported from {s.path.name} (sha256 {s.sha256[:12]})",
        )
        item.full_clean(exclude=["video", "pose"])
        with tempfile.TemporaryDirectory() as tmp:
            video = ffmpeg.cut_video(
                s.path, Path(tmp) / "v.mp4", start_s=start, n_frames=n_frames, fps=fps
            )
            with video.open("rb") as handle:
                item.video.save("v.mp4", File(handle), save=False)
        with transaction.atomic():
            item.save()
        items[s.item] = item
        outcome.items_created += 1
    return items


def _reference_store(item: Item, s: Source) -> bool:
    """The item's recording from the import (unless it is already the same file); True when
    it changed."""
    if item.reference_audio and storage.sha256_of(item.reference_audio) == s.sha256:
        return False
    with s.path.open("rb") as handle:
        item.reference_audio.save(f"r{s.path.suffix.lower()}", File(handle), save=True)
    return True


def _recording_clips(work: _Work, study: Study, items: dict, changed: set, outcome) -> None:
    """Reference and anchor systems' clips from the items' recordings (as generate_clips makes
    them), for items that have a recording and no such clip yet, or a new recording."""
    from studies.stimuli import generation

    for system in study.systems.exclude(role=SystemRole.GENERATED):
        for item in items.values():
            if not item.reference_audio:
                continue
            if item.key not in changed and Clip.objects.filter(item=item, system=system).exists():
                continue
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    local = Path(tmp) / f"r{Path(item.reference_audio.name).suffix}"
                    with item.reference_audio.open("rb") as src, local.open("wb") as dst:
                        dst.write(src.read())
                    audio = _decode(local, work.fmt.sample_rate)
                params = {}
                if system.role == SystemRole.ANCHOR:
                    audio = generation.low_anchor(audio, work.fmt.sample_rate)
                    params = {"lowpass_hz": generation.ANCHOR_CUTOFF_HZ}
                provenance = {
                    "role": system.role,
                    "made_from": "reference recording",
                    "reference_sha256": storage.sha256_of(item.reference_audio),
                    **params,
                }
                generation._store(work, item, audio, provenance, system=system)
                outcome.imported += 1
            except Exception as exc:
                outcome.failed.append(f"{item.key}/{system.key}: {exc}")


def _systems_ensure(study: Study, keys: list[str]) -> dict:
    systems = {s.key: s for s in study.systems.all()}
    created = 0
    for key in keys:
        if key not in systems:
            systems[key] = System.objects.create(study=study, key=key, name=key)
            created += 1
    return {**systems, "_created": created}


def _clip_store(work: _Work, item: Item, system: System, s: Source, keep_video: bool) -> None:
    from studies.stimuli import generation

    rate = work.fmt.sample_rate
    audio = _decode(s.path, rate)
    if s.start_s is not None:
        a = int(round(s.start_s * rate))
        audio = audio[a : a + int(round(item.duration_s * rate))]
    if keep_video and s.path.suffix.lower() in VIDEO_EXTENSIONS:
        # The system's own picture, prepared like an item video, for this clip only.
        fps = item.fps or ffmpeg.frame_rate(s.path)
        own = ffmpeg.cut_video(
            s.path,
            work.work / f"own-{system.pk}-{item.pk}.mp4",
            start_s=s.start_s or 0.0,
            n_frames=int(round(item.duration_s * fps)),
            fps=fps,
        )
        saved = work.videos.get(item.pk)
        work.videos[item.pk] = own
        try:
            generation._store(work, item, audio, _provenance(s, keep_video), system=system)
        finally:
            if saved is None:
                work.videos.pop(item.pk, None)
            else:
                work.videos[item.pk] = saved
        return
    generation._store(work, item, audio, _provenance(s, keep_video), system=system)


def _provenance(s: Source, keep_video: bool) -> dict:
    return {
        "imported_from": s.path.name,
        "source_sha256": s.sha256,
        "start_s": s.start_s,
        "picture": "system" if keep_video and s.path.suffix.lower() in VIDEO_EXTENSIONS else "item",
        "role": SystemRole.GENERATED,
    }


def _decode(path: Path, rate: int) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="decode-") as tmp:
        wav = ffmpeg.extract_audio(Path(path), Path(tmp) / "a.wav", sample_rate=rate)
        return read_wav(wav)[0]


# --- as a background job (the admin's "Import clips") ------------------------------------------


def clip_import_create(*, study: Study, source: str = "", upload=None, **options):
    """A queued clip import of a server-side folder or manifest, or of an uploaded zip; the
    source is checked now (the worker reads the files)."""
    from studies.models import ClipImport
    from studies.stimuli.background import job_refuse_if_active

    if bool(source) == bool(upload):
        raise StudyError("Give a folder or manifest on the server, or upload a zip (one of them).")
    if source and not Path(source).exists():
        raise StudyError(f"{source}: no such folder or manifest on the server")
    if upload is not None:
        import zipfile

        if not zipfile.is_zipfile(upload):
            raise StudyError(f"{upload.name}: not a zip file")
        upload.seek(0)
    job_refuse_if_active(study.clip_imports.all(), what="clip import")
    job = ClipImport(study=study, source=str(Path(source).resolve()) if source else "", **options)
    if upload is not None:
        job.upload.save("upload.zip", upload, save=False)
    job.save()
    return job


MAX_UNZIPPED_BYTES = 50 * 2**30


def unzip_safely(archive: Path, into: Path) -> Path:
    """Extract a zip of an import folder; refuses absolute paths, '..', links and archives
    that unpack to more than MAX_UNZIPPED_BYTES. Returns the folder holding videos/ (the zip's
    root, or its one top folder)."""
    import stat
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
            raise StudyError("the zip unpacks to more than 50 GiB")
        for m in members:
            parts = Path(m.filename).parts
            link = (m.external_attr >> 16) & 0o170000 == stat.S_IFLNK
            if m.filename.startswith("/") or ".." in parts or link:
                raise StudyError(f"the zip holds an unsafe entry {m.filename!r}")
        zf.extractall(into)
    if (into / VIDEOS).is_dir():
        return into
    folders = [p for p in into.iterdir() if p.is_dir() and not p.name.startswith("__MACOSX")]
    if len(folders) == 1 and (folders[0] / VIDEOS).is_dir():
        return folders[0]
    return into


def clip_import_run(*, job):
    """Run a queued clip import in this process (the worker's task)."""
    from django.utils import timezone

    from studies.models import ClipImport
    from studies.stimuli.background import JobCancelled, job_raise_if_cancelled

    Status = ClipImport.Status
    claimed = ClipImport.objects.filter(pk=job.pk, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    job.refresh_from_db()
    if not claimed:
        return job

    def progress(done: int, total: int) -> None:
        ClipImport.objects.filter(pk=job.pk).update(done=done, total=total)
        job_raise_if_cancelled(job)

    try:
        with tempfile.TemporaryDirectory(prefix="clip-import-") as tmp:
            source = Path(job.source) if job.source else None
            if source is None:
                with storage.local_copy(job.upload) as archive:
                    source = unzip_safely(archive, Path(tmp))
            found = plan(
                study=job.study,
                source=source,
                category=job.category,
                tolerance_s=job.tolerance_s,
                keep_system_video=job.keep_system_video,
            )
            ClipImport.objects.filter(pk=job.pk).update(notes=found.problems)
            outcome = run(found, progress=progress)
    except JobCancelled:
        pass
    except StudyError as exc:
        ClipImport.objects.filter(pk=job.pk).update(
            status=Status.FAILED, finished_at=timezone.now(), message=exc.message
        )
    else:
        errors = [{"error": f} for f in outcome.failed]
        problems = len(found.problems)
        ClipImport.objects.filter(pk=job.pk).update(
            status=Status.DONE_WITH_ERRORS if (errors or problems) else Status.DONE,
            finished_at=timezone.now(),
            done=outcome.imported + outcome.skipped,
            failed=len(errors),
            errors=errors,
            notes=found.problems,
            message=(
                f"{outcome.imported} clips imported, {outcome.skipped} already there, "
                f"{len(errors)} failed, {problems} problems in the files (see the notes); "
                f"{outcome.items_created} items and {outcome.systems_created} systems created"
            ),
        )
    job.refresh_from_db()
    return job
