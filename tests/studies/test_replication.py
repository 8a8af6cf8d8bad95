"""export_study: a replication package with no recruiter identity, from which `analyze`
reproduces the study's own figures."""

import json

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from studies.models import Participant
from tests.factories import SYSTEM_KEYS, make_study

pytestmark = [pytest.mark.django_db, pytest.mark.media]

PREFS = ",".join(f"{k}={w}" for k, w in zip(SYSTEM_KEYS[:4], (0.5, 0.2, 0.2, 0.1), strict=True))


def _summary(path):
    data = json.loads(path.read_text())
    data["checklist"].pop("generated_at")
    return data


def test_the_package_has_no_recruiter_ids_and_reproduces_the_analysis(tmp_path, capsys):
    study = make_study(slug="rep", trials_per_session=4, check_trials_per_session=1)
    call_command(
        "simulate_raters", "rep", "--participants", "10", "--preferences", PREFS, "--seed", "4"
    )
    # As if real Prolific raters: identities a package must not carry.
    for n, participant in enumerate(Participant.objects.filter(study=study)):
        participant.source, participant.external_id = "prolific", f"5f{n:02d}c0ffee{n:04d}abcd"
        participant.save()
    study.sessions.update(simulated=False)
    out = tmp_path / "package"
    call_command("export_study", "rep", "--out", str(out), "--with-media", "--bootstrap", "300")
    files = {p.name for p in out.iterdir()}
    assert files >= {"README.md", "study.json", "votes.csv", "votes.study.json", "stimuli.csv",
                     "sessions.csv", "qc.csv", "analysis", "media"}  # fmt: skip
    qc = pd.read_csv(out / "qc.csv")
    assert len(qc) == 10 and set(qc["decision"]) <= {"approve", "reject"}
    everything = "".join(
        p.read_text(errors="replace") for p in out.rglob("*") if p.is_file() and p.suffix != ".mp4"
    )
    for participant in Participant.objects.all():
        assert participant.external_id not in everything
    assert "pseudonymised" in (out / "README.md").read_text()
    votes = pd.read_csv(out / "votes.csv")
    assert set(votes["participant"]) == {f"P{n:04d}" for n in range(1, 11)}
    stimuli = pd.read_csv(out / "stimuli.csv")
    assert len(stimuli) == study.items.count() * 4
    assert all((out / "media" / f"{digest}.mp4").is_file() for digest in stimuli["sha256"])
    config = json.loads((out / "study.json").read_text())
    assert config["design"] == "best_of" and len(config["systems"]) == 4

    # analyze on the package gives the study's own summary (participants aside: pseudonyms).
    call_command("analyze", "--votes", str(out), "--out", str(tmp_path / "re"),
                 "--bootstrap", "300")  # the package's folder: its votes.csv  # fmt: skip
    call_command("analyze", "rep", "--out", str(tmp_path / "own"), "--bootstrap", "300")
    again, own = (
        _summary(tmp_path / "re" / "summary.json"),
        _summary(tmp_path / "own" / "summary.json"),
    )
    assert again == _summary(out / "analysis" / "summary.json")
    flagged = ("position_bias", "flagged_participants")
    again[flagged[0]].pop(flagged[1]), own[flagged[0]].pop(flagged[1])
    assert again == own


def test_the_package_goes_to_a_new_folder(tmp_path):
    make_study(slug="rep2", with_checks=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    with pytest.raises(CommandError, match="exists and is not empty"):
        call_command("export_study", "rep2", "--out", str(tmp_path / "full"))
    assert (tmp_path / "full" / "x").read_text() == "keep me"
