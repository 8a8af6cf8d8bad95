"""simulate_raters, analyze and plan_study for every design: a study can be dry-run and sized
before anyone is paid."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.factories import SYSTEM_KEYS, make_study
from tests.outputs import assert_figure

pytestmark = [pytest.mark.django_db, pytest.mark.media]

A, B, C, D = SYSTEM_KEYS[:4]


@pytest.mark.parametrize(
    "design, options, preferences, check",
    [
        (
            "pairwise",
            dict(allow_no_preference=True),
            f"{A}=0.6,{B}=0.25,{C}=0.1,{D}=0.05",
            lambda s: (
                s["overall"]["all"]["bradley_terry"][A]["strength"]
                > s["overall"]["all"]["bradley_terry"][D]["strength"]
            ),
        ),
        (
            "real_or_generated",
            dict(roles=("reference",), check_trials_per_session=0),
            f"{A}=0.45,{B}=0.45,{C}=0.02,{D}=0.08",
            lambda s: s["real"]["all"][B]["judged_real"] > s["real"]["all"][C]["judged_real"],
        ),
        (
            "rating",
            dict(),
            f"{A}=4.5,{B}=3.5,{C}=2.5,{D}=1.5",
            lambda s: s["overall"]["all"][A]["mean"] > s["overall"]["all"][D]["mean"] + 1.5,
        ),
        (
            "mushra",
            dict(roles=("reference", "anchor"), check_trials_per_session=0),
            f"{A}=97,{B}=20,{C}=70,{D}=50",
            lambda s: (
                s["overall"]["all"][C]["mean"] > s["overall"]["all"][D]["mean"]
                and s["post_screening"]["participants_screened"] == 8
            ),
        ),
    ],
)
def test_dry_run_then_analysis_recovers_the_simulated_ordering(
    design, options, preferences, check, tmp_path, capsys
):
    study = make_study(slug=f"dry-{design}", design=design, trials_per_session=3, **options)
    call_command(
        "simulate_raters", study.slug, "--participants", "8", "--preferences", preferences,
        "--seed", "3", *(["--rating-sd", "3"] if design == "mushra" else []),
    )  # fmt: skip
    out = tmp_path / "out"
    call_command(
        "analyze", study.slug, "--include-simulated", "--out", str(out), "--bootstrap", "100"
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["design"] == design
    assert check(summary), summary
    assert (out / "report.md").read_text().startswith("# ")
    figure = {"pairwise": "win_rate", "real_or_generated": "judged_real", "rating": "scores",
              "mushra": "mushra_boxplot"}[design]  # fmt: skip
    for ext in ("png", "svg", "pdf"):
        assert_figure(out / f"{figure}.{ext}")
    # The export of a design reads back and analyses the same way.
    votes = tmp_path / "votes.csv"
    call_command("export_votes", study.slug, "--out", str(votes), "--include-simulated")
    again = tmp_path / "again"
    call_command("analyze", "--votes", str(votes), "--out", str(again), "--bootstrap", "100")
    first = json.loads((again / "summary.json").read_text())
    criterion = "real" if design == "real_or_generated" else "overall"
    assert first[criterion]["all"] == summary[criterion]["all"]


def test_rating_preferences_must_be_on_the_scale():
    study = make_study(slug="dry-bad", design="rating", with_checks=False)
    with pytest.raises(CommandError, match="must be within 1-5"):
        call_command(
            "simulate_raters", study.slug, "--participants", "1", "--preferences",
            f"{A}=7,{B}=3,{C}=3,{D}=3",
        )  # fmt: skip


@pytest.mark.parametrize(
    "design, extra",
    [
        ("pairwise", ["--preferences", "a=0.7,b=0.2,c=0.1"]),
        ("real_or_generated", ["--preferences", "ref=0.5,a=0.45,b=0.05", "--reference", "ref"]),
        ("rating", ["--preferences", "a=3.3,b=3.0,c=3.0"]),
        ("mushra", ["--preferences", "a=60,b=58,c=50"]),
    ],
)
def test_plan_study_sizes_every_design(design, extra, capsys):
    call_command(
        "plan_study", "--design", design, *extra, "--compare", "a,b", "--participants", "4,100",
        "--trials", "10", "--items", "20", "--sims", "10", "--bootstrap", "100",
        "--participant-sd", "0.3", "--item-sd", "0.3",
    )  # fmt: skip
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[0].isdigit()]
    powers = {int(r[0]): float(r[4]) for r in rows}
    assert powers[4] < powers[100] and powers[100] >= 0.8, out
    assert "Smallest design reaching power 0.8: 100 participants" in out


def test_plan_study_real_or_generated_needs_the_reference():
    with pytest.raises(CommandError, match="needs --reference"):
        call_command(
            "plan_study", "--design", "real_or_generated", "--preferences", "a=0.5,b=0.5",
            "--compare", "a,b",
        )  # fmt: skip
