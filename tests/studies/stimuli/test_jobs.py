"""Generation jobs as tasks: claimed once, retried without making anything twice, and shared by
two real huey workers on one Redis with stimuli in a real S3-compatible server."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from studies.models import CheckClip, Checkpoint, Clip, GenerationJob, GenerationTask
from studies.services import generation_job_create
from studies.stimuli import generation
from studies.stimuli.job_tasks import generation_job_start, generation_task_run
from studies.tasks import generation_job_enqueue
from tests.studies.stimuli.conftest import KEYS, make_generation_study

pytestmark = pytest.mark.media

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def study(stimuli_dataset, debug_checkpoints, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return make_generation_study(stimuli_dataset, debug_checkpoints, slug="tasks")


class StorageDown(ConnectionError):
    pass


@pytest.mark.django_db
def test_a_task_is_claimed_once_and_a_retry_makes_nothing_twice(study, monkeypatch):
    job = generation_job_create(study=study, device="cpu", systems=[KEYS["gan"]], checks=False)
    (task,) = generation_job_start(job=job)
    assert task.item_ids == list(study.items.order_by("id").values_list("pk", flat=True))
    real_store, calls = generation._store, []

    def store_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the object store went away after the first clip
            raise StorageDown("connection reset by the object store")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(generation, "_store", store_then_fail)
    with pytest.raises(StorageDown):
        generation_task_run(task=task, retry=True)
    task.refresh_from_db()
    assert (task.status, task.attempts, Clip.objects.count()) == ("queued", 1, 1)
    assert "connection reset" in task.message

    first = Clip.objects.get()
    assert generation_task_run(task=task, retry=True) == []  # the last task closes the job
    task.refresh_from_db()
    assert (task.status, task.attempts, task.done, task.failed) == ("done", 2, 2, 0)
    assert Clip.objects.count() == 2 and Clip.objects.filter(pk=first.pk).exists()
    assert Clip.objects.get(pk=first.pk).media.name == first.media.name  # not made again
    assert len(calls) == 3  # one clip stored, one failed, only the missing one on the retry
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (GenerationJob.Status.DONE, 2, 2)
    # Delivered twice (a queue may do that): the finished task is left alone.
    assert generation_task_run(task=task, retry=True) == [] and len(calls) == 3


@pytest.mark.django_db
def test_a_task_failing_on_every_attempt_records_its_items_and_the_job_goes_on(study, monkeypatch):
    job = generation_job_create(study=study, device="cpu", systems=[KEYS["gan"]])
    clip_task, check_task = generation_job_start(job=job)
    # Check material is made from the items' reference recordings: it need not wait for clips.
    assert (clip_task.phase, check_task.phase) == (GenerationTask.CLIPS, GenerationTask.CHECKS)
    monkeypatch.setattr(
        generation, "clips_make", lambda *a, **k: (_ for _ in ()).throw(StorageDown("down"))
    )
    for attempt in range(1, 4):
        try:
            following = generation_task_run(task=clip_task, retry=True)
        except StorageDown:
            assert attempt < 3
        else:
            assert attempt == 3
    task = GenerationTask.objects.get(pk=clip_task.pk)
    assert (task.status, task.attempts, task.failed) == ("failed", 3, 2)
    assert following == []  # nothing waited for it
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.RUNNING  # the check task is still to run
    assert generation_task_run(task=check_task) == []
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.DONE_WITH_ERRORS
    assert (job.done, job.failed, job.total) == (2, 2, 4)
    assert CheckClip.objects.count() == 16 and Clip.objects.count() == 0


@pytest.mark.django_db
def test_check_material_waits_for_the_clips_only_where_an_item_has_no_recording(study):
    first, second = study.items.order_by("id")
    first.reference_audio = ""  # its check material will be made from its first clip
    first.save(update_fields=["reference_audio"])
    job = generation_job_create(study=study, device="cpu", systems=[KEYS["gan"]])
    (clip_task,) = generation_job_start(job=job)
    check_task = job.tasks.get(phase=GenerationTask.CHECKS)
    assert (check_task.status, check_task.item_ids) == ("waiting", [first.pk, second.pk])
    assert generation_task_run(task=clip_task) == [check_task]  # released by the last clip
    assert GenerationTask.objects.get(pk=check_task.pk).status == "queued"
    assert generation_task_run(task=check_task) == []
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (GenerationJob.Status.DONE, 4, 4)
    origins = {c.item_id: c.provenance["made_from"] for c in CheckClip.objects.all()}
    assert origins[first.pk] == f"soundtrack of system {KEYS['gan']}"
    assert origins[second.pk] == "reference recording"


def _database_url() -> str:
    cfg = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{cfg['NAME']}"
    return f"postgres://{cfg['USER']}:{cfg['PASSWORD']}@{cfg['HOST']}:{cfg['PORT']}/{cfg['NAME']}"


def _start_worker(n: int, tmp_path: Path, env: dict) -> tuple[subprocess.Popen, Path]:
    """A huey consumer with its own data folder: it shares only Redis, the database and the
    bucket with the web server and the other worker."""
    home = tmp_path / f"worker-{n}"
    home.mkdir()
    log = home / "worker.log"
    worker_env = {**os.environ, **env, "DATA_DIR": str(home), "MEDIA_ROOT": str(home / "media")}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_huey", "--workers", "1", "--worker-type", "thread"],
        cwd=ROOT,
        env=worker_env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def _wait_for(condition, timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in logs)
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_a_job_through_redis_and_the_bucket_making_every_clip_once(
    stimuli_dataset, debug_checkpoints, s3_storage, settings, tmp_path, monkeypatch
):
    from tests.servers import start_redis, stop

    server, bucket = s3_storage
    settings.MEDIA_ROOT = tmp_path / "web-media"  # the web server's disk: the workers never see it
    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="shared")
    assert study.items.count() == 2 and not settings.MEDIA_ROOT.exists()
    # Checkpoints were copied to the bucket when registered; the workers must find them by
    # sha256 there, not at the registered path.
    keys = {o["Key"] for o in server.client().list_objects_v2(Bucket=bucket)["Contents"]}
    for row in Checkpoint.objects.all():
        assert f"checkpoints/{row.sha256}.pt" in keys
        row.path = f"/not/on/any/worker/{row.system_key}.pt"
        row.save(update_fields=["path"])

    redis = start_redis(tmp_path)
    monkeypatch.setattr(HUEY, "storage", RedisStorage(name=HUEY.name, url=redis.url))
    HUEY.storage.flush_queue()
    env = {**server.env(bucket), "HUEY_REDIS_URL": redis.url, "DATABASE_URL": _database_url()}
    workers = [_start_worker(n, tmp_path, env) for n in (1, 2)]
    logs = [log for _, log in workers]
    try:
        _wait_for(
            lambda: all("consumer started" in log.read_text() for log in logs), 60, "workers", logs
        )
        two = [KEYS["gan"], KEYS["wavenet"]]
        job = generation_job_create(study=study, device="cpu", batch_size=1, systems=two)
        generation_job_enqueue(job=job)  # on commit: autocommit here, so now
        finished = {GenerationJob.Status.DONE, GenerationJob.Status.DONE_WITH_ERRORS}
        _wait_for(
            lambda: GenerationJob.objects.get(pk=job.pk).status in finished, 300, "the job", logs
        )
    finally:
        for process, _ in workers:
            stop(process)
        stop(redis.process)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.DONE, job.errors
    tasks = list(job.tasks.all())
    # 2 systems x 2 items at 1 item per batch and 4 batches per task: one task per system,
    # then the check material of both items in one task.
    assert [t.phase for t in tasks] == [1, 1, 2]
    assert all(t.status == "done" and t.attempts == 1 for t in tasks)
    assert len({t.worker for t in tasks}) == 2  # both workers took tasks
    clips, checks = list(Clip.objects.all()), list(CheckClip.objects.all())
    assert len(clips) == 4 and len(checks) == 16
    assert {(c.item_id, c.system_id) for c in clips} == {
        (i.pk, s.pk) for i in study.items.all() for s in study.systems.filter(key__in=two)
    }
    by_task = {t.pk: t for t in tasks}
    for row in clips + checks:
        made_by = by_task[row.provenance["task"]]
        assert row.provenance["worker"] == made_by.worker
        if isinstance(row, Clip):
            assert made_by.system_id == row.system_id and row.item_id in made_by.item_ids
    # Exactly once: the bucket holds one object per clip and nothing else was stored.
    listed = server.client().list_objects_v2(Bucket=bucket, Prefix="clips/")
    stored = {o["Key"]: o["Size"] for o in listed["Contents"]}
    assert set(stored) == {r.media.name for r in clips + checks}
    for item in study.items.all():  # and the job ended by padding each item to one size
        names = [c.media.name for c in clips + checks if c.item_id == item.pk]
        assert len({stored[n] for n in names}) == 1
    assert not settings.MEDIA_ROOT.exists()
