"""The study dashboard on the study's admin page: every panel from the study's own data."""

import pytest

from studies.dashboard import STOPPING_NOTE, study_dashboard
from studies.models import Session
from studies.services.rater_simulation import simulate_raters
from tests.factories import SYSTEM_KEYS, make_study

pytestmark = [pytest.mark.django_db, pytest.mark.media]


def _live_study(slug="dash", participants=6):
    study = make_study(slug=slug, n_items=4, trials_per_session=4, check_trials_per_session=1,
                       target_votes_per_item=3, qc_min_trial_seconds=4.0)  # fmt: skip
    preferences = {SYSTEM_KEYS[s]: w for s, w in enumerate((4.0, 2.0, 1.0, 1.0))}
    simulate_raters(study=study, participants=participants, preferences=preferences, seed=1)
    Session.objects.filter(study=study).update(simulated=False)  # as if real raters
    return study


def test_the_dashboard_counts_what_the_study_holds(admin_client):
    study = _live_study()
    passed, failed = Session.objects.filter(study=study)[:2]
    passed.screening = {"result": {"passed": True, "reasons": []}}
    passed.save()
    failed.screening = {"result": {"passed": False, "reasons": ["headphones"]}}
    failed.save()
    d = study_dashboard(study=study)
    assert d["over_time"].startswith("<svg") and d["heatmap"].startswith("<svg")
    assert d["cells"] == 4 * 4  # items x criteria
    assert d["qc"]["votes_in"] == 6 * 4 * 4  # regular votes of six sessions
    too_fast = {name: votes for name, votes, *_ in d["qc_rows"]}["answered too fast"]
    assert 0 < too_fast < d["qc"]["votes_in"]  # the simulation answers 2-8 s after the clips
    assert (d["screening"]["passed"], d["screening"]["failed"]) == (1, 1)
    assert d["pass_rate"] == 50 and d["reasons"] == [("headphones", 1)]
    assert 2 <= d["answer_seconds"]["median"] <= 8 and d["trial_seconds"]["n"] == 24
    assert d["share_rows"] is None  # interim shares only when asked for

    page = admin_client.get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert 'id="study-dashboard"' in page and "Show interim shares" in page
    assert "failed check trials" in page and "headphones" in page
    assert "Import items" in page and "Generate clips" in page
    asked = admin_client.get(f"/admin/studies/study/{study.pk}/change/?interim=1")
    text = asked.content.decode()
    assert STOPPING_NOTE.split(":")[0] in text and "valid votes (raw shares" in text


def test_the_dashboard_of_a_new_study_says_what_is_missing(admin_client):
    study = make_study(slug="fresh", n_items=2, launch=False)
    page = admin_client.get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert "No sessions yet." in page and "No votes yet." in page
    assert "Nobody screened yet." in page


@pytest.mark.parametrize(
    "design, options, preferences, expect",
    [
        ("pairwise", dict(allow_no_preference=True), (4.0, 2.0, 1.0, 1.0), "%"),
        ("rating", dict(), (4.5, 3.0, 2.0, 1.5), "mean 4."),
    ],
)
def test_interim_figures_fit_the_design(admin_client, design, options, preferences, expect):
    study = make_study(slug=f"dash-{design}", design=design, trials_per_session=3, **options)
    prefs = {SYSTEM_KEYS[s]: w for s, w in enumerate(preferences)}
    simulate_raters(study=study, participants=4, preferences=prefs, seed=2)
    Session.objects.filter(study=study).update(simulated=False)
    d = study_dashboard(study=study, interim=True)
    criterion, total, rows = d["share_rows"][0]
    assert total > 0 and len(rows) == 4
    names = [name for name, _, _ in rows]
    assert names[0] == f"System {SYSTEM_KEYS[0].upper()} name"
    assert expect in rows[0][2]
    page = admin_client.get(f"/admin/studies/study/{study.pk}/change/?interim=1").content
    assert expect.encode() in page
