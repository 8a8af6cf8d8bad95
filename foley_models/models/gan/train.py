"""GAN training hooks: the discriminator takes its own Adam step first (the loop's auxiliary
step), then the generator's loss is the non-saturating adversarial loss plus `recon_weight` times
the L1 distance to the reference log-mel, plus `flux_weight` times the L1 distance between their
spectral fluxes (the L1 on the spectrogram alone pulls the generator to the mean spectrogram,
whose flux is flat: no onsets), plus the onset head's loss. Validation, which picks the best
checkpoint, reports the reconstruction, flux and onset terms (the adversarial term moves with the
discriminator), so a checkpoint is not picked on L1 alone: the generator's loss less the
adversarial term, divided by `recon_weight` (L1 units). The onset head's weight is of the order of
`recon_weight` in `small`: the generator's gradient through the shared pose encoder is that much
larger than a weight-1 onset loss, and the head learned almost nothing beside it (validation onset
F1 0.20 after 30 CPU minutes, where WaveNet's and SampleRNN's heads reached 0.56 and 0.72)."""

from pathlib import Path

import torch
import torch.nn.functional as F

from foley_models.models.gan.config import GANConfig
from foley_models.models.gan.model import PoseToMelGAN, normalise_mel, spectral_flux
from foley_models.models.waveform import WaveformTask
from foley_models.render.spectral import log_mel


class Task(WaveformTask):
    def __init__(self, config: GANConfig, data: Path, device: torch.device) -> None:
        super().__init__(config, data, device, PoseToMelGAN(config))
        self.d_optimizer = torch.optim.Adam(
            self.model.discriminator.parameters(), lr=config.lr, betas=config.adam_betas
        )

    def optimized_parameters(self):
        return self.model.generator_parameters()

    def _real_and_cond(self, batch: dict):
        if "mel" not in batch:
            batch["mel"] = normalise_mel(log_mel(batch["audio"], self.config.mel))
        cond = self.condition(batch, self.model.frames(batch["audio"].shape[1]))
        return batch["mel"], cond

    def auxiliary_step(self, batch: dict, step: int) -> dict:
        """One discriminator update on real vs generated spectrograms."""
        for group in self.d_optimizer.param_groups:
            group["lr"] = self.lr(step)
        with torch.no_grad():
            real, cond = self._real_and_cond(batch)
            fake = self.model.generator(cond, self.model.noise(cond))
        d = self.model.discriminator
        real_logits, fake_logits = d(real, cond), d(fake, cond)
        loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.d_optimizer.step()
        return {"d_loss": loss.item()}

    def auxiliary_state(self) -> dict:
        return self.d_optimizer.state_dict()

    def load_auxiliary_state(self, state: dict) -> None:
        self.d_optimizer.load_state_dict(state)

    def loss(self, batch: dict):
        real, cond = self._real_and_cond(batch)
        fake = self.model.generator(cond, self.model.noise(cond))
        recon = F.l1_loss(fake, real)
        flux = F.l1_loss(spectral_flux(fake), spectral_flux(real))
        c = self.config
        metrics = {"recon": recon.item(), "flux": flux.item()}
        if not self.model.training:  # the generator's loss less its adversarial term, in L1 units
            loss, metrics = self.add_onset_loss(
                c.recon_weight * recon + c.flux_weight * flux, metrics, batch
            )
            return loss / c.recon_weight, metrics
        logits = self.model.discriminator(fake, cond.detach())
        adversarial = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        total = adversarial + c.recon_weight * recon + c.flux_weight * flux
        return self.add_onset_loss(total, {**metrics, "adversarial": adversarial.item()}, batch)
