"""import_clips: a researcher's folder with one missing pair, one corrupt file and one file of
another length. The dry run names all three and writes nothing; the real run imports the rest;
once the gaps are filled the study launches; a repeated run changes nothing."""

import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from foley_models.render import ffmpeg
from studies import services
from studies.errors import StudyNotReady
from studies.models import Clip, Item, System
from studies.stimuli.sizes import item_version_sizes

pytestmark = [pytest.mark.django_db, pytest.mark.media]


def _ff(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True)


def _tone(path: Path, hz: float, seconds: float = 2.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    _ff("-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}", "-ar", "44100", path)


def _video(path: Path, hz: float, seconds: float = 2.0, pattern: str = "testsrc"):
    path.parent.mkdir(parents=True, exist_ok=True)
    _ff(
        "-f", "lavfi", "-i", f"{pattern}=duration={seconds}:size=160x120:rate=25",
        "-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}", "-shortest",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", path,
    )  # fmt: skip


@pytest.fixture(scope="module")
def _made_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("import") / "mine"
    for n, item in enumerate(("it-a", "it-b", "it-c", "it-d")):
        _video(root / "videos" / f"{item}.mp4", 200 + 10 * n)
    _tone(root / "sys_x" / "it-a.wav", 300)
    _tone(root / "sys_y" / "it-a.flac", 310)
    _tone(root / "sys_x" / "it-b.wav", 320)
    _tone(root / "sys_y" / "it-b.mp3", 330, seconds=3.5)  # another length
    (root / "sys_x" / "it-c.wav").write_bytes(b"RIFF\x00\x00not really a wave file" * 10)
    _video(root / "sys_y" / "it-c.mp4", 350, pattern="testsrc2")  # a system giving videos
    _tone(root / "sys_x" / "it-d.wav", 360)  # it-d has no sys_y file
    return root


@pytest.fixture
def folder(_made_folder, tmp_path):
    """A fresh copy for each test (one of them fills the gaps)."""
    import shutil

    return Path(shutil.copytree(_made_folder, tmp_path / "mine"))


def _study(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return services.study_create(
        title="Mine", slug="mine", trials_per_session=2, check_trials_per_session=0
    )


def test_the_dry_run_names_every_problem_and_writes_nothing(folder, settings, tmp_path, capsys):
    study = _study(settings, tmp_path)
    call_command("import_clips", "mine", str(folder), "--category", "piano", "--dry-run")
    out = capsys.readouterr()
    assert "it-b/sys_y: lasts 3.500 s but the item's video lasts 2.000 s" in out.err
    assert "it-c/sys_x: cannot be decoded" in out.err
    assert "it-d/sys_y: missing" in out.err
    assert "dry run: 5 clips would be imported, 3 problems; nothing was written" in out.out
    assert not Item.objects.exists() and not System.objects.filter(study=study).exists()
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.*"))


def test_the_real_run_imports_the_rest_and_the_study_launches_once_filled(
    folder, settings, tmp_path, capsys
):
    study = _study(settings, tmp_path)
    call_command("import_clips", "mine", str(folder), "--category", "piano")
    out = capsys.readouterr().out
    assert "5 clips imported, 0 already there, 0 failed; 4 items and 2 systems created" in out
    assert Clip.objects.count() == 5
    clip = Clip.objects.get(item__key="it-c", system__key="sys_y")
    assert (
        clip.provenance["imported_from"] == "it-c.mp4"
        and len(clip.provenance["source_sha256"]) == 64
    )
    assert clip.provenance["picture"] == "item"
    info = ffmpeg.probe(settings.MEDIA_ROOT / clip.media.name)
    assert sorted(s["codec_name"] for s in info["streams"]) == ["h264", "mp3"]
    assert abs(float(info["format"]["duration"]) - 2.0) < 0.05
    assert abs(clip.loudness_lufs + 23.0) <= 0.15
    item = Item.objects.get(key="it-a")
    assert item.category == "piano" and item.fps == 25 and abs(item.duration_s - 2.0) < 1e-6
    assert not any(s["codec_type"] == "audio" for s in ffmpeg.probe(item.video.path)["streams"])
    with pytest.raises(StudyNotReady) as raised:
        services.study_launch(study=study)
    missing = [p for p in raised.value.problems if "has no clip" in p]
    assert len(missing) == 3, raised.value.problems

    # Fill the gaps and run again: what exists is skipped, the rest imported.
    _tone(folder / "sys_y" / "it-b.mp3", 330)
    _tone(folder / "sys_x" / "it-c.wav", 340)
    _tone(folder / "sys_y" / "it-d.ogg", 370)
    call_command("import_clips", "mine", str(folder))
    assert "3 clips imported, 5 already there, 0 failed" in capsys.readouterr().out
    study = services.study_launch(study=study)
    assert study.status == "live"
    for item in Item.objects.all():
        assert len(set(item_version_sizes(item).values())) == 1  # one byte length per item
    call_command("import_clips", "mine", str(folder))
    assert "0 clips imported, 8 already there" in capsys.readouterr().out


def test_a_manifest_cuts_windows_and_names_bad_rows(tmp_path, settings, capsys):
    _study(settings, tmp_path)
    root = tmp_path / "any"
    _video(root / "perf.mp4", 210, seconds=6.0)
    _tone(root / "a.wav", 400, seconds=6.0)
    _tone(root / "b.wav", 410, seconds=6.0)
    (root / "manifest.csv").write_text(
        "item,system,path,category,start_s,end_s\n"
        "w1,videos,perf.mp4,violin,1.0,3.0\n"
        "w1,sys_a,a.wav,,1.0,3.0\n"
        "w1,sys_b,b.wav,,1.0,3.0\n"
        "w2,videos,perf.mp4,violin,3,x\n"
    )
    call_command("import_clips", "mine", str(root / "manifest.csv"))
    captured = capsys.readouterr()
    assert "manifest.csv:5: start_s and end_s must be numbers" in captured.err
    item = Item.objects.get(key="w1")
    assert item.category == "violin" and abs(item.duration_s - 2.0) < 1e-6
    assert Clip.objects.filter(item=item).count() == 2


def test_the_admin_imports_an_uploaded_zip_as_a_background_job(
    folder, settings, tmp_path, admin_client
):
    import shutil
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    from studies.models import ClipImport
    from studies.stimuli.clip_import import clip_import_run

    study = _study(settings, tmp_path)
    archive = shutil.make_archive(str(tmp_path / "mine"), "zip", folder.parent, folder.name)
    page = admin_client.get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert "Import clips" in page
    upload = SimpleUploadedFile("mine.zip", Path(archive).read_bytes(), "application/zip")
    data = {"study": study.pk, "source_path": "", "zip_file": upload, "category": "cello",
            "tolerance_s": "0.1"}  # fmt: skip
    response = admin_client.post("/admin/studies/clipimport/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = clip_import_run(job=ClipImport.objects.get())
    assert job.status == ClipImport.Status.DONE_WITH_ERRORS, job.message
    assert "5 clips imported" in job.message and len(job.notes) == 3
    assert any("it-d/sys_y: missing" in n for n in job.notes)
    assert Item.objects.filter(category="cello").count() == 4
    page = admin_client.get(f"/admin/studies/clipimport/{job.pk}/change/").content.decode()
    assert "it-c/sys_x: cannot be decoded" in page
    # A zip that would write outside its folder is refused before anything is imported.
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escape.txt", "x")
    bad = SimpleUploadedFile("evil.zip", evil.read_bytes(), "application/zip")
    data.update(zip_file=bad)
    admin_client.post("/admin/studies/clipimport/add/", data)
    job = clip_import_run(job=ClipImport.objects.order_by("-pk").first())
    assert job.status == ClipImport.Status.FAILED and "unsafe entry '../escape.txt'" in job.message
    assert not (tmp_path / "escape.txt").exists()


def test_the_admin_form_needs_exactly_one_source(settings, tmp_path, admin_client):
    study = _study(settings, tmp_path)
    data = {"study": study.pk, "source_path": "", "category": "", "tolerance_s": "0.1"}
    response = admin_client.post("/admin/studies/clipimport/add/", data)
    assert b"Give a folder or manifest on the server, or upload a zip" in response.content
    data["source_path"] = str(tmp_path / "nowhere")
    response = admin_client.post("/admin/studies/clipimport/add/", data)
    assert b"no such folder or manifest on the server" in response.content


def test_keep_system_video_keeps_a_systems_own_picture(folder, settings, tmp_path):
    import hashlib

    _study(settings, tmp_path)
    call_command("import_clips", "mine", str(folder), "--category", "piano", "--keep-system-video")

    def picture(clip) -> str:
        out = tmp_path / f"v-{clip.pk}.h264"
        _ff("-i", settings.MEDIA_ROOT / clip.media.name, "-map", "0:v:0", "-c", "copy", out)
        return hashlib.sha256(out.read_bytes()).hexdigest()

    own = Clip.objects.get(item__key="it-c", system__key="sys_y")
    assert own.provenance["picture"] == "system"
    other = Clip.objects.get(item__key="it-a", system__key="sys_y")
    assert other.provenance["picture"] == "item"  # an audio file: the item's picture
    # it-c's other clip (sys_x) is corrupt and not imported: compare with another item's
    # clip, whose picture is the same test card as it-c's video.
    item_video = Clip.objects.get(item__key="it-b", system__key="sys_x")
    assert picture(own) != picture(item_video)
    assert picture(other) == picture(Clip.objects.get(item__key="it-a", system__key="sys_x"))
