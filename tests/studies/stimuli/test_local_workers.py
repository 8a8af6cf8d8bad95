"""One generation job shared by processes on this machine (generate_clips --workers, the demo):
a real helper process takes tasks from the test database, every clip is made once, a helper
that dies gives its task back, and an interrupted job stops its helpers."""

import multiprocessing
import os
import socket
import time

import pytest

from studies.models import CheckClip, Clip, GenerationJob, GenerationTask
from studies.services import generation_job_create
from studies.stimuli import generation, local_workers
from studies.stimuli.job_tasks import generation_job_start, worker_name
from studies.stimuli.jobs import generation_job_run
from tests.studies.stimuli.conftest import KEYS, make_generation_study

pytestmark = pytest.mark.media


@pytest.fixture
def study(stimuli_dataset, debug_checkpoints, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return make_generation_study(stimuli_dataset, debug_checkpoints, slug="local")


def _wait_until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_a_job_and_make_every_clip_once(study, monkeypatch):
    me = f"{socket.gethostname()}:{os.getpid()}"
    real_clips_make, waited = generation.clips_make, []

    def first_task_waits_for_the_helper(run, system, items):
        # This process's first task lingers until the helper (a spawned process, whose code
        # this patch does not reach) has claimed another, so the test cannot pass by this
        # process making everything alone.
        if not waited:
            helpers = GenerationTask.objects.filter(job=run.job).exclude(worker__in=["", me])
            waited.append(_wait_until(helpers.exists, 120))
        return real_clips_make(run, system, items)

    monkeypatch.setattr(generation, "clips_make", first_task_waits_for_the_helper)
    seen = []
    job = generation_job_create(study=study, device="cpu", batch_size=1)
    job = generation_job_run(job=job, workers=2, progress=lambda j: seen.append(j.done + j.failed))

    assert waited == [True], "the helper never took a task"
    assert job.status == GenerationJob.Status.DONE, job.errors
    tasks = list(job.tasks.all())
    # 4 systems' clips, one task each (2 items), and the check material of both items.
    assert [t.phase for t in tasks] == [1, 1, 1, 1, 2]
    assert all(t.status == "done" and t.attempts == 1 for t in tasks)
    workers = {t.worker for t in tasks}
    assert me in workers and len(workers) == 2
    clips, checks = list(Clip.objects.all()), list(CheckClip.objects.all())
    assert len(clips) == 8 and len(checks) == 16
    assert len({(c.item_id, c.system_id) for c in clips}) == 8  # each made once
    by_task = {t.pk: t for t in tasks}
    for row in clips + checks:
        assert row.provenance["worker"] == by_task[row.provenance["task"]].worker
    # Progress was reported while the helper worked, and reached the end.
    assert seen == sorted(set(seen)) and seen[-1] == job.total == 10
    assert not multiprocessing.active_children()  # the helper is gone


class _Dead:
    """A process that has exited, as the parent sees it."""

    def __init__(self, exitcode: int):
        self.process = multiprocessing.get_context("spawn").Process(target=os._exit, args=(3,))
        self.process.start()
        self.process.join(30)
        assert self.process.exitcode == exitcode

    def claim(self, task: GenerationTask, attempts: int) -> None:
        GenerationTask.objects.filter(pk=task.pk).update(
            status="running", worker=worker_name(self.process.pid), attempts=attempts
        )


@pytest.mark.django_db
def test_a_task_held_by_a_dead_helper_goes_back_on_the_queue_then_fails(study):
    dead = _Dead(exitcode=3)
    job = generation_job_create(study=study, device="cpu", systems=[KEYS["gan"]], checks=False)
    (task,) = generation_job_start(job=job)
    dead.claim(task, attempts=1)
    local_workers._reclaim_from_dead(job, [dead.process])
    task.refresh_from_db()
    assert task.status == "queued" and f"process {dead.process.pid} died" in task.message
    local_workers.job_work(job=job)  # this process takes it over
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.DONE and Clip.objects.count() == 2

    Clip.objects.all().delete()
    job = generation_job_create(study=study, device="cpu", systems=[KEYS["gan"]], checks=False)
    (task,) = generation_job_start(job=job)
    dead.claim(task, attempts=3)  # its last attempt
    local_workers._reclaim_from_dead(job, [dead.process])
    task.refresh_from_db()
    job.refresh_from_db()
    assert (task.status, task.failed) == ("failed", 2)
    assert (job.status, job.failed, job.total) == (GenerationJob.Status.DONE_WITH_ERRORS, 2, 2)
    assert "died" in job.errors[0]["error"]


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_job_stops_its_helpers_and_is_marked_interrupted(study):
    def interrupt(job):
        raise KeyboardInterrupt

    job = generation_job_create(study=study, device="cpu", batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        generation_job_run(job=job, workers=2, progress=interrupt)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.INTERRUPTED
    assert not multiprocessing.active_children()


@pytest.mark.django_db
def test_workers_must_be_at_least_one(study):
    from studies.errors import StudyError

    with pytest.raises(StudyError, match="at least 1"):
        generation_job_run(job=generation_job_create(study=study, device="cpu"), workers=0)
