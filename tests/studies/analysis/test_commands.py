import json

import pytest
from django.core.management import CommandError, call_command

from studies.analysis.votes import read_votes
from studies.models import Session, Vote
from tests.factories import SYSTEM_KEYS, make_study

pytestmark = pytest.mark.django_db
PREFS = f"{SYSTEM_KEYS[0]}=0.55,{SYSTEM_KEYS[1]}=0.15,{SYSTEM_KEYS[2]}=0.15,{SYSTEM_KEYS[3]}=0.15"


@pytest.fixture
def answered_study():
    study = make_study(slug="sim", trials_per_session=6, check_trials_per_session=1)
    call_command(
        "simulate_raters",
        "sim",
        "--participants",
        "12",
        "--preferences",
        PREFS,
        "--participant-sd",
        "0.3",
        "--seed",
        "1",
    )
    return study


def test_simulated_raters_complete_real_sessions(answered_study):
    assert Session.objects.filter(status="completed").count() == 12
    assert Vote.objects.count() == 12 * 7 * 4


def test_export_then_analyze_the_csv_and_the_study(answered_study, tmp_path):
    call_command("export_votes", "sim", "--out", str(tmp_path / "votes.csv"))
    votes = read_votes(tmp_path / "votes.csv")
    assert len(votes) == 12 * 7 * 4
    assert votes["is_check"].sum() == 12 * 4
    assert set(votes.loc[votes["is_check"], "check_expected_system"]) <= {
        "noise-target",
        "sync-target",
    }
    call_command(
        "analyze",
        "--votes",
        str(tmp_path / "votes.csv"),
        "--out",
        str(tmp_path / "a"),
        "--bootstrap",
        "200",
    )
    call_command("analyze", "sim", "--out", str(tmp_path / "b"), "--bootstrap", "200")
    for out in ("a", "b"):
        summary = json.loads((tmp_path / out / "summary.json").read_text())
        overall = summary["overall"]["all"][SYSTEM_KEYS[0]]
        assert set(overall) >= {
            "n",
            "share",
            "ci_low",
            "ci_high",
            "wilson_low",
            "wilson_high",
            "p_vs_chance",
        }
        assert overall["share"] > 0.35  # the preferred system wins
        assert set(summary["overall"]) == {"all", "piano", "violin", "cello"}
        assert len(summary["pairwise"]["noise"]["all"]) == 6
        assert set(summary) >= {
            "correctness",
            "noise",
            "synchronization",
            "alpha",
            "position_bias",
            "exclusions",
            "settings",
        }
        for name in (
            "shares.csv",
            "pairwise.csv",
            "table1.tex",
            "report.md",
            "figure3.png",
            "figure3.svg",
            "table1.png",
            "position.svg",
            "exclusions.csv",
        ):
            assert (tmp_path / out / name).stat().st_size > 0
        report = (tmp_path / out / "report.md").read_text()
        assert "Table 1" in report and "Figure 3" in report and "Reporting checklist" in report
        assert summary["checklist"]["participants"] <= 12
        assert summary["settings"]["B"] == 200
    assert (tmp_path / "a" / "summary.json").read_text().split('"generated_at"')[0] == (
        tmp_path / "b" / "summary.json"
    ).read_text().split('"generated_at"')[0]


def test_an_empty_study_and_bad_files_get_clear_messages(tmp_path):
    make_study(slug="empty")
    with pytest.raises(CommandError, match="has no votes yet"):
        call_command("analyze", "empty", "--out", str(tmp_path))
    (tmp_path / "bad.csv").write_text("study,participant\nx,y\n")
    with pytest.raises(CommandError, match="missing columns"):
        call_command("analyze", "--votes", str(tmp_path / "bad.csv"), "--out", str(tmp_path))
    with pytest.raises(CommandError, match="one of them"):
        call_command("analyze", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="no study with slug 'nope'"):
        call_command("export_votes", "nope", "--out", str(tmp_path / "v.csv"))


def test_simulate_raters_checks_preferences():
    make_study(slug="prefs")
    with pytest.raises(CommandError, match="unknown: \\['other'\\]"):
        call_command(
            "simulate_raters", "prefs", "--participants", "1", "--preferences", PREFS + ",other=0.1"
        )


def test_plan_study_prints_the_smallest_design(capsys):
    call_command(
        "plan_study",
        "--preferences",
        "a=0.5,b=0.2,c=0.15,d=0.15",
        "--compare",
        "a,b",
        "--participants",
        "2,60",
        "--trials",
        "10",
        "--items",
        "20",
        "--participant-sd",
        "0.3",
        "--item-sd",
        "0.3",
        "--sims",
        "10",
        "--bootstrap",
        "100",
    )
    out = capsys.readouterr().out
    assert "Smallest design reaching power 0.8: 60 participants x 10 trials" in out
