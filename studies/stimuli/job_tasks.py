"""The life of a generation job's tasks, shared by every runner: this process
(studies.stimuli.jobs), the helper processes on this machine (studies.stimuli.local_workers)
and the queue's workers (studies.tasks).

`generation_job_start` plans a job into tasks: one system's clips for a batch of items (phase
1), and check material for batches of items (phase 2: made from the items' reference
recordings, so it runs beside phase 1; a batch with an item that has none is made from its
first clip, and waits until every phase-1 task is over). `generation_task_run` claims a task
with one conditional update, so two workers never run the same one; it skips what exists, so a
retried task makes nothing twice. The worker that finishes the last task closes the job and
pads every item's versions to one size. `job_work` is one process's loop over a job's tasks.
"""

import logging
import os
import shutil
import socket
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from studies.models import GenerationJob, GenerationTask, Item
from studies.stimuli import generation
from studies.stimuli.background import JobCancelled
from studies.stimuli.generation import StimulusFormat, failure

log = logging.getLogger(__name__)

# A clip task covers this many generation batches of one system (the checkpoint is loaded once
# per task); a check task this many items.
BATCHES_PER_TASK = 4
CHECK_ITEMS_PER_TASK = 2
# A task that fails unexpectedly (storage or database unreachable, a worker's GPU out of memory)
# is run again up to this many times in all, on whichever worker takes it.
MAX_ATTEMPTS = 3
# How often a process with nothing to run looks again while other processes hold tasks.
POLL_S = 0.5

Status = GenerationJob.Status
TaskStatus = GenerationTask.Status


def generation_job_start(*, job: GenerationJob) -> list[GenerationTask]:
    """Mark a queued job running and plan its tasks; returns those that can run now. A job
    that is not queued (cancelled, or started already) is left alone."""
    if not GenerationJob.objects.filter(pk=job.pk, status=Status.QUEUED).exists():
        job.refresh_from_db()
        return []
    study = job.study
    # One job at a time per study: an older job still marked running was killed midway.
    GenerationJob.objects.filter(study=study, status=Status.RUNNING).exclude(pk=job.pk).update(
        status=Status.INTERRUPTED, finished_at=timezone.now()
    )
    systems = list(study.systems.select_related("checkpoint").order_by("id"))
    if job.systems:
        systems = [s for s in systems if s.key in job.systems]
    items = list(study.items.order_by("id"))
    tasks = []
    for system in systems:
        todo = [i for i in items if job.force or not generation.has_clip(i, system)]
        groups: dict[tuple, list[Item]] = {}
        for item in todo:
            groups.setdefault((item.fps, item.layout), []).append(item)
        size = job.batch_size * BATCHES_PER_TASK
        for group in groups.values():
            for start in range(0, len(group), size):
                chunk = [i.pk for i in group[start : start + size]]
                tasks.append(GenerationTask(job=job, system=system, item_ids=chunk))
    check_todo = [i for i in items if job.checks and (job.force or not generation.has_checks(i))]
    has_clip_tasks = bool(tasks)
    for start in range(0, len(check_todo), CHECK_ITEMS_PER_TASK):
        chunk = check_todo[start : start + CHECK_ITEMS_PER_TASK]
        # Check material is made from an item's reference recording, or else from its first
        # clip: only a batch with an item that has no recording waits for phase 1.
        waits = has_clip_tasks and any(not item.reference_audio for item in chunk)
        tasks.append(
            GenerationTask(
                job=job,
                phase=GenerationTask.CHECKS,
                item_ids=[item.pk for item in chunk],
                status=TaskStatus.WAITING if waits else TaskStatus.QUEUED,
            )
        )
    with transaction.atomic():
        job.tasks.all().delete()
        GenerationTask.objects.bulk_create(tasks)
        job.status, job.started_at, job.finished_at = Status.RUNNING, timezone.now(), None
        job.total = sum(len(t.item_ids) for t in tasks)
        job.done = job.failed = 0
        job.errors, job.message = [], ""
        job.save()
    if not tasks:
        _job_close(job)
        return []
    return list(job.tasks.filter(status=TaskStatus.QUEUED).order_by("phase", "id"))


