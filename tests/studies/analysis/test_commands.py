import json

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from studies.analysis.votes import read_votes
from studies.models import Session, Vote
from tests.factories import SYSTEM_KEYS, make_study
from tests.outputs import assert_output

pytestmark = [pytest.mark.django_db, pytest.mark.media]
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
    call_command("export_votes", "sim", "--out", str(tmp_path / "votes.csv"), "--include-simulated")
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
    call_command(
        "analyze", "sim", "--out", str(tmp_path / "b"), "--bootstrap", "200", "--include-simulated"
    )
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
            assert_output(tmp_path / out / name)
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
    assert "per-instrument" not in out  # one instrument, 20 items
    call_command(
        "plan_study", "--preferences", "a=0.5,b=0.5", "--compare", "a,b", "--participants", "60",
        "--trials", "10", "--items", "8,32", "--sims", "2", "--bootstrap", "100",
        "--categories", "4",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "Designs with 8 items give fewer than 4 items per instrument" in out


def test_the_export_carries_the_study_so_both_routes_agree(answered_study, tmp_path, capsys):
    """QC settings, system order and display names travel in votes.study.json."""
    import stat

    from foley_models.data.dataset import FILE_MODE

    answered_study.qc_min_trial_seconds = 5.0  # excludes part of the simulated answers
    answered_study.save()
    call_command("export_votes", "sim", "--out", str(tmp_path / "votes.csv"), "--include-simulated")
    study_file = json.loads((tmp_path / "votes.study.json").read_text())
    assert study_file["qc"]["min_trial_seconds"] == 5.0
    assert [s["key"] for s in study_file["systems"]] == list(SYSTEM_KEYS[:4])
    call_command(
        "analyze", "sim", "--out", str(tmp_path / "db"), "--bootstrap", "200", "--include-simulated"
    )
    call_command(
        "analyze", "--votes", str(tmp_path / "votes.csv"), "--out", str(tmp_path / "csv"),
        "--bootstrap", "200",
    )  # fmt: skip
    db, csv = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("db", "csv"))
    assert db["exclusions"] == csv["exclusions"]
    assert db["exclusions"]["rules"]["too_fast"]["votes"] > 0
    assert db["systems"] == csv["systems"] == list(SYSTEM_KEYS[:4])  # the study's order
    assert db["overall"] == csv["overall"]
    # Without the study file: default QC (a different result) and a note saying so.
    (tmp_path / "votes.study.json").unlink()
    capsys.readouterr()
    call_command(
        "analyze", "--votes", str(tmp_path / "votes.csv"), "--out", str(tmp_path / "bare"),
        "--bootstrap", "200",
    )  # fmt: skip
    assert "no study file" in capsys.readouterr().err
    bare = json.loads((tmp_path / "bare" / "summary.json").read_text())
    assert bare["exclusions"]["votes_kept"] > db["exclusions"]["votes_kept"]
    # Display names in the study's order in every table; n beside; readable files; PDFs.
    names = [f"System {k.upper()} name" for k in SYSTEM_KEYS[:4]]
    report = (tmp_path / "db" / "report.md").read_text()
    table1 = report.split("## Table 1")[1].split("\n\n")[1].splitlines()
    assert [row.split(" | ")[0].lstrip("| ") for row in table1[2:6]] == names
    assert table1[6].startswith("| n | ")
    latex = (tmp_path / "db" / "table1.tex").read_text()
    assert r"\usepackage{booktabs}" in latex and r"\caption{" in latex and "$n$ &" in latex
    escaped = [n.replace("_", r"\_") for n in names]
    assert latex.index(escaped[0]) < latex.index(escaped[1]) < latex.index(escaped[3])
    shares = pd.read_csv(tmp_path / "db" / "shares.csv")
    overall_all = shares[(shares["criterion"] == "overall") & (shares["scope"] == "all")]
    assert overall_all["name"].tolist() == names
    assert (overall_all["scope_votes"] == overall_all["n"].sum()).all()
    for name in ("figure3.pdf", "table1.pdf", "position.pdf", "summary.json", "table1.tex"):
        path = tmp_path / "db" / name
        assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE
    assert (tmp_path / "db" / "figure3.pdf").read_bytes().startswith(b"%PDF")
    # Position bias is screened at the session length (6 answers here, fewer than 10).
    assert db["position_bias"]["min_answers"] == 6 and db["position_bias"]["participants_tested"]


