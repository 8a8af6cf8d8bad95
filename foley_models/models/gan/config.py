"""GAN baseline configuration and presets (`paper`: RegNet-sized, PeihaoChen/regnet: 3 conv
layers of 2048 channels with kernel 5, a BiLSTM-sized recurrent layer, an 80-bin log-mel output
with a 5-layer postnet, Adam 2e-4 with beta1 0.5)."""

from dataclasses import dataclass, replace

from foley_models.models.foley_music.config import preset as foley_preset
from foley_models.models.presets import choose
from foley_models.models.waveform import WaveformConfig
from foley_models.render.spectral import MelSpec


@dataclass(frozen=True)
class GANConfig(WaveformConfig):
    n_mels: int = 80
    n_fft: int = 1024
    hop: int = 256
    fmin: float = 40.0
    fmax: float = 7600.0
    channels: int = 2048  # generator convolutions
    conv_layers: int = 3
    rnn: int = 256  # per direction
    noise_dim: int = 64
    postnet_channels: int = 512
    postnet_layers: int = 5
    dropout: float = 0.5
    d_channels: int = 256
    d_layers: int = 4
    recon_weight: float = 100.0  # L1 on the normalised log-mel, against the adversarial term
    flux_weight: float = 0.0  # L1 on its spectral flux (gan/train.py); 0 in `paper` (RegNet)
    griffin_lim_iters: int = 32
    lr: float = 2e-4
    adam_betas: tuple[float, float] = (0.5, 0.999)

    @property
    def mel(self) -> MelSpec:
        return MelSpec(self.sample_rate, self.n_fft, self.hop, self.n_mels, self.fmin, self.fmax)


def preset(name: str, **overrides) -> GANConfig:
    """The pose encoder of each preset is Foley Music's encoder of the same preset."""
    encoder = foley_preset(name).encoder

    def paper():
        return GANConfig(encoder=replace(encoder, d_model=512), batch_size=64)

    def small():
        return GANConfig(
            encoder=replace(encoder, d_model=128),
            channels=256,
            rnn=128,
            postnet_channels=128,
            postnet_layers=3,
            d_channels=128,
            clip_s=3.0,
            batch_size=16,
            warmup_steps=50,
            onset_loss_weight=100.0,  # as recon_weight: see gan/train.py
            onset_batch_size=16,
            onset_teacher_forcing=1.0,
            flux_weight=200.0,
        )

    def debug():
        return GANConfig(
            encoder=replace(encoder, d_model=16),
            channels=16,
            conv_layers=1,
            rnn=8,
            noise_dim=4,
            postnet_channels=8,
            postnet_layers=2,
            d_channels=8,
            d_layers=2,
            clip_s=1.0,
            batch_size=2,
            warmup_steps=5,
            griffin_lim_iters=4,
            onset_loss_weight=1.0,
            onset_batch_size=2,
            onset_teacher_forcing=0.5,
            flux_weight=200.0,
        )

    return choose(name, overrides, debug=debug, small=small, paper=paper)
