import shlex
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from studies import demo
from studies.models import CheckClip, Clip, GenerationJob, Study
from studies.stimuli.jobs import generation_job_run
from studies.stimuli.local_workers import cpu_count

pytestmark = [pytest.mark.django_db, pytest.mark.media, pytest.mark.training]

DEMO_PAGE = Path(__file__).resolve().parents[2] / "docs" / "tutorial" / "demo.md"


def smoke_args() -> list[str]:
    """The demo tutorial's smoke run (the command after its `smoke-run` marker), as build_demo
    args."""
    text = DEMO_PAGE.read_text()
    block = text.split("<!-- smoke-run -->", 1)[1].split("```", 2)[1]
    line = next(ln for ln in block.splitlines() if ln.startswith("./run demo"))
    return shlex.split(line)[2:]


# The demo's pipeline at test size, exactly as the demo tutorial tells a new user to run it.
ARGS = ["--slug", "d", *smoke_args()]


@pytest.mark.django_db(transaction=True)  # the clip-making helper processes see its rows
def test_build_demo_trains_generates_launches_and_reuses(tmp_path, settings, capsys, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    runs = []

    def run_and_record(**kwargs):
        runs.append(kwargs["workers"])
        return generation_job_run(**kwargs)

    monkeypatch.setattr(demo, "generation_job_run", run_and_record)
    call_command("build_demo", *ARGS)
    assert runs == [min(4, cpu_count())]  # the clips are made by one process per core
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


def test_the_demo_uses_the_zoo_unless_asked_to_retrain(tmp_path, settings, monkeypatch):
    from foley_models.models import zoo
    from studies import demo

    settings.DATA_DIR = tmp_path
    trained = []
    shipped = set(zoo.read_manifest()["systems"])
    stand_in = zoo.path(sorted(shipped)[0])

    def train(argv):  # stands in for the training command: records it, leaves a checkpoint
        trained.append(argv[1])
        out = Path(argv[argv.index("--out") + 1])
        out.mkdir(parents=True, exist_ok=True)
        for name in ("last.pt", "best.pt"):
            shutil.copy(stand_in, out / name)
        return 0

    monkeypatch.setattr(demo, "foley_models_main", train)
    systems = {s["key"] for s in demo._demo_spec().systems}
    paths = demo.demo_checkpoints(demo.DemoPlan(), tmp_path / "data")
    # What the zoo ships comes from it, unchanged; only the rest is trained.
    assert {s: paths[s] for s in shipped} == {s: zoo.path(s) for s in shipped}
    assert sorted(trained) == sorted(systems - shipped)
    trained.clear()
    monkeypatch.setattr(demo, "foley_models_main", lambda argv: trained.append(argv[1]) or 1)
    # --retrain trains (here: the first system, whose stand-in training command fails).
    with pytest.raises(demo.StudyError, match="training .* failed"):
        demo.demo_checkpoints(demo.DemoPlan(retrain=True), tmp_path / "other-data")
    assert len(trained) == 1
    # A zoo that fails its check stops the demo with the reason and the way out.
    monkeypatch.setattr(zoo, "ZOO", tmp_path / "nothing")
    monkeypatch.setattr(
        zoo, "check", lambda: (_ for _ in ()).throw(zoo.ZooError("x.pt: its sha256 differs"))
    )
    with pytest.raises(demo.StudyError, match="sha256 differs.*--retrain"):
        demo.demo_checkpoints(demo.DemoPlan(), tmp_path / "data")
