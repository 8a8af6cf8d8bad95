"""Shared fixtures: a library of real MP4 stimuli made once per test run, study factories, and
a server clock the test moves."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import MediaLibrary, build_media_library


@pytest.fixture(scope="session")
def media_library(tmp_path_factory) -> MediaLibrary:
    """Real H.264/MP3 clips made once with ffmpeg (2 s each) for every test that needs media."""
    return build_media_library(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _media_root(settings, media_library):
    settings.MEDIA_ROOT = media_library.root


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
