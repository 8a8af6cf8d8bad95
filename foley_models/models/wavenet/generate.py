"""WaveNet generation, batched over clips.

Fast generation (Paine et al. 2016): each layer keeps a queue of its last `dilation` inputs, so
a new sample costs one position per layer instead of the whole receptive field. Naive
generation (the whole receptive field recomputed for every sample) is kept as the reference the
tests compare against: for the same seed both give the same samples, because draws invert the
CDF at pre-drawn uniform numbers.
"""

import torch

from foley_models.models.quantize import mu_law_decode, sample_classes
from foley_models.models.waveform import LOUDNESS_MAX, WaveformGenerator
from foley_models.models.wavenet.config import WaveNetConfig
from foley_models.models.wavenet.model import SQRT_HALF, WaveNet


@torch.no_grad()
def generate_cached(model: WaveNet, c: torch.Tensor, uniform: torch.Tensor, temperature=1.0):
    """Classes [B, N] from conditioning c [B, D, RF + N] and uniforms [N, B]."""
    config = model.config
    rf, n = config.receptive_field, uniform.shape[0]
    b = c.shape[0]
    prefix = torch.full((b, rf), config.levels // 2, dtype=torch.long, device=c.device)
    inputs: list[torch.Tensor] = []
    logits = model(prefix, c[:, :, 1 : rf + 1], inputs)[:, :, -1]
    # queues[l][slot] holds layer l's input at position q, slot = q % dilation: [d, B, R]
    queues = []
    for x, layer in zip(inputs, model.layers, strict=True):
        d = layer.dilation
        queues.append(x[:, :, rf - d :].permute(2, 0, 1).roll(rf % d, dims=0).contiguous())
    # Per layer, fused weights: both taps in one matrix, output and skip in another.
    fused = []
    for layer in model.layers:
        w = layer.conv.weight
        taps = torch.cat([w[:, :, 0], w[:, :, 1]], dim=1).t().contiguous()  # [2R, G]
        out_skip = torch.cat([layer.out.weight[:, :, 0], layer.skip.weight[:, :, 0]]).t()
        fused.append(
            (
                layer.dilation,
                taps,
                layer.conv.bias,
                out_skip.contiguous(),  # [G/2, R+S]
                torch.cat([layer.out.bias, layer.skip.bias]),
            )
        )
    cond_weight = torch.cat([layer.cond.weight[:, :, 0] for layer in model.layers])
    gate, half, residual = config.gate, config.gate // 2, config.residual
    out = torch.empty((b, n), dtype=torch.long, device=c.device)
    classes = sample_classes(logits, uniform[0], temperature)
    for i in range(n):
        out[:, i] = classes
        if i == n - 1:
            break
        p = rf + i  # position of sample i as an input
        proj = torch.nn.functional.linear(c[:, :, p + 1], cond_weight)  # [B, L * G]
        x = model.embed(classes)
        skips = 0
        for index, ((d, taps, bias, out_skip, out_bias), queue) in enumerate(
            zip(fused, queues, strict=True)
        ):
            slot = p % d
            h = torch.addmm(bias, torch.cat([queue[slot], x], dim=1), taps)
            h = h + proj[:, index * gate : (index + 1) * gate]
            z = torch.tanh(h[:, :half]) * torch.sigmoid(h[:, half:])
            y = torch.addmm(out_bias, z, out_skip)
            queue[slot] = x
            x = (x + y[:, :residual]) * SQRT_HALF
            skips = skips + y[:, residual:]
        classes = sample_classes(model.head_step(skips), uniform[i + 1], temperature)
    return out


@torch.no_grad()
def generate_naive(model: WaveNet, c: torch.Tensor, uniform: torch.Tensor, temperature=1.0):
    """The same as generate_cached, recomputing the receptive field for every sample."""
    rf, n = model.config.receptive_field, uniform.shape[0]
    seq = torch.full((c.shape[0], rf + n), model.config.levels // 2, dtype=torch.long)
    seq = seq.to(c.device)
    for i in range(n):
        logits = model(seq[:, i : i + rf], c[:, :, i + 1 : i + rf + 1])[:, :, -1]
        seq[:, rf + i] = sample_classes(logits, uniform[i], temperature)
    return seq[:, rf:]


class Generator(WaveformGenerator):
    system = "wavenet"
    config_class = WaveNetConfig
    model_class = WaveNet

    def synthesize(self, pose, instrument, n_samples, *, generator, temperature=1.0, cached=True):
        c = self.model.conditioning(pose, instrument, n_samples)
        uniform = torch.rand((n_samples, len(pose)), generator=generator).to(self.device)
        run = generate_cached if cached else generate_naive
        audio = mu_law_decode(run(self.model, c, uniform, temperature), self.config.levels)
        if self.config.loudness_gain:  # the head's predicted level, as the channel has it
            level = self.model.conditioner.last_loudness[0].clamp(0.0, LOUDNESS_MAX)
            audio = audio * self.model.gain(level, n_samples)
        return audio
