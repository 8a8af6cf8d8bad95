"""Foley Music training hooks for the shared loop: random 6 s crops with the Foley augmentation,
SOS + events + EOS targets over a 6.5 s MIDI window, cross-entropy ignoring PAD, Noam warm-up.
Validation loss and token accuracy exclude PAD (the official code's accuracy counts it)."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from foley_models.data import codec, vocab
from foley_models.models import clips
from foley_models.models.foley_music.config import FoleyMusicConfig
from foley_models.models.foley_music.model import FoleyMusic

VALIDATION_CLIPS = 64


def clip_tokens(clip: clips.Clip, max_events: int) -> list[int]:
    """SOS + events + EOS, cut to max_events + 1 with EOS kept last."""
    seq = codec.with_sos_eos(codec.encode_notes(clip.notes))
    if len(seq) > max_events + 1:
        seq = seq[:max_events] + [vocab.EOS]
    return seq


def collate(batch: list[clips.Clip], model: FoleyMusic, device) -> dict:
    config = model.config
    seqs = [clip_tokens(c, config.max_events) for c in batch]
    length = max(len(s) for s in seqs)  # pad to the longest in the batch, not to max_events
    tokens = torch.full((len(seqs), length), vocab.PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = torch.tensor(s)
    pose = torch.from_numpy(np.stack([c.pose for c in batch])).to(device)
    instrument = model.instrument_ids([c.instrument for c in batch], device)
    tokens = tokens.to(device)
    return {"pose": pose, "instrument": instrument, "x": tokens[:, :-1], "y": tokens[:, 1:]}


def loss_and_accuracy(model: FoleyMusic, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(batch["pose"], batch["instrument"], batch["x"])
    y = batch["y"]
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=vocab.PAD
    )
    real = y != vocab.PAD
    accuracy = ((logits.argmax(-1) == y) & real).sum() / real.sum().clamp(min=1)
    return loss, accuracy


class Task:
    def __init__(self, config: FoleyMusicConfig, data: Path, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.model = FoleyMusic(config).to(device)
        self.train_sources = clips.load_split(data, "train", instruments=config.instruments)
        val = clips.load_split(data, "val", instruments=config.instruments)
        self.val_clips = clips.consecutive_clips(
            val, config.clip_s, config.midi_window_s, limit=VALIDATION_CLIPS
        )

    def lr(self, step: int) -> float:
        c = self.config
        return c.lr_scale * c.d_model**-0.5 * min(step**-0.5, step * c.warmup_steps**-1.5)

    def train_batch(self, rng: np.random.Generator) -> dict:
        c = self.config
        batch = [
            clips.random_clip(self.train_sources, c.clip_s, c.midi_window_s, rng)
            for _ in range(c.batch_size)
        ]
        return collate(batch, self.model, self.device)

    def loss(self, batch: dict):
        loss, accuracy = loss_and_accuracy(self.model, batch)
        return loss, {"accuracy": accuracy.item()}

    def validate(self) -> dict:
        total_loss, total_correct, total_tokens = 0.0, 0, 0
        size = self.config.batch_size
        for i in range(0, len(self.val_clips), size):
            batch = collate(self.val_clips[i : i + size], self.model, self.device)
            logits = self.model(batch["pose"], batch["instrument"], batch["x"])
            y = batch["y"]
            real = y != vocab.PAD
            total_loss += F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                y.reshape(-1),
                ignore_index=vocab.PAD,
                reduction="sum",
            ).item()
            total_correct += ((logits.argmax(-1) == y) & real).sum().item()
            total_tokens += real.sum().item()
        return {
            "val_loss": total_loss / max(total_tokens, 1),
            "val_accuracy": total_correct / max(total_tokens, 1),
        }
