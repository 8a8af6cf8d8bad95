import shutil

import pytest

from foley_models.render.fluidsynth import find_soundfont


@pytest.fixture(scope="session")
def soundfont():
    """The GM soundfont; the project's setup installs it (fluid-soundfont-gm)."""
    return find_soundfont()


@pytest.fixture(scope="session")
def small_synth(tmp_path_factory, soundfont):
    """Three synthetic violin performances (train, val, test) with video, made once."""
    from foley_models.data.synth.performer import SynthConfig, synthesize

    assert shutil.which("ffmpeg")
    out = tmp_path_factory.mktemp("synth")
    rows = synthesize(
        out,
        SynthConfig(minutes=1.2, seed=5, max_piece_s=25.0, instruments=("violin",)),
        progress=False,
    )
    return out, rows
