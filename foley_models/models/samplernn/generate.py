"""SampleRNN generation, batched over clips: one sample per step, the top tier stepping every
16 samples and the middle tier every 4, each GRU carrying its state."""

import torch

from foley_models.models.quantize import mu_law_decode, sample_classes
from foley_models.models.samplernn.config import SampleRNNConfig
from foley_models.models.samplernn.model import SampleRNN
from foley_models.models.waveform import WaveformGenerator


@torch.no_grad()
def generate_classes(model: SampleRNN, cond: torch.Tensor, uniform: torch.Tensor, temperature=1.0):
    """Classes [B, N] from top-frame features cond [B, N / 16, D] and uniforms [N, B]."""
    top, mid = model.config.frame_sizes
    n, b = uniform.shape
    seq = torch.full((b, top + n), model.config.levels // 2, dtype=torch.long, device=cond.device)
    x = torch.zeros((b, top + n), dtype=cond.dtype, device=cond.device)
    x[:] = model.as_input(seq[:, :1])
    top_state = mid_state = None
    top_out = mid_out = None
    for t in range(n):
        if t % top == 0:
            inp = model.top_in(x[:, t : t + top]) + model.top_cond(cond[:, t // top])
            h, top_state = model.top_rnn(inp[:, None], top_state)
            top_out = model.top_up(h[:, 0]).reshape(b, top // mid, -1)
        if t % mid == 0:
            inp = model.mid_in(x[:, t + top - mid : t + top]) + top_out[:, (t % top) // mid]
            h, mid_state = model.mid_rnn(inp[:, None], mid_state)
            mid_out = model.mid_up(h[:, 0]).reshape(b, mid, -1)
        window = model.embed(seq[:, t + top - mid : t + top]).reshape(b, -1)
        logits = model.mlp(model.sample_in(window) + mid_out[:, t % mid])
        classes = sample_classes(logits, uniform[t], temperature)
        seq[:, top + t] = classes
        x[:, top + t] = model.as_input(classes)
    return seq[:, top:]


class Generator(WaveformGenerator):
    system = "samplernn"
    config_class = SampleRNNConfig
    model_class = SampleRNN

    def synthesize(self, pose, instrument, n_samples, *, generator, temperature=1.0):
        cond = self.model.pose_frames(pose, instrument, n_samples)
        uniform = torch.rand((n_samples, len(pose)), generator=generator).to(self.device)
        classes = generate_classes(self.model, cond, uniform, temperature)
        return mu_law_decode(classes, self.config.levels)
