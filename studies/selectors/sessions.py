"""Reads about sessions and their trials: finding a participant's session, what a trial
shows, how long a session takes, which sessions exist."""

from django.db.models import Count, Q

from studies.models import (
    Item,
    ScreeningItem,
    Session,
    Study,
    Trial,
    TrialSlot,
)


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


def session_by_slug_and_token(*, slug: str, token: str) -> Session | None:
    """A session of a launched study (not a draft) by its study's slug and its token."""
    rows = (
        Session.objects.select_related("study", "participant")
        .filter(token=token, study__slug=slug)
        .exclude(study__status=Study.Status.DRAFT)[:1]
    )
    return next(iter(rows), None)


def session_of(*, study: Study, source: str, external_id: str) -> Session | None:
    return (
        Session.objects.select_related("study", "participant")
        .filter(study=study, participant__source=source, participant__external_id=external_id)
        .first()
    )


def session_estimated_minutes(*, session: Session) -> int:
    """A fair estimate of the session's length for the consent page: every version of every
    trial played once, plus time to answer, plus the screening."""
    study = session.study
    durations = list(study.items.values_list("duration_s", flat=True)) or [0.0]
    mean = sum(durations) / len(durations)
    from studies.designs import design_of

    design = design_of(study)
    n_versions = max(1, design.n_versions(study))
    # Answering: about 20 s for a set of choices; a rating page asks a score per version and
    # question (about 4 s each).
    answering = 20.0 + (4.0 * n_versions * study.criteria.count() if design.rated else 0.0)
    per_trial = n_versions * (mean + 2.0) + answering
    screening = 180.0 if study.screening else 0.0
    return max(1, round((session.n_trials * per_trial + screening + 60.0) / 60.0))


def trial_slots(*, trial: Trial):
    return trial.slots.order_by("position")


def study_session_rows(*, study: Study) -> list[dict]:
    """One row per real session for review: id, participant (source:external id), completed."""
    return [
        {
            "session": s.pk,
            "participant": f"{s.participant.source}:{s.participant.external_id}",
            "completed": s.status == Session.Status.COMPLETED,
        }
        for s in Session.objects.filter(study=study, simulated=False).select_related("participant")
    ]


def study_missing_trials(*, study: Study) -> int:
    """Regular trials still needed for every item to reach the target of valid votes (each
    answered trial gives one vote per criterion), minus those in sessions still under way."""
    answered = Q(
        trials__check_kind="",
        trials__answered_at__isnull=False,
        trials__session__excluded=False,
        trials__session__simulated=False,
    )
    per_item = Item.objects.filter(study=study).annotate(n=Count("trials", filter=answered))
    missing = sum(max(0, study.target_votes_per_item - item.n) for item in per_item)
    under_way = Session.objects.filter(study=study).exclude(
        status__in=[Session.Status.COMPLETED, Session.Status.SCREENED_OUT]
    )
    pending = sum(
        max(0, s.n_trials - len(s.check_indices) - s.answered)
        for s in under_way.annotate(
            answered=Count(
                "trials", filter=Q(trials__answered_at__isnull=False, trials__check_kind="")
            )
        )
    )
    return max(0, missing - pending)


def open_study_by_slug(*, slug: str) -> Study | None:
    """A study participants may reach (anything but a draft)."""
    return Study.objects.filter(slug=slug).exclude(status=Study.Status.DRAFT).first()


def session_trial(*, session: Session, index: int) -> Trial | None:
    return session.trials.filter(index=index).first()


def trial_slot_of(*, session: Session, token: str) -> TrialSlot | None:
    """A slot of one of the session's trials, by its opaque token (media for this session
    only)."""
    return (
        TrialSlot.objects.select_related("clip", "check_clip")
        .filter(token=token, trial__session=session)
        .first()
    )


def screening_item_of(*, session: Session, token: str) -> ScreeningItem | None:
    from studies.models import ScreeningItem

    return (
        ScreeningItem.objects.select_related("sound").filter(token=token, session=session).first()
    )
