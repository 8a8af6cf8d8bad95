"""WaveNet training hooks: per example, a random window of `train_samples` predicted samples of
the clip (with a receptive field of real or silent context before it), cross-entropy over the
256 mu-law classes, the pose encoder trained jointly through the conditioning."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from foley_models.models.quantize import mu_law_encode
from foley_models.models.waveform import WaveformTask
from foley_models.models.wavenet.config import WaveNetConfig
from foley_models.models.wavenet.model import WaveNet


class Task(WaveformTask):
    def __init__(self, config: WaveNetConfig, data: Path, device: torch.device) -> None:
        super().__init__(config, data, device, WaveNet(config))

    def prepare(self, batch: dict, rng: np.random.Generator) -> dict:
        n = batch["audio"].shape[1]
        length = min(self.config.train_samples, n)
        batch["starts"] = self.window_starts(batch, n, length, rng)
        batch["length"] = length
        return batch

    def loss(self, batch: dict):
        rf, length = self.config.receptive_field, batch["length"]
        n = batch["audio"].shape[1]
        c = self.condition(batch, n)
        audio = batch["audio"]
        if self.config.loudness_gain:  # the true level: the waveform the WaveNet models
            audio = (audio / self.model.gain(batch["loudness"], n)).clamp(-1.0, 1.0)
        classes = mu_law_encode(F.pad(audio, (rf, 0)), self.config.levels)
        c = self.model.pad(c)
        inputs = torch.stack(
            [classes[i, s : s + rf + length - 1] for i, s in enumerate(batch["starts"])]
        )
        cond = torch.stack(
            [c[i, :, s + 1 : s + rf + length] for i, s in enumerate(batch["starts"])]
        )
        targets = torch.stack(
            [classes[i, s + rf : s + rf + length] for i, s in enumerate(batch["starts"])]
        )
        logits = self.model(inputs, cond)[:, :, rf - 1 :]
        loss = F.cross_entropy(logits, targets)
        accuracy = (logits.argmax(1) == targets).float().mean().item()
        return self.add_onset_loss(loss, {"accuracy": accuracy}, batch)
