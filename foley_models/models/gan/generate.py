"""GAN generation: the generator's log-mel for each clip (batched), then Griffin-Lim written with
torch's STFT (no pretrained vocoder exists here)."""

import torch

from foley_models.models.gan.config import GANConfig
from foley_models.models.gan.model import PoseToMelGAN, denormalise_mel
from foley_models.models.waveform import WaveformGenerator
from foley_models.render.spectral import griffin_lim, mel_to_magnitude


class Generator(WaveformGenerator):
    system = "gan"
    config_class = GANConfig
    model_class = PoseToMelGAN

    def synthesize(self, pose, instrument, n_samples, *, generator, n_iter: int | None = None):
        cond = self.model.condition(pose, instrument, n_samples)
        mel = denormalise_mel(self.model.generator(cond, self.model.noise(cond, generator)))
        magnitude = mel_to_magnitude(mel, self.config.mel)
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        return griffin_lim(
            magnitude,
            self.config.mel,
            n_iter=n_iter or self.config.griffin_lim_iters,
            length=n_samples,
            seed=seed,
        )
