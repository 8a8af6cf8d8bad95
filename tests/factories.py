"""Factories for studies with real media. Rows point at files made once per test run."""

import functools
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from studies import services
from studies.models import CheckClip, CheckKind, Clip, Item, Study
from tests import media_patterns as testpattern

N_ITEMS = 3
# Items with media of their own in the library (a study of more items than this would show the
# same soundtrack under two items, which launch refuses).
LIBRARY_ITEMS = 10
MAX_VOICES = 6
CLIP_S = 2.0
CATEGORIES = ("piano", "violin", "cello")
# Distinctive names so the blinding scan cannot miss them.
SYSTEM_KEYS = (
    "sys_foley_zq",
    "sys_samplernn_zq",
    "sys_wavenet_zq",
    "sys_gan_zq",
    "sys_extra5_zq",
    "sys_extra6_zq",
)


@dataclass
class MediaLibrary:
    root: Path
    clips: dict[tuple[int, int], str]  # (item, voice) -> name relative to root
    checks: dict[tuple[int, str, bool], str]  # (item, kind, is_target) -> name


def library_names() -> tuple[dict, dict]:
    """The library's file names: (item, voice) -> clip, (item, kind, is_target) -> check."""
    clips = {
        (i, v): f"clips/lib-{i}-{v}.mp4" for i in range(LIBRARY_ITEMS) for v in range(MAX_VOICES)
    }
    checks = {
        (i, kind, target): f"clips/lib-check-{i}-{kind}-{int(target)}.mp4"
        for i in range(LIBRARY_ITEMS)
        for kind, target, _ in _CHECK_VARIANTS
    }
    return clips, checks


