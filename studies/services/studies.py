"""Writes about a study as a whole: creating it with its design's questions and texts,
launching it (every problem named), pausing and closing it."""

from django.db import transaction
from django.utils import timezone

from studies.designs import design_of
from studies.errors import StudyError, StudyNotReady
from studies.models import (
    Criterion,
    Study,
    System,
)
from studies.selectors import study_problems


def criteria_add_defaults(*, study: Study) -> list[Criterion]:
    """Add the design's default criteria (for best_of, the four of the Foley Music study) that
    the study does not have yet."""
    existing = set(study.criteria.values_list("key", flat=True))
    created = []
    for order, (key, question) in enumerate(design_of(study).default_criteria):
        if key not in existing:
            created.append(
                Criterion.objects.create(study=study, key=key, question=question, order=order)
            )
    return created


def study_use_design_texts(*, study: Study) -> None:
    """Instructions left at the model's default (written for best_of) become the design's own."""
    default = Study._meta.get_field("instructions").default
    own = design_of(study).instructions
    if own and study.instructions == default:
        study.instructions = own


@transaction.atomic
def study_create(
    *,
    title: str,
    slug: str,
    systems: list[tuple] = (),
    default_criteria: bool = True,
    **fields,
) -> Study:
    """Create a draft study, its systems ((key, name) or (key, name, role)) and, by default,
    its design's default criteria (and its default instructions, unless given)."""
    study = Study(title=title, slug=slug, **fields)
    study_use_design_texts(study=study)
    study.full_clean()
    study.save()
    for key, name, *role in systems:
        system = System(study=study, key=key, name=name, role=role[0] if role else "generated")
        system.full_clean()
        system.save()
    if default_criteria:
        criteria_add_defaults(study=study)
    return study


@transaction.atomic
def study_launch(*, study: Study) -> Study:
    """Check the study is complete and set it live; raise StudyNotReady listing every problem."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status == Study.Status.CLOSED:
        raise StudyNotReady(["The study is closed; closed studies cannot be launched again."])
    _study_equalize_versions(study)
    _study_audit_clips(study)
    problems = study_problems(study=study)
    if problems:
        raise StudyNotReady(problems)
    if study.screening:
        from studies.services.screening import screening_pool_ensure

        screening_pool_ensure(study=study)
    study.status = Study.Status.LIVE
    study.launched_at = study.launched_at or timezone.now()
    study.save(update_fields=["status", "launched_at"])
    return study


def _study_equalize_versions(study: Study) -> None:
    """Pad every item's versions to one byte length, for items no real rater has a trial on
    yet (a dry run's trials do not hold an item back)."""
    from studies.stimuli.sizes import item_versions_equalize

    items = study.items.exclude(trials__session__simulated=False)
    for item in items.prefetch_related("clips", "check_clips"):
        item_versions_equalize(item)


def _study_audit_clips(study: Study) -> None:
    """Audit the sound (studies.stimuli.audit) and preflight the file (studies.stimuli.
    preflight) of every clip that has no result for its current file yet; a clip that cannot
    be decoded is recorded as such."""
    from django.conf import settings

    from studies import storage
    from studies.models import Clip
    from studies.stimuli.audit import file_audit
    from studies.stimuli.preflight import clip_preflight

    for clip in Clip.objects.filter(item__study=study):
        name = clip.media.name
        audited = clip.provenance.get("audio", {}).get("media") == name
        checked = clip.provenance.get("preflight", {}).get("media") == name
        if audited and checked:
            continue
        provenance = dict(clip.provenance)
        try:
            with storage.local_copy(clip.media) as path:
                if not audited:
                    provenance["audio"] = {**file_audit(path), "media": name}
                if not checked:
                    problems = clip_preflight(path, target_lufs=settings.STIMULUS_LOUDNESS_LUFS)
                    provenance["preflight"] = {"problems": problems, "media": name}
        except (ValueError, FileNotFoundError) as exc:
            provenance["audio"] = {"error": str(exc), "media": name}
        clip.provenance = provenance
        clip.save(update_fields=["provenance"])


def study_set_status(*, study: Study, status: str) -> Study:
    """Pause or close a study (launching goes through study_launch)."""
    allowed = {Study.Status.PAUSED: {Study.Status.LIVE}, Study.Status.CLOSED: set(Study.Status)}
    if status not in allowed:
        raise StudyError(f"Use study_launch to make a study {status}.")
    if study.status not in allowed[status]:
        raise StudyError(f"A {study.status} study cannot be set to {status}.")
    study.status = status
    study.save(update_fields=["status"])
    return study