def worker_name(pid: int | None = None) -> str:
    """How a task records the process that claimed it (this one unless `pid` is given)."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"[:200]


def generation_task_run(
    *, task: GenerationTask, progress=None, retry: bool = False
) -> list[GenerationTask]:
    """Run one task if nobody has (a claimed or finished task is left alone). Returns the tasks
    that became runnable (phase 2 once phase 1 is over) for the caller to run or queue.

    With `retry` (a queue worker), an unexpected error puts the task back and is raised so the
    queue runs it again, up to MAX_ATTEMPTS; otherwise, and on the last attempt, the task's
    remaining items are recorded as failed and the job goes on."""
    claimed = GenerationTask.objects.filter(pk=task.pk, status=TaskStatus.QUEUED).update(
        status=TaskStatus.RUNNING,
        attempts=F("attempts") + 1,
        worker=worker_name(),
        started_at=timezone.now(),
        done=0,
        failed=0,
        errors=[],
    )
    if not claimed:
        return []
    task = GenerationTask.objects.select_related("job__study", "system__checkpoint").get(pk=task.pk)
    job = task.job
    if job.status != Status.RUNNING:
        over = TaskStatus.CANCELLED if job.status == Status.CANCELLED else TaskStatus.FAILED
        task_end(task, over, f"the job is {job.status}")
        return []
    work = Path(settings.MEDIA_ROOT) / "work" / f"job-{job.pk}-task-{task.pk}-{os.getpid()}"
    run = generation._Run(
        job=job,
        task=task,
        fmt=StimulusFormat.from_settings(),
        work=work,
        progress=progress,
        after_advance=lambda: _job_totals(job),
    )
    items = list(Item.objects.filter(pk__in=task.item_ids).order_by("id"))
    started = time.monotonic()
    try:
        if task.phase == GenerationTask.CLIPS:
            generation.clips_make(run, task.system, items)
        else:
            generation.checks_make(run, items)
    except JobCancelled:  # between two clips: what is made is kept
        task_end(task, TaskStatus.CANCELLED, "stopped: the job was cancelled")
        return []
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        if retry and task.attempts < MAX_ATTEMPTS:
            log.warning("generation task %s, attempt %s: %s", task.pk, task.attempts, message)
            task_end(task, TaskStatus.QUEUED, message)
            raise
        task_give_up(task, failure(None, task.system, exc), message)
    except BaseException:  # killed: the job is over; the next job makes what is missing
        task_end(task, TaskStatus.FAILED, "interrupted")
        job_interrupt(job)
        raise
    else:
        task_end(task, TaskStatus.DONE, f"{time.monotonic() - started:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return job_advance(job)


def task_give_up(task: GenerationTask, error: dict, message: str) -> None:
    """The task's last attempt failed: the items it had not finished count as failed."""
    task.failed += len(task.item_ids) - task.done - task.failed
    task.errors = [*task.errors, error]
    task_end(task, TaskStatus.FAILED, message)


def job_interrupt(job: GenerationJob) -> None:
    GenerationJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=Status.INTERRUPTED, finished_at=timezone.now()
    )


def task_end(task: GenerationTask, status: str, message: str) -> None:
    task.status, task.message = status, message[:2000]
    task.finished_at = timezone.now() if status != TaskStatus.QUEUED else None
    task.save(update_fields=["status", "message", "finished_at", "done", "failed", "errors"])
    _job_totals(task.job)


def _job_totals(job: GenerationJob) -> None:
    """The job's progress is the sum of its tasks' (each task counts only its own clips)."""
    sums = job.tasks.aggregate(done=Sum("done"), failed=Sum("failed"))
    errors = [e for t in job.tasks.order_by("phase", "id").only("errors") for e in t.errors]
    job.done, job.failed, job.errors = sums["done"] or 0, sums["failed"] or 0, errors
    GenerationJob.objects.filter(pk=job.pk).update(
        done=job.done, failed=job.failed, errors=errors, updated_at=timezone.now()
    )


def job_advance(job: GenerationJob) -> list[GenerationTask]:
    """After a task: release phase 2 when phase 1 is over; close the job when all are."""
    with transaction.atomic():
        locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != Status.RUNNING:
            return []
        if locked.tasks.filter(status__in=[TaskStatus.QUEUED, TaskStatus.RUNNING]).exists():
            return []
        waiting = list(locked.tasks.filter(status=TaskStatus.WAITING))
        if waiting:
            locked.tasks.filter(status=TaskStatus.WAITING).update(status=TaskStatus.QUEUED)
            return list(locked.tasks.filter(pk__in=[t.pk for t in waiting]).order_by("id"))
    _job_close(job)
    return []


def _job_close(job: GenerationJob) -> None:
    with transaction.atomic():
        locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != Status.RUNNING:
            return
        _job_totals(locked)
        locked.status = Status.DONE_WITH_ERRORS if locked.failed else Status.DONE
        locked.finished_at = timezone.now()
        seconds = (locked.finished_at - locked.started_at).total_seconds()
        locked.message = (
            f"{locked.done} made, {locked.failed} failed of {locked.total} in {seconds:.1f} s"
        )
        locked.save()
    # Only the worker that closed the job gets here: pad every item's versions to one size.
    for item in job.study.items.order_by("id"):
        generation.equalize(item)
    job.refresh_from_db()


def job_work(*, job: GenerationJob, progress=None, watch=None) -> None:
    """Run the job's queued tasks one at a time until the job is over or nothing is left to
    run; while other processes still hold tasks (or check tasks wait for them), wait for them.
    `watch` is called while waiting (the parent's check on its helpers)."""
    reported = None

    def report(current: GenerationJob) -> None:  # each state once, whoever made it
        nonlocal reported
        if progress is not None and (current.done, current.failed) != reported:
            reported = (current.done, current.failed)
            progress(current)

    while True:
        task = job.tasks.filter(status=TaskStatus.QUEUED).order_by("phase", "id").first()
        if task is not None:
            generation_task_run(task=task, progress=report)  # what it releases is queued
            continue
        job.refresh_from_db()
        report(job)
        busy = job.tasks.filter(status__in=[TaskStatus.RUNNING, TaskStatus.WAITING]).exists()
        if job.status != Status.RUNNING or not busy:
            return
        if watch is not None:
            watch()
        time.sleep(POLL_S)
