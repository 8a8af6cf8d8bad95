"""Writes that reach a crowd platform: publishing a study, and ledgered approvals, rejections and
bonuses. Every remote call that changes something goes through studies.recruiters.ledger, so a
retry, a timeout or a crash never approves, rejects or pays twice."""

from django.conf import settings
from django.urls import reverse

from studies.errors import StudyError
from studies.models import Recruitment, RemoteAction, Study
from studies.recruiters import ledger
from studies.recruiters.base import Recruiter, Submission
from studies.recruiters.local import Local


def recruiter_for(recruitment: Recruitment) -> Recruiter:
    if recruitment.recruiter == Recruitment.Recruiter.PROLIFIC:
        from studies.recruiters.prolific import Prolific

        return Prolific(settings.PROLIFIC_API_TOKEN)
    if recruitment.recruiter == Recruitment.Recruiter.MTURK:
        from studies.recruiters.mturk import MTurk

        return MTurk(sandbox=recruitment.sandbox)
    return Local()


def study_public_url(study: Study) -> str:
    return settings.PUBLIC_BASE_URL + reverse("studies:arrive", args=[study.slug])


def recruitment_publish(
    *,
    study: Study,
    recruiter: str,
    places: int,
    reward_cents: int,
    minutes: int,
    sandbox: bool = False,
    adapter: Recruiter | None = None,
) -> Recruitment:
    """Create the study on the platform and publish it (each step ledgered: running it again
    after a failure continues where it stopped)."""
    if study.status != Study.Status.LIVE:
        raise StudyError(f"study {study.slug!r} is {study.status}: launch it before publishing")
    if places < 1 or reward_cents < 1:
        raise StudyError("places and reward must be positive")
    recruitment = Recruitment.objects.create(
        study=study, recruiter=recruiter, sandbox=sandbox, places=places, reward_cents=reward_cents
    )
    return recruitment_continue(recruitment=recruitment, minutes=minutes, adapter=adapter)


def recruitment_continue(
    *, recruitment: Recruitment, minutes: int, adapter: Recruiter | None = None
) -> Recruitment:
    adapter = adapter or recruiter_for(recruitment)
    study = recruitment.study
    created = ledger.perform(
        recruitment,
        kind=RemoteAction.Kind.CREATE,
        key=f"create:{recruitment.pk}",
        target=study.slug,
        payload={"places": recruitment.places, "reward_cents": recruitment.reward_cents},
        call=lambda: {
            "id": adapter.create(
                recruitment,
                study_url=study_public_url(study),
                title=study.title,
                description=study.instructions,
                minutes=minutes,
                completion_code=study.completion_code,
            )
        },
        idempotent=adapter.idempotent.get("create", False),
    )
    if created.state != RemoteAction.State.DONE:
        raise StudyError(f"{adapter.key} refused to create the study: {created.error}")
    recruitment.remote_id = created.response["id"]
    recruitment.save(update_fields=["remote_id"])
    published = ledger.perform(
        recruitment,
        kind=RemoteAction.Kind.PUBLISH,
        key=f"publish:{recruitment.pk}",
        target=recruitment.remote_id,
        payload={},
        call=lambda: adapter.publish(recruitment) or {},
        idempotent=True,
    )
    if published.state != RemoteAction.State.DONE:
        raise StudyError(f"{adapter.key} refused to publish the study: {published.error}")
    return recruitment


def submission_approve(
    *, recruitment: Recruitment, submission: Submission, adapter: Recruiter
) -> RemoteAction:
    return ledger.perform(
        recruitment,
        kind=RemoteAction.Kind.APPROVE,
        key=f"review:{recruitment.recruiter}:{submission.remote_id}",
        target=submission.remote_id,
        payload={"participant": submission.participant_id},
        call=lambda: adapter.approve(recruitment, submission.remote_id),
        idempotent=adapter.idempotent["approve"],
    )


def submission_reject(
    *, recruitment: Recruitment, submission: Submission, message: str, adapter: Recruiter
) -> RemoteAction:
    # The same key as approval: a submission gets one decision, never both.
    return ledger.perform(
        recruitment,
        kind=RemoteAction.Kind.REJECT,
        key=f"review:{recruitment.recruiter}:{submission.remote_id}",
        target=submission.remote_id,
        payload={"participant": submission.participant_id, "message": message},
        call=lambda: adapter.reject(recruitment, submission.remote_id, message),
        idempotent=adapter.idempotent["reject"],
    )


def bonus_pay(
    *,
    recruitment: Recruitment,
    submission: Submission,
    cents: int,
    reason: str,
    adapter: Recruiter,
) -> RemoteAction:
    """Pay one bonus for one submission, at most once, whatever happens around the call."""
    key = f"bonus:{recruitment.recruiter}:{submission.remote_id}"
    return ledger.perform(
        recruitment,
        kind=RemoteAction.Kind.BONUS,
        key=key,
        target=submission.remote_id,
        payload={"participant": submission.participant_id, "cents": cents, "reason": reason},
        call=lambda: adapter.bonus(recruitment, submission, cents, reason, key),
        idempotent=adapter.idempotent["bonus"],
    )
