"""Shared fixtures: a library of real MP4 stimuli made once per test run, and study factories."""

import pytest

from tests.factories import MediaLibrary, build_media_library


@pytest.fixture(scope="session")
def media_library(tmp_path_factory) -> MediaLibrary:
    """Real H.264/MP3 clips made once with ffmpeg (2 s each) for every test that needs media."""
    return build_media_library(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _media_root(settings, media_library):
    settings.MEDIA_ROOT = media_library.root
