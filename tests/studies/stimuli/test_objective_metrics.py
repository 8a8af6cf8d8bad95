"""`analyze --objective` on a study whose items come from a dataset: every clip scored against
its item's motion, MIDI and recording, reported beside the votes."""

import json

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from studies.models import Clip
from studies.services import generation_job_create
from studies.services.rater_simulation import simulate_raters
from studies.stimuli.jobs import generation_job_run
from tests.studies.stimuli.conftest import KEYS, make_generation_study

pytestmark = [pytest.mark.django_db, pytest.mark.media]


def test_analyze_puts_objective_metrics_beside_the_votes(
    stimuli_dataset, debug_checkpoints, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    study = make_generation_study(stimuli_dataset, debug_checkpoints, slug="objective")
    job = generation_job_run(job=generation_job_create(study=study, device="cpu"))
    assert job.failed == 0, job.errors
    study.status = study.Status.LIVE
    study.save()
    preferences = {key: 1.0 for key in KEYS.values()}
    simulate_raters(study=study, participants=4, preferences=preferences, seed=0)
    out = tmp_path / "report"
    call_command("analyze", study.slug, "--out", str(out), "--objective", "--include-simulated",
                 "--bootstrap", "200")  # fmt: skip
    table = pd.read_csv(out / "objective.csv")
    assert list(table["system"]) == list(KEYS.values())
    for column in ("onset_f1", "beat_align", "beats_hit_0.25s", "transcribed_note_f1", "logmel_db"):
        assert table[column].notna().all(), column
    assert table["share_overall"].between(0, 1).all()
    agreement = pd.read_csv(out / "metric_agreement.csv")
    assert {"synchronization", "overall"} <= set(agreement["criterion"])
    assert set(agreement["metric"]) >= {"beat_align", "onset_f1", "transcribed_note_f1"}
    assert (agreement["cells"] == 2 * 4).all()  # two items x four systems
    report = (out / "report.md").read_text()
    assert "## Objective metrics beside the votes" in report
    assert "objective" in json.loads((out / "summary.json").read_text())
    # Cached per clip: a second run scores nothing again.
    cached = Clip.objects.first().provenance["objective"]
    assert cached["media"] == Clip.objects.first().media.name
    with pytest.raises(CommandError, match="--objective needs a study"):
        call_command("analyze", "--votes", str(out / "none.csv"), "--out", str(out), "--objective")
