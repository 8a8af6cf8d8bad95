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
from foley_models.models.foley_music.model import PITCHES, FoleyMusic
from foley_models.models.waveform import best_threshold, onset_curve_targets

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
    out = {"pose": pose, "instrument": instrument, "x": tokens[:, :-1], "y": tokens[:, 1:]}
    if config.onset_loss_weight > 0:
        out["onsets"] = onset_targets(batch, config, pose.shape[1]).to(device)
    if config.pitch_loss_weight > 0:
        out["pitches"] = pitch_targets(batch, config, pose.shape[1]).to(device)
    return out


def onset_targets(batch: list[clips.Clip], config: FoleyMusicConfig, frames: int) -> torch.Tensor:
    """[B, T'] 1 where a note starts inside a memory frame of the pose clip, else 0; with
    `onset_subframes` > 1, [B, T' * subframes] in the baselines' shape (1 in the sub-frame where
    a note starts, 0.5 beside it)."""
    ds = config.encoder.downsample
    length = -(-frames // ds)  # the encoder's output length (strided convolutions round up)
    if config.onset_subframes > 1:
        onsets = [np.array([n.start for n in clip.notes]) for clip in batch]
        return onset_curve_targets(onsets, length * config.onset_subframes, config.onset_bin_s)
    targets = torch.zeros(len(batch), length)
    for i, clip in enumerate(batch):
        for note in clip.notes:
            index = int(note.start * config.fps // ds)
            if 0 <= index < length:
                targets[i, index] = 1.0
    return targets


def pitch_targets(batch: list[clips.Clip], config: FoleyMusicConfig, frames: int) -> torch.Tensor:
    """[B, T', 128]: per memory frame, the pitch distribution of the notes starting in it (a
    chord shares the mass), all zeros where none starts."""
    ds = config.encoder.downsample
    length = -(-frames // ds)
    targets = torch.zeros(len(batch), length, PITCHES)
    for i, clip in enumerate(batch):
        for note in clip.notes:
            index = int(note.start * config.fps // ds)
            if 0 <= index < length:
                targets[i, index, note.pitch] += 1.0
    return targets / targets.sum(dim=2, keepdim=True).clamp(min=1.0)


def pitch_loss(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy against the pitch distributions on frames where a note starts, and the
    share of those frames whose most likely pitch is one that starts there."""
    onset = targets.sum(dim=2) > 0
    if not onset.any():
        zero = logits.sum() * 0.0
        return zero, zero.detach()
    log_p = F.log_softmax(logits[onset], dim=-1)
    loss = -(targets[onset] * log_p).sum(dim=-1).mean()
    hit = targets[onset].gather(1, log_p.argmax(-1, keepdim=True)).squeeze(1) > 0
    return loss, hit.float().mean()


def loss_and_accuracy(
    model: FoleyMusic, batch: dict
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Cross-entropy over events ignoring PAD, token accuracy excluding PAD, and the auxiliary
    heads' losses the config asks for: "onset_loss" (binary cross-entropy), "pitch_loss" and
    "pitch_accuracy". Rows in `batch["forced"]` (training's teacher forcing) have the onset
    window read their true onsets."""
    memory = model.encode(batch["pose"], batch["instrument"])
    curve = None
    rows = batch.get("forced")
    if rows is not None and model.training and rows.any():
        curve = torch.where(rows[:, None], batch["onsets"], model.onset_curve(memory))
    logits = model.decode(batch["x"], memory, onset_curve=curve)
    y = batch["y"]
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=vocab.PAD
    )
    real = y != vocab.PAD
    accuracy = ((logits.argmax(-1) == y) & real).sum() / real.sum().clamp(min=1)
    auxiliary = {}
    if "onsets" in batch:
        auxiliary["onset_loss"] = F.binary_cross_entropy_with_logits(
            model.onset_logits(memory), batch["onsets"]
        )
    if "pitches" in batch:
        auxiliary["pitch_loss"], auxiliary["pitch_accuracy"] = pitch_loss(
            model.pitch_logits(memory), batch["pitches"]
        )
    return loss, accuracy, auxiliary


class Task:
    def __init__(self, config: FoleyMusicConfig, data: Path, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.model = FoleyMusic(config).to(device)
        self.train_sources = clips.load_split(
            data, "train", instruments=config.instruments, fps=config.fps
        )
        val = clips.load_split(data, "val", instruments=config.instruments, fps=config.fps)
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
        out = collate(batch, self.model, self.device)
        if c.onset_window_teacher_forcing > 0:
            rows = rng.random(len(batch)) < c.onset_window_teacher_forcing
            out["forced"] = torch.from_numpy(rows).to(self.device)
        return out

    @torch.no_grad()
    def pick_onset_threshold(self) -> dict:
        """With the onset window's teacher forcing: set the head's peak-picking threshold to
        the one with the best onset F1 (50 ms) on the validation clips; its metrics."""
        c = self.config
        if not (c.onset_window_ahead and c.onset_window_teacher_forcing > 0):
            return {}
        probabilities, onsets = [], []
        for i in range(0, len(self.val_clips), c.batch_size):
            chunk = self.val_clips[i : i + c.batch_size]
            batch = collate(chunk, self.model, self.device)
            memory = self.model.encode(batch["pose"], batch["instrument"])
            probabilities.append(torch.sigmoid(self.model.onset_logits(memory)).cpu())
            onsets += [np.unique([n.start for n in x.notes if n.start < c.clip_s]) for x in chunk]
        f1, threshold = best_threshold(torch.cat(probabilities), onsets, c.onset_bin_s)
        self.model.onset_threshold.fill_(threshold)
        return {"val_onset_threshold": threshold, "val_onset_f1": f1}

    def loss(self, batch: dict):
        loss, accuracy, auxiliary = loss_and_accuracy(self.model, batch)
        metrics = {"accuracy": accuracy.item()}
        if auxiliary:
            metrics["event_loss"] = loss.item()
        weights = {"onset_loss": self.config.onset_loss_weight,
                   "pitch_loss": self.config.pitch_loss_weight}  # fmt: skip
        for name, value in auxiliary.items():
            metrics[name] = value.item()
            if name in weights:
                loss = loss + weights[name] * value
        return loss, metrics

    def validate(self) -> dict:
        """Loss and accuracy over the validation clips, and the loss again with every clip's
        pose taken from a clip half the set away: the gap says how much the motion is used.
        With a pitch head, also its accuracy on the frames where a note starts."""
        out = self.pick_onset_threshold()
        size = self.config.batch_size
        n = len(self.val_clips)
        poses = {
            "val": [c.pose for c in self.val_clips],
            "val_shuffled": [self.val_clips[(i + n // 2) % n].pose for i in range(n)],
        }
        for name, pose in poses.items():
            total_loss, total_correct, total_tokens = 0.0, 0, 0
            pitch_hits, pitch_frames = 0.0, 0
            for i in range(0, n, size):
                batch = collate(self.val_clips[i : i + size], self.model, self.device)
                batch["pose"] = torch.from_numpy(np.stack(pose[i : i + size])).to(self.device)
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
                if name == "val" and "pitches" in batch:
                    memory = self.model.encode(batch["pose"], batch["instrument"])
                    frames = (batch["pitches"].sum(dim=2) > 0).sum().item()
                    _, hit = pitch_loss(self.model.pitch_logits(memory), batch["pitches"])
                    pitch_hits += hit.item() * frames
                    pitch_frames += frames
            out[f"{name}_loss"] = total_loss / max(total_tokens, 1)
            out[f"{name}_accuracy"] = total_correct / max(total_tokens, 1)
            if pitch_frames:
                out[f"{name}_pitch_accuracy"] = pitch_hits / pitch_frames
        return out
