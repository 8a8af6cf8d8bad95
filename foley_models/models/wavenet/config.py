"""WaveNet configuration and presets (`paper` follows r9y9/wavenet_vocoder's defaults: 24 layers
in 4 dilation cycles, 128 residual, 256 gate, 128 skip channels; mu-law 256 at 16 kHz)."""

from dataclasses import dataclass, replace

from foley_models.models.foley_music.config import preset as foley_preset
from foley_models.models.presets import choose
from foley_models.models.waveform import WaveformConfig


@dataclass(frozen=True)
class WaveNetConfig(WaveformConfig):
    residual: int = 128
    gate: int = 256  # split in two halves: tanh and sigmoid
    skip: int = 128
    layers_per_cycle: int = 6  # dilations 1, 2, 4, ... 2^(layers_per_cycle - 1), repeated
    cycles: int = 4
    levels: int = 256  # mu-law classes
    train_samples: int = 8000  # predicted samples per training example (after the context)
    # With the loudness head: the WaveNet models the waveform divided by its level's gain
    # (`waveform.level_gain`; in training the true level, which needs teacher forcing of every
    # clip), and generation multiplies its samples by the gain of the head's predicted level:
    # the loudness comes from the video, the waveform from the WaveNet (as an adaptive step
    # size in ADPCM, or a vocoder's frame energy).
    loudness_gain: bool = False

    def __post_init__(self) -> None:
        if self.loudness_gain and not (
            self.loudness_loss_weight > 0 and self.loudness_teacher_forcing == 1.0
        ):
            raise ValueError(
                "loudness_gain needs the loudness head (loudness_loss_weight > 0) and "
                "loudness_teacher_forcing 1.0 (training divides by the true level)"
            )

    @property
    def dilations(self) -> list[int]:
        return [
            2 ** (i % self.layers_per_cycle) for i in range(self.layers_per_cycle * self.cycles)
        ]

    @property
    def receptive_field(self) -> int:
        return sum(self.dilations) + 1  # kernel 2


def preset(name: str, **overrides) -> WaveNetConfig:
    """The pose encoder of each preset is Foley Music's encoder of the same preset."""
    encoder = foley_preset(name).encoder

    def paper():
        return WaveNetConfig(encoder=replace(encoder, d_model=256), batch_size=8, lr=1e-3)

    def small():
        return WaveNetConfig(
            encoder=replace(encoder, d_model=64),
            residual=64,
            gate=128,
            skip=64,
            layers_per_cycle=9,  # receptive field 1023 samples (64 ms)
            cycles=2,
            clip_s=2.0,
            train_samples=3000,
            batch_size=8,
            lr=2e-3,
            warmup_steps=100,
            onset_loss_weight=1.0,
            onset_batch_size=16,
            # onset_teacher_forcing (1.0) and onset_envelope_s (0.25) were tried and not kept:
            # audio onset F1 ratio 1.18 with either, against 1.34 without
            # (docs/explanation/baselines.md).
            onset_window_share=0.75,
            # The loudness gain took the ratio from 1.24 to 1.78 (docs/explanation/baselines.md);
            # 8 kHz covers twice the time per step and halves generation.
            loudness_loss_weight=1.0,
            loudness_teacher_forcing=1.0,
            loudness_gain=True,
            sample_rate=8000,
        )

    def debug():
        return WaveNetConfig(
            encoder=replace(encoder, d_model=16),
            residual=16,
            gate=32,
            skip=16,
            layers_per_cycle=4,
            cycles=2,
            # Tests generate with it one sample at a time: a quarter of the samples.
            sample_rate=4000,
            clip_s=1.0,
            train_samples=256,
            batch_size=2,
            warmup_steps=5,
            onset_loss_weight=1.0,
            onset_batch_size=2,
            onset_teacher_forcing=0.5,
            onset_window_share=0.5,
        )

    return choose(name, overrides, debug=debug, small=small, paper=paper)
