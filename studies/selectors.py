"""Every read the platform's pages, admin and commands need. Nothing here writes."""

from dataclasses import dataclass
from pathlib import Path

from django.db.models import Count, Q

from studies.allocation import available_check_kinds
from studies.models import (
    MAX_SYSTEMS,
    MIN_SYSTEMS,
    CheckClip,
    Clip,
    Item,
    Session,
    Study,
    Trial,
    Vote,
)

# Clips of an item may differ from the item's duration by at most this much.
DURATION_TOLERANCE_S = 0.050


def study_problems(*, study: Study) -> list[str]:
    """Every reason the study cannot be launched, as sentences a researcher can act on."""
    problems: list[str] = []
    systems = list(study.systems.all())
    items = list(study.items.all())
    if not MIN_SYSTEMS <= len(systems) <= MAX_SYSTEMS:
        problems.append(
            f"A study compares {MIN_SYSTEMS} to {MAX_SYSTEMS} systems; this one has {len(systems)}."
        )
    if not study.criteria.exists():
        problems.append("The study has no criteria (questions).")
    if not items:
        problems.append("The study has no items (videos).")
    clips = Clip.objects.filter(item__study=study).select_related("item", "system")
    by_cell: dict[tuple[int, int], list[Clip]] = {}
    for clip in clips:
        by_cell.setdefault((clip.item_id, clip.system_id), []).append(clip)
    for item in items:
        for system in systems:
            cell = by_cell.get((item.pk, system.pk), [])
            if not cell:
                problems.append(f"Item {item.key!r} has no clip for system {system.key!r}.")
                continue
            clip = cell[0]
            if abs(clip.duration_s - item.duration_s) > DURATION_TOLERANCE_S:
                problems.append(
                    f"Clip {item.key!r}/{system.key!r} lasts {clip.duration_s:.3f} s but the item "
                    f"lasts {item.duration_s:.3f} s (more than 50 ms apart)."
                )
            if not _file_exists(clip.media):
                problems.append(f"Clip {item.key!r}/{system.key!r}: its media file is missing.")
    for check in CheckClip.objects.filter(item__study=study).select_related("item"):
        if not _file_exists(check.media):
            problems.append(f"Check clip {check}: its media file is missing.")
        if abs(check.duration_s - check.item.duration_s) > DURATION_TOLERANCE_S:
            problems.append(
                f"Check clip {check} lasts {check.duration_s:.3f} s but the item lasts "
                f"{check.item.duration_s:.3f} s."
            )
    if study.check_trials_per_session:
        if not available_check_kinds(study):
            problems.append(
                f"The study asks for {study.check_trials_per_session} check trials per session "
                "but no item has check material (a target and a foil of kind noise with a "
                "'noise' criterion, or of kind sync with a 'synchronization' criterion). Add "
                "check clips or set check trials per session to 0."
            )
    return problems


def _file_exists(field_file) -> bool:
    if not field_file:
        return False
    try:
        return Path(field_file.path).is_file()
    except (ValueError, NotImplementedError):
        return field_file.storage.exists(field_file.name)


def study_closed_message(*, study: Study) -> str:
    """What a participant is told when the study takes no new work."""
    if study.status == Study.Status.PAUSED:
        return "This study is paused. Please come back later."
    if study.status == Study.Status.CLOSED:
        return "This study has closed. Thank you for your interest."
    return "This study is not open."


def session_by_token(*, study: Study, token: str) -> Session | None:
    return (
        Session.objects.select_related("study", "participant")
        .filter(study=study, token=token)
        .first()
    )


def trial_slots(*, trial: Trial):
    return trial.slots.order_by("position")


@dataclass
class StudyProgress:
    sessions_started: int
    sessions_completed: int
    valid_votes_by_criterion: dict[str, int]
    target: int
    # Valid votes per item (each criterion gets one per answered trial): spread and shortfall.
    min_votes_per_item: int
    max_votes_per_item: int
    items_below_target: int
    # Times each system was chosen per item, over all criteria: min and max over the cells.
    min_chosen_item_system: int
    max_chosen_item_system: int


def valid_regular_votes(*, study: Study):
    """Votes that count: regular trials of sessions not excluded."""
    return Vote.objects.filter(
        trial__session__study=study, trial__check_kind="", trial__session__excluded=False
    )


def study_progress(*, study: Study) -> StudyProgress:
    sessions = Session.objects.filter(study=study).aggregate(
        started=Count("id"), completed=Count("id", filter=Q(status=Session.Status.COMPLETED))
    )
    votes = valid_regular_votes(study=study)
    by_criterion = {c.key: 0 for c in study.criteria.all()}
    for row in votes.values("criterion__key").annotate(n=Count("id")):
        by_criterion[row["criterion__key"]] = row["n"]
    chosen = {
        (item_id, system_id): 0
        for item_id in study.items.values_list("id", flat=True)
        for system_id in study.systems.values_list("id", flat=True)
    }
    for row in votes.values("trial__item_id", "slot__system_id").annotate(n=Count("id")):
        chosen[(row["trial__item_id"], row["slot__system_id"])] = row["n"]
    answered = Q(
        trials__check_kind="", trials__answered_at__isnull=False, trials__session__excluded=False
    )
    per_item = list(
        Item.objects.filter(study=study)
        .annotate(n=Count("trials", filter=answered))
        .values_list("n", flat=True)
    )
    return StudyProgress(
        sessions_started=sessions["started"],
        sessions_completed=sessions["completed"],
        valid_votes_by_criterion=by_criterion,
        target=study.target_votes_per_item,
        min_votes_per_item=min(per_item, default=0),
        max_votes_per_item=max(per_item, default=0),
        items_below_target=sum(1 for n in per_item if n < study.target_votes_per_item),
        min_chosen_item_system=min(chosen.values(), default=0),
        max_chosen_item_system=max(chosen.values(), default=0),
    )
