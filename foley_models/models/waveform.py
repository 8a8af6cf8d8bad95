"""What the three waveform baselines (WaveNet, SampleRNN, GAN) share.

- `WaveformConfig`: the fields every baseline config has (encoder, instruments, rates, training).
- `PoseConditioner`: the same ST-GCN encoder architecture as Foley Music, plus an instrument
  embedding, giving pose features [B, T', d] that each baseline upsamples to its own rate. With
  `onset_loss_weight` > 0 it also has an onset head (the supervision that made Foley Music
  `small` read the motion): per memory frame, `onset_subframes` logits that a note starts in
  each sub-frame (11 ms at `small`), trained with binary cross-entropy against the clip's note
  onsets (from its MIDI, or detected in its reference audio where it has none). Its
  probabilities (detached: only the onset loss trains the head) are one more conditioning
  channel, upsampled from their own fine grid, so the moment of an onset survives the
  upsampling that smears the 91 ms features.
- `WaveformTask`: training hooks for the shared loop: pose crops with the matching reference
  audio resampled to the model's rate (loaded once), Foley augmentation, a warm-up schedule and
  a validation set that is the same every time; `window_starts` places a share of the training
  windows (`onset_window_share`) so they hold a note onset.
- `WaveformGenerator`: the shared generation interface; a system only implements `synthesize`.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from foley_models.data import dataset
from foley_models.data.layouts import normalise
from foley_models.metrics import onset_matches
from foley_models.models import checkpoint, clips
from foley_models.models.interface import Generated, group_by_length, per_clip_instruments
from foley_models.models.pose_encoder import PoseEncoder, PoseEncoderConfig
from foley_models.render.audio_io import read_wav
from foley_models.render.spectral import resample

INSTRUMENTS = ("piano", "violin", "cello", "guitar")
VALIDATION_CLIPS = 32
THRESHOLDS = (0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)  # onset peak picking


@dataclass(frozen=True)
class WaveformConfig:
    encoder: PoseEncoderConfig = field(default_factory=PoseEncoderConfig)
    instruments: tuple[str, ...] = INSTRUMENTS
    sample_rate: int = 16000
    fps: float = 22.0
    clip_s: float = 6.0  # pose clip given to the encoder in training
    # Training
    batch_size: int = 16
    lr: float = 1e-3
    warmup_steps: int = 200
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    adam_betas: tuple[float, float] = (0.9, 0.999)
    # The onset head on the pose features (0 = none) and its sub-frames per memory frame.
    onset_loss_weight: float = 0.0
    onset_subframes: int = 8
    # Share of the training windows placed to contain a note onset (sample-level systems train
    # on windows of a fraction of a second, most of which would otherwise hold no onset).
    onset_window_share: float = 0.0
    # Pose clips added to every training step for the onset loss alone: the pose encoder is a
    # small part of a sample-level step's cost, so its supervision can see many more clips
    # than the few the waveform loss can afford.
    onset_batch_size: int = 0
    # Share of the training clips whose onset channel is the ground truth (the clip's onsets, in
    # the head's target shape) instead of the head's output. With it (> 0) the channel the
    # system sees in validation and generation is the head's onsets, peak-picked at the
    # threshold with the best onset F1 on the validation clips (re-picked at every validation,
    # kept in the checkpoint), so it has the same shape as in training: the waveform model
    # learns what an onset sounds like from a clean channel from the first step, and the onset
    # head learns where they are from the motion.
    onset_teacher_forcing: float = 0.0
    # With it (> 0, seconds): the channel is not the onset curve itself but an envelope that
    # jumps to 1 at each onset (a sub-frame at 1 in the curve) and decays with this time
    # constant, so a system whose receptive field is much shorter than a note (WaveNet's 64 ms)
    # still knows how long ago the sounding note began.
    onset_envelope_s: float = 0.0
    # The loudness head (0 = none; needs the onset head, whose sub-frames it shares): per
    # sub-frame, the reference audio's level (`loudness_targets`), regressed from the pose
    # features with this weight on its mean squared error, and one more conditioning channel.
    # In a share `loudness_teacher_forcing` of the training clips that channel is the clip's
    # true level (as a neural vocoder hears the true spectrogram it is trained on; RegNet's
    # WaveNet does), elsewhere and in validation and generation the head's prediction.
    loudness_loss_weight: float = 0.0
    loudness_teacher_forcing: float = 0.0

    @property
    def onset_bin_s(self) -> float:
        """The onset head's sub-frame, in seconds."""
        return self.encoder.downsample / self.fps / self.onset_subframes

    @property
    def cond_dim(self) -> int:
        """Conditioning channels: the pose features and, with an onset head, its probability."""
        onset = 1 if self.onset_loss_weight > 0 else 0
        return self.encoder.d_model + onset + (1 if self.loudness_loss_weight > 0 else 0)