def _item_offset_s(i: int) -> float:
    return 0.2 + 0.3 * (i % 3) + 0.05 * (i // 3)  # the first three as they always were


_CHECK_VARIANTS = (
    (CheckKind.NOISE, True, {}),
    (CheckKind.NOISE, False, {"noise": 0.35}),
    (CheckKind.SYNC, True, {}),
    (CheckKind.SYNC, False, {"audio_shift_s": 1.0}),
)


def build_media_library(root: Path) -> MediaLibrary:
    """Make every file of the library under root with ffmpeg (about 100 clips), one ffmpeg
    per core at a time (each file is its own process, so threads suffice)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    clips, checks = library_names()
    jobs = [
        (testpattern.make_clip_at_loudness, root / name,
         {"item_offset_s": _item_offset_s(i), "hue": 40 * i, "voice": v})
        for (i, v), name in clips.items()
    ] + [
        (testpattern.make_clip, root / checks[(i, kind, target)],
         {"item_offset_s": _item_offset_s(i), "hue": 40 * i, "voice": 5, **params})
        for i in range(LIBRARY_ITEMS)
        for kind, target, params in _CHECK_VARIANTS
    ]  # fmt: skip
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        done = [pool.submit(make, out, duration_s=CLIP_S, **kw) for make, out, kw in jobs]
        for future in done:
            future.result()  # the first failure, raised here
    return MediaLibrary(root=root, clips=clips, checks=checks)


def library_key() -> str:
    """What the library's bytes depend on: the patterns' and this builder's code, and ffmpeg."""
    import hashlib
    import inspect
    import subprocess

    version = subprocess.run(
        ["ffmpeg", "-version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    parts = [inspect.getsource(testpattern), inspect.getsource(build_media_library)]
    parts += [repr(_CHECK_VARIANTS), repr((LIBRARY_ITEMS, MAX_VOICES, CLIP_S)), version]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cached_media_library(cache: Path, dest: Path) -> MediaLibrary:
    """The library built once into cache (under a lock, so parallel test processes build it
    once between them, and into a temporary folder renamed into place, so an interrupted
    build is never taken for a finished one), then copied to dest for this test process: a
    test that writes next to the clips changes no other process's copy."""
    import fcntl
    import shutil
    import tempfile

    built = cache / f"media-{library_key()}"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.is_dir():
            # An older library's files, and an interrupted build's.
            for stale in [*cache.glob("media-*"), *cache.glob(".building-*")]:
                shutil.rmtree(stale, ignore_errors=True)
            partial = Path(tempfile.mkdtemp(dir=cache, prefix=".building-"))
            build_media_library(partial)
            partial.rename(built)
    shutil.copytree(built, dest, dirs_exist_ok=True)
    clips, checks = library_names()
    return MediaLibrary(root=dest, clips=clips, checks=checks)


def make_study(
    *,
    slug: str = "study",
    n_systems: int = 4,
    n_items: int = N_ITEMS,
    trials_per_session: int = 3,
    check_trials_per_session: int = 1,
    with_checks: bool = True,
    launch: bool = True,
    roles: tuple[str, ...] = (),
    **fields,
) -> Study:
    """A complete study whose clips are real files from the media library. roles: the first
    systems' roles (e.g. ("reference", "anchor")); the rest are generated."""
    systems = [
        (
            SYSTEM_KEYS[s],
            f"System {SYSTEM_KEYS[s].upper()} name",
            roles[s] if s < len(roles) else "generated",
        )
        for s in range(n_systems)
    ]
    study = services.study_create(
        title=f"Study {slug}",
        slug=slug,
        systems=systems,
        trials_per_session=trials_per_session,
        check_trials_per_session=check_trials_per_session if with_checks else 0,
        **fields,
    )
    for i in range(n_items):
        item = Item.objects.create(
            study=study,
            key=f"item-{i}",
            category=CATEGORIES[i % len(CATEGORIES)],
            duration_s=CLIP_S,
        )
        for v, system in enumerate(study.systems.order_by("id")):
            name = f"clips/lib-{i % LIBRARY_ITEMS}-{v}.mp4"
            Clip.objects.create(
                item=item,
                system=system,
                media=name,
                duration_s=CLIP_S,
                provenance={
                    "audio": library_audit(str(settings.MEDIA_ROOT), name),
                    "preflight": library_preflight(str(settings.MEDIA_ROOT), name),
                },
            )
        if with_checks:
            for kind in (CheckKind.NOISE, CheckKind.SYNC):
                for target in (True, False):
                    CheckClip.objects.create(
                        item=item,
                        kind=kind,
                        is_target=target,
                        duration_s=CLIP_S,
                        media=f"clips/lib-check-{i % LIBRARY_ITEMS}-{kind}-{int(target)}.mp4",
                    )
    if launch:
        study = services.study_launch(study=study)
    return study


@functools.cache
def library_audit(root: str, name: str) -> dict:
    """The launch audit of a library clip, computed once per run (the files never change)."""
    from studies.stimuli.audit import file_audit

    path = Path(root) / name
    return {**file_audit(path), "media": name} if path.is_file() else {}


@functools.cache
def library_preflight(root: str, name: str) -> dict:
    """The launch preflight of a library clip, once per run (as the launch keeps it)."""
    from studies.stimuli.preflight import clip_preflight

    path = Path(root) / name
    if not path.is_file():
        return {}
    problems = clip_preflight(path, target_lufs=settings.STIMULUS_LOUDNESS_LUFS)
    return {"problems": problems, "media": name}


def play_all(session, trial, *, now):
    """Record a full play-through of every slot of the trial, one after another, the last
    ending at `now` (the page is taken to have been served just before the first play)."""
    from datetime import timedelta

    from studies.models import Trial

    slots = list(trial.slots.order_by("position"))
    gap = timedelta(seconds=0.2)
    step = timedelta(seconds=CLIP_S) + gap
    first = now - step * len(slots) + gap
    served = Trial.objects.get(pk=trial.pk).served_at
    if served is None or served > first - gap:
        Trial.objects.filter(pk=trial.pk).update(served_at=first - gap)
    for k, slot in enumerate(slots):
        start = first + step * k
        end = start + timedelta(seconds=CLIP_S)
        for kind, at, media_time in (("play", start, 0.0), ("ended", end, CLIP_S)):
            services.playback_record(
                session=session,
                trial_index=trial.index,
                position=slot.position,
                kind=kind,
                client_ms=int(at.timestamp() * 1000),
                media_time=media_time,
                now=at,
            )


def start_session(study, external_id: str = "p1", source: str = "local"):
    session = services.session_start(study=study, source=source, external_id=external_id)
    return services.session_consent(session=session)


def complete_session(session, *, now, choose=lambda trial, criterion_key, n_slots: 0, score=None):
    """Answer every trial of a session through the services; returns the answered trials.
    choose: the chosen slot per criterion (choice designs); score(trial, criterion_key,
    position) -> the score of each version (rating designs)."""
    from datetime import timedelta

    answered = []
    while True:
        trial = services.session_current_trial(session=session, now=now)
        if trial is None:
            return answered
        now = now + timedelta(seconds=(CLIP_S + 0.2) * trial.slots.count())
        play_all(session, trial, now=now)
        now = now + timedelta(seconds=3)
        n_slots = trial.slots.count()
        keys = list(session.study.criteria.values_list("key", flat=True))
        if score is not None:
            choices = {key: {p: score(trial, key, p) for p in range(n_slots)} for key in keys}
        else:
            choices = {key: choose(trial, key, n_slots) for key in keys}
        services.trial_answer(session=session, trial_index=trial.index, choices=choices, now=now)
        answered.append(trial)
        now = now + timedelta(seconds=1)
