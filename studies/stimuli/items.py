"""Items from a performance dataset (docs/reference/dataset-folder.md): windows of the chosen
split cut into silent video, pose, reference audio and reference MIDI."""

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone

from foley_models.data import dataset
from foley_models.render import ffmpeg
from foley_models.render.audio_io import read_wav, write_wav
from studies.errors import StudyError
from studies.models import Item, ItemImport, Study
from studies.stimuli.background import JobCancelled, job_raise_if_cancelled, job_refuse_if_active
from studies.stimuli.datasets import dataset_check

MIN_NOTES = 3  # a window with fewer notes makes a poor item (the musician hardly plays)


@dataclass(frozen=True)
class Window:
    performance: dataset.Performance
    start_frame: int
    n_frames: int

    @property
    def key(self) -> str:
        return f"{self.performance.id}-f{self.start_frame}".lower()[:64]


def _notes_in(midi: pretty_midi.PrettyMIDI | None, start_s: float, end_s: float):
    if midi is None:
        return None
    return [n for inst in midi.instruments for n in inst.notes if start_s <= n.start < end_s - 0.05]


def windows_plan(
    *,
    root: Path,
    performances: list[dataset.Performance],
    per_category: int,
    duration_s: float,
    lead_in_s: float = 1.0,
) -> list[Window]:
    """`per_category` windows per instrument, round-robin over its performances (so items come
    from as many performances as there are), non-overlapping, skipping near-silent windows."""
    chosen, short = [], []
    by_category: dict[str, list[dataset.Performance]] = {}
    for p in performances:
        by_category.setdefault(p.instrument, []).append(p)
    for category, perfs in sorted(by_category.items()):
        midis = {p.id: dataset.load_midi(root / p.midi) if p.midi else None for p in perfs}
        starts = {p.id: lead_in_s for p in perfs}
        picked = 0
        while picked < per_category:
            progressed = False
            for p in perfs:
                if picked >= per_category:
                    break
                n_frames = int(round(duration_s * p.fps))
                while starts[p.id] + duration_s <= p.duration_s - 0.1:
                    start_s = starts[p.id]
                    starts[p.id] += duration_s
                    notes = _notes_in(midis[p.id], start_s, start_s + duration_s)
                    if notes is not None and len(notes) < MIN_NOTES:
                        continue
                    chosen.append(Window(p, int(round(start_s * p.fps)), n_frames))
                    picked += 1
                    progressed = True
                    break
            if not progressed:
                short.append(
                    f"{category}: only {picked} usable {duration_s:g} s windows (asked for "
                    f"{per_category}) in {len(perfs)} performance(s)"
                )
                break
    if short:  # every instrument that cannot be filled, not only the first
        raise StudyError(
            "the split cannot fill every instrument: " + "; ".join(short) + ". Use shorter "
            "items, fewer per instrument, or more data"
        )
    return chosen


def items_import(
    *,
    study: Study,
    data_dir: str | Path,
    split: str = "test",
    per_category: int = 2,
    duration_s: float = 6.0,
    categories: tuple[str, ...] | None = None,
    notes: list[str] | None = None,
    progress=None,
    errors: list[dict] | None = None,
) -> list[Item]:
    """Add items to a study from a dataset split; items already there (same key) are kept.

    An asked-for instrument the split lacks is an error naming where it is; without
    `categories`, an instrument of the dataset that the split lacks is left out and said so in
    `notes`. `progress(done, total)` is called after each item (it may raise to stop; items
    made so far stay). With `errors`, a window that cannot be cut is recorded there and the
    others go on; without it, it is raised."""
    root = Path(data_dir)
    try:
        everything = dataset.read_index(root)
    except dataset.DatasetError as exc:
        raise StudyError(str(exc)) from None
    splits_of: dict[str, set[str]] = {}
    for p in everything:
        splits_of.setdefault(p.instrument, set()).add(p.split)
    performances = [p for p in everything if p.split == split]
    wanted = list(categories) if categories else sorted(splits_of)
    missing = [c for c in wanted if split not in splits_of.get(c, set())]
    if categories and missing:
        raise StudyError(
            f"{root}: split {split!r} has no performance of "
            + "; ".join(
                f"{c} (only in {', '.join(sorted(splits_of[c]))})"
                if c in splits_of
                else f"{c} (not in the dataset, which has {', '.join(sorted(splits_of))})"
                for c in missing
            )
        )
    for c in missing:
        if notes is not None:
            notes.append(
                f"{c}: no performance in split {split!r} (only in "
                f"{', '.join(sorted(splits_of[c]))}); not imported"
            )
    performances = [p for p in performances if p.instrument in wanted]
    if not performances:
        raise StudyError(f"{root}: no performances in split {split!r}")
    for p in performances:
        if not p.video:
            raise StudyError(
                f"{root}: performance {p.id} has no video; items need the silent video that "
                "raters watch (synthetic datasets: make them without --no-video)"
            )
    items = []
    windows = windows_plan(
        root=root, performances=performances, per_category=per_category, duration_s=duration_s
    )
    for n, window in enumerate(windows, 1):
        existing = Item.objects.filter(study=study, key=window.key).first()
        try:
            items.append(existing or _item_create(study=study, root=root, window=window))
        except (StudyError, ffmpeg.FFmpegError, dataset.DatasetError, OSError, ValueError) as exc:
            if errors is None:
                raise
            errors.append({"item": window.key, "system": "", "error": f"{exc}"})
        if progress is not None:
            progress(n, len(windows))
    return items


