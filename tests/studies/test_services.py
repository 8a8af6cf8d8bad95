from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from studies import services
from studies.errors import AnswerRejected, NotFound, StudyError, StudyNotOpen, StudyNotReady
from studies.models import DEFAULT_CRITERIA, CheckClip, Clip, PlaybackEvent, Session, Study, Vote
from tests.factories import CLIP_S, complete_session, make_study, play_all, start_session

pytestmark = [pytest.mark.django_db, pytest.mark.media, pytest.mark.postgres]
NOW = timezone.now()


def test_study_create_adds_the_four_default_criteria_in_order():
    study = services.study_create(title="T", slug="t", systems=[("a", "A"), ("b", "B")])
    assert [(c.key, c.question) for c in study.criteria.all()] == list(DEFAULT_CRITERIA)
    assert study.status == Study.Status.DRAFT


def test_study_create_rejects_a_bad_system_key():
    with pytest.raises(ValidationError, match="lowercase"):
        services.study_create(title="T", slug="t", systems=[("Bad Key!", "A")])
    assert not Study.objects.exists()


def test_launch_lists_every_problem_and_leaves_the_study_draft():
    study = make_study(launch=False)
    item0, item1 = study.items.order_by("id")[:2]
    Clip.objects.filter(item=item0, system=study.systems.first()).delete()
    Clip.objects.filter(item=item1).update(duration_s=CLIP_S + 0.2)
    with pytest.raises(StudyNotReady) as info:
        services.study_launch(study=study)
    problems = "\n".join(info.value.problems)
    assert "'item-0' has no clip for system 'sys_foley_zq'" in problems
    assert "more than 50 ms apart" in problems
    # the missing clip + four long clips of item-1 + item-1's versions disagreeing in duration
    assert len(info.value.problems) == 1 + 4 + 1
    assert "'item-1': its versions differ in duration" in problems
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT


def test_launch_accepts_durations_within_50_ms_of_the_item_when_all_versions_agree():
    study = make_study(launch=False)
    Clip.objects.filter(item__study=study).update(duration_s=CLIP_S + 0.049)
    CheckClip.objects.filter(item__study=study).update(duration_s=CLIP_S + 0.049)
    assert services.study_launch(study=study).status == Study.Status.LIVE


def test_launch_reports_missing_files_too_few_systems_and_missing_check_material():
    study = make_study(launch=False, n_systems=2, with_checks=False)
    study.check_trials_per_session = 2
    study.save()
    Clip.objects.filter(item__study=study).update(media="clips/does-not-exist.mp4")
    study.systems.last().delete()
    with pytest.raises(StudyNotReady) as info:
        services.study_launch(study=study)
    text = "\n".join(info.value.problems)
    assert "2 to 6 systems; this one has 1" in text
    assert "media file is missing" in text
    assert "no item has check material" in text


def test_pause_and_close_follow_the_allowed_transitions():
    study = make_study()
    services.study_set_status(study=study, status=Study.Status.PAUSED)
    assert services.study_launch(study=study).status == Study.Status.LIVE
    services.study_set_status(study=study, status=Study.Status.CLOSED)
    with pytest.raises(StudyNotReady, match="closed"):
        services.study_launch(study=study)
    with pytest.raises(StudyError):
        services.study_set_status(study=study, status=Study.Status.PAUSED)


def test_one_session_per_participant_and_coming_back_resumes_it():
    study = make_study()
    first = services.session_start(study=study, source="prolific", external_id="abc")
    again = services.session_start(study=study, source="prolific", external_id="abc")
    assert first.pk == again.pk
    assert Session.objects.count() == 1
    assert first.n_trials == study.trials_per_session + study.check_trials_per_session


def test_new_sessions_need_a_live_study_but_started_ones_resume():
    study = make_study()
    started = services.session_start(study=study, source="local", external_id="x")
    services.study_set_status(study=study, status=Study.Status.PAUSED)
    with pytest.raises(StudyNotOpen, match="paused"):
        services.session_start(study=study, source="local", external_id="y")
    assert services.session_start(study=study, source="local", external_id="x").pk == started.pk


def test_checks_never_come_first_and_are_counted_in_the_session():
    study = make_study(trials_per_session=4, check_trials_per_session=2)
    for n in range(20):
        session = services.session_start(study=study, source="local", external_id=f"p{n}")
        assert len(session.check_indices) == 2
        assert 0 not in session.check_indices
        assert session.n_trials == 6


def test_trials_need_consent_first():
    study = make_study()
    session = services.session_start(study=study, source="local", external_id="x")
    with pytest.raises(StudyError, match="consent"):
        services.session_current_trial(session=session, now=NOW)


