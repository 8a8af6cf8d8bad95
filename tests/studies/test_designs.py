"""Every design: balanced allocation, launch checks, a whole session through the views, the
stored votes and their rows in the votes export."""

from collections import Counter
from itertools import combinations

import pytest
from django.test import Client
from django.utils import timezone

from studies import selectors, services
from studies.analysis.votes import votes_from_rows
from studies.designs import DESIGNS
from studies.errors import StudyNotReady
from studies.models import Session, Trial, Vote
from tests.factories import SYSTEM_KEYS, make_study, play_all, start_session

pytestmark = [pytest.mark.django_db, pytest.mark.media]

REF, ANCHOR = SYSTEM_KEYS[0], SYSTEM_KEYS[1]


def _allocate(study, n: int) -> list[list[str]]:
    """n one-trial sessions on the study's one item: the systems of each trial in slot order."""
    orders = []
    for k in range(n):
        session = start_session(study, external_id=f"p{k}")
        trial = services.session_current_trial(session=session)
        orders.append([s.system.key for s in trial.slots.order_by("position")])
    return orders


def _within_one(counter: Counter, keys) -> bool:
    values = [counter.get(k, 0) for k in keys]
    return max(values) - min(values) <= 1


def test_pairwise_balances_pairs_and_order_per_item():
    study = make_study(
        slug="pw", design="pairwise", n_items=1, trials_per_session=1, with_checks=False
    )
    systems = [s.key for s in study.systems.all()]
    pairs = [frozenset(p) for p in combinations(systems, 2)]
    orders = _allocate(study, 2 * len(pairs))  # two cycles: every pair in both orders
    for n in range(1, len(orders) + 1):
        assert _within_one(Counter(frozenset(o) for o in orders[:n]), pairs), orders[:n]
    assert Counter(tuple(o) for o in orders) == Counter(
        {(a, b): 1 for a in systems for b in systems if a != b}
    )
    first = Counter(o[0] for o in orders)
    assert set(first.values()) == {len(systems) - 1}  # each system first as often as second


def test_real_or_generated_pairs_the_reference_with_each_system_in_both_orders():
    study = make_study(
        slug="rog", design="real_or_generated", roles=("reference",), n_items=1,
        trials_per_session=1, with_checks=False,
    )  # fmt: skip
    assert [c.key for c in study.criteria.all()] == ["real"]
    generated = [k for k in SYSTEM_KEYS[1:4]]
    orders = _allocate(study, 2 * len(generated))
    assert all(len(o) == 2 and REF in o for o in orders)
    shown = [next(s for s in o if s != REF) for o in orders]
    for n in range(1, len(orders) + 1):
        assert _within_one(Counter(shown[:n]), generated)
        firsts = Counter(o[0] == REF for o in orders[:n])
        assert abs(firsts[True] - firsts[False]) <= 1
    assert Counter((o[0] == REF, s) for o, s in zip(orders, shown, strict=True)) == Counter(
        {(first, s): 1 for first in (True, False) for s in generated}
    )


def test_rating_one_version_per_page_rates_every_system_equally_often():
    study = make_study(
        slug="acr1", design="rating", versions_per_trial=1, n_items=1, trials_per_session=1,
        with_checks=False,
    )  # fmt: skip
    orders = _allocate(study, 8)
    assert all(len(o) == 1 for o in orders)
    assert set(Counter(o[0] for o in orders).values()) == {2}


def test_mushra_shows_every_version_in_latin_square_slots():
    study = make_study(
        slug="mu", design="mushra", roles=("reference", "anchor"), n_systems=4, n_items=1,
        trials_per_session=1, with_checks=False,
    )  # fmt: skip
    orders = _allocate(study, 4)
    for position in range(4):
        assert len({o[position] for o in orders}) == 4  # each system once in each slot


@pytest.mark.parametrize(
    "design, roles, problem",
    [
        ("real_or_generated", (), "needs exactly one reference system"),
        ("mushra", ("reference",), "needs at least one anchor system"),
        ("mushra", ("anchor",), "needs exactly one reference system"),
        ("pairwise", ("anchor",), "Anchor systems (sys_foley_zq) belong to MUSHRA studies"),
    ],
)
def test_launch_names_what_the_design_needs(design, roles, problem):
    study = make_study(slug="bad", design=design, roles=roles, with_checks=False, launch=False)
    with pytest.raises(StudyNotReady) as raised:
        services.study_launch(study=study)
    assert any(problem in p for p in raised.value.problems), raised.value.problems


# --- a whole session through the views, per design ------------------------------------------


def _post_answers(design_key: str, criteria: list[str], labels: list[str]) -> dict:
    if design_key in ("rating", "mushra"):
        score = {"rating": ["4", "2", "5", "1", "3", "3"], "mushra": ["90", "35", "70", "10"]}
        return {
            f"{key}:{label}": score[design_key][i % len(score[design_key])]
            for key in criteria
            for i, label in enumerate(labels)
        }
    return {key: labels[-1] for key in criteria}


DESIGN_STUDIES = {
    "best_of": dict(),
    "pairwise": dict(allow_no_preference=True),
    "real_or_generated": dict(roles=("reference",), check_trials_per_session=0),
    "rating": dict(),
    "mushra": dict(roles=("reference", "anchor"), check_trials_per_session=0),
}