def item_import_create(*, study: Study, data_dir: str | Path, **options) -> ItemImport:
    """A queued import, after checking the folder is a dataset with the split (an instrument
    the split lacks is checked by the worker, which names every one)."""
    split = options.get("split", "test")
    dataset_check(data_dir, need_splits=(split,))
    if study.status != Study.Status.DRAFT:
        raise StudyError(f"{study.slug} is {study.status}: items can be added only to a draft")
    job_refuse_if_active(study.item_imports.all(), what="item import")
    return ItemImport.objects.create(study=study, data_dir=str(Path(data_dir).resolve()), **options)


def item_import_run(*, job: ItemImport) -> ItemImport:
    """Run a queued import in this process (the worker's task)."""
    Status = ItemImport.Status
    claimed = ItemImport.objects.filter(pk=job.pk, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    job.refresh_from_db()
    if not claimed:
        return job
    notes: list[str] = []
    errors: list[dict] = []

    def progress(done: int, total: int) -> None:
        ItemImport.objects.filter(pk=job.pk).update(
            done=done - len(errors), failed=len(errors), total=total, errors=errors
        )
        job_raise_if_cancelled(job)

    try:
        items = items_import(
            study=job.study,
            data_dir=job.data_dir,
            split=job.split,
            per_category=job.per_category,
            duration_s=job.duration_s,
            categories=tuple(job.categories) or None,
            notes=notes,
            progress=progress,
            errors=errors,
        )
    except JobCancelled:
        ItemImport.objects.filter(pk=job.pk).update(notes=notes, errors=errors)
    except StudyError as exc:
        ItemImport.objects.filter(pk=job.pk).update(
            status=Status.FAILED, finished_at=timezone.now(), message=exc.message, notes=notes
        )
    else:
        counts = {}
        for item in items:
            counts[item.category] = counts.get(item.category, 0) + 1
        summary = ", ".join(f"{n} {c}" for c, n in sorted(counts.items())) or "none"
        ItemImport.objects.filter(pk=job.pk).update(
            status=Status.DONE_WITH_ERRORS if errors else Status.DONE,
            finished_at=timezone.now(),
            message=f"{len(items)} items in {job.study.slug} ({summary})",
            notes=notes,
            errors=errors,
            failed=len(errors),
        )
    job.refresh_from_db()
    return job


def _item_create(*, study: Study, root: Path, window: Window) -> Item:
    p = window.performance
    start_s = window.start_frame / p.fps
    duration_s = window.n_frames / p.fps
    pose = dataset.load_pose(root, p)[window.start_frame : window.start_frame + window.n_frames]
    if len(pose) != window.n_frames:
        raise StudyError(f"{p.id}: the pose ends before {start_s + duration_s:.2f} s")
    item = Item(
        study=study,
        key=window.key,
        category=p.instrument,
        duration_s=duration_s,
        layout=p.layout,
        fps=p.fps,
        source=f"{root.name}/{p.id} from {start_s:.3f} s ({p.split} split)",
    )
    item.full_clean(exclude=["video", "pose"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = ffmpeg.cut_video(
            root / p.video, tmp / "v.mp4", start_s=start_s, n_frames=window.n_frames, fps=p.fps
        )
        with video.open("rb") as handle:
            item.video.save("v.mp4", File(handle), save=False)
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(pose), allow_pickle=False)
        item.pose.save("p.npy", ContentFile(buffer.getvalue()), save=False)
        if p.audio:
            audio, rate = read_wav(root / p.audio)
            a = int(round(start_s * rate))
            clip = audio[a : a + int(round(duration_s * rate))]
            wav = write_wav(tmp / "a.wav", clip, rate)
            with wav.open("rb") as handle:
                item.reference_audio.save("a.wav", File(handle), save=False)
        if p.midi:
            item.reference_midi.save(
                "m.mid", ContentFile(_midi_window(root / p.midi, start_s, duration_s)), save=False
            )
    with transaction.atomic():
        item.save()
    return item


def _midi_window(path: Path, start_s: float, duration_s: float) -> bytes:
    source = dataset.load_midi(path)
    out = pretty_midi.PrettyMIDI()
    for inst in source.instruments:
        copy = pretty_midi.Instrument(program=inst.program, is_drum=inst.is_drum)
        for n in inst.notes:
            if start_s <= n.start < start_s + duration_s:
                end = min(n.end, start_s + duration_s) - start_s
                copy.notes.append(
                    pretty_midi.Note(n.velocity, n.pitch, n.start - start_s, max(end, 0.01))
                )
        out.instruments.append(copy)
    buffer = io.BytesIO()
    out.write(buffer)
    return buffer.getvalue()
