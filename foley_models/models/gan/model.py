"""GAN baseline, RegNet-style (Chen et al. 2020): a generator from pose features (plus noise)
to an 80-bin log-mel spectrogram, and a conditional PatchGAN-1D discriminator that sees the
spectrogram together with the pose features of the same frames.

Generator: features upsampled to the mel frame rate, concatenated with per-frame noise,
`conv_layers` x (Conv1d k5, BatchNorm, ReLU, dropout), a bidirectional GRU, a 1x1 projection to
the mels, and a postnet (Conv1d k5 + tanh layers) whose output is added. Log-mels are normalised
to about [-1, 1] with fixed constants.
"""

import torch
from torch import nn

from foley_models.models.gan.config import GANConfig
from foley_models.models.waveform import PoseConditioner

MEL_CENTRE, MEL_SCALE = -5.0, 5.0  # natural-log mel amplitudes -> about [-1, 1]


def normalise_mel(log_mel: torch.Tensor) -> torch.Tensor:
    return (log_mel - MEL_CENTRE) / MEL_SCALE


def denormalise_mel(x: torch.Tensor) -> torch.Tensor:
    return x * MEL_SCALE + MEL_CENTRE


def spectral_flux(mel: torch.Tensor) -> torch.Tensor:
    """[B, n_mels, F] -> [B, F - 1]: the mean rise of the log-mel from one frame to the next,
    the onset strength our audio onset detector also reads."""
    return torch.relu(mel[:, :, 1:] - mel[:, :, :-1]).mean(dim=1)


def _conv_stack(c_in, channels, layers, out, activation, dropout) -> nn.Sequential:
    parts = []
    for i in range(layers):
        last = i == layers - 1
        c_out = out if last and out else channels
        parts += [nn.Conv1d(c_in, c_out, 5, padding=2), nn.BatchNorm1d(c_out)]
        if not (last and out):
            parts += [activation(), nn.Dropout(dropout)]
        c_in = c_out
    return nn.Sequential(*parts)


class MelGenerator(nn.Module):
    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        d = config.cond_dim
        self.convs = _conv_stack(
            d + config.noise_dim, config.channels, config.conv_layers, 0, nn.ReLU, config.dropout
        )
        self.rnn = nn.GRU(config.channels, config.rnn, batch_first=True, bidirectional=True)
        self.to_mel = nn.Conv1d(2 * config.rnn, config.n_mels, 1)
        self.postnet = _conv_stack(
            config.n_mels,
            config.postnet_channels,
            config.postnet_layers,
            config.n_mels,
            nn.Tanh,
            config.dropout,
        )

    def forward(self, cond: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """cond [B, D, F], noise [B, Z, F] -> normalised log-mel [B, n_mels, F]."""
        h = self.convs(torch.cat([cond, noise], dim=1))
        h, _ = self.rnn(h.transpose(1, 2))
        mel = self.to_mel(h.transpose(1, 2))
        return mel + self.postnet(mel)


class Discriminator(nn.Module):
    """Conditional PatchGAN-1D: (log-mel, pose features) [B, n_mels + D, F] -> logits per patch."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        c_in, layers = config.n_mels + config.cond_dim, []
        for _ in range(config.d_layers - 1):
            layers += [
                nn.Conv1d(c_in, config.d_channels, 4, stride=2, padding=1),
                nn.LeakyReLU(0.2),
            ]
            c_in = config.d_channels
        layers.append(nn.Conv1d(c_in, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, mel: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([mel, cond], dim=1))


class PoseToMelGAN(nn.Module):
    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        self.conditioner = PoseConditioner(config)
        self.generator = MelGenerator(config)
        self.discriminator = Discriminator(config)

    def frames(self, n_samples: int) -> int:
        return n_samples // self.config.hop + 1  # centred STFT frames

    def condition(self, pose, instrument, n_samples: int) -> torch.Tensor:
        return self.conditioner.condition(pose, instrument, self.frames(n_samples))[0]

    def noise(self, cond: torch.Tensor, generator: torch.Generator | None = None):
        shape = (cond.shape[0], self.config.noise_dim, cond.shape[2])
        return torch.randn(shape, generator=generator).to(cond.device)

    def generator_parameters(self):
        return [*self.conditioner.parameters(), *self.generator.parameters()]
