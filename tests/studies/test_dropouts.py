"""Dropouts on a crowd platform: returned and timed-out submissions are noticed by the periodic
sync, their sessions' votes are not used and their items go back to allocation, and the study
still ends with every item x criterion cell within one vote of its target."""

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from studies import services
from studies.errors import StudyError
from studies.models import Recruitment, Session, Trial, Vote
from studies.recruiters.base import Recruiter, Submission
from studies.recruiters.prolific import Prolific
from studies.services.recruiting import study_sync
from studies.tasks import sync_submissions_task
from tests.factories import CLIP_S, make_study, play_all, start_session

pytestmark = [pytest.mark.django_db, pytest.mark.media]


class PlatformDouble(Recruiter):
    """What Prolific's submissions endpoint reports (its HTTP adapter has its own tests): each
    participant's status word, and places that re-open when a submission is returned or times
    out, as Prolific does."""

    key = "prolific"
    abandoned_statuses = Prolific.abandoned_statuses

    def __init__(self, places: int):
        self.open_places = places
        self.status: dict[str, str] = {}

    def take_place(self, pid: str) -> None:
        assert self.open_places > 0
        self.open_places -= 1
        self.status[pid] = "ACTIVE"

    def withdraw(self, pid: str, status: str) -> None:
        self.status[pid] = status
        self.open_places += 1

    def submissions(self, recruitment) -> list[Submission]:
        return [Submission(f"sub-{p}", p, s) for p, s in sorted(self.status.items())]


def _answer_one(session, now) -> bool:
    """The participant does their current trial; False when the session is complete."""
    trial = services.session_current_trial(session=session, now=now)
    if trial is None:
        return False
    end = now + timedelta(seconds=(CLIP_S + 0.2) * trial.slots.count())
    play_all(session, trial, now=end)
    keys = list(session.study.criteria.values_list("key", flat=True))
    services.trial_answer(
        session=session,
        trial_index=trial.index,
        choices={k: 0 for k in keys},
        now=end + timedelta(seconds=3),
    )
    return True


def test_with_a_tenth_abandoning_every_cell_ends_within_one_vote_of_its_target():
    target, n_items, per_session = 6, 10, 3
    study = make_study(
        slug="dropouts",
        n_items=n_items,
        n_systems=2,
        trials_per_session=per_session,
        with_checks=False,
        target_votes_per_item=target,
        lease_minutes=30,
    )
    places = n_items * target // per_session  # 20 completes give every item its target
    recruitment = Recruitment.objects.create(
        study=study, recruiter="prolific", remote_id="prolific-study", places=places,
        reward_cents=200,
    )  # fmt: skip
    platform = PlatformDouble(places)
    rng = random.Random(11)
    now = timezone.now()
    active: list[tuple[Session, int | None]] = []  # (session, trials before leaving or None)
    timing_out: list[tuple[str, object]] = []  # tab closed: Prolific times them out later
    arrived = completed = 0
    returned = closed = 0
    for minute in range(400):
        now += timedelta(minutes=1)
        while len(active) < 4 and platform.open_places > 0:
            arrived += 1
            pid = f"PID{arrived:03d}"
            platform.take_place(pid)
            session = start_session(study, external_id=pid, source="prolific")
            # A tenth of the arrivals leave mid-session, after 0 to 2 answers.
            leaves_after = rng.randrange(per_session) if arrived % 10 == 3 else None
            active.append((session, leaves_after))
        still = []
        for session, leaves_after in active:
            answered = session.trials.filter(answered_at__isnull=False).count()
            if leaves_after is not None and answered == leaves_after:
                services.session_current_trial(session=session, now=now)  # holds a lease
                pid = session.participant.external_id
                if (returned + closed) % 2 == 0:
                    platform.withdraw(pid, "RETURNED")  # pressed "return" on Prolific
                    returned += 1
                else:
                    timing_out.append((pid, now + timedelta(minutes=45)))
                    closed += 1
                continue
            if _answer_one(session, now):
                still.append((session, leaves_after))
            else:
                completed += 1
                platform.status[session.participant.external_id] = "AWAITING REVIEW"
        active = still
        for pid, when in list(timing_out):
            if now >= when:
                platform.withdraw(pid, "TIMED-OUT")
                timing_out.remove((pid, when))
        if minute % 5 == 0:  # the worker's periodic sync
            study_sync(study=study, adapters={"prolific": platform})
        if completed == places and not active and not timing_out:
            break
    study_sync(study=study, adapters={"prolific": platform})

    assert completed == places and returned >= 1 and closed >= 1, (returned, closed)
    abandoned = Session.objects.filter(status=Session.Status.ABANDONED)
    assert abandoned.count() == returned + closed and all(s.excluded for s in abandoned)
    # Their unanswered trials hold no lease any more.
    held = Trial.objects.filter(session__in=abandoned, answered_at__isnull=True)
    assert held.exists() and not held.filter(lease_expires_at__gt=now).exists()
    used = Vote.objects.filter(trial__session__excluded=False, trial__check_kind="")
    cells = Counter(used.values_list("trial__item_id", "criterion_id"))
    assert len(cells) == n_items * study.criteria.count()
    assert all(abs(n - target) <= 1 for n in cells.values()), sorted(cells.values())
    assert sum(cells.values()) == places * per_session * study.criteria.count()
    assert recruitment.places == places  # no place was added: the platform re-opened them


