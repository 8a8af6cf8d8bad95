"""SampleRNN training hooks: per example a random window of `train_samples` samples (aligned to
the top frame) with 16 samples of history, the recurrent tiers starting from zero state (as in
generation), cross-entropy over 256 mu-law classes."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from foley_models.models.quantize import mu_law_encode
from foley_models.models.samplernn.config import SampleRNNConfig
from foley_models.models.samplernn.model import SampleRNN
from foley_models.models.waveform import WaveformTask


class Task(WaveformTask):
    def __init__(self, config: SampleRNNConfig, data: Path, device: torch.device) -> None:
        super().__init__(config, data, device, SampleRNN(config))

    def prepare(self, batch: dict, rng: np.random.Generator) -> dict:
        top = self.config.frame_sizes[0]
        frames = batch["audio"].shape[1] // top
        length = min(self.config.train_samples // top, frames)
        n = frames * top
        batch["starts"] = self.window_starts(batch, n, length * top, rng, unit=top)  # top frames
        batch["frames"] = length
        return batch

    def loss(self, batch: dict):
        top = self.config.frame_sizes[0]
        n = batch["audio"].shape[1]
        classes = mu_law_encode(F.pad(batch["audio"], (top, 0)), self.config.levels)
        cond = self.condition(batch, self.model.top_frames(n)).transpose(1, 2)
        f = batch["frames"]
        seq = torch.stack(
            [classes[i, s * top : (s + f + 1) * top] for i, s in enumerate(batch["starts"])]
        )
        cond = torch.stack([cond[i, s : s + f] for i, s in enumerate(batch["starts"])])
        logits = self.model(seq, cond)
        targets = seq[:, top:]
        loss = F.cross_entropy(logits.transpose(1, 2), targets)
        accuracy = (logits.argmax(-1) == targets).float().mean().item()
        return self.add_onset_loss(loss, {"accuracy": accuracy}, batch)
