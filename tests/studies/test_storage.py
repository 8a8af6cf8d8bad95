"""Stimuli in an S3-compatible bucket: a real local server (moto in server mode) behind
django-storages, as STORAGE_BACKEND=s3 configures it."""

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.core.files.base import File
from django.test import Client
from django.urls import reverse

from foley_models.render import ffmpeg
from studies import services, storage
from studies.models import CheckClip, Clip, ScreeningSound, Session
from studies.services.screening import screening_pool_ensure
from studies.stimuli import sizes
from tests.factories import make_study

pytestmark = [pytest.mark.django_db, pytest.mark.media]

RANDOM_KEY = re.compile(r"^(clips|items|screening)/[0-9a-f]{32}\.(mp4|wav)$")


def _into_bucket(study, library_root: Path) -> None:
    """Store every clip and check clip of the study in the bucket, as generation or an upload
    would (FileField.save: the key is random)."""
    rows = list(Clip.objects.filter(item__study=study))
    rows += list(CheckClip.objects.filter(item__study=study))
    for row in rows:
        with (library_root / row.media.name).open("rb") as handle:
            row.media.save("upload.mp4", File(handle), save=True)


def _names(study) -> list[str]:
    names = [study.slug, *study.systems.values_list("key", flat=True)]
    names += list(study.systems.values_list("name", flat=True))
    names += list(study.items.values_list("key", flat=True))
    # ("checksum" is in a header of the bucket's, so "check" alone would match it)
    return names + ["noise", "sync", "check-", "target", "foil", "lib-"]


def test_a_clip_round_trips_through_the_bucket_under_a_random_key_without_metadata(
    s3_storage, media_library
):
    server, bucket = s3_storage
    study = make_study(slug="bucket", n_items=1, launch=False)
    _into_bucket(study, media_library.root)
    client = server.client()
    for clip in Clip.objects.filter(item__study=study):
        assert RANDOM_KEY.match(clip.media.name), clip.media.name
        head = client.head_object(Bucket=bucket, Key=clip.media.name)
        assert head["Metadata"] == {} and head["ContentType"] == "video/mp4"
        assert head["ContentLength"] > 1000
        with clip.media.open("rb") as handle:
            stored = handle.read()
        assert len(stored) == head["ContentLength"]
        assert storage.local_path(clip.media) is None and storage.exists(clip.media)
    # What a generation worker reads: a local copy that decodes, deleted afterwards.
    clip = Clip.objects.filter(item__study=study).first()
    with storage.local_copy(clip.media) as path:
        assert ffmpeg.duration_s(path) > 1.0
    assert not path.exists()


def test_participants_get_short_lived_presigned_urls_that_serve_ranges_and_name_nothing(
    s3_storage, media_library, settings
):
    server, bucket = s3_storage
    settings.MEDIA_URL_EXPIRE_S = 120
    study = make_study(slug="bucketflow", n_items=2, launch=False)
    _into_bucket(study, media_library.root)
    services.study_launch(study=study)
    browser = Client()
    url = browser.get(f"/s/{study.slug}/", {"code": "S3P1"})["Location"]
    browser.post(url + "consent", {"consent": "yes"})
    page = browser.get(url)
    slots = page.context["slots"]
    assert slots
    lengths = set()
    for slot in slots:
        redirect = browser.get(slot["src"], HTTP_RANGE="bytes=0-99")
        assert redirect.status_code == 302 and redirect["Cache-Control"] == "no-store"
        signed = redirect["Location"]
        parts = urlsplit(signed)
        query = parse_qs(parts.query)
        key = parts.path.split(f"/{bucket}/", 1)[1]
        assert RANDOM_KEY.match(key), key
        assert query["X-Amz-Expires"] == ["120"] and "X-Amz-Signature" in query
        signed_at = time.mktime(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
        assert abs(signed_at - time.mktime(time.gmtime())) < 60  # minted now, for 120 s
        ranged = requests.get(signed, headers={"Range": "bytes=0-99"}, timeout=10)
        assert ranged.status_code == 206 and len(ranged.content) == 100
        assert ranged.headers["Cache-Control"] == "private, max-age=120"
        lengths.add(ranged.headers["Content-Range"].rsplit("/", 1)[1])
        visible = (signed + str(dict(ranged.headers)) + str(dict(redirect.headers))).lower()
        for name in _names(study):
            assert name.lower() not in visible, name
        assert "content-disposition" not in visible and "x-amz-meta" not in visible
        # The bucket itself refuses the object without a signature.
        assert requests.get(signed.split("?")[0], timeout=10).status_code == 403
    assert len(lengths) == 1  # every version of the item is one size in the bucket too
    # Another session's browser gets nothing for this session's media.
    assert Client().get(slots[0]["src"]).status_code in (403, 404)


def test_launch_pads_and_restamps_versions_in_the_bucket(s3_storage, media_library, tmp_path):
    server, bucket = s3_storage
    study = make_study(slug="bucketpad", n_items=1, launch=False)
    _into_bucket(study, media_library.root)
    odd = Clip.objects.filter(item__study=study).first()
    with odd.media.open("rb") as handle:
        data = handle.read()
    bigger = tmp_path / "bigger.mp4"
    bigger.write_bytes(data)
    sizes.pad_to(bigger, len(data) + 100)  # a version that came out larger (another encoder)
    storage.replace_content(odd.media, bigger)
    assert storage.size(odd.media) == len(data) + 100
    time.sleep(1.1)  # Last-Modified has a resolution of one second
    launched = datetime.now(UTC).replace(microsecond=0)
    services.study_launch(study=study)
    client = server.client()
    item = study.items.get()
    versions = [c.media.name for c in item.clips.all()] + [
        c.media.name for c in item.check_clips.all()
    ]
    heads = [client.head_object(Bucket=bucket, Key=name) for name in versions]
    assert len({h["ContentLength"] for h in heads}) == 1
    # All restamped at launch, in random order: upload order (which system was made when) is gone.
    assert all(h["LastModified"] >= launched for h in heads)
    with storage.local_copy(odd.media) as path:  # the padded file still decodes
        assert abs(ffmpeg.duration_s(path) - item.duration_s) < 0.1


def test_screening_sounds_and_staff_previews_come_from_the_bucket(s3_storage, media_library):
    server, bucket = s3_storage
    study = make_study(slug="bucketscreen", n_items=1, launch=False, screening=True)
    assert screening_pool_ensure(study=study) > 0
    keys = [s.media.name for s in ScreeningSound.objects.filter(study=study)]
    assert keys and all(RANDOM_KEY.match(k) for k in keys)
    sizes = {storage.size(s.media) for s in ScreeningSound.objects.filter(study=study)}
    assert len(sizes) == 1
    _into_bucket(study, media_library.root)
    clip = Clip.objects.filter(item__study=study).first()
    url = reverse("studies:staff_media", args=[clip.media.name])
    assert Client().get(url).status_code == 302 and "/admin/login" in Client().get(url)["Location"]
    staff = Client()
    staff.force_login(User.objects.create_superuser("boss", "b@example.org", "pw-long-enough"))
    response = staff.get(url)
    assert response.status_code == 302
    assert requests.get(response["Location"], timeout=10).content == clip.media.open("rb").read()
    assert staff.get(reverse("studies:staff_media", args=["clips/nope.mp4"])).status_code == 404
    assert staff.get(reverse("studies:staff_media", args=["../etc/passwd"])).status_code == 404
    assert Session.objects.count() == 0
