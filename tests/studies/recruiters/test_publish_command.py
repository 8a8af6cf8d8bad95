"""`manage.py publish --dry-run`: the exact Prolific body, checked, and nothing created."""

import json

import pytest
from django.core.management import CommandError, call_command

from studies import services
from studies.models import Recruitment, RemoteAction
from tests.studies.recruiters import prolific_api as api

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(settings):
    settings.PUBLIC_BASE_URL = "https://eval.example.org"
    return services.study_create(
        title="Which music fits?", slug="dry", systems=[("a", "A"), ("b", "B")]
    )


def test_the_dry_run_prints_the_body_prolific_documents_and_sends_nothing(study, capsys):
    call_command("publish", "dry", "--places", "30", "--reward", "3.60", "--dry-run")
    out = capsys.readouterr().out
    assert out.startswith("POST https://api.prolific.com/api/v1/studies/ (not sent)")
    body = json.loads(out.split("\n", 1)[1].rsplit("note:", 1)[0])
    api.validate(body, api.CREATE_STUDY)
    assert body["reward"] == 360 and body["total_available_places"] == 30
    assert body["external_study_url"].startswith("https://eval.example.org/s/dry/?PROLIFIC_PID=")
    assert "launch it first" in out  # a draft study: said, not refused
    assert not Recruitment.objects.exists() and not RemoteAction.objects.exists()


def test_the_dry_run_names_what_prolific_would_refuse(study, settings):
    settings.DEBUG = False
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    with pytest.raises(CommandError, match="must use https.*not reachable from the internet"):
        call_command("publish", "dry", "--places", "30", "--reward", "0.10", "--dry-run")
    with pytest.raises(CommandError, match="below the reward"):
        call_command("publish", "dry", "--places", "30", "--reward", "0.10", "--dry-run")
    assert not Recruitment.objects.exists()
