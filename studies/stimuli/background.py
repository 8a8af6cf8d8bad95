"""What every background job shares (studies.models.BackgroundJob): one active job of a kind per
study, a cancel that the worker obeys between units of work, and progress with an ETA.

A worker killed outright (kill -9, a lost machine) never marks its job over; a job that has
made no progress for BACKGROUND_JOB_STALE_MINUTES counts as dead, so it never blocks the next
one for ever (cancelling it on its page frees the study at once).
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studies.errors import StudyError
from studies.models import BackgroundJob

Status = BackgroundJob.Status


class JobCancelled(Exception):
    """Raised in a worker at its next unit of work after the job was cancelled."""


def job_stale_before():
    return timezone.now() - timedelta(minutes=settings.BACKGROUND_JOB_STALE_MINUTES)


def job_refuse_if_active(queryset, *, what: str) -> None:
    """Raise StudyError naming the active job of `queryset` (one study's jobs of one kind), if
    there is one; a stale one is marked interrupted instead."""
    for job in queryset.filter(status__in=BackgroundJob.ACTIVE).order_by("created_at"):
        if job.updated_at < job_stale_before():
            type(job).objects.filter(pk=job.pk, status=job.status).update(
                status=Status.INTERRUPTED,
                finished_at=timezone.now(),
                message=f"no progress for {settings.BACKGROUND_JOB_STALE_MINUTES} minutes: "
                "the worker was presumably lost",
            )
            continue
        since = timezone.localtime(job.started_at or job.created_at).strftime("%Y-%m-%d %H:%M")
        raise StudyError(
            f"{what} {job.pk} is already {job.status} for this study (since {since}, "
            f"{job.done + job.failed} of {job.total or '?'} done); wait for it to end, or "
            "cancel it on its page, before starting another"
        )


def job_cancel(*, job: BackgroundJob) -> bool:
    """Mark an active job cancelled (its workers stop at their next unit of work and keep
    what they finished). Returns False if the job was already over."""
    model = type(job)
    with transaction.atomic():
        changed = model.objects.filter(pk=job.pk, status__in=BackgroundJob.ACTIVE).update(
            status=Status.CANCELLED,
            finished_at=timezone.now(),
            message="cancelled; what was finished is kept (run the job again to make the rest)",
        )
        tasks = getattr(job, "tasks", None)
        if changed and tasks is not None:
            tasks.filter(status__in=["queued", "waiting"]).update(
                status="cancelled", message="the job was cancelled", finished_at=timezone.now()
            )
    job.refresh_from_db()
    return bool(changed)


def job_raise_if_cancelled(job: BackgroundJob) -> None:
    if type(job).objects.filter(pk=job.pk, status=Status.CANCELLED).exists():
        raise JobCancelled(f"{job} was cancelled")


def job_progress(job: BackgroundJob) -> dict:
    """Units done (and failed) of total, elapsed seconds, and an ETA from the rate so far
    (None before the first unit, or once the job is over)."""
    units = job.done + job.failed
    end = job.finished_at or timezone.now()
    elapsed = (end - job.started_at).total_seconds() if job.started_at else 0.0
    eta = None
    if job.status == Status.RUNNING and units and job.total > units:
        eta = elapsed * (job.total - units) / units
    return {
        "units": units,
        "total": job.total,
        "percent": round(100 * units / job.total) if job.total else 0,
        "elapsed_s": elapsed,
        "eta_s": eta,
    }


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
