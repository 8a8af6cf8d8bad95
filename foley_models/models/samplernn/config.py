"""SampleRNN configuration and presets (`paper`: the three-tier model of Mehri et al. 2017 as in
deepsound-project/samplernn-pytorch: frame sizes 16 and 4, two GRU layers of 1024, 256 levels)."""

from dataclasses import dataclass, replace

from foley_models.models.foley_music.config import preset as foley_preset
from foley_models.models.presets import choose
from foley_models.models.waveform import WaveformConfig


@dataclass(frozen=True)
class SampleRNNConfig(WaveformConfig):
    frame_sizes: tuple[int, int] = (16, 4)  # top tier, middle tier (samples per frame)
    dim: int = 1024
    rnn_layers: int = 2
    embedding: int = 256  # sample tier: embedding of each previous quantised sample
    levels: int = 256  # mu-law classes
    train_samples: int = 1024  # samples per training sequence (a multiple of the top frame)


def preset(name: str, **overrides) -> SampleRNNConfig:
    """The pose encoder of each preset is Foley Music's encoder of the same preset."""
    encoder = foley_preset(name).encoder

    def paper():
        return SampleRNNConfig(encoder=replace(encoder, d_model=256), batch_size=16)

    def small():
        return SampleRNNConfig(
            encoder=replace(encoder, d_model=64),
            dim=256,
            rnn_layers=1,
            embedding=64,
            clip_s=2.0,
            train_samples=2048,
            batch_size=16,
            lr=1e-3,
            warmup_steps=100,
            onset_loss_weight=1.0,
            onset_batch_size=16,
            onset_teacher_forcing=1.0,
            onset_window_share=0.75,
        )

    def debug():
        return SampleRNNConfig(
            encoder=replace(encoder, d_model=16),
            dim=32,
            rnn_layers=1,
            embedding=8,
            # Tests generate with it one sample at a time: a quarter of the samples.
            sample_rate=4000,
            clip_s=1.0,
            train_samples=128,
            batch_size=2,
            warmup_steps=5,
            onset_loss_weight=1.0,
            onset_batch_size=2,
            onset_teacher_forcing=0.5,
            onset_window_share=0.5,
        )

    return choose(name, overrides, debug=debug, small=small, paper=paper)
