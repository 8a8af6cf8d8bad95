"""Background jobs, run by huey's consumer (`manage.py run_huey`; ./run demo starts one).

Item imports and training runs are one task each (studies.stimuli.items, .training). A
generation job is split into tasks (studies.stimuli.jobs) that go on the queue one by one, so
with Redis (HUEY_REDIS_URL) any number of workers, on any machines, share one study's job.
"""

import logging

from django.conf import settings
from django.db import transaction
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from studies.models import (
    ClipImport,
    GenerationJob,
    GenerationTask,
    ItemImport,
    Study,
    TrainingRun,
)

log = logging.getLogger(__name__)

# Huey re-runs a task that raised; the task itself counts attempts (jobs.MAX_ATTEMPTS = 3).
TASK_RETRIES = 2
TASK_RETRY_DELAY_S = 5


@db_task(retries=0)
def generation_job_task(job_id: int) -> str:
    job = GenerationJob.objects.select_related("study").get(pk=job_id)
    if job.status != GenerationJob.Status.QUEUED:
        return f"job {job_id} is {job.status}; nothing to do"
    from studies.stimuli.job_tasks import generation_job_start  # torch: not at start-up

    tasks = generation_job_start(job=job)
    for task in tasks:
        generation_task_task(task.pk)
    return f"job {job_id}: {len(tasks)} tasks queued"


@db_task(retries=TASK_RETRIES, retry_delay=TASK_RETRY_DELAY_S)
def generation_task_task(task_id: int) -> str:
    from studies.stimuli.job_tasks import generation_task_run  # torch: not at start-up

    task = GenerationTask.objects.get(pk=task_id)
    following = generation_task_run(task=task, retry=True)
    for other in following:
        generation_task_task(other.pk)
    return f"task {task_id}: {len(following)} more queued"


def generation_job_enqueue(*, job: GenerationJob) -> None:
    """Queue the job for the workers once the row that describes it is committed."""
    transaction.on_commit(lambda: generation_job_task(job.pk))


@db_task(retries=0)
def item_import_task(job_id: int) -> str:
    from studies.stimuli.items import item_import_run

    job = item_import_run(job=ItemImport.objects.select_related("study").get(pk=job_id))
    return f"item import {job_id}: {job.status}"


@db_task(retries=0)
def training_run_task(run_id: int) -> str:
    from studies.stimuli.training import training_run_run  # torch: only in the worker

    run = training_run_run(run=TrainingRun.objects.get(pk=run_id))
    return f"training run {run_id}: {run.status}"


@db_task(retries=0)
def clip_import_task(job_id: int) -> str:
    from studies.stimuli.clip_import import clip_import_run  # ffmpeg, numpy: in the worker

    job = clip_import_run(job=ClipImport.objects.select_related("study").get(pk=job_id))
    return f"clip import {job_id}: {job.status}"


def background_job_enqueue(*, job) -> None:
    """Queue an item import, a clip import or a training run once its row is committed."""
    tasks = {ItemImport: item_import_task, ClipImport: clip_import_task}
    task = {**tasks, TrainingRun: training_run_task}[type(job)]
    transaction.on_commit(lambda: task(job.pk))


@db_periodic_task(crontab(minute=f"*/{settings.SYNC_SUBMISSIONS_EVERY_MINUTES}"))
def sync_submissions_task() -> dict:
    """Every few minutes: notice returned and timed-out submissions of every live study, so
    their items go back to allocation within minutes instead of when the leases run out."""
    from studies.recruiters.base import RecruiterError
    from studies.services.recruiting import study_sync

    results = {}
    studies = Study.objects.filter(status=Study.Status.LIVE, recruitments__isnull=False)
    for study in studies.distinct():
        try:
            results[study.slug] = study_sync(study=study)
        except RecruiterError as exc:  # one platform failing must not stop the other studies
            log.warning("sync_submissions %s: %s", study.slug, exc)
            results[study.slug] = {"error": str(exc)}
    return results
