"""Foley Music generation: cached autoregressive decoding, then FluidSynth rendering."""

from pathlib import Path

import numpy as np
import torch

from foley_models.data import codec, vocab
from foley_models.data.layouts import normalise
from foley_models.models import checkpoint
from foley_models.models.foley_music.config import FoleyMusicConfig
from foley_models.models.foley_music.model import FoleyMusic
from foley_models.models.interface import Generated, group_by_length, per_clip_instruments
from foley_models.render.fluidsynth import Renderer, gm_program


def _filter_logits(logits: torch.Tensor, top_k: int | None, top_p: float | None) -> torch.Tensor:
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1, None]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        # Drop a token once the tokens before it already cover top_p.
        drop = probs.cumsum(-1) - probs >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


@torch.no_grad()
def decode_tokens(
    model: FoleyMusic,
    memory: torch.Tensor,
    *,
    max_events: int,
    end_s: float | None,
    greedy: bool = True,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> list[list[int]]:
    """Event tokens per clip (without SOS/EOS). A sequence stops at EOS, after max_events, or
    once its time-shifts pass end_s."""
    b, device = memory.shape[0], memory.device
    seqs = torch.full((b, 1), vocab.SOS, dtype=torch.long, device=device)
    finished = torch.zeros(b, dtype=torch.bool, device=device)
    clock = torch.zeros(b, device=device)
    shift_s = torch.tensor(vocab.SHIFT_SECONDS, dtype=torch.float32, device=device)
    caches = [{} for _ in model.layers] if use_cache else None
    limit = min(max_events, model.config.max_events - 1)
    for _ in range(limit):
        if use_cache:
            logits = model.decode(seqs[:, -1:], memory, caches, offset=seqs.shape[1] - 1)[:, -1]
        else:
            logits = model.decode(seqs, memory)[:, -1]
        logits[:, vocab.SOS] = float("-inf")
        logits[:, vocab.PAD] = float("-inf")
        if greedy:
            token = logits.argmax(-1)
        else:
            probs = torch.softmax(_filter_logits(logits / temperature, top_k, top_p), dim=-1)
            token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        token = torch.where(finished, torch.full_like(token, vocab.PAD), token)
        seqs = torch.cat([seqs, token[:, None]], dim=1)
        is_shift = (token >= vocab.TIME_SHIFT) & (token < vocab.SOS)
        clock = clock + torch.where(
            is_shift, shift_s[(token - vocab.TIME_SHIFT).clamp(0, 31)], torch.zeros_like(clock)
        )
        finished |= token == vocab.EOS
        if end_s is not None:
            finished |= clock > end_s
        if finished.all():
            break
    out = []
    for row in seqs[:, 1:].tolist():
        events = []
        for token in row:
            if token in (vocab.EOS, vocab.PAD):
                break
            events.append(token)
        out.append(events)
    return out


class Generator:
    system = "foley_music"

    def __init__(self, model: FoleyMusic, device: torch.device, source: Path | None = None):
        self.model = model.to(device).eval()
        self.device = device
        self.config: FoleyMusicConfig = model.config
        self.source = source
        self._renderers: dict[int, Renderer] = {}

    @classmethod
    def from_checkpoint(cls, payload: dict, device: torch.device, source: Path | None = None):
        config = checkpoint.config_from_dict(FoleyMusicConfig, payload["config"])
        model = FoleyMusic(config)
        model.load_state_dict(payload["model"])
        return cls(model, device, source)

    def renderer(self, sample_rate: int) -> Renderer:
        if sample_rate not in self._renderers:
            self._renderers[sample_rate] = Renderer(sample_rate=sample_rate)
        return self._renderers[sample_rate]

    @torch.no_grad()
    def generate(
        self,
        pose_clips: list[np.ndarray],
        instrument: str | list[str],
        *,
        seed: int = 0,
        fps: float = 22.0,
        layout: str = "body65",
        greedy: bool = True,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        max_events: int | None = None,
        sample_rate: int | None = None,
    ) -> list[Generated]:
        """Audio (and MIDI) for each pose clip [T, C, V, M], batched by clip length.
        `instrument`: one name for every clip, or one per clip. The MIDI is rendered once, at
        `sample_rate` (default: the model's)."""
        rate = sample_rate or self.config.sample_rate
        instruments = per_clip_instruments(instrument, len(pose_clips))
        results: list[Generated | None] = [None] * len(pose_clips)
        by_length = group_by_length(pose_clips, fps=fps, layout=layout, trained_fps=self.config.fps)
        # Sampling draws only from this generator: the caller's global RNG is left alone.
        generator = torch.Generator(device=self.device).manual_seed(seed)
        for length, indices in by_length.items():
            pose = torch.from_numpy(
                np.stack([normalise(pose_clips[i], layout) for i in indices])
            ).to(self.device)
            ids = self.model.instrument_ids([instruments[i] for i in indices], self.device)
            memory = self.model.encode(pose, ids)
            duration = length / fps
            token_lists = decode_tokens(
                self.model,
                memory,
                max_events=max_events or self.config.max_events,
                end_s=duration,
                greedy=greedy,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                generator=generator,
            )
            for i, tokens in zip(indices, token_lists, strict=True):
                notes = codec.decode_tokens(tokens, end_s=duration)
                notes = [n for n in notes if n.start < duration]
                name = instruments[i]
                midi = codec.notes_to_midi(notes, program=gm_program(name), name=name)
                audio = self.renderer(rate).render(notes, name, duration_s=duration)
                results[i] = Generated(audio, rate, midi, tokens)
        return results
