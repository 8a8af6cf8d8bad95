import pytest

from foley_models.data.synth.performer import SynthConfig, synthesize


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Two short performances per instrument (train and val), no video: enough to train on."""
    out = tmp_path_factory.mktemp("tiny")
    synthesize(
        out, SynthConfig(minutes=1.15, seed=21, video=False, max_piece_s=8.0), progress=False
    )
    return out
