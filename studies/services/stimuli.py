"""Writes of the stimuli sub-domain that the pipeline (studies.stimuli) leaves to its
callers: queueing a generation job."""

from studies.errors import StudyError
from studies.models import GenerationJob, Item, Study, Trial
from studies.services.sessions import simulated_sessions_delete
from studies.stimuli.background import job_refuse_if_active


def generation_job_create(
    *,
    study: Study,
    systems: list[str] | None = None,
    device: str = "auto",
    batch_size: int = 8,
    force: bool = False,
    checks: bool = True,
) -> GenerationJob:
    """A queued job, after checking its options (unknown systems, force on a study with trials,
    systems without a checkpoint are errors now rather than in the worker). A study has one
    active job at a time: another queued or running one is an error naming it."""
    job_refuse_if_active(study.generation_jobs.all(), what="generation job")
    keys = list(systems or [])
    known = set(study.systems.values_list("key", flat=True))
    unknown = sorted(set(keys) - known)
    if unknown:
        raise StudyError(
            f"{study.slug} has no system {', '.join(unknown)} (it has {sorted(known)})"
        )
    if batch_size < 1:
        raise StudyError("the batch size must be at least 1")
    if force and Trial.objects.filter(item__study=study, session__simulated=False).exists():
        raise StudyError(
            f"{study.slug} already has trials: replacing its clips would change what earlier "
            "raters heard; make a new study instead of using force"
        )

    chosen = study.systems.filter(key__in=keys) if keys else study.systems.all()
    # A system needs a checkpoint only where it has clips to make (uploaded clips need none;
    # reference and anchor clips are made from the items' recordings).
    missing = [
        s.key
        for s in chosen
        if s.checkpoint_id is None
        and s.role == "generated"
        and (force or Item.objects.filter(study=study).exclude(clips__system=s).exists())
    ]
    if missing:
        raise StudyError(
            f"systems without a registered checkpoint: {', '.join(missing)} "
            "(register one in the admin, or `manage.py register_checkpoint`)"
        )
    if force:  # dry runs heard the old clips: they go with them, and never block a rerun
        simulated_sessions_delete(study=study)
    return GenerationJob.objects.create(
        study=study,
        systems=keys,
        device=device,
        batch_size=batch_size,
        force=force,
        checks=checks,
    )
