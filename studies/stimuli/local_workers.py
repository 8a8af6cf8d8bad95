"""One generation job shared by several processes on this machine (generate_clips --workers,
the demo): this process and workers-1 helpers it starts take the job's tasks from the database
exactly as huey's workers take them from the queue (studies.stimuli.jobs claims each task with
one conditional update), each with its share of the CPU threads. A system's generation loop is
sequential (WaveNet and SampleRNN sample by sample, Foley Music token by token) and keeps about
one core busy, so on a 2-core machine two processes make the four systems' clips and the check
material in about half the time.

A helper is a fresh Python process (multiprocessing's spawn: nothing half-initialised is
inherited from this one) that sets Django up with this process's settings, test overrides
included. A helper that dies (killed, out of memory) leaves its task claimed: this process
notices, puts the task back (or, after the last attempt, records its items failed) and goes on.
"""

import logging
import multiprocessing
import os
import pickle
from contextlib import contextmanager

from django.conf import settings

from studies.models import GenerationJob, GenerationTask
from studies.stimuli import local_helper
from studies.stimuli.job_tasks import (
    MAX_ATTEMPTS,
    job_advance,
    job_interrupt,
    job_work,
    task_end,
    task_give_up,
    worker_name,
)

log = logging.getLogger(__name__)

# A helper winds down by itself once nothing is left; this is how long the end waits for it.
HELPER_EXIT_S = 60.0

Status = GenerationJob.Status
TaskStatus = GenerationTask.Status


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def job_run_in_processes(*, job: GenerationJob, workers: int, progress=None) -> None:
    """Run a started job (generation_job_start) in this process and up to workers-1 helpers,
    no more than there are tasks to share."""
    runnable = job.tasks.filter(status__in=[TaskStatus.QUEUED, TaskStatus.WAITING]).count()
    n_helpers = max(0, min(workers, runnable) - 1)
    threads = max(1, cpu_count() // (n_helpers + 1))
    context = multiprocessing.get_context("spawn")
    snapshot = _settings_snapshot()
    helpers = []
    with _torch_threads(threads):
        try:
            for _ in range(n_helpers):
                process = context.Process(
                    target=local_helper.main,
                    args=(job.pk, snapshot, threads, os.environ.get("DJANGO_SETTINGS_MODULE")),
                    name=f"generation-job-{job.pk}-helper",
                    daemon=True,
                )
                process.start()
                helpers.append(process)
            job_work(job=job, progress=progress, watch=lambda: _reclaim_from_dead(job, helpers))
            for process in helpers:
                process.join(HELPER_EXIT_S)
        except BaseException:
            _stop(job, helpers)
            raise
        finally:
            for process in helpers:
                if process.is_alive():
                    process.terminate()
                    process.join(5)


def _settings_snapshot() -> dict:
    """This process's settings as they are now (overrides included), where they can be sent."""
    values = {}
    for name in dir(settings):
        if not name.isupper():
            continue
        value = getattr(settings, name)
        try:
            pickle.dumps(value)
        except Exception:
            continue
        values[name] = value
    return values


@contextmanager
def _torch_threads(n: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _reclaim_from_dead(job: GenerationJob, helpers: list) -> None:
    """The tasks a dead helper still holds go back on the queue (or, after their last
    attempt, fail with their remaining items), so the job does not wait for ever."""
    for process in helpers:
        if process.is_alive() or process.exitcode is None:
            continue
        held = job.tasks.filter(status=TaskStatus.RUNNING, worker=worker_name(process.pid))
        for task in held:
            why = f"the helper process {process.pid} died (exit code {process.exitcode})"
            log.warning("generation job %s, task %s: %s", job.pk, task.pk, why)
            if task.attempts < MAX_ATTEMPTS:
                task_end(task, TaskStatus.QUEUED, why)
            else:
                system = task.system.key if task.system else ""
                task_give_up(task, {"item": "", "system": system, "error": why}, why)
                job_advance(job)


def _stop(job: GenerationJob, helpers: list) -> None:
    """This process was interrupted: stop the helpers and mark the job interrupted (the next
    job makes what is missing)."""
    for process in helpers:
        if process.is_alive():
            process.terminate()
    for process in helpers:
        process.join(5)
    job_interrupt(job)
