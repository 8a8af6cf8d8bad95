"""Writes that reach a crowd platform: publishing a study, and ledgered approvals, rejections and
bonuses. Every remote call that changes something goes through studies.recruiters.ledger, so a
retry, a timeout or a crash never approves, rejects or pays twice."""

from django.conf import settings
from django.urls import reverse

from studies.errors import StudyError
from studies.models import Recruitment, RemoteAction, Session, Study
from studies.recruiters import ledger
from studies.recruiters.base import Recruiter, Submission
from studies.recruiters.local import Local
from studies.selectors import (
    study_info,
    study_missing_trials,
    study_session_rows,
    study_vote_rows,
)
from studies.services.sessions import session_abandon


def recruiter_for(recruitment: Recruitment) -> Recruiter:
    if recruitment.recruiter == Recruitment.Recruiter.PROLIFIC:
        from studies.recruiters.prolific import Prolific

        # Locally (DEBUG) the study URL may be http://localhost, for trying the flow.
        return Prolific(settings.PROLIFIC_API_TOKEN, require_public_url=not settings.DEBUG)
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


# --- review, bonuses, top-up -----------------------------------------------------------------


def study_qc_settings(study: Study):
    return study_info(study=study).qc


def study_decisions(*, study: Study) -> dict[str, dict]:
    """Review decisions (studies.analysis.review) keyed by "source:participant id"."""
    import pandas as pd

    from studies.analysis.review import review_decisions
    from studies.analysis.votes import COLUMNS

    votes = pd.DataFrame(study_vote_rows(study=study), columns=list(COLUMNS))
    sessions = pd.DataFrame(
        study_session_rows(study=study), columns=["session", "participant", "completed"]
    )
    table = review_decisions(votes, sessions, study_qc_settings(study))
    return {row["participant"]: row for row in table.to_dict("records")}


def _matched(study: Study, adapters: dict | None):
    """(recruitment, adapter, submission, decision or None) for every platform submission."""
    decisions = study_decisions(study=study)
    for recruitment in study.recruitments.exclude(remote_id=""):
        adapter = (adapters or {}).get(recruitment.recruiter) or recruiter_for(recruitment)
        for submission in adapter.submissions(recruitment):
            key = f"{recruitment.recruiter}:{submission.participant_id}"
            yield recruitment, adapter, submission, decisions.get(key)


def study_sync(*, study: Study, adapters: dict | None = None) -> dict:
    """Read every submission from the study's platforms and mark the sessions of those that
    returned the study or timed out as abandoned (services.session_abandon): their votes are not
    used and their items go back to allocation at once. The platforms re-open those places
    themselves. Run by the worker every SYNC_SUBMISSIONS_EVERY_MINUTES (studies.tasks)."""
    counts = {"submissions": 0, "abandoned": 0, "newly_abandoned": 0}
    for recruitment in study.recruitments.exclude(remote_id=""):
        adapter = (adapters or {}).get(recruitment.recruiter) or recruiter_for(recruitment)
        if not adapter.abandoned_statuses:
            continue
        withdrawn = []
        for submission in adapter.submissions(recruitment):
            counts["submissions"] += 1
            if submission.status in adapter.abandoned_statuses:
                withdrawn.append(submission.participant_id)
        sessions = Session.objects.filter(
            study=study,
            participant__source=recruitment.recruiter,
            participant__external_id__in=withdrawn,
        )
        for session in sessions:
            counts["abandoned"] += 1
            counts["newly_abandoned"] += session_abandon(session=session)
    return counts


def study_review(*, study: Study, dry_run: bool = False, adapters: dict | None = None):
    """Approve or reject every submission by the review rules, mark whose votes are used, and
    return one row per submission. With dry_run nothing is sent or changed."""
    rows, use = [], {}
    for recruitment, adapter, submission, decision in _matched(study, adapters):
        row = {
            "recruiter": recruitment.recruiter,
            "submission": submission.remote_id,
            "participant": submission.participant_id,
            "platform_status": submission.status,
            "decision": decision["decision"] if decision else "no session",
            "pay": bool(decision and decision["pay"]),
            "use": bool(decision and decision["use"]),
            "reasons": decision["reasons"] if decision else "",
            "sent": "",
        }
        if decision and decision["decision"] != "wait":
            use[decision["session"]] = decision["use"]
            if not dry_run:
                if decision["decision"] == "approve":
                    action = submission_approve(
                        recruitment=recruitment, submission=submission, adapter=adapter
                    )
                else:
                    action = submission_reject(
                        recruitment=recruitment,
                        submission=submission,
                        message=decision["message"],
                        adapter=adapter,
                    )
                row["sent"] = f"{action.kind} {action.state}"
        rows.append(row)
    if not dry_run:
        from studies.services import sessions_set_use

        sessions_set_use(study=study, use=use)
    return rows


def study_pay_bonuses(*, study: Study, dry_run: bool = False, adapters: dict | None = None):
    """Pay the study's bonus once to every submission in the "pay" tier."""
    rows = []
    if study.bonus_cents <= 0:
        raise StudyError(f"study {study.slug!r} has no bonus set (bonus_cents is 0)")
    for recruitment, adapter, submission, decision in _matched(study, adapters):
        if not (decision and decision["pay"]):
            continue
        row = {
            "recruiter": recruitment.recruiter,
            "submission": submission.remote_id,
            "participant": submission.participant_id,
            "cents": study.bonus_cents,
            "sent": "",
        }
        if not dry_run:
            action = bonus_pay(
                recruitment=recruitment,
                submission=submission,
                cents=study.bonus_cents,
                reason="Thank you for listening carefully to every clip.",
                adapter=adapter,
            )
            row["sent"] = action.state
        rows.append(row)
    return rows


def study_top_up(*, study: Study, dry_run: bool = False, adapters: dict | None = None) -> int:
    """Request more places on the newest recruitment so that every item can reach the target
    of valid votes after review; returns the places added (0 when none are needed)."""
    import math

    regular = max(1, study.trials_per_session)
    extra = math.ceil(study_missing_trials(study=study) / regular)
    recruitment = study.recruitments.exclude(remote_id="").order_by("-created_at").first()
    if extra == 0 or recruitment is None or dry_run:
        return extra
    adapter = (adapters or {}).get(recruitment.recruiter) or recruiter_for(recruitment)
    total = recruitment.places + extra
    action = ledger.perform(
        recruitment,
        kind=RemoteAction.Kind.ADD_PLACES,
        key=f"add_places:{recruitment.pk}:{total}",
        target=recruitment.remote_id,
        payload={"from": recruitment.places, "to": total},
        call=lambda: adapter.add_places(recruitment, total) or {},
        idempotent=adapter.idempotent["add_places"],
    )
    if action.state != RemoteAction.State.DONE:
        raise StudyError(f"{adapter.key} refused more places: {action.error}")
    recruitment.places = total
    recruitment.save(update_fields=["places"])
    return extra
