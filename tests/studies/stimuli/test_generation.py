from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from foley_models.render import ffmpeg, loudness
from foley_models.render.audio_io import read_wav
from studies import services
from studies.errors import StudyError
from studies.models import CheckClip, CheckKind, Clip, GenerationJob
from studies.services import generation_job_create
from studies.stimuli import generation
from studies.stimuli.jobs import generation_job_run
from tests.studies.stimuli.conftest import KEYS, SYSTEMS, make_generation_study

pytestmark = [pytest.mark.django_db, pytest.mark.media]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def study(stimuli_dataset, debug_checkpoints, media):
    return make_generation_study(stimuli_dataset, debug_checkpoints)


def _decoded_lufs(path: Path, work: Path) -> float:
    wav = ffmpeg.extract_audio(path, work / "decoded.wav", sample_rate=44100)
    audio, rate = read_wav(wav)
    return loudness.integrated_lufs(audio, rate)


def test_every_clip_of_an_item_has_the_same_duration_and_loudness(study, media, tmp_path):
    job = generation_job_run(job=generation_job_create(study=study, device="cpu"))
    assert job.status == GenerationJob.Status.DONE, job.errors
    items = list(study.items.all())
    assert len(items) == 2 and {i.category for i in items} == {"piano", "violin"}
    # 4 clips per item, 1 noise target + 3 foils and 1 sync target + 3 foils per item.
    assert job.total == job.done == 2 * 4 + 2 and job.failed == 0
    for item in items:
        clips = list(Clip.objects.filter(item=item))
        checks = list(CheckClip.objects.filter(item=item))
        assert len(clips) == 4 and len(checks) == 8
        frame = 1.0 / item.fps
        durations, levels = [], []
        for row in clips + checks:
            path = media / row.media.name
            info = ffmpeg.probe(path)
            codecs = sorted(s["codec_name"] for s in info["streams"])
            assert codecs == ["h264", "mp3"]
            durations.append(float(info["format"]["duration"]))
            levels.append(_decoded_lufs(path, tmp_path))
        assert max(durations) - min(durations) <= frame
        assert abs(np.mean(durations) - item.duration_s) <= frame
        assert max(levels) - min(levels) <= 0.25, levels  # measured on the decoded MP3
        assert all(abs(level + 23.0) <= 0.15 for level in levels), levels
        # The sync foils are shifted by at least a second; the noise foils are audibly noisy.
        shifts = [c.provenance["shift_s"] for c in checks if c.kind == CheckKind.SYNC]
        assert sorted(shifts)[0] == 0.0 and all(s >= 1.0 for s in sorted(shifts)[1:])
        for clip in clips:
            assert clip.provenance["checkpoint_sha256"] == clip.system.checkpoint.sha256
            assert clip.provenance["device"] == "cpu"
            # The seed is the one generation derives from the study, system and batch, so a
            # rerun of the same batch reproduces the clip.
            batch = [study.items.get(key=key) for key in clip.provenance["batch"]]
            assert clip.provenance["seed"] == generation._seed(clip.system, batch)
        seeds = {c.system.key: c.provenance["seed"] for c in clips}
        assert len(set(seeds.values())) == len(seeds), seeds  # each system its own seed
    fm = Clip.objects.filter(system__key=KEYS["foley_music"]).first()
    assert fm.provenance["midi_notes"] is not None and fm.provenance["native_sample_rate"] == 22050
    # Once the clips exist, the study launches.
    assert services.study_launch(study=study).status == "live"


def test_no_file_name_or_metadata_names_a_system(study, media):
    generation_job_run(job=generation_job_create(study=study, device="cpu"))
    names = [s.key for s in study.systems.all()] + [s.name for s in study.systems.all()]
    words = {n.lower() for n in names} | set(SYSTEMS) | {"samplernn", "wavenet", "foley"}
    files = list(Clip.objects.all()) + list(CheckClip.objects.all())
    assert len(files) == 2 * 4 + 2 * 8
    for row in files:
        path = media / row.media.name
        assert not any(w in row.media.name.lower() for w in words)
        tags = " ".join(f"{k}={v}" for k, v in ffmpeg.container_tags(path).items()).lower()
        assert not any(w in tags for w in words), tags
        assert "lavf" not in tags and "encoder" not in tags
        blob = path.read_bytes().lower()
        assert not any(w.encode() in blob for w in {n.lower() for n in names})
    # Nothing of the work folder is left behind.
    assert not (media / "work").exists() or not any((media / "work").rglob("*"))


class Killed(BaseException):
    """Stands for the process being killed (not an Exception: nothing may catch it)."""


def test_a_killed_job_finishes_on_the_next_run(study, media, monkeypatch):
    real_store, calls = generation._store, []

    def store_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise Killed
        return real_store(*args, **kwargs)

    monkeypatch.setattr(generation, "_store", store_then_die)
    first = generation_job_create(study=study, device="cpu")
    with pytest.raises(Killed):
        generation_job_run(job=first)
    first.refresh_from_db()
    assert first.status == GenerationJob.Status.INTERRUPTED
    assert Clip.objects.count() == 3
    stored = {p.name for p in (media / "clips").iterdir()}
    assert stored == {Path(c.media.name).name for c in Clip.objects.all()}  # nothing half-made
    # A killed worker never reaches its handler: its job still says running. While it looks
    # alive, a second job is refused; once it has made no progress for the stale time, it is
    # taken for dead and no longer blocks the study.
    GenerationJob.objects.filter(pk=first.pk).update(status=GenerationJob.Status.RUNNING)
    with pytest.raises(StudyError, match=f"generation job {first.pk} is already running"):
        generation_job_create(study=study, device="cpu")
    long_ago = timezone.now() - timedelta(minutes=settings.BACKGROUND_JOB_STALE_MINUTES + 1)
    GenerationJob.objects.filter(pk=first.pk).update(updated_at=long_ago)

    monkeypatch.setattr(generation, "_store", real_store)
    second = generation_job_run(job=generation_job_create(study=study, device="cpu"))
    assert second.status == GenerationJob.Status.DONE
    assert second.total == 2 * 4 + 2 - 3  # only what was missing
    assert Clip.objects.count() == 8 and CheckClip.objects.count() == 16
    first.refresh_from_db()
    assert first.status == GenerationJob.Status.INTERRUPTED
    # A third run has nothing to do.
    third = generation_job_run(job=generation_job_create(study=study, device="cpu"))
    assert third.total == 0 and third.status == GenerationJob.Status.DONE