class PoseConditioner(nn.Module):
    """Pose clips [B, T, C, V, M] and instrument ids [B] -> features [B, T', d] and, with an
    onset head, onset logits [B, T' * subframes]."""

    def __init__(self, config: WaveformConfig) -> None:
        super().__init__()
        self.instruments = config.instruments
        self.encoder = PoseEncoder(config.encoder)
        self.instrument = nn.Embedding(len(config.instruments), config.encoder.d_model)
        self.subframes = config.onset_subframes if config.onset_loss_weight > 0 else 0
        self.bin_s = config.onset_bin_s
        self.peaks = self.subframes > 0 and config.onset_teacher_forcing > 0
        if self.subframes:
            self.onset_head = nn.Linear(config.encoder.d_model, self.subframes)
        self.envelope_decay = (
            float(np.exp(-config.onset_bin_s / config.onset_envelope_s))
            if self.subframes and config.onset_envelope_s > 0
            else None
        )
        if self.peaks:  # picked on the validation clips (`WaveformTask.pick_onset_threshold`)
            self.register_buffer("onset_threshold", torch.tensor(0.5))
        self.loudness = config.loudness_loss_weight > 0
        if self.loudness:
            if not self.subframes:
                raise ValueError("the loudness head needs the onset head (onset_loss_weight > 0)")
            self.loudness_head = nn.Linear(config.encoder.d_model, self.subframes)
            nn.init.constant_(self.loudness_head.bias, LOUDNESS_MAX / 2)  # -30 dBFS, near music

    def instrument_ids(self, names: list[str], device) -> torch.Tensor:
        unknown = sorted(set(names) - set(self.instruments))
        if unknown:
            raise ValueError(
                f"this model knows {', '.join(self.instruments)}; not {', '.join(unknown)}"
            )
        return torch.tensor([self.instruments.index(n) for n in names], device=device)

    def forward(self, pose: torch.Tensor, instrument: torch.Tensor) -> torch.Tensor:
        return self.encoder(pose) + self.instrument(instrument)[:, None, :]

    def condition(
        self,
        pose: torch.Tensor,
        instrument: torch.Tensor,
        n: int,
        forced: tuple[torch.Tensor, list[np.ndarray], float] | None = None,
        loudness: tuple[torch.Tensor | None, torch.Tensor, int] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The conditioning at n steps over the clip, [B, cond_dim, n], and the onset logits
        [B, T' * subframes] (None without an onset head). `forced`: (rows [B] bool, every
        clip's onsets in seconds, the sub-frame length in seconds): in those rows the channel
        is the onsets' target curve instead of the head's output. `loudness`: (rows [B] bool or
        None, the clips' reference audio [B, samples], its rate): in those rows the loudness
        channel is the audio's level. With a loudness head, its prediction and the audio's
        level (None without `loudness`) are kept in `self.last_loudness` for the loss."""
        features = self(pose, instrument)
        c = upsample(features, n)
        if not self.subframes:
            return c, None
        channels = [c]
        if self.loudness:
            predicted = self.loudness_head(features).reshape(features.shape[0], -1)
            level, truth = predicted.detach().clamp(0.0, LOUDNESS_MAX), None
            if loudness is not None:
                rows, audio, rate = loudness
                truth = loudness_targets(audio, predicted.shape[1], self.bin_s, rate)
                if rows is not None:
                    level = torch.where(rows[:, None], truth.to(level), level)
            self.last_loudness = (predicted, truth)
            channels.append(upsample(level[:, :, None], n))
        logits = self.onset_head(features).reshape(features.shape[0], -1)
        curve = torch.sigmoid(logits.detach())
        if self.peaks:
            curve = onset_peaks(curve, self.onset_threshold)
        if forced is not None:
            rows, onsets, bin_s = forced
            targets = onset_curve_targets(onsets, curve.shape[1], bin_s).to(curve)
            curve = torch.where(rows[:, None], targets, curve)
        if self.envelope_decay is not None:
            curve = onset_envelope(curve, self.envelope_decay)
        channels.insert(1, upsample(curve[:, :, None], n))
        return torch.cat(channels, dim=1), logits


def upsample(features: torch.Tensor, n: int) -> torch.Tensor:
    """Features [B, T', d] spread over the same duration at n steps: [B, d, n] (linear)."""
    return F.interpolate(features.transpose(1, 2), size=n, mode="linear", align_corners=False)


LOUDNESS_FLOOR_DB = -60.0  # a level of 0
LOUDNESS_DB = 20.0  # dB per unit
LOUDNESS_MAX = -LOUDNESS_FLOOR_DB / LOUDNESS_DB  # 0 dBFS


def level_gain(level: torch.Tensor, headroom: float = 4.0) -> torch.Tensor:
    """Levels (units of `loudness_targets`) -> amplitudes `headroom` times their RMS: audio
    divided by the gain of its own level has an RMS of 1 / headroom."""
    return headroom * torch.pow(10.0, level - LOUDNESS_MAX)


def loudness_targets(audio: torch.Tensor, bins: int, bin_s: float, rate: int) -> torch.Tensor:
    """Audio [B, n] at `rate` -> its level in each of `bins` sub-frames of `bin_s` seconds,
    [B, bins]: RMS in dB above -60 dBFS, in units of 20 dB (0 at or below -60 dBFS, 3 at full
    scale); sub-frames past the audio's end are silent."""
    n = audio.shape[1]
    energy = F.pad(torch.cumsum(audio.double() ** 2, dim=1), (1, 0))
    edges = torch.round(torch.arange(bins + 1, dtype=torch.float64) * bin_s * rate).long()
    edges = edges.clamp(max=n).to(audio.device)
    width = (edges[1:] - edges[:-1]).clamp(min=1)
    power = (energy[:, edges[1:]] - energy[:, edges[:-1]]) / width
    db = 10.0 * torch.log10(power.clamp(min=1e-12))
    return ((db - LOUDNESS_FLOOR_DB) / LOUDNESS_DB).clamp(0.0, LOUDNESS_MAX).float()


def onset_curve_targets(onsets: list[np.ndarray], bins: int, bin_s: float) -> torch.Tensor:
    """[B, bins] targets for the onset head: 1 in the sub-frame where a note starts, 0.5 in
    its neighbours (a few ms off is nearly right), else 0. `onsets`: seconds from clip start."""
    targets = torch.zeros(len(onsets), bins)
    for i, times in enumerate(onsets):
        index = np.floor(np.asarray(times) / bin_s).astype(int)
        for offset, value in ((-1, 0.5), (1, 0.5), (0, 1.0)):
            near = index + offset
            near = near[(near >= 0) & (near < bins)]
            targets[i, near] = torch.maximum(targets[i, near], torch.tensor(value))
    return targets


def onset_peaks(probability: torch.Tensor, threshold: float | torch.Tensor) -> torch.Tensor:
    """Onset probabilities [B, bins] -> the onset curve in the shape of `onset_curve_targets`:
    1 at every local maximum at or above `threshold`, 0.5 beside it, else 0."""
    left = F.pad(probability, (1, 0), value=-1.0)[:, :-1]
    right = F.pad(probability, (0, 1), value=-1.0)[:, 1:]
    peaks = ((probability >= left) & (probability > right) & (probability >= threshold)).float()
    beside = torch.maximum(F.pad(peaks, (1, 0))[:, :-1], F.pad(peaks, (0, 1))[:, 1:])
    return torch.maximum(peaks, 0.5 * beside)


def best_threshold(
    probability: torch.Tensor, onsets: list[np.ndarray], bin_s: float
) -> tuple[float, float]:
    """(onset F1, threshold): the `THRESHOLDS` entry whose peak-picked onsets of the head's
    probabilities [B, bins] best match `onsets` (seconds, one array per row) within 50 ms;
    the highest of equals."""
    reference = sum(len(o) for o in onsets)
    best = (-1.0, THRESHOLDS[-1])
    for threshold in THRESHOLDS:
        peaks = onset_peaks(probability, threshold).cpu().numpy() == 1.0
        matched = estimated = 0
        for row, truth in zip(peaks, onsets, strict=True):
            times = (np.nonzero(row)[0] + 0.5) * bin_s
            matched += onset_matches(truth, times)
            estimated += len(times)
        best = max(best, (2 * matched / max(estimated + reference, 1), threshold))
    return best


def onset_envelope(curve: torch.Tensor, decay: float) -> torch.Tensor:
    """Onset curve [B, bins] -> an envelope: 1 at every onset (an entry at 1), times `decay`
    per bin after it, until the next."""
    onsets = (curve >= 1.0).to(curve.dtype)
    level = torch.zeros_like(curve[:, 0])
    out = []
    for i in range(curve.shape[1]):
        level = torch.maximum(onsets[:, i], level * decay)
        out.append(level)
    return torch.stack(out, dim=1)


class WaveformTask:
    """Shared training hooks; a system adds `loss(batch)` and may override `prepare(batch, rng)`
    (e.g. to pick the audio window it trains on)."""

    def __init__(self, config: WaveformConfig, data: Path, device: torch.device, model) -> None:
        self.config = config
        self.device = device
        self.model = model.to(device)
        self._audio: dict[str, np.ndarray] = {}  # performance id -> audio at the model's rate
        self._onsets: dict[str, np.ndarray] = {}  # performance id -> note onsets (s)
        self.train_sources = self._sources(data, "train")
        val = self._sources(data, "val")
        self.val_clips = clips.consecutive_clips(
            val, config.clip_s, config.clip_s, limit=VALIDATION_CLIPS
        )

    def _sources(self, data: Path, split: str) -> list[clips.Source]:
        sources = clips.load_split(
            data, split, instruments=self.config.instruments, need_midi=False, fps=self.config.fps
        )
        with_audio = [s for s in sources if s.audio_path is not None]
        if not with_audio:
            raise dataset.DatasetError(
                f"{data}: split {split!r} has no reference audio; waveform systems train on audio"
            )
        for s in with_audio:
            audio, rate = read_wav(s.audio_path)
            self._audio[s.performance.id] = resample(audio, rate, self.config.sample_rate)
            if self.config.onset_loss_weight > 0 or self.config.onset_window_share > 0:
                self._onsets[s.performance.id] = self._source_onsets(s, audio, rate)
        return with_audio

    @staticmethod
    def _source_onsets(source: clips.Source, audio: np.ndarray, rate: int) -> np.ndarray:
        """The performance's note onsets: from its MIDI, else detected in its recording."""
        if source.notes:
            return np.unique(np.array([n.start for n in source.notes]))
        from foley_models.audio_onsets import detect_onsets

        return np.asarray(detect_onsets(audio, rate), dtype=float)

    def clip_onsets(self, clip: clips.Clip) -> np.ndarray:
        times = self._onsets.get(clip.source_id, np.zeros(0)) - clip.start_s
        return times[(times >= 0) & (times < self.config.clip_s)]

    def clip_audio(self, clip: clips.Clip) -> np.ndarray:
        rate = self.config.sample_rate
        audio = self._audio[clip.source_id]
        first, n = int(round(clip.start_s * rate)), int(round(self.config.clip_s * rate))
        segment = audio[first : first + n]
        return np.pad(segment, (0, n - len(segment))) if len(segment) < n else segment

    def collate(self, batch: list[clips.Clip]) -> dict:
        pose = torch.from_numpy(np.stack([c.pose for c in batch])).to(self.device)
        audio = torch.from_numpy(np.stack([self.clip_audio(c) for c in batch])).to(self.device)
        ids = self.model.conditioner.instrument_ids([c.instrument for c in batch], self.device)
        out = {"pose": pose, "instrument": ids, "audio": audio}
        if self._onsets:
            out["onsets"] = [self.clip_onsets(c) for c in batch]
        return out

    def condition(self, batch: dict, n: int) -> torch.Tensor:
        """The conditioning at n steps [B, cond_dim, n]; the onset logits are kept in the
        batch for `add_onset_loss`."""
        forced = None
        rows = batch.get("forced")
        if rows is not None and self.model.training and rows.any():
            c = self.config
            forced = (rows, batch["onsets"], c.onset_bin_s)
        conditioner = self.model.conditioner
        loudness = None
        if conditioner.loudness:
            rows = batch.get("loudness_forced") if self.model.training else None
            loudness = (rows, batch["audio"], self.config.sample_rate)
        c, batch["onset_logits"] = conditioner.condition(
            batch["pose"], batch["instrument"], n, forced, loudness
        )
        if conditioner.loudness:
            batch["loudness_predicted"], batch["loudness"] = conditioner.last_loudness
        return c

    def add_onset_loss(self, loss: torch.Tensor, metrics: dict, batch: dict):
        """The system's loss plus the onset head's weighted binary cross-entropy (reported as
        "onset_loss", the system's own loss as "system_loss"), over the batch's clips and, in
        training, its extra pose clips (`onset_batch_size`)."""
        logits = batch.get("onset_logits")
        if logits is None:
            return loss, metrics
        c = self.config
        bin_s = c.onset_bin_s
        onsets = batch["onsets"]
        extra = batch.get("onset_batch")
        if extra is not None:  # training: the extra pose clips join the onset loss
            features = self.model.conditioner(extra["pose"], extra["instrument"])
            more = self.model.conditioner.onset_head(features).reshape(features.shape[0], -1)
            if self.model.conditioner.loudness:
                head = self.model.conditioner.loudness_head
                extra["loudness_predicted"] = head(features).reshape(features.shape[0], -1)
                extra["loudness"] = loudness_targets(
                    extra["audio"], more.shape[1], bin_s, c.sample_rate
                )
            logits, onsets = torch.cat([logits, more]), [*onsets, *extra["onsets"]]
        targets = onset_curve_targets(onsets, logits.shape[1], bin_s).to(logits.device)
        onset = F.binary_cross_entropy_with_logits(logits, targets)
        metrics = {**metrics, "system_loss": loss.item(), "onset_loss": onset.item()}
        total = loss + c.onset_loss_weight * onset
        predicted = batch.get("loudness_predicted")
        if predicted is not None:
            truth = batch["loudness"]
            if extra is not None:
                predicted = torch.cat([predicted, extra["loudness_predicted"]])
                truth = torch.cat([truth, extra["loudness"]])
            level = F.mse_loss(predicted, truth)
            metrics["loudness_loss"] = level.item()
            total = total + c.loudness_loss_weight * level
        return total, metrics

    def window_starts(
        self, batch: dict, n: int, length: int, rng: np.random.Generator, unit: int = 1
    ) -> list[int]:
        """A training window of `length` samples in each clip of n samples, its start in
        `unit`s of samples. A share `onset_window_share` of the windows (those of clips that
        have one) is placed so a note onset falls inside it, past its first tenth (where the
        model has some context); the rest are uniform."""
        rate, latest = self.config.sample_rate, (n - length) // unit
        starts = []
        for i in range(len(batch["audio"])):
            onsets = batch.get("onsets", [np.zeros(0)] * (i + 1))[i]
            if len(onsets) and rng.random() < self.config.onset_window_share:
                onset = int(onsets[int(rng.integers(len(onsets)))] * rate)
                low = max(0, -(-(onset - length + 1) // unit))
                high = min(latest, (onset - length // 10) // unit)
                if low <= high:
                    starts.append(int(rng.integers(low, high + 1)))
                    continue
            starts.append(int(rng.integers(0, latest + 1)))
        return starts

    def prepare(self, batch: dict, rng: np.random.Generator) -> dict:
        return batch

    def lr(self, step: int) -> float:
        return self.config.lr * min(1.0, step / max(1, self.config.warmup_steps))

    def train_batch(self, rng: np.random.Generator) -> dict:
        c = self.config
        chosen = [
            clips.random_clip(self.train_sources, c.clip_s, c.clip_s, rng)
            for _ in range(c.batch_size)
        ]
        batch = self.prepare(self.collate(chosen), rng)
        if c.onset_teacher_forcing > 0 and "onsets" in batch:
            rows = rng.random(len(chosen)) < c.onset_teacher_forcing
            batch["forced"] = torch.from_numpy(rows).to(self.device)
        if c.loudness_teacher_forcing > 0:
            rows = rng.random(len(chosen)) < c.loudness_teacher_forcing
            batch["loudness_forced"] = torch.from_numpy(rows).to(self.device)
        if c.onset_loss_weight > 0 and c.onset_batch_size > 0:
            extra = [
                clips.random_clip(self.train_sources, c.clip_s, c.clip_s, rng)
                for _ in range(c.onset_batch_size)
            ]
            batch["onset_batch"] = {
                "pose": torch.from_numpy(np.stack([x.pose for x in extra])).to(self.device),
                "instrument": self.model.conditioner.instrument_ids(
                    [x.instrument for x in extra], self.device
                ),
                "onsets": [self.clip_onsets(x) for x in extra],
            }
            if c.loudness_loss_weight > 0:
                batch["onset_batch"]["audio"] = torch.from_numpy(
                    np.stack([self.clip_audio(x) for x in extra])
                ).to(self.device)
        return batch

    @torch.no_grad()
    def pick_onset_threshold(self) -> dict:
        """With teacher forcing: set the peak-picking threshold of the onset head to the one
        with the best onset F1 (50 ms) on the validation clips; its metrics."""
        conditioner = self.model.conditioner
        if not conditioner.peaks:
            return {}
        c = self.config
        probabilities, onsets = [], []
        for i in range(0, len(self.val_clips), c.batch_size):
            batch = self.collate(self.val_clips[i : i + c.batch_size])
            features = conditioner(batch["pose"], batch["instrument"])
            logits = conditioner.onset_head(features).reshape(features.shape[0], -1)
            probabilities.append(torch.sigmoid(logits).cpu())
            onsets += batch["onsets"]
        f1, threshold = best_threshold(torch.cat(probabilities), onsets, c.onset_bin_s)
        conditioner.onset_threshold.fill_(threshold)
        return {"onset_threshold": threshold, "onset_f1": f1}

    def validate(self) -> dict:
        rng = np.random.default_rng(0)  # the same windows every time
        totals: dict[str, float] = dict(self.pick_onset_threshold())
        batches = 0
        size = self.config.batch_size
        for i in range(0, len(self.val_clips), size):
            batch = self.prepare(self.collate(self.val_clips[i : i + size]), rng)
            loss, metrics = self.loss(batch)
            totals["val_loss"] = totals.get("val_loss", 0.0) + loss.item()
            for name, value in metrics.items():
                totals[f"val_{name}"] = totals.get(f"val_{name}", 0.0) + value
            batches += 1
        picked = {f"val_{k}": totals.pop(k) for k in ("onset_threshold", "onset_f1") if k in totals}
        return {**{k: v / max(batches, 1) for k, v in totals.items()}, **picked}


class WaveformGenerator:
    """`generate(pose_clips, instrument, *, seed, ...)` for a waveform system. Subclasses set
    `system`, `config_class`, `model_class` and implement `synthesize`."""

    system = ""
    config_class = WaveformConfig
    model_class: type = nn.Module

    def __init__(self, model: nn.Module, device: torch.device, source: Path | None = None):
        self.model = model.to(device).eval()
        self.device = device
        self.config = model.config
        self.source = source

    @classmethod
    def from_checkpoint(cls, payload: dict, device: torch.device, source: Path | None = None):
        config = checkpoint.config_from_dict(cls.config_class, payload["config"])
        model = cls.model_class(config)
        model.load_state_dict(payload["model"])
        return cls(model, device, source)

    def synthesize(
        self, pose: torch.Tensor, instrument: torch.Tensor, n_samples: int, **sampling
    ) -> torch.Tensor:
        """Audio [B, n_samples] in [-1, 1] for normalised poses [B, T, C, V, M]."""
        raise NotImplementedError

    @torch.no_grad()
    def generate(
        self,
        pose_clips: list[np.ndarray],
        instrument: str | list[str],
        *,
        seed: int = 0,
        fps: float = 22.0,
        layout: str = "body65",
        batch_size: int = 32,
        sample_rate: int | None = None,
        **sampling,
    ) -> list[Generated]:
        """Audio for each pose clip [T, C, V, M], batched by clip length (batch_size at most).
        `instrument`: one name for every clip, or one per clip. `sample_rate`: resampled to it
        (default: the model's own rate)."""
        from foley_models.render.spectral import resample

        instruments = per_clip_instruments(instrument, len(pose_clips))
        results: list[Generated | None] = [None] * len(pose_clips)
        groups = group_by_length(pose_clips, fps=fps, layout=layout, trained_fps=self.config.fps)
        rate = self.config.sample_rate
        for length, indices in groups.items():
            n_samples = int(round(length / fps * rate))
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                pose = torch.from_numpy(
                    np.stack([normalise(pose_clips[i], layout) for i in chunk])
                ).to(self.device)
                ids = self.model.conditioner.instrument_ids(
                    [instruments[i] for i in chunk], self.device
                )
                generator = torch.Generator(device="cpu").manual_seed(seed + start)
                audio = self.synthesize(pose, ids, n_samples, generator=generator, **sampling)
                audio = audio.clamp(-1.0, 1.0).float().cpu().numpy()
                for row, i in enumerate(chunk):
                    out = audio[row].astype(np.float32)
                    if sample_rate and sample_rate != rate:
                        out = resample(out, rate, sample_rate).astype(np.float32)
                    results[i] = Generated(out, sample_rate or rate)
        return results
