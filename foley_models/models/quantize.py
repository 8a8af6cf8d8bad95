"""256-level mu-law quantisation of audio in [-1, 1], shared by WaveNet and SampleRNN."""

import math

import torch

LEVELS = 256


def mu_law_encode(audio: torch.Tensor, levels: int = LEVELS) -> torch.Tensor:
    """Float audio in [-1, 1] -> integer classes 0..levels-1 (silence is levels // 2)."""
    mu = levels - 1
    x = audio.clamp(-1.0, 1.0)
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((y + 1) / 2 * mu + 0.5).floor().long().clamp(0, mu)


def mu_law_decode(classes: torch.Tensor, levels: int = LEVELS) -> torch.Tensor:
    mu = levels - 1
    y = classes.float() / mu * 2 - 1
    return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu


def sample_classes(logits: torch.Tensor, uniform: torch.Tensor, temperature: float = 1.0):
    """Draw one class per row of logits [B, K] by inverting the CDF at uniform [B] in [0, 1).

    Inverting the CDF at a pre-drawn number (rather than torch.multinomial) makes the draw depend
    only on the probabilities, so two ways of computing the same logits give the same samples."""
    probs = torch.softmax(logits.double() / temperature, dim=-1)
    cdf = probs.cumsum(-1)
    cdf = cdf / cdf[:, -1:]
    idx = torch.searchsorted(cdf, uniform.double()[:, None].contiguous()).squeeze(1)
    return idx.clamp(max=logits.shape[-1] - 1)