def test_an_ended_event_counts_only_after_a_real_play_through():
    study = make_study(with_checks=False)
    session = start_session(study)
    trial = services.session_current_trial(session=session, now=NOW)
    record = services.playback_record
    record(session=session, trial_index=0, position=0, kind="play", now=NOW)
    state = record(
        session=session, trial_index=0, position=0, kind="ended", now=NOW + timedelta(seconds=0.5)
    )
    assert state.played[0] is False
    assert PlaybackEvent.objects.get(kind="ended").accepted is False
    state = record(
        session=session,
        trial_index=0,
        position=0,
        kind="ended",
        now=NOW + timedelta(seconds=CLIP_S),
    )
    assert state.played == [True, False, False, False]
    assert trial.slots.get(position=0).played_to_end_at is not None
    with pytest.raises(AnswerRejected, match="slot"):
        record(session=session, trial_index=0, position=7, kind="play", now=NOW)
    with pytest.raises(NotFound):
        record(session=session, trial_index=5, position=0, kind="play", now=NOW)


def test_answers_are_refused_until_every_clip_has_played_and_nothing_is_stored():
    study = make_study(with_checks=False)
    session = start_session(study)
    services.session_current_trial(session=session, now=NOW)
    keys = [c.key for c in study.criteria.all()]
    with pytest.raises(AnswerRejected, match="play every video"):
        services.trial_answer(
            session=session, trial_index=0, choices=dict.fromkeys(keys, 0), now=NOW
        )
    assert Vote.objects.count() == 0


def test_an_answer_needs_every_criterion_and_valid_slots():
    study = make_study(with_checks=False)
    session = start_session(study)
    trial = services.session_current_trial(session=session, now=NOW)
    play_all(session, trial, now=NOW)
    keys = [c.key for c in study.criteria.all()]
    bad = [
        ({k: 0 for k in keys[:-1]}, "missing: overall"),
        ({**dict.fromkeys(keys, 0), "loudness": 1}, "Unknown question: loudness"),
        ({**dict.fromkeys(keys, 0), "noise": 4}, "not one of this trial's videos"),
    ]
    for choices, message in bad:
        with pytest.raises(AnswerRejected, match=message):
            services.trial_answer(session=session, trial_index=0, choices=choices, now=NOW)
    assert Vote.objects.count() == 0


def test_repeating_a_submit_returns_the_stored_answer_without_duplicates():
    study = make_study(with_checks=False)
    session = start_session(study)
    trial = services.session_current_trial(session=session, now=NOW)
    play_all(session, trial, now=NOW)
    keys = [c.key for c in study.criteria.all()]
    first = services.trial_answer(
        session=session, trial_index=0, choices=dict.fromkeys(keys, 1), now=NOW
    )
    again = services.trial_answer(
        session=session, trial_index=0, choices=dict.fromkeys(keys, 2), now=NOW
    )
    assert first.created and not again.created
    assert again.choices == dict.fromkeys(keys, 1)
    assert Vote.objects.count() == len(keys)


def test_a_whole_session_stores_one_vote_per_trial_and_criterion_then_completes():
    study = make_study(trials_per_session=3, check_trials_per_session=1)
    session = start_session(study)
    trials = complete_session(session, now=NOW)
    session.refresh_from_db()
    assert session.status == Session.Status.COMPLETED
    assert len(trials) == 4
    assert Vote.objects.filter(trial__session=session).count() == 4 * 4
    assert sum(t.is_check for t in trials) == 1
    assert services.session_current_trial(session=session, now=NOW) is None


def test_rt_is_measured_from_the_last_clip_ending():
    study = make_study(with_checks=False)
    session = start_session(study)
    trial = services.session_current_trial(session=session, now=NOW)
    play_all(session, trial, now=NOW)
    keys = [c.key for c in study.criteria.all()]
    services.trial_answer(
        session=session,
        trial_index=0,
        choices=dict.fromkeys(keys, 0),
        now=NOW + timedelta(seconds=4.25),
    )
    assert set(Vote.objects.values_list("rt_ms", flat=True)) == {4250}


def test_a_closed_study_takes_no_more_answers():
    study = make_study(with_checks=False)
    session = start_session(study)
    trial = services.session_current_trial(session=session, now=NOW)
    play_all(session, trial, now=NOW)
    services.study_set_status(study=study, status=Study.Status.CLOSED)
    session.refresh_from_db()
    keys = [c.key for c in study.criteria.all()]
    with pytest.raises(StudyNotOpen, match="closed"):
        services.trial_answer(
            session=session, trial_index=0, choices=dict.fromkeys(keys, 0), now=NOW
        )
    assert Vote.objects.count() == 0
