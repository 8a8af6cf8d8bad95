from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from studies import allocation, services
from studies.models import Item, Session, Trial
from tests.factories import complete_session, make_study, play_all, start_session

pytestmark = [pytest.mark.django_db, pytest.mark.media]
NOW = timezone.now()


def test_latin_square_rows_put_every_system_in_every_slot_once():
    base = ["a", "b", "c", "d"]
    rows = [allocation.latin_square_row(base, r) for r in range(4)]
    for slot in range(4):
        assert sorted(row[slot] for row in rows) == base
    assert all(sorted(row) == base for row in rows)


@pytest.mark.parametrize("n_systems", [4, 3])
def test_200_sessions_balance_every_system_over_slots_per_item(n_systems):
    study = make_study(
        n_systems=n_systems,
        n_items=3,
        trials_per_session=2,
        check_trials_per_session=0,
        with_checks=False,
    )
    for n in range(200):
        session = start_session(study, external_id=f"p{n}")
        complete_session(session, now=NOW + timedelta(minutes=n))
    counts = Counter(
        (slot.trial.item_id, slot.system_id, slot.position)
        for slot in allocation.TrialSlot.objects.select_related("trial")
    )
    for item in study.items.all():
        for system in study.systems.all():
            per_slot = [counts[(item.pk, system.pk, pos)] for pos in range(n_systems)]
            assert max(per_slot) - min(per_slot) <= 1, (item.key, system.key, per_slot)
    # Items are served evenly too: 400 trials over 3 items.
    per_item = Counter(Trial.objects.values_list("item_id", flat=True))
    assert max(per_item.values()) - min(per_item.values()) <= 1


def test_new_trials_go_to_the_items_with_the_fewest_valid_plus_in_progress_votes():
    study = make_study(n_items=3, trials_per_session=1, with_checks=False)
    first = services.session_current_trial(session=start_session(study, "a"), now=NOW)
    second = services.session_current_trial(session=start_session(study, "b"), now=NOW)
    third = services.session_current_trial(session=start_session(study, "c"), now=NOW)
    assert len({first.item_id, second.item_id, third.item_id}) == 3


def test_an_expired_lease_frees_its_item():
    study = make_study(n_items=2, trials_per_session=1, with_checks=False, lease_minutes=10)
    held = services.session_current_trial(session=start_session(study, "a"), now=NOW)
    # While the lease is live, the next participant gets the other item.
    other = services.session_current_trial(session=start_session(study, "b"), now=NOW)
    assert other.item_id != held.item_id
    # b answers; a abandons. After a's lease expires a's item has the fewest votes.
    sb = Session.objects.get(participant__external_id="b")
    play_all(sb, other, now=NOW + timedelta(minutes=1))
    keys = list(study.criteria.values_list("key", flat=True))
    services.trial_answer(
        session=sb, trial_index=0, choices=dict.fromkeys(keys, 0), now=NOW + timedelta(minutes=1)
    )
    later = services.session_current_trial(
        session=start_session(study, "c"), now=NOW + timedelta(minutes=11)
    )
    assert later.item_id == held.item_id


def test_resuming_renews_the_lease_and_keeps_the_same_trial():
    study = make_study(with_checks=False)
    session = start_session(study)
    trial = services.session_current_trial(session=session, now=NOW)
    again = services.session_current_trial(session=session, now=NOW + timedelta(minutes=20))
    assert again.pk == trial.pk
    assert again.lease_expires_at == NOW + timedelta(minutes=20 + study.lease_minutes)


def test_a_session_sees_each_item_once_while_unseen_items_remain():
    study = make_study(n_items=3, trials_per_session=3, with_checks=False)
    trials = complete_session(start_session(study), now=NOW)
    assert len({t.item_id for t in trials}) == 3


def test_check_trials_put_the_target_in_the_expected_slot_and_foils_elsewhere():
    study = make_study(trials_per_session=2, check_trials_per_session=2)
    for n in range(10):
        complete_session(start_session(study, external_id=f"p{n}"), now=NOW)
    checks = Trial.objects.exclude(check_kind="")
    assert checks.count() == 20
    assert {t.check_kind for t in checks} == {"noise", "sync"}
    for trial in checks:
        slots = list(trial.slots.select_related("check_clip"))
        assert all(s.system_id is None and s.clip_id is None for s in slots)
        targets = [s.position for s in slots if s.check_clip.is_target]
        assert targets == [trial.expected_slot]
        assert all(s.check_clip.kind == trial.check_kind for s in slots)
        expected_key = {"noise": "noise", "sync": "synchronization"}[trial.check_kind]
        assert trial.check_criterion.key == expected_key
    # Expected slots vary (not always A).
    assert len({t.expected_slot for t in checks}) > 1


def test_allocation_counter_counts_every_trial_of_an_item():
    study = make_study(n_items=2, trials_per_session=2, with_checks=False)
    for n in range(5):
        complete_session(start_session(study, external_id=f"p{n}"), now=NOW)
    for item in Item.objects.filter(study=study):
        assert item.times_allocated == Trial.objects.filter(item=item).count()
