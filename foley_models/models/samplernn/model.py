"""SampleRNN (Mehri et al. 2017) with pose conditioning at the top tier (as Zhou et al. 2018).

Three tiers. The top tier reads the previous 16 samples per step, adds the pose features of its
frame and runs a GRU; a learned upsampling (a linear map to 4 vectors) conditions the 4 middle
frames under it. The middle tier reads the previous 4 samples, adds that conditioning, runs a GRU
and conditions its 4 samples. The sample tier is an MLP over embeddings of the previous 4 samples
plus that conditioning, giving 256 mu-law classes.

Sequences carry a history of `frame_sizes[0]` samples before their first target (silence at a
clip's start): padded position 16 + t holds target sample t.
"""

import torch
from torch import nn

from foley_models.models.samplernn.config import SampleRNNConfig
from foley_models.models.waveform import PoseConditioner


class SampleRNN(nn.Module):
    def __init__(self, config: SampleRNNConfig) -> None:
        super().__init__()
        self.config = config
        top, mid = config.frame_sizes
        if top % mid:
            raise ValueError("the top frame size must be a multiple of the middle one")
        dim = config.dim
        self.conditioner = PoseConditioner(config)
        self.top_in = nn.Linear(top, dim)
        self.top_cond = nn.Linear(config.cond_dim, dim)
        self.top_rnn = nn.GRU(dim, dim, config.rnn_layers, batch_first=True)
        self.top_up = nn.Linear(dim, dim * (top // mid))
        self.mid_in = nn.Linear(mid, dim)
        self.mid_rnn = nn.GRU(dim, dim, config.rnn_layers, batch_first=True)
        self.mid_up = nn.Linear(dim, dim * mid)
        self.embed = nn.Embedding(config.levels, config.embedding)
        self.sample_in = nn.Linear(mid * config.embedding, dim)
        self.mlp = nn.Sequential(
            nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, config.levels)
        )

    def as_input(self, classes: torch.Tensor) -> torch.Tensor:
        """Classes -> the frame tiers' real-valued input in [-2, 2]."""
        x = classes.to(self.top_in.weight.dtype)
        return (x / (self.config.levels - 1) * 2 - 1) * 2

    def pose_frames(self, pose, instrument, n_samples: int) -> torch.Tensor:
        """Pose features at the top tier's rate: [B, n_samples / 16, D]."""
        c, _ = self.conditioner.condition(pose, instrument, self.top_frames(n_samples))
        return c.transpose(1, 2)

    def top_frames(self, n_samples: int) -> int:
        return -(-n_samples // self.config.frame_sizes[0])

    def forward(self, seq: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Padded classes [B, 16 + L] and top-frame features [B, L / 16, D] -> logits
        [B, L, levels] for the L targets."""
        top, mid = self.config.frame_sizes
        b, length = seq.shape[0], seq.shape[1] - top
        if length % top:
            raise ValueError(f"sequence length {length} is not a multiple of {top}")
        x = self.as_input(seq)
        frames = x[:, :length].reshape(b, length // top, top)
        h, _ = self.top_rnn(self.top_in(frames) + self.top_cond(cond))
        top_cond = self.top_up(h).reshape(b, length // mid, -1)
        mid_frames = x[:, top - mid : top - mid + length].reshape(b, length // mid, mid)
        h, _ = self.mid_rnn(self.mid_in(mid_frames) + top_cond)
        mid_cond = self.mid_up(h).reshape(b, length, -1)
        emb = self.embed(seq[:, top - mid : top + length - 1])  # [B, L + mid - 1, E]
        windows = emb.unfold(1, mid, 1).transpose(2, 3).reshape(b, length, -1)
        return self.mlp(self.sample_in(windows) + mid_cond)