@pytest.mark.parametrize("design_key", list(DESIGN_STUDIES))
def test_a_whole_session_through_the_views_stores_the_designs_votes(design_key):
    options = DESIGN_STUDIES[design_key]
    study = make_study(slug=f"v-{design_key}", design=design_key, trials_per_session=3, **options)
    design = DESIGNS[design_key]
    client = Client()
    url = client.get(f"/s/{study.slug}/", {"code": "P1"})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    session = Session.objects.get(participant__external_id="P1")
    criteria = [c.key for c in study.criteria.all()]
    pages = 0
    while True:
        page = client.get(url)
        if "trial" not in (page.context or {}):
            break
        trial = page.context["trial"]
        labels = [s["label"] for s in page.context["slots"]]
        assert len(labels) == design.n_versions(study)
        html = page.content.decode()
        assert design.answer_hint.replace("'", "&#x27;") in html
        answers = _post_answers(design_key, criteria, labels)
        early = client.post(url + f"t/{trial.index}/answer", answers)
        assert early.status_code == 409  # nothing played yet
        play_all(session, trial, now=timezone.now())
        response = client.post(
            url + f"t/{trial.index}/answer", answers, HTTP_ACCEPT="application/json"
        )
        assert response.status_code == 200, response.content
        again = client.post(
            url + f"t/{trial.index}/answer", answers, HTTP_ACCEPT="application/json"
        )
        assert again.json() == {**response.json(), "repeated": True}
        pages += 1
    session.refresh_from_db()
    assert session.status == Session.Status.COMPLETED and pages == session.n_trials
    trials = Trial.objects.filter(session=session)
    per_trial = {t.pk: t.votes.count() for t in trials}
    for trial in trials:
        expected = len(criteria) * (trial.slots.count() if design.rated else 1)
        assert per_trial[trial.pk] == expected
    rows = selectors.study_vote_rows(study=study)
    assert {r["design"] for r in rows} == {design_key}
    frame = votes_from_rows(rows)  # the export passes the reader's checks
    assert len(frame) == Vote.objects.filter(trial__session=session).count()
    if design.rated:
        assert frame["score"].notna().all()
    else:
        assert frame["score"].isna().all()


def test_pairwise_no_preference_is_stored_without_a_slot_and_exported_empty():
    study = make_study(slug="tie", design="pairwise", allow_no_preference=True, with_checks=False)
    client = Client()
    url = client.get(f"/s/{study.slug}/", {"code": "P1"})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    page = client.get(url)
    assert b'value="="' in page.content and b"No preference" in page.content
    session = Session.objects.get()
    play_all(session, page.context["trial"], now=timezone.now())
    answers = {c.key: "=" for c in study.criteria.all()}
    assert client.post(url + "t/0/answer", answers).status_code == 302
    assert Vote.objects.filter(slot__isnull=True).count() == len(answers)
    row = selectors.study_vote_rows(study=study)[0]
    assert row["chosen_slot"] == "" and row["chosen_system"] == ""


def test_no_preference_is_refused_where_the_study_does_not_offer_it():
    study = make_study(slug="notie", design="pairwise", with_checks=False)
    client = Client()
    url = client.get(f"/s/{study.slug}/", {"code": "P1"})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    page = client.get(url)
    assert b"No preference" not in page.content
    play_all(Session.objects.get(), page.context["trial"], now=timezone.now())
    response = client.post(url + "t/0/answer", {c.key: "=" for c in study.criteria.all()})
    assert response.status_code == 400 and b"must name a version" in response.content


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"overall:A": "7"}, "must be a whole number from 1 to 5"),
        ({"overall:A": "3.5"}, "must be a whole number from 1 to 5"),
        ({"overall:A": "x"}, "must be a number"),
        ({"overall:Z": "3"}, "Unknown field"),
        ({"overall": "A"}, "Unknown field"),
        ({"overall:A": "3"}, "Please rate every version on every question"),
    ],
)
def test_bad_ratings_are_refused_and_named(fields, message):
    study = make_study(slug="badr", design="rating", with_checks=False)
    client = Client()
    url = client.get(f"/s/{study.slug}/", {"code": "P1"})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    page = client.get(url)
    play_all(Session.objects.get(), page.context["trial"], now=timezone.now())
    response = client.post(url + "t/0/answer", fields)
    assert response.status_code in (400, 422, 409) and message.encode() in response.content
    assert not Vote.objects.exists()


def test_a_design_brings_its_instructions_and_the_consent_page_its_length():
    study = make_study(
        slug="instr", design="mushra", roles=("reference", "anchor"), with_checks=False
    )
    assert "from 0 (bad) to 100 (excellent)" in study.instructions
    mine = make_study(slug="mine", design="rating", instructions="Rate them.", with_checks=False)
    assert mine.instructions == "Rate them."
    session = start_session(study, "p1")
    # 3 trials x 4 versions: plays (2 s + 2 s each) plus a score per version and question.
    assert selectors.session_estimated_minutes(session=session) == round(
        (3 * (4 * 4.0 + 20.0 + 4.0 * 4 * 1) + 60.0) / 60.0
    )
