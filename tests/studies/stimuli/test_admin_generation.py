import pytest
from django.contrib.messages import get_messages
from huey.contrib.djhuey import HUEY
from huey.storage import SqliteStorage

from foley_models.models import checkpoint as ckpt
from studies.models import CheckClip, Checkpoint, Clip, GenerationJob
from tests.studies.stimuli.conftest import KEYS, make_generation_study

pytestmark = [pytest.mark.media, pytest.mark.postgres]


@pytest.fixture
def queue(tmp_path, monkeypatch):
    """A fresh SQLite queue for this test (never the developer's own queue)."""
    storage = SqliteStorage(name="test", filename=str(tmp_path / "queue.sqlite3"))
    monkeypatch.setattr(HUEY, "storage", storage)
    return HUEY


def _run_worker_until_empty(huey) -> int:
    """What the consumer (`manage.py run_huey`) does: dequeue and execute messages (the job,
    then the tasks it and they queue) until none is left."""
    n = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        n += 1
    return n


@pytest.mark.django_db(transaction=True)
def test_the_admin_action_queues_a_job_and_the_worker_runs_it(
    admin_client, queue, stimuli_dataset, debug_checkpoints, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="queued")
    response = admin_client.post(
        "/admin/studies/study/",
        {"action": "generate_clips", "_selected_action": [study.pk]},
        follow=True,
    )
    assert response.status_code == 200
    job = GenerationJob.objects.get()
    assert job.status == GenerationJob.Status.QUEUED and Clip.objects.count() == 0
    assert any(f"job {job.pk}</a> queued" in str(m) for m in get_messages(response.wsgi_request))
    assert queue.pending_count() == 1  # the request returned without generating anything

    # The job message, four clip tasks (one per system), then the check task.
    assert _run_worker_until_empty(queue) == 1 + 4 + 1
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.DONE, job.errors
    assert job.tasks.filter(status="done").count() == 5
    assert (job.done, job.total) == (10, 10)
    assert Clip.objects.count() == 8 and CheckClip.objects.count() == 16
    page = admin_client.get(f"/admin/studies/generationjob/{job.pk}/change/").content.decode()
    assert "10 / 10" in page and "Done" in page
    assert job.tasks.first().worker in page  # each task's worker, attempts and counts


@pytest.mark.django_db
def test_the_add_job_form_checks_options_and_queues(
    admin_client,
    django_capture_on_commit_callbacks,
    queue,
    stimuli_dataset,
    debug_checkpoints,
    settings,
    tmp_path,
):
    settings.MEDIA_ROOT = tmp_path / "media"
    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="form")
    data = {"study": study.pk, "systems": "nosuch", "device": "auto", "batch_size": 4}
    page = admin_client.post("/admin/studies/generationjob/add/", data).content.decode()
    assert "has no system nosuch" in page and GenerationJob.objects.count() == 0
    data["systems"] = KEYS["gan"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/studies/generationjob/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    job = GenerationJob.objects.get()
    assert job.systems == [KEYS["gan"]] and job.batch_size == 4
    assert job.status == GenerationJob.Status.QUEUED and queue.pending_count() == 1


@pytest.mark.django_db
def test_registering_a_checkpoint_in_the_admin_shows_what_it_is(
    admin_client, debug_checkpoints, tmp_path
):
    path = debug_checkpoints["wavenet"]
    response = admin_client.post("/admin/studies/checkpoint/add/", {"path": str(path)})
    assert response.status_code == 302
    row = Checkpoint.objects.get()
    assert (row.system_key, row.preset, row.step) == ("wavenet", "debug", 1)
    assert row.sha256 == ckpt.file_hash(path)
    page = admin_client.get(f"/admin/studies/checkpoint/{row.pk}/change/").content.decode()
    assert "wavenet" in page and "debug" in page and "layers_per_cycle" in page

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    page = admin_client.post("/admin/studies/checkpoint/add/", {"path": str(bad)})
    assert "not a readable checkpoint" in page.content.decode()
    missing = admin_client.post("/admin/studies/checkpoint/add/", {"path": "/no/such.pt"})
    assert "no such checkpoint" in missing.content.decode()
    assert Checkpoint.objects.count() == 1
