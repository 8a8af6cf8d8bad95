"""Generation jobs, split into tasks that any number of workers share (the tasks' life:
studies.stimuli.job_tasks).

A job is made by `services.generation_job_create` (its options checked, one active job per
study). `generation_job_run` runs all tasks on this machine, in this process or in a few that
share them (generate_clips, the demo: studies.stimuli.local_workers); the huey tasks in
studies.tasks put them on the shared queue instead (Redis in production), where workers on other
machines take them: they read items and write clips through the storage backend and fetch
checkpoints by sha256 (studies.stimuli.checkpoints), so they need no shared filesystem.
"""

from studies.errors import StudyError
from studies.models import GenerationJob
from studies.stimuli.job_tasks import generation_job_start, generation_task_run
from studies.stimuli.local_workers import job_run_in_processes

__all__ = ["generation_job_run", "generation_job_start", "generation_task_run"]


def generation_job_run(*, job: GenerationJob, progress=None, workers: int = 1) -> GenerationJob:
    """Run a whole job on this machine: in this process, task after task, or with `workers` > 1
    in that many processes sharing the tasks (studies.stimuli.local_workers). Failures of
    single clips or systems are recorded and the rest go on; a kill (KeyboardInterrupt,
    SystemExit) marks the job interrupted and is raised (the next job makes what is missing)."""
    if workers < 1:
        raise StudyError("the number of workers must be at least 1")
    tasks = generation_job_start(job=job)
    if workers > 1 and tasks:
        job_run_in_processes(job=job, workers=workers, progress=progress)
        job.refresh_from_db()
        return job
    while tasks:
        following = []
        for task in tasks:
            following += generation_task_run(task=task, progress=progress)
        tasks = following
    job.refresh_from_db()
    return job