def test_a_study_file_that_does_not_match_the_votes_is_refused(answered_study, tmp_path):
    call_command("export_votes", "sim", "--out", str(tmp_path / "votes.csv"), "--include-simulated")
    path = tmp_path / "votes.study.json"
    data = json.loads(path.read_text())
    data["systems"] = data["systems"][:3]
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match=f"systems {SYSTEM_KEYS[3]} that the study file"):
        call_command("analyze", "--votes", str(tmp_path / "votes.csv"), "--out", str(tmp_path))
    path.write_text("{not json")
    with pytest.raises(CommandError, match="not a JSON study file"):
        call_command("analyze", "--votes", str(tmp_path / "votes.csv"), "--out", str(tmp_path))


def test_a_best_of_export_differs_from_the_old_contract_only_by_the_new_columns(
    answered_study, tmp_path
):
    """The best-of-four study keeps its figures: the export gains the new columns (design
    best_of, score empty, the playback telemetry) and a file without them analyses to the same
    summary.json."""
    from studies.analysis.votes import TELEMETRY

    new = tmp_path / "votes.csv"
    call_command("export_votes", "sim", "--out", str(new), "--include-simulated")
    frame = pd.read_csv(new, dtype=str, keep_default_na=False)
    added = ["design", "score", *TELEMETRY]
    assert list(frame.columns[-len(added) :]) == added
    assert set(frame["design"]) == {"best_of"} and set(frame["score"]) == {""}
    assert set(frame["player"]) == {"separate"}
    old = tmp_path / "old.csv"
    frame.drop(columns=added).to_csv(old, index=False)
    (tmp_path / "old.study.json").write_text((tmp_path / "votes.study.json").read_text())
    for name, path in (("new", new), ("old", old)):
        call_command(
            "analyze", "--votes", str(path), "--out", str(tmp_path / name), "--bootstrap", "200"
        )
    texts = [
        (tmp_path / name / "summary.json").read_text().split('"generated_at"')[0]
        for name in ("new", "old")
    ]
    assert texts[0] == texts[1]
    assert '"design"' not in texts[0]  # the best_of summary.json is the contract as it was


def test_synchronization_is_reported_with_and_without_raters_with_a_long_audio_delay(
    answered_study, tmp_path
):
    votes = tmp_path / "votes.csv"
    call_command("export_votes", "sim", "--out", str(votes), "--include-simulated")
    frame = pd.read_csv(votes, dtype=str, keep_default_na=False)
    late = frame["participant"].isin(sorted(frame["participant"].unique())[:3])
    frame["av_delay_ms"] = np.where(late, "260", "30")
    frame.to_csv(votes, index=False)
    out = tmp_path / "out"
    call_command(
        "analyze", "--votes", str(votes), "--out", str(out), "--bootstrap", "100",
        "--max-av-delay-ms", "150",
    )  # fmt: skip
    main = json.loads((out / "summary.json").read_text())
    every = json.loads((out / "every_rater" / "summary.json").read_text())
    regular = frame[frame["is_check"] == "False"]
    sync = regular["criterion"] == "synchronization"
    n_late = int((sync & late).sum())
    assert main["exclusions"]["rules"]["av_delay"]["votes"] == n_late > 0
    assert "av_delay" not in every["exclusions"]["rules"]

    def n(summary, criterion):
        return sum(v["n"] for v in summary[criterion]["all"].values())

    assert n(every, "synchronization") - n(main, "synchronization") == n_late
    assert n(every, "overall") == n(main, "overall")
