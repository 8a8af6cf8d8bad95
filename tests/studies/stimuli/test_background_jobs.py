"""Background jobs: one active generation job per study, cancel (the worker stops between clips
and keeps what it made), item imports and training runs as jobs, and their admin pages."""

import shutil
from pathlib import Path

import pytest
from django.contrib.messages import get_messages

from foley_models.data import dataset
from foley_models.models import checkpoint as ckpt
from studies import services
from studies.errors import StudyError
from studies.models import (
    BackgroundJob,
    Checkpoint,
    Clip,
    GenerationJob,
    GenerationTask,
    Item,
    ItemImport,
    TrainingRun,
)
from studies.services import generation_job_create
from studies.stimuli import items
from studies.stimuli.background import job_cancel, job_progress
from studies.stimuli.items import item_import_create, item_import_run
from studies.stimuli.jobs import generation_job_run
from studies.stimuli.training import training_run_create, training_run_run
from tests.studies.stimuli.conftest import KEYS, make_generation_study

pytestmark = [pytest.mark.django_db, pytest.mark.media]
Status = BackgroundJob.Status


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_a_study_has_one_active_generation_job_and_cancel_stops_it_between_clips(
    stimuli_dataset, debug_checkpoints, media, admin_client
):
    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="cancel")
    job = generation_job_create(study=study, device="cpu")
    with pytest.raises(StudyError, match=f"generation job {job.pk} is already queued"):
        generation_job_create(study=study, device="cpu")
    action = {"action": "generate_clips", "_selected_action": [study.pk]}
    page = admin_client.post("/admin/studies/study/", action, follow=True)
    said = " ".join(str(m) for m in get_messages(page.wsgi_request))
    assert f"generation job {job.pk} is already queued" in said
    assert GenerationJob.objects.count() == 1

    made = []

    def cancel_after_the_first_clip(j):
        made.append(1)
        if len(made) == 1:
            assert job_cancel(job=j)

    generation_job_run(job=job, progress=cancel_after_the_first_clip)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED and not job.active
    assert len(made) == 1 and Clip.objects.count() == 1  # stopped at the next clip, kept the one
    statuses = set(job.tasks.values_list("status", flat=True))
    assert statuses == {GenerationTask.Status.CANCELLED}
    assert not job_cancel(job=job)  # over: nothing to cancel

    # The study is free again, and the next job makes only what is missing.
    second = generation_job_run(job=generation_job_create(study=study, device="cpu"))
    assert second.status == Status.DONE, second.errors
    assert second.total == 2 * 4 + 2 - 1 and Clip.objects.count() == 8


def test_the_job_page_reports_per_system_progress_and_cancels_by_post(
    stimuli_dataset, debug_checkpoints, media, admin_client
):
    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="jobpage")
    # An item without a recording: its check material waits for its clip (shown as waiting).
    study.items.filter(pk=study.items.order_by("id")[0].pk).update(reference_audio="")
    job = generation_job_create(study=study, device="cpu", systems=[KEYS["gan"]])
    from studies.stimuli.job_tasks import generation_job_start

    generation_job_start(job=job)  # planned, as a worker does, but nothing run yet
    status = admin_client.get(f"/admin/studies/generationjob/{job.pk}/status/").json()
    assert status["active"] is True and status["status"] == "running"
    assert f"Name of {KEYS['gan']}" in status["html"] and "check material" in status["html"]
    assert "1 queued" in status["html"] and "1 waiting" in status["html"]
    page = admin_client.get(f"/admin/studies/generationjob/{job.pk}/change/").content.decode()
    assert "Cancel job" in page and 'id="job-status"' in page and 'data-active="1"' in page

    assert admin_client.get(f"/admin/studies/generationjob/{job.pk}/cancel/").status_code == 405
    response = admin_client.post(f"/admin/studies/generationjob/{job.pk}/cancel/", follow=True)
    assert "cancelled" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    page = admin_client.get(f"/admin/studies/generationjob/{job.pk}/change/").content.decode()
    assert "Cancel job" not in page and 'data-active="0"' in page
    # Nothing runs after a cancel: a worker that takes a task leaves it.
    generation_job_run(job=job)
    assert Clip.objects.count() == 0