def test_an_abandoned_session_frees_its_item_now_and_takes_no_more_answers(settings):
    study = make_study(slug="freed", n_items=2, n_systems=2, trials_per_session=2,
                       with_checks=False, lease_minutes=30)  # fmt: skip
    Recruitment.objects.create(
        study=study, recruiter="prolific", remote_id="st", places=3, reward_cents=100
    )
    platform = PlatformDouble(3)
    platform.take_place("LEAVER")
    session = start_session(study, external_id="LEAVER", source="prolific")
    now = timezone.now()
    trial = services.session_current_trial(session=session, now=now)
    assert trial.lease_expires_at > now + timedelta(minutes=29)
    assert study_sync(study=study, adapters={"prolific": platform})["abandoned"] == 0
    platform.withdraw("LEAVER", "RETURNED")
    counts = study_sync(study=study, adapters={"prolific": platform})
    assert counts == {"submissions": 1, "abandoned": 1, "newly_abandoned": 1}
    assert study_sync(study=study, adapters={"prolific": platform})["newly_abandoned"] == 0
    trial.refresh_from_db()
    assert trial.lease_expires_at <= timezone.now()  # its item is free for the next rater
    session.refresh_from_db()
    assert session.status == Session.Status.ABANDONED and session.excluded
    with pytest.raises(StudyError, match="ended"):
        services.trial_answer(session=session, trial_index=0, choices={"overall": 0})
    # The next participant gets that item first: it has no valid vote and no lease.
    other = start_session(study, external_id="NEXT", source="prolific")
    assert services.session_current_trial(session=other).item_id == trial.item_id


def test_the_browser_of_an_abandoned_session_is_told_it_ended():
    study = make_study(slug="ended", n_items=1, n_systems=2, trials_per_session=1,
                       with_checks=False)  # fmt: skip
    browser = Client()
    url = browser.get(f"/s/{study.slug}/", {"code": "GONE1"})["Location"]
    browser.post(url + "consent", {"consent": "yes"})
    services.session_abandon(session=Session.objects.get())
    page = browser.get(url)
    assert page.status_code == 410 and b"returned or timed out" in page.content


def test_the_worker_task_syncs_every_live_study_and_survives_a_failing_platform(
    monkeypatch, capsys
):
    study = make_study(slug="periodic", n_items=1, n_systems=2, with_checks=False)
    Recruitment.objects.create(
        study=study, recruiter="prolific", remote_id="st", places=1, reward_cents=100
    )
    seen = []

    def fake_sync(*, study):
        seen.append(study.slug)
        from studies.recruiters.base import RecruiterError

        raise RecruiterError("Prolific GET /submissions/: HTTP 401")

    monkeypatch.setattr("studies.services.recruiting.study_sync", fake_sync)
    result = sync_submissions_task.call_local()
    assert seen == ["periodic"] and "401" in result["periodic"]["error"]
    # The periodic schedule is the setting's.
    periodic = sync_submissions_task.s()
    assert periodic.validate_datetime(datetime(2026, 1, 1, 10, 5))
    assert not periodic.validate_datetime(datetime(2026, 1, 1, 10, 6))


def test_sync_submissions_command_marks_returned_sessions(monkeypatch, capsys):
    study = make_study(slug="cmd", n_items=1, n_systems=2, with_checks=False)
    Recruitment.objects.create(
        study=study, recruiter="prolific", remote_id="st", places=2, reward_cents=100
    )
    platform = PlatformDouble(2)
    platform.take_place("P1")
    start_session(study, external_id="P1", source="prolific")
    platform.withdraw("P1", "RETURNED")
    monkeypatch.setattr("studies.services.recruiting.recruiter_for", lambda recruitment: platform)
    call_command("sync_submissions", study.slug)
    out = capsys.readouterr().out
    assert "1 sessions newly marked abandoned" in out
    assert Session.objects.get().status == Session.Status.ABANDONED
