"""The demo study: four systems, items across instruments, clips and check material, launched.

Until the stimuli issue joins the trained systems to the platform, the clips are ffmpeg test
patterns and tones (see studies.stimuli.testpattern); the README says so.
"""

from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.db import transaction

from foley_models.render import ffmpeg
from studies import services
from studies.models import CheckClip, CheckKind, Clip, Item, Study
from studies.stimuli import testpattern

DEMO_SYSTEMS = (
    ("foley_music", "Foley Music (graph-transformer, MIDI)"),
    ("samplernn", "SampleRNN"),
    ("wavenet", "WaveNet"),
    ("gan", "GAN"),
)
DEMO_CATEGORIES = ("piano", "violin", "cello", "guitar")


def _attach(field, path: Path) -> None:
    """Store a made file under the field's random name, then remove the working copy."""
    with path.open("rb") as handle:
        field.save(path.name, File(handle), save=False)
    path.unlink()


def demo_study_build(
    *,
    slug: str = "demo",
    items_per_category: int = 2,
    duration_s: float = 6.0,
    systems: tuple[tuple[str, str], ...] = DEMO_SYSTEMS,
    trials_per_session: int = 4,
    check_trials_per_session: int = 1,
    progress=None,
) -> Study:
    """Build (or finish building) the demo study and launch it. Safe to run again: made clips
    are kept, missing ones are made."""
    work = Path(settings.MEDIA_ROOT) / "work"
    study = Study.objects.filter(slug=slug).first()
    if study is None:
        study = services.study_create(
            title="Demo: which soundtrack fits the performance?",
            slug=slug,
            systems=list(systems),
            trials_per_session=trials_per_session,
            check_trials_per_session=check_trials_per_session,
            target_votes_per_item=10,
        )
    system_rows = list(study.systems.order_by("id"))
    n = 0
    for c, category in enumerate(DEMO_CATEGORIES):
        for i in range(items_per_category):
            n += 1
            key = f"{category}-{i + 1:02d}"
            offset = round(0.25 + 0.35 * ((c * items_per_category + i) % 5), 2)
            hue = (c * 90 + i * 35) % 360
            item, _ = Item.objects.get_or_create(
                study=study, key=key, defaults={"category": category, "duration_s": duration_s}
            )
            if not item.video:
                path = testpattern.make_silent_video(
                    work / f"{key}-video.mp4", duration_s=duration_s, item_offset_s=offset, hue=hue
                )
                _attach(item.video, path)
                item.save()
            for s, system in enumerate(system_rows):
                if Clip.objects.filter(item=item, system=system).exists():
                    continue
                path = testpattern.make_clip(
                    work / f"clip-{item.pk}-{s}.mp4",
                    duration_s=duration_s,
                    item_offset_s=offset,
                    hue=hue,
                    voice=s,
                )
                _save_clip(item, system, path, {"maker": "testpattern", "voice": s})
            _make_checks(item, work, offset, hue)
            if progress:
                progress(n, items_per_category * len(DEMO_CATEGORIES), key)
    if study.status == Study.Status.DRAFT:
        study = services.study_launch(study=study)
    return study


def _save_clip(item: Item, system, path: Path, provenance: dict) -> None:
    clip = Clip(item=item, system=system, duration_s=ffmpeg.duration_s(path), provenance=provenance)
    _attach(clip.media, path)
    with transaction.atomic():
        clip.save()


def _make_checks(item: Item, work: Path, offset: float, hue: int) -> None:
    wanted = [
        (CheckKind.NOISE, True, {"audio_shift_s": 0.0, "noise": 0.0}),
        (CheckKind.NOISE, False, {"audio_shift_s": 0.0, "noise": 0.35}),
        (CheckKind.SYNC, True, {"audio_shift_s": 0.0, "noise": 0.0}),
        (CheckKind.SYNC, False, {"audio_shift_s": testpattern.SYNC_SHIFT_S, "noise": 0.0}),
    ]
    for kind, is_target, params in wanted:
        if CheckClip.objects.filter(item=item, kind=kind, is_target=is_target).exists():
            continue
        path = testpattern.make_clip(
            work / f"check-{item.pk}-{kind}-{int(is_target)}.mp4",
            duration_s=item.duration_s,
            item_offset_s=offset,
            hue=hue,
            voice=len(testpattern.VOICES) - 1,
            **params,
        )
        check = CheckClip(
            item=item,
            kind=kind,
            is_target=is_target,
            duration_s=ffmpeg.duration_s(path),
            provenance=params,
        )
        _attach(check.media, path)
        check.save()
