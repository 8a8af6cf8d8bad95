"""Review in two tiers, bonuses once, and top-up, through the local recruiter."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from studies.errors import StudyError
from studies.models import Recruitment, RemoteAction, Session
from studies.services import recruiting
from tests.factories import complete_session, make_study, start_session

pytestmark = [pytest.mark.django_db, pytest.mark.media, pytest.mark.postgres]
NOW = timezone.now()


def attentive(trial, key, n_slots):
    return trial.expected_slot if trial.check_kind else 0


def careless(trial, key, n_slots):
    return (trial.expected_slot + 1) % n_slots if trial.check_kind else 0


@pytest.fixture
def reviewed_study():
    study = make_study(
        slug="rev", trials_per_session=4, check_trials_per_session=2, target_votes_per_item=4
    )
    good = start_session(study, "good")
    complete_session(good, now=NOW, choose=attentive)
    bad = start_session(study, "bad")
    complete_session(bad, now=NOW, choose=careless)
    start_session(study, "unfinished")
    Recruitment.objects.create(
        study=study, recruiter="local", remote_id="local-1", places=3, reward_cents=100
    )
    return study


def test_review_tiers_dry_run_then_for_real(reviewed_study, capsys):
    study = reviewed_study
    rows = {r["participant"]: r for r in recruiting.study_review(study=study, dry_run=True)}
    assert rows["good"]["decision"] == "approve" and rows["good"]["pay"] and rows["good"]["use"]
    assert rows["bad"]["decision"] == "reject" and "failed 2 checks" in rows["bad"]["reasons"]
    assert rows["unfinished"]["decision"] == "wait"
    assert not RemoteAction.objects.exists()
    assert not Session.objects.filter(excluded=True).exists()

    call_command("review", "rev")
    out = capsys.readouterr().out
    assert "reject" in out and "requested 1 more places" in out
    states = dict(RemoteAction.objects.values_list("target", "kind").exclude(kind="add_places"))
    good, bad = (Session.objects.get(participant__external_id=p) for p in ("good", "bad"))
    assert states == {str(good.pk): "approve", str(bad.pk): "reject"}
    assert bad.excluded and not good.excluded
    # Running again sends no decision twice.
    call_command("review", "rev", "--no-top-up")
    assert RemoteAction.objects.exclude(kind="add_places").count() == 2


def test_bonuses_go_once_to_the_pay_tier(reviewed_study):
    study = reviewed_study
    with pytest.raises(StudyError, match="no bonus set"):
        recruiting.study_pay_bonuses(study=study)
    study.bonus_cents = 40
    study.save()
    assert recruiting.study_pay_bonuses(study=study, dry_run=True)[0]["participant"] == "good"
    assert not RemoteAction.objects.exists()
    first = recruiting.study_pay_bonuses(study=study)
    again = recruiting.study_pay_bonuses(study=study)
    assert [r["participant"] for r in first] == ["good"] and again[0]["sent"] == "done"
    assert RemoteAction.objects.filter(kind="bonus").count() == 1


def test_top_up_requests_places_for_votes_removed_by_review(reviewed_study):
    study = reviewed_study
    # 3 items x 4 votes wanted; 8 answered and 4 more under way: nothing missing yet.
    assert recruiting.study_top_up(study=study, dry_run=True) == 0
    recruiting.study_review(study=study)  # the careless session's 4 votes go
    assert recruiting.study_top_up(study=study) == 1  # 4 regular trials per session
    assert Recruitment.objects.get(study=study).places == 3 + 1
    assert RemoteAction.objects.filter(kind="add_places", state="done").count() == 1
