"""Background jobs, run by huey's consumer (`manage.py run_huey`; ./run demo starts one)."""

from django.db import transaction
from huey.contrib.djhuey import db_task

from studies.models import GenerationJob


@db_task(retries=0)
def generation_job_task(job_id: int) -> str:
    job = GenerationJob.objects.select_related("study").get(pk=job_id)
    if job.status != GenerationJob.Status.QUEUED:
        return f"job {job_id} is {job.status}; nothing to do"
    from studies.stimuli.generation import generation_job_run  # torch: not at start-up

    return generation_job_run(job=job).status


def generation_job_enqueue(*, job: GenerationJob) -> None:
    """Queue the job for the worker once the row that describes it is committed."""
    transaction.on_commit(lambda: generation_job_task(job.pk))
