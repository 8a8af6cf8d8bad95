"""Foley Music: ST-GCN pose encoder + Transformer decoder over MIDI events.

Decoder as in the official code: post-LN layers, sinusoidal positions on the event tokens,
self-attention with Music-Transformer relative positions (a learned `Er` per layer shared by the
heads, computed with the memory-efficient skewing), plain cross-attention to the pose memory
(no positional encoding on the memory, as in the release). Deviations, documented: one model
serves several instruments, so a learned instrument embedding is added to the memory; and an
optional absolute-time encoding (config.time_encoding) adds the same time sinusoids to memory
tokens and events; optional time-aligned cross-attention (config.time_bias) adds a learned
per-head bias on the offset between a memory token's time and the event's clock; and an optional
onset head on the memory (config.onset_loss_weight, per sub-frame with config.onset_subframes)
gives the encoder an auxiliary target, and its probabilities near each event's clock can be
added to the event (config.onset_window_ahead); optional
hand features (config.hand_features: the hands' positions in a body frame, which carry the pitch)
are added to the memory, and an optional pitch head on the memory (config.pitch_loss_weight)
predicts the pitch of the notes starting in each memory frame. All of these are off in `paper`.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from foley_models.data import vocab
from foley_models.models.foley_music.config import FoleyMusicConfig
from foley_models.models.hand_features import HandFeatureEncoder, require_layout
from foley_models.models.pose_encoder import PoseEncoder
from foley_models.models.waveform import onset_peaks

PITCHES = 128


def skew(qe: torch.Tensor) -> torch.Tensor:
    """Music Transformer skewing: [.., L, L] logits against distances (column c is distance
    L-1-c) -> [.., L, L] with entry (i, j) = logit of query i against distance i - j (j <= i).
    Entries above the diagonal are meaningless; the causal mask removes them."""
    length = qe.shape[-1]
    # Zero the entries whose distance exceeds the query position (c < L-1-i) so nothing wraps.
    rows = torch.arange(length, device=qe.device)[:, None]
    cols = torch.arange(length, device=qe.device)[None, :]
    qe = qe.masked_fill(cols < (length - 1 - rows), 0.0)
    padded = F.pad(qe, (1, 0))  # [.., L, L+1]
    padded = padded.reshape(*qe.shape[:-2], length + 1, length)
    return padded[..., 1:, :]


def relative_logits(q: torch.Tensor, er: torch.Tensor, total: int) -> torch.Tensor:
    """Relative-position logits for queries q [B, H, Lq, D] at the last Lq of `total` positions.

    Square case (training): the skew. Incremental case (one new query against the cache): a
    direct product with the distances total-1..0. Other cases pad the queries to a square.
    """
    lq = q.shape[2]
    if lq > er.shape[0] or total > er.shape[0]:
        raise ValueError(f"sequence of {total} events is longer than the model's {er.shape[0]}")
    if lq == 1:
        e = er[er.shape[0] - total :]  # distances total-1 .. 0 for keys 0 .. total-1
        return torch.einsum("bhqd,kd->bhqk", q, e)
    if lq != total:
        q = F.pad(q, (0, 0, total - lq, 0))
    e = er[er.shape[0] - total :]
    return skew(torch.einsum("bhqd,kd->bhqk", q, e))[:, :, total - lq :]


class RelativeSelfAttention(nn.Module):
    def __init__(self, d_model: int, heads: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.er = nn.Parameter(torch.randn(max_len, self.head_dim) * self.head_dim**-0.5)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """x [B, L, d] -> [B, L, d]; with a cache, x holds only the new positions."""
        b, length, d = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if cache is not None:  # incremental decoding: append to the cached keys/values
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        total = k.shape[2]
        logits = (q @ k.transpose(-1, -2) + relative_logits(q, self.er, total)) / math.sqrt(
            self.head_dim
        )  # [B, H, Lq, Lk]
        past = total - length
        causal = torch.ones(length, total, dtype=torch.bool, device=x.device).triu(past + 1)
        logits = logits.masked_fill(causal, float("-inf"))
        attn = self.dropout(torch.softmax(logits, dim=-1))
        y = (attn @ v).transpose(1, 2).reshape(b, length, d)
        return self.out(y)


class TimeBiasedCrossAttention(nn.Module):
    """Cross-attention to the pose memory plus a learned bias per head and time offset.

    The offset of memory token j for an event whose clock is at t is the number of memory
    frames between them, rounded and clamped to [-behind, ahead]; the bias table [H, offsets]
    starts as a peak at each head's `peaks` entry (in frames), floored so far tokens still get
    a gradient. Content still decides within the bias: q.k is added as in plain attention.
    """

    def __init__(
        self, d_model: int, heads: int, behind: int, ahead: int, peaks: list[float], dropout: float
    ) -> None:
        super().__init__()
        self.heads, self.head_dim, self.behind = heads, d_model // heads, behind
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)
        offsets = torch.arange(-behind, ahead + 1, dtype=torch.float32)
        peak = torch.tensor(peaks, dtype=torch.float32)[:, None]
        self.bias = nn.Parameter((-0.5 * ((offsets[None, :] - peak) / 1.5) ** 2).clamp(min=-6.0))
        self.dropout = dropout

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, offsets: torch.Tensor, cache: dict | None
    ) -> torch.Tensor:
        """x [B, L, d], memory [B, T', d], offsets [B, L, T'] (long) -> [B, L, d]."""
        b, length, d = x.shape
        if cache is not None and "memory_kv" in cache:
            k, v = cache["memory_kv"]
        else:
            kv = self.kv(memory).view(b, memory.shape[1], 2, self.heads, self.head_dim)
            k, v = kv.permute(2, 0, 3, 1, 4)  # [B, H, T', Dh] each
            if cache is not None:
                cache["memory_kv"] = (k, v)
        q = self.q(x).view(b, length, self.heads, self.head_dim).transpose(1, 2)
        bias = self.bias[:, offsets + self.behind].permute(1, 0, 2, 3)  # [B, H, L, T']
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out(y.transpose(1, 2).reshape(b, length, d))


def bias_peaks(config: FoleyMusicConfig) -> list[list[float]]:
    """Starting peak offset (memory frames) of every (layer, head): spread from one frame
    behind to half the look-ahead, interleaved across layers so each layer sees the range."""
    n = config.layers * config.heads
    spread = torch.linspace(-1.0, config.time_bias_ahead / 2, n).tolist()
    return [spread[layer :: config.layers] for layer in range(config.layers)]


class DecoderLayer(nn.Module):
    """Post-LN: x = LN(x + SelfAttn(x)); x = LN(x + CrossAttn(x, memory)); x = LN(x + FF(x))."""

    def __init__(self, config: FoleyMusicConfig, peaks: list[float] | None = None) -> None:
        super().__init__()
        d = config.d_model
        self.self_attn = RelativeSelfAttention(d, config.heads, config.max_events, config.dropout)
        if config.time_bias:
            self.cross_attn = TimeBiasedCrossAttention(
                d,
                config.heads,
                config.time_bias_behind,
                config.time_bias_ahead,
                peaks or [0.0] * config.heads,
                config.dropout,
            )
        else:
            self.cross_attn = nn.MultiheadAttention(
                d, config.heads, dropout=config.dropout, batch_first=True
            )
        self.ff = nn.Sequential(
            nn.Linear(d, config.ff_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.ff_dim, d),
        )
        self.norms = nn.ModuleList([nn.LayerNorm(d) for _ in range(3)])
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x, memory, cache=None, offsets=None):
        x = self.norms[0](x + self.drop(self.self_attn(x, cache)))
        if isinstance(self.cross_attn, TimeBiasedCrossAttention):
            cross = self.cross_attn(x, memory, offsets, cache)
        else:
            cross, _ = self.cross_attn(x, memory, memory, need_weights=False)
        x = self.norms[1](x + self.drop(cross))
        return self.norms[2](x + self.drop(self.ff(x)))


def time_encoding(seconds: torch.Tensor, d: int) -> torch.Tensor:
    """[..., L] times in seconds -> [..., L, d]: sinusoids of time in 10 ms steps."""
    shape = seconds.shape
    return sinusoid(seconds.reshape(-1) * 100.0, d).reshape(*shape, d)


def sinusoid(positions: torch.Tensor, d: int) -> torch.Tensor:
    """[L] positions -> [L, d] sinusoidal encodings."""
    i = torch.arange(0, d, 2, device=positions.device, dtype=torch.float32)
    angle = positions[:, None].float() / (10000 ** (i / d))[None, :]
    pe = torch.zeros(len(positions), d, device=positions.device)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe


class FoleyMusic(nn.Module):
    def __init__(self, config: FoleyMusicConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = PoseEncoder(config.encoder)
        self.memory_norm = nn.LayerNorm(config.d_model)
        self.instrument = nn.Embedding(len(config.instruments), config.d_model)
        self.embed = nn.Embedding(vocab.VOCAB_SIZE, config.d_model)
        peaks = bias_peaks(config)
        self.layers = nn.ModuleList([DecoderLayer(config, peaks[i]) for i in range(config.layers)])
        self.drop = nn.Dropout(config.dropout)
        self.final_norm = nn.LayerNorm(config.d_model) if config.final_norm else nn.Identity()
        self.head = nn.Linear(config.d_model, vocab.VOCAB_SIZE)
        if config.onset_loss_weight > 0:
            self.onset_head = nn.Linear(config.d_model, config.onset_subframes)
        if config.onset_window_ahead > 0:
            if config.onset_loss_weight <= 0:
                raise ValueError("onset_window_ahead needs the onset head (onset_loss_weight > 0)")
            width = config.onset_window_behind + config.onset_window_ahead + 1
            self.onset_window = nn.Linear(width, config.d_model)
            if config.onset_window_teacher_forcing > 0:  # picked on the validation clips
                self.register_buffer("onset_threshold", torch.tensor(0.5))
        if config.hand_features:
            require_layout(config.encoder.layout)
            self.hands = HandFeatureEncoder(
                config.d_model, config.encoder.downsample, fourier_bands=config.hand_fourier_bands
            )
        if config.pitch_loss_weight > 0:
            self.pitch_head = nn.Linear(config.d_model, PITCHES)

    def instrument_ids(self, instruments: list[str], device) -> torch.Tensor:
        try:
            ids = [self.config.instruments.index(name) for name in instruments]
        except ValueError:
            raise ValueError(
                f"this model knows {', '.join(self.config.instruments)}; not "
                f"{sorted(set(instruments) - set(self.config.instruments))}"
            ) from None
        return torch.tensor(ids, device=device)

    def encode(self, pose: torch.Tensor, instrument: torch.Tensor) -> torch.Tensor:
        """pose [B, T, C, V, M], instrument ids [B] -> memory [B, T', d]."""
        memory = self.encoder(pose) + self.instrument(instrument)[:, None, :]
        if self.config.hand_features:
            memory = memory + self.hands(pose)
        if self.config.time_encoding:
            memory = memory + time_encoding(
                self.memory_times(memory.shape[1], memory.device), self.config.d_model
            )
        return self.memory_norm(memory)

    def memory_times(self, length: int, device) -> torch.Tensor:
        """[T'] the time (s) at the centre of each memory token's frames."""
        ds = self.config.encoder.downsample
        return (torch.arange(length, device=device) * ds + (ds - 1) / 2) / self.config.fps

    def onset_logits(self, memory: torch.Tensor) -> torch.Tensor:
        """memory [B, T', d] -> [B, T' * onset_subframes] logits that a note starts in each
        sub-frame of each memory frame."""
        return self.onset_head(memory).reshape(memory.shape[0], -1)

    def onset_curve(self, memory: torch.Tensor) -> torch.Tensor:
        """[B, T' * onset_subframes] what the onset window reads (detached): the head's
        probabilities, or with teacher forcing its onsets peak-picked at `onset_threshold`."""
        curve = torch.sigmoid(self.onset_logits(memory)).detach()
        if self.config.onset_window_teacher_forcing > 0:
            curve = onset_peaks(curve, self.onset_threshold)
        return curve

    def onset_window_features(
        self, memory: torch.Tensor, times: torch.Tensor, curve: torch.Tensor | None = None
    ) -> torch.Tensor:
        """[B, L] event clocks -> [B, L, W] the onset curve (default `onset_curve(memory)`) at
        the sub-frames from `onset_window_behind` before each clock to `onset_window_ahead`
        after it; 0 outside the clip."""
        c = self.config
        curve = self.onset_curve(memory) if curve is None else curve  # [B, N]
        offsets = torch.arange(
            -c.onset_window_behind, c.onset_window_ahead + 1, device=curve.device
        )
        index = torch.floor(times / c.onset_bin_s).long()[..., None] + offsets  # [B, L, W]
        inside = (index >= 0) & (index < curve.shape[1])
        rows = torch.arange(curve.shape[0], device=curve.device)[:, None, None]
        return curve[rows, index.clamp(0, curve.shape[1] - 1)] * inside

    def pitch_logits(self, memory: torch.Tensor) -> torch.Tensor:
        """memory [B, T', d] -> [B, T', 128] logits of the pitch of a note starting there."""
        return self.pitch_head(memory)

    def _memory_offsets(self, times: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """[B, L] event clocks -> [B, L, T'] offsets (memory frames) of each memory token."""
        c = self.config
        frames_per_s = c.fps / c.encoder.downsample
        ahead = self.memory_times(memory.shape[1], memory.device)[None, None, :] - times[..., None]
        return (
            torch.round(ahead * frames_per_s).long().clamp(-c.time_bias_behind, c.time_bias_ahead)
        )

    def decode(
        self,
        tokens: torch.Tensor,
        memory: torch.Tensor,
        caches: list | None = None,
        offset: int = 0,
        onset_curve: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """tokens [B, L] at positions offset.. -> logits [B, L, vocab]. `onset_curve`: what
        the onset window reads instead of `self.onset_curve(memory)` (training's teacher
        forcing)."""
        positions = torch.arange(offset, offset + tokens.shape[1], device=tokens.device)
        x = self.embed(tokens) + sinusoid(positions, self.config.d_model)
        offsets = None
        c = self.config
        if c.time_encoding or c.time_bias or c.onset_window_ahead:
            times = self._event_times(tokens, caches)
            if c.time_encoding:
                x = x + time_encoding(times, c.d_model)
            if c.time_bias:
                offsets = self._memory_offsets(times, memory)
            if c.onset_window_ahead:
                if onset_curve is None and caches is not None:  # once per decoding, not per step
                    if "onset_curve" not in caches[0]:
                        caches[0]["onset_curve"] = self.onset_curve(memory)
                    onset_curve = caches[0]["onset_curve"]
                window = self.onset_window_features(memory, times, onset_curve)
                x = x + self.onset_window(window)
        x = self.drop(x)
        # No padding mask is needed: PAD only follows EOS and attention is causal, so real
        # tokens never see it; the loss ignores PAD positions.
        for i, layer in enumerate(self.layers):
            x = layer(x, memory, None if caches is None else caches[i], offsets)
        return self.head(self.final_norm(x))

    def _event_times(self, tokens: torch.Tensor, caches: list | None) -> torch.Tensor:
        """[B, L] the time (s) each event's prefix has reached: the sum of its time-shifts and
        those before it. With a cache, the clock carries over between calls."""
        shift = torch.as_tensor(vocab.SHIFT_SECONDS, dtype=torch.float32, device=tokens.device)
        is_shift = (tokens >= vocab.TIME_SHIFT) & (tokens < vocab.SOS)
        seconds = torch.where(
            is_shift,
            shift[(tokens - vocab.TIME_SHIFT).clamp(0, 31)],
            torch.zeros_like(tokens, dtype=torch.float32),
        )
        times = seconds.cumsum(dim=1)
        if caches is not None:
            state = caches[0]
            times = times + state.get("clock", 0.0)
            state["clock"] = times[:, -1:].detach()
        return times

    def forward(self, pose, instrument, tokens):
        return self.decode(tokens, self.encode(pose, instrument))
