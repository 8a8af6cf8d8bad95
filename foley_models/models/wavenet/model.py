"""WaveNet with local conditioning on pose features (van den Oord et al. 2016; layout of
r9y9/wavenet_vocoder): an input embedding of the previous mu-law sample, gated residual layers
(dilated causal convolution, kernel 2, plus a 1x1 projection of the conditioning added before
tanh * sigmoid), skip connections summed into a ReLU-1x1-ReLU-1x1 head over 256 classes.

Sequences are "padded": a receptive field of silence comes before every clip, in training and
in generation alike. The input at position p is the sample at p; the output there predicts the
sample at p + 1, and the conditioning at p is that of the sample it predicts.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from foley_models.models.waveform import PoseConditioner, level_gain, upsample
from foley_models.models.wavenet.config import WaveNetConfig

SQRT_HALF = math.sqrt(0.5)


class ResidualLayer(nn.Module):
    def __init__(self, config: WaveNetConfig, dilation: int) -> None:
        super().__init__()
        self.dilation = dilation
        half = config.gate // 2
        self.conv = nn.Conv1d(config.residual, config.gate, kernel_size=2, dilation=dilation)
        self.cond = nn.Conv1d(config.cond_dim, config.gate, kernel_size=1, bias=False)
        self.out = nn.Conv1d(half, config.residual, kernel_size=1)
        self.skip = nn.Conv1d(half, config.skip, kernel_size=1)

    def _gate(self, h: torch.Tensor, dim: int) -> torch.Tensor:
        a, b = h.chunk(2, dim=dim)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward(self, x: torch.Tensor, c: torch.Tensor):
        """x [B, R, N], c [B, D, N] -> (next x [B, R, N], skip [B, S, N])."""
        z = self._gate(self.conv(F.pad(x, (self.dilation, 0))) + self.cond(c), dim=1)
        return (x + self.out(z)) * SQRT_HALF, self.skip(z)

    def step(self, x_past: torch.Tensor, x_now: torch.Tensor, c_proj: torch.Tensor):
        """One position from the cached input `dilation` steps back: x_* [B, R], the layer's
        conditioning projection c_proj [B, G] -> (next x [B, R], skip [B, S])."""
        w = self.conv.weight
        h = F.linear(x_past, w[:, :, 0]) + F.linear(x_now, w[:, :, 1], self.conv.bias) + c_proj
        z = self._gate(h, dim=1)
        out = F.linear(z, self.out.weight[:, :, 0], self.out.bias)
        return (x_now + out) * SQRT_HALF, F.linear(z, self.skip.weight[:, :, 0], self.skip.bias)


class WaveNet(nn.Module):
    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config
        self.conditioner = PoseConditioner(config)
        self.embed = nn.Embedding(config.levels, config.residual)
        self.layers = nn.ModuleList(ResidualLayer(config, d) for d in config.dilations)
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(config.skip, config.skip, kernel_size=1),
            nn.ReLU(),
            nn.Conv1d(config.skip, config.levels, kernel_size=1),
        )

    def conditioning(self, pose, instrument, n_samples: int) -> torch.Tensor:
        """Pose features at the sample rate, with a receptive field of padding in front (the
        first sample's features repeated): [B, D, RF + n_samples]."""
        return self.pad(self.conditioner.condition(pose, instrument, n_samples)[0])

    def gain(self, level: torch.Tensor, n: int) -> torch.Tensor:
        """Levels [B, bins] (`waveform.loudness_targets`) -> per-sample gains [B, n]: the level
        upsampled as the conditioning is, in dB, then made an amplitude."""
        return level_gain(upsample(level[:, :, None], n)[:, 0])

    def pad(self, c: torch.Tensor) -> torch.Tensor:
        return F.pad(c, (self.config.receptive_field, 0), mode="replicate")

    def forward(self, classes: torch.Tensor, c: torch.Tensor, layer_inputs: list | None = None):
        """Input classes [B, N] and conditioning [B, D, N] -> logits [B, levels, N]."""
        x = self.embed(classes).transpose(1, 2)
        skips = 0
        for layer in self.layers:
            if layer_inputs is not None:
                layer_inputs.append(x)
            x, s = layer(x, c)
            skips = skips + s
        return self.head(skips)

    def head_step(self, skips: torch.Tensor) -> torch.Tensor:
        """The head for one position: [B, S] -> [B, levels]."""
        first, second = self.head[1], self.head[3]
        h = F.linear(torch.relu(skips), first.weight[:, :, 0], first.bias)
        return F.linear(torch.relu(h), second.weight[:, :, 0], second.bias)