def test_a_failing_system_or_clip_does_not_stop_the_others(study, media, capsys):
    broken = study.systems.get(key=KEYS["samplernn"])
    broken_path = media.parent / "changed.pt"
    broken_path.write_bytes(Path(broken.checkpoint.path).read_bytes())
    broken.checkpoint.path = str(broken_path)
    broken.checkpoint.save()
    broken_path.write_bytes(b"not a checkpoint any more")
    bad_item = study.items.get(category="violin")
    bad_item.pose.save("p.npy", ContentFile(b"garbage"), save=True)

    with pytest.raises(CommandError, match="clips failed"):
        call_command("generate_clips", study.slug, "--device", "cpu", "--batch-size", "1")
    job = GenerationJob.objects.get()
    assert job.status == GenerationJob.Status.DONE_WITH_ERRORS
    failed = {(e["item"], e["system"]) for e in job.errors}
    good_item = study.items.get(category="piano")
    assert (good_item.key, KEYS["samplernn"]) in failed and (bad_item.key, KEYS["gan"]) in failed
    assert any("changed since it was registered" in e["error"] for e in job.errors)
    made = set(Clip.objects.values_list("item__key", "system__key"))
    assert made == {(good_item.key, KEYS[s]) for s in SYSTEMS if s != "samplernn"}
    assert CheckClip.objects.filter(item=good_item).count() == 8  # checks use the item's audio
    err = capsys.readouterr().err
    assert "changed since it was registered" in err and bad_item.key in err


def test_job_options_are_checked_before_anything_runs(study):
    with pytest.raises(StudyError, match="no system nosuch"):
        generation_job_create(study=study, systems=["nosuch"])
    system = study.systems.get(key=KEYS["gan"])
    system.checkpoint = None
    system.save()
    with pytest.raises(StudyError, match="without a registered checkpoint: sys_gan_zq"):
        generation_job_create(study=study)
    assert generation_job_create(study=study, systems=[KEYS["wavenet"]]).systems == [
        KEYS["wavenet"]
    ]
    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("generate_clips", study.slug, "--workers", "0")
    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("build_demo", "--workers", "0")


def _launchable_with_gan_clips(study) -> None:
    """Generate the GAN's clips and give every other system the same files, so the study can
    launch quickly (versions of one item may share a soundtrack)."""
    generation_job_run(job=generation_job_create(study=study, device="cpu", systems=[KEYS["gan"]]))
    gan_clips = {c.item_id: c for c in Clip.objects.filter(system__key=KEYS["gan"])}
    for system in study.systems.exclude(key=KEYS["gan"]):
        for item_id, clip in gan_clips.items():
            Clip.objects.create(
                item_id=item_id, system=system, media=clip.media.name, duration_s=clip.duration_s
            )


def test_force_is_refused_once_raters_have_trials(stimuli_dataset, debug_checkpoints, media):
    from tests.factories import start_session

    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="forced")
    _launchable_with_gan_clips(study)
    session = start_session(services.study_launch(study=study))
    assert services.session_current_trial(session=session, now=timezone.now()) is not None
    with pytest.raises(StudyError, match="already has trials"):
        generation_job_create(study=study, force=True)


def test_check_material_for_uploaded_clips_comes_from_the_items_own_soundtrack(
    media_library, settings
):
    """Items added by hand (no pose, no fps, no reference audio, clips uploaded): a job needs no
    checkpoints and makes the check material from the item's first clip."""
    from tests.factories import make_study

    settings.MEDIA_ROOT = media_library.root
    study = make_study(slug="uploaded", launch=False, with_checks=False, n_items=1)
    item = study.items.get()
    item.video = Clip.objects.filter(item=item).first().media.name
    item.save()
    job = generation_job_run(job=generation_job_create(study=study, device="cpu"))
    assert (job.status, job.total, job.done) == (GenerationJob.Status.DONE, 1, 1), job.errors
    checks = list(CheckClip.objects.filter(item=item))
    assert len(checks) == 8 and all(
        c.provenance["made_from"].startswith("soundtrack") for c in checks
    )
    for check in checks:
        assert abs(ffmpeg.duration_s(media_library.root / check.media.name) - 2.0) <= 1 / 25
        (media_library.root / check.media.name).unlink()


def test_dry_runs_never_block_regeneration(stimuli_dataset, debug_checkpoints, media):
    from studies.models import Session
    from studies.services.rater_simulation import simulate_raters

    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="dryforce")
    _launchable_with_gan_clips(study)
    study = services.study_launch(study=study)
    prefs = {k: 0.25 for k in study.systems.values_list("key", flat=True)}
    assert simulate_raters(study=study, participants=2, preferences=prefs) > 0
    assert Session.objects.filter(study=study, simulated=True).count() == 2
    job = generation_job_create(study=study, force=True, systems=[KEYS["gan"]])
    assert job.force and not Session.objects.filter(study=study).exists()
