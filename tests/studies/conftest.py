"""Shared fixtures: a library of real MP4 stimuli made once, study factories, and a server
clock the test moves."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import MediaLibrary, cached_media_library

# The built library is kept here between runs (var/ is git-ignored) and rebuilt when its code
# or ffmpeg changes.
LIBRARY_CACHE = Path(__file__).resolve().parents[2] / "var" / "test-cache"


@pytest.fixture(scope="session")
def media_library(tmp_path_factory) -> MediaLibrary:
    """Real H.264/MP3 clips made with ffmpeg (2 s each), once for all test processes."""
    return cached_media_library(LIBRARY_CACHE, tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _media_root(request, settings, tmp_path):
    """MEDIA_ROOT is the library for a test marked `media` (the study factories point their
    clips into it), an empty folder of the test's own otherwise."""
    if request.node.get_closest_marker("media") is not None:
        settings.MEDIA_ROOT = request.getfixturevalue("media_library").root
    else:
        settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One moto S3 server (a real HTTP server, in its own process) for the test run."""
    from tests.servers import start_s3, stop

    server = start_s3(tmp_path_factory.mktemp("s3") / "moto.log")
    yield server
    stop(server.process)


@pytest.fixture
def s3_storage(settings, s3_server):
    """Stimuli in a fresh bucket of the local S3 server, as STORAGE_BACKEND=s3 configures."""
    bucket = s3_server.new_bucket()
    settings.STORAGES = s3_server.storages_setting(bucket)
    settings.STORAGE_BACKEND = "s3"
    return s3_server, bucket


class Clock:
    """The server's clock, moved by the test (every service reads timezone.now())."""

    def __init__(self, start: datetime):
        self.now = start

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    c = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c
