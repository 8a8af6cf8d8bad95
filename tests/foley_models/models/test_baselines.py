"""The three waveform baselines: shapes, learning, checkpoints, WaveNet's fast generation,
causality."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from foley_models import load_generator
from foley_models.cli import main
from foley_models.models import checkpoint
from foley_models.models.gan.model import PoseToMelGAN
from foley_models.models.interface import Generator, PartialOptimization
from foley_models.models.quantize import mu_law_decode, mu_law_encode
from foley_models.models.registry import system_module
from foley_models.models.samplernn.model import SampleRNN
from foley_models.models.wavenet.generate import generate_cached, generate_naive
from foley_models.models.wavenet.model import WaveNet

BASELINES = ("wavenet", "samplernn", "gan")


def _pose(batch, frames, seed=0):
    rng = np.random.default_rng(seed)
    pose = rng.normal(300, 40, size=(batch, frames, 3, 65, 1)).astype(np.float32)
    pose[:, :, 2] = 0.9
    return pose


def _config(system):
    return system_module(system, "config").preset("debug")


@pytest.mark.parametrize("system", BASELINES)
def test_debug_generate_gives_audio_of_the_clip_length(system):
    config = _config(system)
    generator_class = system_module(system, "generate").Generator
    model = generator_class.model_class(config)
    gen = generator_class(model, torch.device("cpu"))
    # Two lengths (two batches), short: WaveNet and SampleRNN make one sample at a time.
    clips = list(_pose(2, 2)) + list(_pose(1, 1, seed=1))
    out = gen.generate(clips, "violin", seed=3)
    rate = config.sample_rate
    assert [len(o.audio) for o in out] == [round(n / 22 * rate) for n in (2, 2, 1)]
    for o in out:
        assert o.sample_rate == rate and o.audio.dtype == np.float32 and o.midi is None
        assert np.isfinite(o.audio).all() and np.abs(o.audio).max() <= 1.0
    again = gen.generate(clips, "violin", seed=3)
    assert np.array_equal(out[0].audio, again[0].audio)
    with pytest.raises(ValueError, match="trained on 22 fps"):
        gen.generate(clips, "violin", fps=30.0)
    assert isinstance(gen, Generator)  # the generator contract (foley_models.models.interface)
    (at_44k,) = gen.generate(clips[:1], "violin", seed=3, sample_rate=44100)
    # Resampled from the native rate: within one native sample of the clip's length at 44.1 kHz.
    step = 44100 / rate
    assert at_44k.sample_rate == 44100 and abs(len(at_44k.audio) - 2 / 22 * 44100) <= step + 1
    with pytest.raises(ValueError, match="this model knows"):
        gen.generate(clips, "banjo")


@pytest.mark.parametrize("system", BASELINES)
def test_one_training_step_lowers_the_loss_on_a_fixed_batch(system, tiny_dataset):
    torch.manual_seed(0)
    config = _config(system)
    task = system_module(system, "train").Task(config, tiny_dataset, torch.device("cpu"))
    batch = task.train_batch(np.random.default_rng(0))
    model = task.model
    model.train()
    params = task.optimized_parameters() if isinstance(task, PartialOptimization) else None
    optimizer = torch.optim.Adam(params or model.parameters(), lr=3e-3)

    def loss_value():
        torch.manual_seed(1)  # the same noise and dropout for both evaluations
        return task.loss(batch)[0]

    before = loss_value()
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = loss_value()
    assert after.item() < before.item()


@pytest.mark.parametrize("system", BASELINES)
def test_train_command_checkpoint_round_trip(system, tiny_dataset, tmp_path):
    argv = ["train", system, "--data", str(tiny_dataset), "--preset", "debug"]
    argv += ["--out", str(tmp_path), "--max-steps", "2", "--val-every", "2", "--device", "cpu"]
    assert main(argv) == 0
    payload = checkpoint.load(tmp_path / "best.pt")
    assert (payload["system"], payload["preset"], payload["step"]) == (system, "debug", 2)
    gen = load_generator(tmp_path / "best.pt", "cpu")
    assert gen.system == system and gen.config == _config(system)
    model = system_module(system, "generate").Generator.model_class(gen.config)
    model.load_state_dict(payload["model"])
    for name, value in model.state_dict().items():
        assert torch.equal(value, gen.model.state_dict()[name]), name
    pose = tmp_path / "pose.npy"
    np.save(pose, _pose(1, 15)[0])
    wav = tmp_path / "out.wav"
    generate = ["generate", "--checkpoint", str(tmp_path / "best.pt"), "--pose", str(pose)]
    assert main([*generate, "--instrument", "cello", "--out", str(wav), "--device", "cpu"]) == 0
    assert wav.stat().st_size > 40 + 2 * int(15 / 22 * gen.config.sample_rate) - 4


def test_gan_resume_restores_the_discriminator_optimiser(tiny_dataset, tmp_path):
    def train(out, steps, *extra):
        argv = ["train", "gan", "--data", str(tiny_dataset), "--preset", "debug", "--out"]
        argv += [str(out), "--max-steps", str(steps), "--val-every", "2", "--device", "cpu"]
        assert main([*argv, *extra]) == 0

    train(tmp_path / "a", 4)
    train(tmp_path / "b", 2)
    train(tmp_path / "b", 4, "--resume")
    a = checkpoint.load(tmp_path / "a" / "last.pt")
    b = checkpoint.load(tmp_path / "b" / "last.pt")
    assert "auxiliary" in b["train_state"]
    for name in a["model"]:
        assert torch.allclose(a["model"][name], b["model"][name], atol=1e-6), name


def test_mu_law_round_trip_is_close_and_silence_is_the_middle_class():
    x = torch.linspace(-1, 1, 1001)
    classes = mu_law_encode(x)
    assert classes.min() == 0 and classes.max() == 255
    assert mu_law_encode(torch.zeros(1)).item() == 128
    assert (mu_law_decode(classes) - x).abs().max() < 0.04


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_wavenet_cached_generation_equals_naive(dtype):
    torch.manual_seed(0)
    model = WaveNet(_config("wavenet")).to(dtype).eval()
    pose = torch.from_numpy(_pose(3, 22)).to(dtype)
    n = 400  # well past the receptive field (31 samples)
    c = model.conditioning(pose, torch.tensor([0, 1, 2]), n)
    uniform = torch.rand((n, 3), generator=torch.Generator().manual_seed(5))
    cached = generate_cached(model, c, uniform)
    naive = generate_naive(model, c, uniform)
    assert torch.equal(cached, naive)
    assert len(set(cached[0].tolist())) > 10  # not a constant signal


def test_wavenet_is_causal():
    torch.manual_seed(0)
    model = WaveNet(_config("wavenet")).double().eval()
    n = 200
    classes = torch.randint(0, 256, (1, n))
    c = torch.randn(1, model.config.cond_dim, n, dtype=torch.float64)
    t = 120
    changed = classes.clone()
    changed[:, t + 1 :] = torch.randint(0, 256, (1, n - t - 1))
    with torch.no_grad():
        a, b = model(classes, c), model(changed, c)
    assert torch.equal(a[:, :, : t + 1], b[:, :, : t + 1])
    assert not torch.equal(a[:, :, t + 1 :], b[:, :, t + 1 :])


def test_samplernn_is_causal_and_generation_matches_teacher_forcing():
    from foley_models.models.quantize import sample_classes
    from foley_models.models.samplernn.generate import generate_classes

    torch.manual_seed(0)
    model = SampleRNN(_config("samplernn")).double().eval()
    length = 160
    seq = torch.randint(0, 256, (1, 16 + length))
    cond = torch.randn(1, length // 16, model.config.cond_dim, dtype=torch.float64)
    t = 70  # target t sits at padded position 16 + t; changing positions after it is harmless
    changed = seq.clone()
    changed[:, 16 + t :] = torch.randint(0, 256, (1, length - t))
    with torch.no_grad():
        a, b = model(seq, cond), model(changed, cond)
    assert torch.equal(a[:, : t + 1], b[:, : t + 1])
    assert not torch.equal(a[:, t + 1 :], b[:, t + 1 :])
    uniform = torch.rand((length, 2), generator=torch.Generator().manual_seed(2))
    cond2 = cond.expand(2, -1, -1).contiguous()
    generated = generate_classes(model, cond2, uniform)
    padded = torch.cat([torch.full((2, 16), 128), generated], dim=1)
    with torch.no_grad():
        logits = model(padded, cond2)
    redrawn = torch.stack([sample_classes(logits[:, i], uniform[i]) for i in range(length)], 1)
    assert torch.equal(redrawn, generated)


def test_gan_discriminator_sees_the_pose_features():
    torch.manual_seed(0)
    model = PoseToMelGAN(_config("gan")).eval()
    mel = torch.randn(1, 80, 32)
    cond = torch.randn(1, model.config.cond_dim, 32)
    with torch.no_grad():
        a = model.discriminator(mel, cond)
        b = model.discriminator(mel, cond + 1.0)
    assert not torch.allclose(a, b)


def test_onset_curve_targets_mark_the_sub_frame_and_its_neighbours():
    from foley_models.models.waveform import onset_curve_targets

    targets = onset_curve_targets([np.array([0.0, 0.1]), np.array([])], bins=20, bin_s=0.02)
    assert targets.shape == (2, 20)
    # 0.0 s is bin 0 (a neighbour on one side only); 0.1 s is bin 5, neighbours 4 and 6.
    assert targets[0].tolist()[:8] == [1.0, 0.5, 0.0, 0.0, 0.5, 1.0, 0.5, 0.0]
    assert targets[1].sum() == 0


@pytest.mark.parametrize("system", BASELINES)
def test_the_onset_head_conditions_the_baseline_and_is_trained_by_its_own_loss(
    system, tiny_dataset
):
    torch.manual_seed(0)
    config = _config(system)
    assert config.onset_loss_weight > 0 and config.cond_dim == config.encoder.d_model + 1
    task = system_module(system, "train").Task(config, tiny_dataset, torch.device("cpu"))
    batch = task.train_batch(np.random.default_rng(1))
    assert len(batch["onset_batch"]["onsets"]) == config.onset_batch_size
    assert sum(len(o) for o in batch["onsets"]) > 0  # the debug clips hold notes
    loss, metrics = task.loss(batch)
    assert loss.item() == pytest.approx(
        metrics["system_loss"] + config.onset_loss_weight * metrics["onset_loss"], rel=1e-4
    )
    # The last conditioning channel is the head's onset probability, on its own fine grid.
    conditioner = task.model.conditioner
    c, logits = conditioner.condition(batch["pose"], batch["instrument"], 400)
    assert c.shape[1] == config.cond_dim and logits.shape[1] % config.onset_subframes == 0
    assert c[:, -1].min() >= 0 and c[:, -1].max() <= 1
    # The onset loss trains the head (the next test: nothing else does).
    loss.backward()
    assert conditioner.onset_head.weight.grad.abs().sum() > 0


def test_onset_peaks_have_the_shape_of_the_targets():
    from foley_models.models.waveform import onset_curve_targets, onset_peaks

    p = torch.tensor([[0.1, 0.6, 0.4, 0.0, 0.2, 0.25, 0.9, 0.9, 0.3, 0.0]])
    # Local maxima at or above 0.3: bins 1 and 7 (of a flat top, its last bin); 0.25 is below.
    assert onset_peaks(p, 0.3).tolist() == [[0.5, 1.0, 0.5, 0.0, 0.0, 0.0, 0.5, 1.0, 0.5, 0.0]]
    targets = onset_curve_targets([np.array([0.025, 0.145])], bins=10, bin_s=0.02)
    assert onset_peaks(targets, 0.3).tolist() == targets.tolist()
    assert onset_peaks(p, 0.95).sum() == 0


@pytest.mark.parametrize("system", BASELINES)
def test_teacher_forcing_gives_the_system_the_true_onsets_in_training_only(system, tiny_dataset):
    from foley_models.models.waveform import onset_curve_targets

    torch.manual_seed(0)
    config = replace(_config(system), onset_teacher_forcing=1.0)
    task = system_module(system, "train").Task(config, tiny_dataset, torch.device("cpu"))
    batch = task.train_batch(np.random.default_rng(1))
    assert batch["forced"].all()
    conditioner = task.model.conditioner
    n = 400
    c = task.condition(batch, n)
    bins = batch["onset_logits"].shape[1]
    bin_s = config.encoder.downsample / config.fps / config.onset_subframes
    truth = onset_curve_targets(batch["onsets"], bins, bin_s)[:, :, None]
    expected = torch.nn.functional.interpolate(truth.transpose(1, 2), size=n, mode="linear")
    assert torch.allclose(c[:, -1], expected[:, 0], atol=1e-6)
    # Outside training the channel is the head's own onsets, peak-picked into the same shape.
    task.model.eval()
    c_eval, logits = conditioner.condition(batch["pose"], batch["instrument"], n)
    assert torch.allclose(task.condition(batch, n), c_eval)
    head = conditioner.onset_head.weight
    with torch.no_grad():
        head.zero_()
        conditioner.onset_head.bias.fill_(5.0)  # p = 0.99 everywhere: a flat top, one peak
    c_flat, _ = conditioner.condition(batch["pose"], batch["instrument"], bins)
    assert set(c_flat[:, -1].unique().tolist()) <= {0.0, 0.5, 1.0}
    assert (c_flat[:, -1] == 1.0).sum(dim=1).tolist() == [1] * len(batch["onsets"])
    # The forced rows are drawn per clip at the configured share.
    half = system_module(system, "train").Task(
        replace(config, onset_teacher_forcing=0.5), tiny_dataset, torch.device("cpu")
    )
    rng = np.random.default_rng(3)
    share = np.mean([half.train_batch(rng)["forced"].float().mean().item() for _ in range(20)])
    assert 0.25 < share < 0.75


def test_the_onset_envelope_jumps_at_each_onset_and_decays(tiny_dataset):
    from foley_models.models.waveform import onset_curve_targets, onset_envelope

    curve = torch.tensor([[0.0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.5, 1.0, 0.5]])
    envelope = onset_envelope(curve, 0.5)
    assert envelope.tolist() == [[0.0, 0.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 1.0, 0.5]]
    torch.manual_seed(0)
    config = replace(_config("wavenet"), onset_teacher_forcing=1.0, onset_envelope_s=0.1)
    task = system_module("wavenet", "train").Task(config, tiny_dataset, torch.device("cpu"))
    bin_s = config.encoder.downsample / config.fps / config.onset_subframes
    decay = task.model.conditioner.envelope_decay
    assert decay == pytest.approx(np.exp(-bin_s / 0.1))
    batch = task.train_batch(np.random.default_rng(1))
    task.condition(batch, 100)
    n = batch["onset_logits"].shape[1] * 4
    c = task.condition(batch, n)
    truth = onset_envelope(onset_curve_targets(batch["onsets"], n // 4, bin_s), decay)
    expected = torch.nn.functional.interpolate(truth[:, None], size=n, mode="linear")[:, 0]
    assert torch.allclose(c[:, -1], expected, atol=1e-6)
    assert (truth == 1.0).sum() > 0 and ((truth > 0) & (truth < 1)).sum() > 0


def test_the_threshold_picked_is_the_one_that_finds_the_onsets():
    from foley_models.models.waveform import best_threshold

    bin_s = 0.01
    probability = torch.full((2, 100), 0.01)
    probability[0, [10, 50]] = 0.2  # the true onsets at 0.105 s and 0.505 s ...
    probability[1, 30] = 0.2
    probability[0, 80] = probability[1, 70] = 0.12  # ... and two weaker false peaks
    onsets = [np.array([0.105, 0.505]), np.array([0.305])]
    f1, threshold = best_threshold(probability, onsets, bin_s)
    assert f1 == 1.0 and threshold == 0.2  # 0.125 and 0.15 find them too; the highest wins
    f1_none, _ = best_threshold(torch.full((2, 100), 0.01), onsets, bin_s)
    assert f1_none == 0.0


def test_validation_sets_the_onset_threshold_and_the_checkpoint_keeps_it(tiny_dataset, tmp_path):
    from foley_models.models.waveform import THRESHOLDS

    torch.manual_seed(0)
    config = replace(_config("wavenet"), onset_teacher_forcing=1.0)
    task = system_module("wavenet", "train").Task(config, tiny_dataset, torch.device("cpu"))
    conditioner = task.model.conditioner
    task.model.eval()
    with torch.no_grad():
        conditioner.onset_threshold.fill_(0.77)  # not a candidate: validation must replace it
        metrics = task.validate()
    assert metrics["val_onset_threshold"] in THRESHOLDS
    assert conditioner.onset_threshold.item() == pytest.approx(metrics["val_onset_threshold"])
    assert 0.0 <= metrics["val_onset_f1"] <= 1.0
    restored = WaveNet(config)
    restored.load_state_dict(task.model.state_dict())
    assert restored.conditioner.onset_threshold.item() == pytest.approx(
        metrics["val_onset_threshold"]
    )


def test_the_system_loss_sends_the_onset_head_no_gradient(tiny_dataset):
    torch.manual_seed(0)
    task = system_module("wavenet", "train").Task(
        _config("wavenet"), tiny_dataset, torch.device("cpu")
    )
    batch = task.train_batch(np.random.default_rng(1))
    batch["onset_logits"] = None  # add_onset_loss then adds nothing: the WaveNet loss alone
    n = batch["audio"].shape[1]
    c = task.model.pad(task.model.conditioner.condition(batch["pose"], batch["instrument"], n)[0])
    c.sum().backward()
    assert task.model.conditioner.onset_head.weight.grad is None
    assert task.model.conditioner.encoder.project.weight.grad.abs().sum() > 0


def test_training_windows_hold_an_onset_as_often_as_asked(tiny_dataset):
    config = _config("wavenet")
    task = system_module("wavenet", "train").Task(
        replace(config, onset_window_share=1.0), tiny_dataset, torch.device("cpu")
    )
    rng = np.random.default_rng(0)
    n, length, rate = 16000, 400, config.sample_rate
    batch = {"audio": torch.zeros(200, n), "onsets": [np.array([0.3, 0.7])] * 200}
    starts = task.window_starts(batch, n, length, rng)
    onsets = np.array([0.3, 0.7]) * rate
    for start in starts:
        inside = (onsets >= start + length // 10) & (onsets < start + length)
        assert inside.any(), start
    task_uniform = system_module("wavenet", "train").Task(
        replace(config, onset_window_share=0.0), tiny_dataset, torch.device("cpu")
    )
    uniform = task_uniform.window_starts(batch, n, length, rng)
    share = np.mean([((onsets >= s) & (onsets < s + length)).any() for s in uniform])
    assert share < 0.2  # two onsets in a second: a uniform 25 ms window rarely holds one
    tops = task.window_starts(batch, n, 64 * 4, rng, unit=16)
    assert all(0 <= s <= (n - 256) // 16 for s in tops)


def test_gan_validation_counts_the_spectral_flux_as_well_as_l1(tiny_dataset):
    from foley_models.models.gan.model import spectral_flux

    mel = torch.zeros(1, 2, 4)
    mel[0, :, 2] = 1.0  # a rise at frame 2, then a fall
    assert spectral_flux(mel).tolist() == [[0.0, 1.0, 0.0]]
    torch.manual_seed(0)
    task = system_module("gan", "train").Task(_config("gan"), tiny_dataset, torch.device("cpu"))
    task.model.eval()
    with torch.no_grad():
        result = task.validate()
    c = task.config
    expected = (
        result["val_recon"]
        + c.flux_weight / c.recon_weight * result["val_flux"]
        + c.onset_loss_weight / c.recon_weight * result["val_onset_loss"]
    )
    assert result["val_loss"] == pytest.approx(expected, rel=1e-4)
    assert result["val_flux"] > 0


def test_loudness_targets_are_the_level_of_each_sub_frame():
    from foley_models.models.waveform import LOUDNESS_MAX, loudness_targets

    rate, bin_s = 16000, 0.01
    t = torch.arange(rate // 2) / rate
    sine = 0.1 * torch.sin(2 * torch.pi * 400 * t)  # RMS 0.0707: -23 dBFS
    audio = torch.stack([torch.cat([sine, torch.zeros(rate // 2)]), torch.ones(rate)])
    level = loudness_targets(audio, bins=110, bin_s=bin_s, rate=rate)
    assert level.shape == (2, 110)
    expected = (20 * np.log10(0.1 / np.sqrt(2)) + 60) / 20
    assert level[0, :50] == pytest.approx(torch.full((50,), expected), abs=0.01)
    assert level[0, 50:].abs().max() == 0  # silence is the floor
    assert level[1, :100].tolist() == pytest.approx([LOUDNESS_MAX] * 100)  # full scale
    assert level[1, 100:].abs().max() == 0  # sub-frames past the end are silent


def test_the_loudness_head_is_trained_on_the_level_and_conditions_the_system(tiny_dataset):
    from foley_models.models.waveform import LOUDNESS_MAX, loudness_targets, upsample

    torch.manual_seed(0)
    base = _config("wavenet")
    config = replace(base, loudness_loss_weight=2.0, loudness_teacher_forcing=1.0)
    assert config.cond_dim == base.cond_dim + 1
    task = system_module("wavenet", "train").Task(config, tiny_dataset, torch.device("cpu"))
    conditioner = task.model.conditioner
    batch = task.train_batch(np.random.default_rng(1))
    assert batch["loudness_forced"].all()
    n = batch["audio"].shape[1]
    loss, metrics = task.loss(batch)
    assert loss.item() == pytest.approx(
        metrics["system_loss"]
        + config.onset_loss_weight * metrics["onset_loss"]
        + config.loudness_loss_weight * metrics["loudness_loss"],
        rel=1e-4,
    )
    # The extra pose clips join the loudness loss as they join the onset loss.
    predicted, truth = batch["loudness_predicted"], batch["loudness"]
    extra = batch["onset_batch"]
    assert extra["loudness"].shape[0] == config.onset_batch_size
    both = torch.cat([predicted, extra["loudness_predicted"]])
    expected = torch.nn.functional.mse_loss(both, torch.cat([truth, extra["loudness"]]))
    assert metrics["loudness_loss"] == pytest.approx(expected.item(), rel=1e-5)
    # In training the last channel is the audio's own level (teacher forcing) ...
    bins = predicted.shape[1]
    assert torch.equal(
        truth, loudness_targets(batch["audio"], bins, config.onset_bin_s, config.sample_rate)
    )
    assert truth.max() > 1.0  # the clips are not silent
    c = task.condition(batch, n)
    assert torch.allclose(c[:, -1], upsample(truth[:, :, None], n)[:, 0], atol=1e-6)
    # ... and the onset channel is still the one before it.
    assert c[:, -2].min() >= 0 and c[:, -2].max() <= 1
    # The loudness loss trains the head and, through it, the encoder; the system's loss does
    # not reach the head (its prediction is detached).
    loss.backward()
    assert conditioner.loudness_head.weight.grad.abs().sum() > 0
    task.model.zero_grad()
    batch = task.train_batch(np.random.default_rng(2))
    batch["onset_logits"] = None
    c = task.model.conditioner.condition(batch["pose"], batch["instrument"], n)[0]
    c.sum().backward()
    assert conditioner.loudness_head.weight.grad is None
    # Outside training, and in generation, the channel is the head's prediction, clamped.
    task.model.eval()
    with torch.no_grad():
        conditioner.loudness_head.weight.zero_()
        conditioner.loudness_head.bias.fill_(LOUDNESS_MAX + 1)
        c_eval = task.condition(batch, n)
        c_generate, _ = conditioner.condition(batch["pose"], batch["instrument"], n)
    assert torch.allclose(c_eval, c_generate)
    assert torch.allclose(c_eval[:, -1], torch.full_like(c_eval[:, -1], LOUDNESS_MAX))
    # Validation reports the loudness loss of the head's own prediction.
    with torch.no_grad():
        assert task.validate()["val_loudness_loss"] > 0


def test_the_loudness_head_needs_the_onset_head():
    from foley_models.models.waveform import PoseConditioner

    config = replace(_config("wavenet"), onset_loss_weight=0.0, loudness_loss_weight=1.0)
    with pytest.raises(ValueError, match="needs the onset head"):
        PoseConditioner(config)


def test_wavenet_with_loudness_gain_models_the_waveform_over_its_level(tiny_dataset, monkeypatch):
    import foley_models.models.wavenet.train as wavenet_train
    from foley_models.models.waveform import level_gain, loudness_targets
    from foley_models.models.wavenet.generate import Generator as WaveNetGenerator

    # A steady tone divided by the gain of its own level has an RMS of 1 / 4 in every sub-frame.
    rate = 16000
    tone = 0.3 * torch.sin(2 * torch.pi * 500 * torch.arange(rate) / rate)[None]
    level = loudness_targets(tone, 100, 0.01, rate)
    assert (tone / level_gain(level).repeat_interleave(160, dim=1)).std() == pytest.approx(
        0.25, rel=0.01
    )
    with pytest.raises(ValueError, match="teacher_forcing 1.0"):
        replace(_config("wavenet"), loudness_loss_weight=1.0, loudness_gain=True)
    config = replace(
        _config("wavenet"),
        loudness_loss_weight=1.0,
        loudness_teacher_forcing=1.0,
        loudness_gain=True,
    )
    torch.manual_seed(0)
    task = system_module("wavenet", "train").Task(config, tiny_dataset, torch.device("cpu"))
    # Training encodes the clip's audio divided by the gain of its true level.
    encoded = []
    real_encode = wavenet_train.mu_law_encode
    monkeypatch.setattr(
        wavenet_train, "mu_law_encode", lambda x, n: encoded.append(x) or real_encode(x, n)
    )
    batch = task.train_batch(np.random.default_rng(1))
    task.loss(batch)
    n = batch["audio"].shape[1]
    expected = (batch["audio"] / task.model.gain(batch["loudness"], n)).clamp(-1, 1)
    rf = config.receptive_field
    assert torch.allclose(encoded[0][:, rf:], expected)
    # Generation multiplies the WaveNet's samples by the gain of the head's predicted level.
    task.model.eval()
    with torch.no_grad():
        task.model.conditioner.loudness_head.weight.zero_()
        task.model.conditioner.loudness_head.bias.fill_(1.5)  # -30 dBFS everywhere
    pose = [_pose(1, 22)[0]]
    with_gain = WaveNetGenerator(task.model, torch.device("cpu")).generate(pose, "piano", seed=3)
    task.model.config = replace(config, loudness_gain=False, loudness_teacher_forcing=0.0)
    plain = WaveNetGenerator(task.model, torch.device("cpu")).generate(pose, "piano", seed=3)
    gain = float(level_gain(torch.tensor(1.5)))
    assert gain == pytest.approx(4 * 10**-1.5)
    np.testing.assert_allclose(with_gain[0].audio, plain[0].audio * gain, rtol=1e-5, atol=1e-7)
