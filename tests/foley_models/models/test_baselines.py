"""The three waveform baselines: shapes, learning, checkpoints, WaveNet's fast generation,
causality."""

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
    clips = list(_pose(2, 11)) + list(_pose(1, 7, seed=1))  # two lengths: two batches
    out = gen.generate(clips, "violin", seed=3)
    assert [len(o.audio) for o in out] == [8000, 8000, int(round(7 / 22 * 16000))]
    for o in out:
        assert o.sample_rate == 16000 and o.audio.dtype == np.float32 and o.midi is None
        assert np.isfinite(o.audio).all() and np.abs(o.audio).max() <= 1.0
    again = gen.generate(clips, "violin", seed=3)
    assert np.array_equal(out[0].audio, again[0].audio)
    with pytest.raises(ValueError, match="trained on 22 fps"):
        gen.generate(clips, "violin", fps=30.0)
    assert isinstance(gen, Generator)  # the generator contract (foley_models.models.interface)
    (at_44k,) = gen.generate(clips[:1], "violin", seed=3, sample_rate=44100)
    assert at_44k.sample_rate == 44100 and len(at_44k.audio) == 22050
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
    assert wav.stat().st_size > 40 + 2 * int(15 / 22 * 16000) - 4


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
    c = torch.randn(1, model.config.encoder.d_model, n, dtype=torch.float64)
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
    cond = torch.randn(1, length // 16, model.config.encoder.d_model, dtype=torch.float64)
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
    cond = torch.randn(1, 16, 32)
    with torch.no_grad():
        a = model.discriminator(mel, cond)
        b = model.discriminator(mel, cond + 1.0)
    assert not torch.allclose(a, b)