def test_status_and_cancel_need_a_staff_login(client, stimuli_dataset, debug_checkpoints, media):
    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="anon")
    job = generation_job_create(study=study, device="cpu")
    assert client.get(f"/admin/studies/generationjob/{job.pk}/status/").status_code == 302
    assert client.post(f"/admin/studies/generationjob/{job.pk}/cancel/").status_code == 302
    job.refresh_from_db()
    assert job.status == Status.QUEUED


def test_eta_comes_from_the_rate_so_far():
    from datetime import timedelta

    from django.utils import timezone

    job = GenerationJob(status=Status.RUNNING, total=10, done=2, failed=0)
    job.started_at = timezone.now() - timedelta(seconds=20)
    p = job_progress(job)
    assert p["percent"] == 20 and 79 < p["eta_s"] < 81
    job.done = 0
    assert job_progress(job)["eta_s"] is None  # no rate yet
    job.status, job.done, job.finished_at = Status.DONE, 10, timezone.now()
    assert job_progress(job)["eta_s"] is None


def _draft(slug: str):
    return services.study_create(
        title=slug, slug=slug, systems=[("a", "A"), ("b", "B")], trials_per_session=2
    )


def test_an_item_import_job_reports_a_bad_file_and_goes_on(stimuli_dataset, media, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(stimuli_dataset, data)
    test_split = [p for p in dataset.read_index(data) if p.split == "test"]
    broken = next(p for p in test_split if p.instrument == "violin")
    (data / broken.video).write_bytes(b"not a video")
    study = _draft("imp")
    job = item_import_create(study=study, data_dir=data, per_category=1, duration_s=2.0)
    with pytest.raises(StudyError, match=f"item import {job.pk} is already queued"):
        item_import_create(study=study, data_dir=data)
    job = item_import_run(job=job)
    assert job.status == Status.DONE_WITH_ERRORS, job.message
    assert (job.done, job.failed, job.total) == (1, 1, 2)
    assert job.errors[0]["item"].startswith(broken.id.lower())
    assert list(Item.objects.values_list("category", flat=True)) == ["piano"]
    assert "1 items in imp (1 piano)" in job.message
    assert item_import_run(job=job).status == Status.DONE_WITH_ERRORS  # a second run: no-op


def test_item_import_refuses_a_folder_that_is_not_a_dataset_and_a_live_study(tmp_path, media):
    study = _draft("notds")
    with pytest.raises(StudyError, match="no index.csv"):
        item_import_create(study=study, data_dir=tmp_path)


def test_cancelling_an_item_import_keeps_the_items_made(stimuli_dataset, media, monkeypatch):
    study = _draft("impc")
    job = item_import_create(study=study, data_dir=stimuli_dataset, per_category=2, duration_s=2.0)
    real = items._item_create

    def create_then_cancel(**kwargs):
        item = real(**kwargs)
        job_cancel(job=job)
        return item

    monkeypatch.setattr(items, "_item_create", create_then_cancel)
    job = item_import_run(job=job)
    assert job.status == Status.CANCELLED and Item.objects.count() == 1


def test_a_training_run_trains_registers_and_gives_the_checkpoint_to_a_system(
    stimuli_dataset, settings, tmp_path
):
    settings.MODELS_DIR = tmp_path / "models"
    study = _draft("train")
    system = study.systems.get(key="a")
    with pytest.raises(StudyError, match="unknown system"):
        training_run_create(system_key="nosuch", data_dir=stimuli_dataset)
    with pytest.raises(StudyError, match="no index.csv"):
        training_run_create(system_key="wavenet", data_dir=tmp_path)
    run = training_run_create(
        system_key="wavenet",
        data_dir=stimuli_dataset,
        preset="debug",
        device="cpu",
        max_steps=3,
        val_every=3,
        assign_to=system,
    )
    assert Path(run.out_dir).parent == settings.MODELS_DIR
    run = training_run_run(run=run)
    assert run.status == Status.DONE, run.message
    assert run.done == 3 and "3 steps" in run.message and f"system {system.key}" in run.message
    row = Checkpoint.objects.get()
    assert run.checkpoint == row and row.path == str(Path(run.out_dir) / "best.pt")
    assert (row.system_key, row.preset) == ("wavenet", "debug")
    system.refresh_from_db()
    assert system.checkpoint == row


def test_cancelling_a_training_run_stops_it_cleanly(
    stimuli_dataset, settings, tmp_path, monkeypatch
):
    from foley_models.models import training

    settings.MODELS_DIR = tmp_path / "models"
    run = training_run_create(
        system_key="gan", data_dir=stimuli_dataset, preset="debug", device="cpu", max_steps=500
    )
    real = training.train_system

    def cancel_at_the_first_log(*args, on_log, **kwargs):
        def hook(step, *rest):
            if step == 1:
                job_cancel(job=run)
            return on_log(step, *rest)

        return real(*args, on_log=hook, **kwargs)

    monkeypatch.setattr(training, "train_system", cancel_at_the_first_log)
    run = training_run_run(run=run)
    assert run.status == Status.CANCELLED
    assert run.done == 1 and "cancelled at step 1" in run.message
    saved = ckpt.load(Path(run.out_dir) / "last.pt")
    assert saved["step"] == 1  # validated and saved, resumable


def test_admin_pages_for_item_imports_and_training_runs(
    admin_client, stimuli_dataset, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.DATASETS_DIR = stimuli_dataset.parent
    study = _draft("adm")
    page = admin_client.get("/admin/studies/itemimport/add/").content.decode()
    assert stimuli_dataset.name in page  # offered from DATASETS_DIR
    data = {"study": study.pk, "dataset": "", "dataset_path": "", "split": "test",
            "per_category": "1", "duration_s": "2"}  # fmt: skip
    page = admin_client.post("/admin/studies/itemimport/add/", data).content.decode()
    assert "Pick a dataset from the list or type its path" in page
    data["dataset"] = str(stimuli_dataset)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post("/admin/studies/itemimport/add/", data)
    assert response.status_code == 302
    job = ItemImport.objects.get()
    assert job.status == Status.QUEUED and len(queued) == 1
    page = admin_client.get(f"/admin/studies/itemimport/{job.pk}/change/").content.decode()
    assert "Cancel job" in page and str(stimuli_dataset) in page

    page = admin_client.get("/admin/studies/trainingrun/add/").content.decode()
    assert "foley_music" in page and "samplernn" in page and "adm: a" in page
    form = {"system_key": "wavenet", "dataset": "", "dataset_path": str(tmp_path),
            "preset": "debug", "device": "cpu", "max_minutes": "1", "max_steps": "3",
            "val_every": "3", "seed": "0"}  # fmt: skip
    page = admin_client.post("/admin/studies/trainingrun/add/", form).content.decode()
    assert "no index.csv" in page and TrainingRun.objects.count() == 0


def test_checkpoints_are_picked_from_the_models_folder_and_registered_again(
    admin_client, debug_checkpoints, settings, tmp_path
):
    settings.MODELS_DIR = tmp_path / "models"
    target = settings.MODELS_DIR / "run-1" / "best.pt"
    target.parent.mkdir(parents=True)
    shutil.copy(debug_checkpoints["wavenet"], target)
    page = admin_client.get("/admin/studies/checkpoint/add/").content.decode()
    assert "run-1/best.pt" in page and "· registered" not in page
    response = admin_client.post("/admin/studies/checkpoint/add/", {"found": str(target)})
    assert response.status_code == 302
    first = Checkpoint.objects.get()
    assert first.system_key == "wavenet"
    assert "best.pt (" in (
        listed := admin_client.get("/admin/studies/checkpoint/add/").content.decode()
    )
    assert "· registered" in listed  # the picker marks what is registered

    # Retrained: a new file at the same path. The add form takes it again (no "already exists").
    shutil.copy(debug_checkpoints["gan"], target)
    response = admin_client.post(
        "/admin/studies/checkpoint/add/", {"path": str(target)}, follow=True
    )
    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "registered again" in said and first.sha256[:12] in said
    row = Checkpoint.objects.get()
    assert row.pk == first.pk and row.system_key == "gan" and row.sha256 == ckpt.file_hash(target)
    # And the list action re-reads files.
    shutil.copy(debug_checkpoints["wavenet"], target)
    admin_client.post("/admin/studies/checkpoint/", {"action": "register_again",
                                                     "_selected_action": [row.pk]})  # fmt: skip
    row.refresh_from_db()
    assert row.system_key == "wavenet"
