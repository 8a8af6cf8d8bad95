"""Many participants at once: nothing lost, nothing duplicated (real threads, real database)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from studies import services
from studies.models import Item, Session, Trial, Vote
from tests.factories import make_study, play_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.media, pytest.mark.postgres]


def _run_at_once(functions):
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def runner(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def _ready(study, code):
    client = Client()
    url = client.get(f"/s/{study.slug}/", {"code": code})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    client.get(url)
    session = Session.objects.get(participant__external_id=code)
    play_all(session, session.trials.get(index=0), now=timezone.now() - timedelta(seconds=1))
    return client, url


def test_simultaneous_answers_from_many_participants_are_all_stored():
    study = make_study(slug="busy", trials_per_session=2, with_checks=False)
    answers = {c.key: "C" for c in study.criteria.all()}
    ready = [_ready(study, f"P{n}") for n in range(8)]
    statuses = _run_at_once(
        [lambda c=c, u=u: c.post(u + "t/0/answer", answers).status_code for c, u in ready]
    )
    assert statuses == [302] * 8
    assert Vote.objects.count() == 8 * 4
    assert Trial.objects.filter(answered_at__isnull=False).count() == 8


def test_the_same_answer_submitted_at_once_is_stored_once():
    study = make_study(slug="dup", trials_per_session=2, with_checks=False)
    client, url = _ready(study, "P1")
    answers = {c.key: "D" for c in study.criteria.all()}
    statuses = _run_at_once([lambda: client.post(url + "t/0/answer", answers).status_code] * 6)
    assert statuses == [302] * 6
    assert Vote.objects.count() == 4
    assert {v.slot.position for v in Vote.objects.all()} == {3}


def test_simultaneous_arrivals_get_consistent_trials():
    study = make_study(slug="rush", n_items=3, trials_per_session=1, with_checks=False)

    def arrive(n):
        session = services.session_start(study=study, source="local", external_id=f"R{n}")
        services.session_consent(session=session)
        return services.session_current_trial(session=session).item_id

    items = _run_at_once([lambda n=n: arrive(n) for n in range(9)])
    assert Session.objects.count() == 9
    for item in Item.objects.filter(study=study):
        assert item.times_allocated == Trial.objects.filter(item=item).count()
    # Fewest-first keeps the three items within one of each other.
    counts = [items.count(pk) for pk in set(items)]
    assert max(counts) - min(counts) <= 1 and len(set(items)) == 3
