"""Dry runs (simulate_raters) are kept apart from the real study: marked, left out of
allocation targets, progress, exports and analysis unless asked for, and removable."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from studies import allocation, selectors
from studies.models import Session, Vote
from studies.services.rater_simulation import simulate_raters
from tests.factories import make_study, start_session

pytestmark = [pytest.mark.django_db, pytest.mark.media]


def _prefs(study):
    return {k: 0.25 for k in study.systems.values_list("key", flat=True)}


def test_dry_runs_are_marked_and_left_out_unless_asked(tmp_path, capsys):
    study = make_study(slug="dry", trials_per_session=3, check_trials_per_session=0)
    answered = simulate_raters(study=study, participants=3, preferences=_prefs(study))
    assert answered == 9
    assert set(Session.objects.values_list("simulated", flat=True)) == {True}
    progress = selectors.study_progress(study=study)
    assert (progress.sessions_started, progress.simulated_sessions) == (0, 3)
    assert sum(progress.valid_votes_by_criterion.values()) == 0
    now = timezone.now()
    assert all(load.valid == 0 for load in allocation.item_loads(study, now).values())
    assert sum(load.valid for load in allocation.item_loads(study, now, simulated=True).values())
    call_command("export_votes", "dry", "--out", str(tmp_path / "real.csv"))
    assert (tmp_path / "real.csv").read_text().count("\n") == 1  # the header only
    call_command("export_votes", "dry", "--out", str(tmp_path / "all.csv"), "--include-simulated")
    assert (tmp_path / "all.csv").read_text().count("\n") == 1 + 9 * study.criteria.count()
    with pytest.raises(CommandError, match="no votes yet from real sessions"):
        call_command("analyze", "dry", "--out", str(tmp_path / "a"))


def test_a_real_rater_is_allocated_as_if_the_dry_runs_had_not_happened():
    study = make_study(slug="alloc", trials_per_session=2, check_trials_per_session=0, n_items=4)
    simulate_raters(study=study, participants=5, preferences=_prefs(study))
    session = start_session(study)
    loads = allocation.item_loads(study, timezone.now())
    assert sum(load.valid for load in loads.values()) == 0  # nothing real answered yet
    assert not session.simulated


def test_delete_simulated_removes_dry_runs_and_nothing_else(capsys):
    study = make_study(slug="clean", trials_per_session=2, check_trials_per_session=0)
    simulate_raters(study=study, participants=2, preferences=_prefs(study))
    real = start_session(study)
    votes_before = Vote.objects.count()
    call_command("delete_simulated", "clean")
    assert "removed 2 dry-run sessions" in capsys.readouterr().out
    assert list(Session.objects.all()) == [real]
    assert Vote.objects.count() == votes_before - 2 * 2 * study.criteria.count()
