import shlex
from pathlib import Path

import pytest
from django.core.management import call_command

from studies.models import CheckClip, Clip, GenerationJob, Study

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_smoke_args() -> list[str]:
    """The README's smoke run (the command after its `smoke-run` marker), as build_demo args."""
    text = README.read_text()
    block = text.split("<!-- smoke-run -->", 1)[1].split("```", 2)[1]
    line = next(ln for ln in block.splitlines() if ln.startswith("./run demo"))
    return shlex.split(line)[2:]


# The demo's pipeline at test size, exactly as the README tells a new user to run it.
ARGS = ["--slug", "d", *readme_smoke_args()]


def test_build_demo_trains_generates_launches_and_reuses(tmp_path, settings, capsys):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    call_command("build_demo", *ARGS)
    study = Study.objects.get(slug="d")
    assert study.status == Study.Status.LIVE and study.screening
    n_items = study.items.count()
    assert n_items >= 2 and len({i.category for i in study.items.all()}) == n_items
    assert all("test split" in item.source for item in study.items.all())
    assert Clip.objects.filter(item__study=study).count() == 4 * n_items
    assert CheckClip.objects.filter(item__study=study).count() == 8 * n_items
    for system in study.systems.all():
        assert system.checkpoint.preset == "debug" and system.checkpoint.step == 2
        assert (tmp_path / "demo" / "runs").as_posix() in system.checkpoint.path
        # The run folder names every knob that changes the data or the training.
        run = Path(system.checkpoint.path).parent.name
        assert "2steps" in run and "data-1.6min-7s-seed0" in run
    out = capsys.readouterr().out
    assert "Participant URL:" in out and "/s/d/" in out and "password:" in out
    assert "training the debug preset" in out

    call_command("build_demo", *ARGS)  # a second run reuses everything
    out = capsys.readouterr().out
    assert "training" not in out and "reusing" in out
    assert Clip.objects.filter(item__study=study).count() == 4 * n_items
    assert GenerationJob.objects.order_by("-pk").first().total == 0
