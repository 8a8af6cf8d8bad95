import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from foley_models import load_generator
from foley_models.data import vocab
from foley_models.data.layouts import BODY65, HANDS
from foley_models.models import checkpoint
from foley_models.models.foley_music import generate, train
from foley_models.models.foley_music.config import preset
from foley_models.models.foley_music.model import FoleyMusic, relative_logits
from foley_models.models.pose_encoder import PoseEncoder, PoseEncoderConfig, spatial_partition


def _model(seed=0, **overrides):
    torch.manual_seed(seed)
    return FoleyMusic(preset("debug", **overrides)).eval()


def _save(model, path, step=0):
    return checkpoint.save(
        path,
        system="foley_music",
        preset="debug",
        config=model.config,
        model=model,
        step=step,
        metrics={},
    )


def _pose(b=2, t=44, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, 3, 65, 1, generator=g)


def test_spatial_partition_has_three_subsets_covering_the_graph():
    a = spatial_partition(BODY65)
    assert a.shape == (3, 65, 65)
    support = (a > 0).sum(axis=0)
    expected = np.eye(65) + BODY65.adjacency()
    assert ((support > 0) == (expected > 0)).all()
    assert (np.diag(a[0]) > 0).all() and np.allclose(np.diag(a[1]), 0)
    assert spatial_partition(HANDS).shape == (3, 42, 42)


def test_paper_preset_is_the_papers_model():
    c = preset("paper")
    assert (c.d_model, c.layers, c.heads, c.ff_dim, c.dropout, c.max_events) == (
        512,
        6,
        8,
        1024,
        0.1,
        512,
    )
    assert (c.clip_s, c.midi_window_s) == (6.0, 6.5)
    assert not c.time_encoding  # the paper's model has no time encoding...
    assert not c.time_bias and c.onset_loss_weight == 0  # ...plain cross-attention, one loss
    model = FoleyMusic(c)
    assert isinstance(model.layers[0].cross_attn, torch.nn.MultiheadAttention)
    assert not hasattr(model, "onset_head")
    assert len(c.encoder.channels) == 10 and c.encoder.temporal_kernel == 9
    assert c.encoder.downsample == 4
    memory = PoseEncoder(c.encoder).eval()(torch.zeros(1, 132, 3, 65, 1))
    assert memory.shape == (1, 33, 512)  # 6 s at 22 fps -> 33 memory tokens


def test_paper_is_true_to_the_release_and_small_keeps_its_differences():
    """As the official code: dropout 0.1 in ST-GCN blocks 2-10 (none in the first), a final
    LayerNorm before the output head, no gradient clipping. small and debug keep theirs."""
    c = preset("paper")
    assert c.grad_clip == 0 and c.final_norm
    encoder = PoseEncoder(c.encoder)
    rates = [
        [m.p for m in block.modules() if isinstance(m, torch.nn.Dropout)]
        for block in encoder.blocks
    ]
    assert rates[0] in ([], [0.0]) and all(r == [0.1] for r in rates[1:]), rates
    model = FoleyMusic(preset("debug", final_norm=True))
    assert isinstance(model.final_norm, torch.nn.LayerNorm)
    # The norm sits right before the head: scaling its output scales the logits' input.
    captured = {}
    model.head.register_forward_hook(lambda m, i, o: captured.setdefault("in", i[0]))
    model.eval()
    memory = model.encode(torch.randn(1, 44, 3, 65, 1), torch.tensor([0]))
    model.decode(torch.tensor([[1, 2, 3]]), memory)
    x = captured["in"]
    assert torch.allclose(x.mean(-1), torch.zeros(1, 3), atol=1e-5)
    for name in ("small", "debug"):
        s = preset(name)
        assert s.grad_clip == 1.0 and not s.final_norm and s.encoder.dropout == 0.0
        assert isinstance(FoleyMusic(s).final_norm, torch.nn.Identity)


def test_debug_shapes_and_size():
    model = _model()
    # The debug preset stays tiny (263k parameters; it builds in about 20 ms), so that tests
    # build it freely; its size, not a wall clock, is what the test holds it to.
    assert sum(p.numel() for p in model.parameters()) < 500_000
    memory = model.encode(_pose(), torch.tensor([0, 2]))
    assert memory.shape == (2, 11, 32)
    logits = model.decode(torch.randint(0, 240, (2, 17)), memory)
    assert logits.shape == (2, 17, vocab.VOCAB_SIZE)


def test_skewed_relative_attention_equals_the_direct_computation():
    torch.manual_seed(0)
    b, h, length, d, max_len = 2, 3, 9, 5, 16
    q = torch.randn(b, h, length, d)
    er = torch.randn(max_len, d)
    fast = relative_logits(q, er, length)
    direct = torch.zeros(b, h, length, length)
    for i in range(length):
        for j in range(i + 1):
            direct[:, :, i, j] = (q[:, :, i] * er[max_len - 1 - (i - j)]).sum(-1)
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    assert torch.allclose(fast[..., causal], direct[..., causal], atol=1e-5)
    # The last query alone (incremental decoding) and a tail of queries agree with it too.
    assert torch.allclose(
        relative_logits(q[:, :, -1:], er, length)[..., 0, :], direct[:, :, -1], atol=1e-5
    )
    tail = relative_logits(q[:, :, -3:], er, length)
    assert torch.allclose(tail[..., causal[-3:]], direct[:, :, -3:][..., causal[-3:]], atol=1e-5)


TIME_OPTIONS = [
    {"time_encoding": True, "time_bias": True},
    {"time_encoding": False, "time_bias": True},
    {"time_encoding": True, "time_bias": False},
    {"time_encoding": False, "time_bias": False},
]


@pytest.mark.parametrize("options", TIME_OPTIONS)
def test_changing_a_future_token_never_changes_an_earlier_logit(options):
    model = _model(**options)
    memory = model.encode(_pose(b=1), torch.tensor([1]))
    tokens = torch.randint(0, 240, (1, 20))
    base = model.decode(tokens, memory)
    for t in (5, 12, 19):
        changed = tokens.clone()
        changed[0, t] = (changed[0, t] + 7) % 240
        other = model.decode(changed, memory)
        assert torch.allclose(base[:, :t], other[:, :t], atol=1e-6)
        assert not torch.allclose(base[:, t:], other[:, t:])


@pytest.mark.parametrize("options", TIME_OPTIONS)
def test_cached_and_uncached_greedy_decoding_give_identical_tokens(options):
    model = _model(seed=3, **options)
    memory = model.encode(_pose(b=3, seed=1), torch.tensor([0, 1, 3]))
    kwargs = dict(max_events=60, end_s=None, greedy=True)
    cached = generate.decode_tokens(model, memory, use_cache=True, **kwargs)
    plain = generate.decode_tokens(model, memory, use_cache=False, **kwargs)
    assert cached == plain
    assert max(len(s) for s in cached) > 10


def test_memory_offsets_follow_the_event_clock():
    model = _model()  # debug: memory frames every 4 pose frames at 22 fps (0.18 s)
    memory = model.encode(_pose(b=1), torch.tensor([0]))  # 11 frames, centres 0.068 + k*0.18 s
    shift, s = vocab.TIME_SHIFT + 26, vocab.SHIFT_SECONDS[26]  # 1.15**26 / 65 s = 0.582 s
    tokens = torch.tensor([[vocab.SOS, 30, shift, shift, 40]])
    clock = model._event_times(tokens, None)
    assert clock[0].tolist() == pytest.approx([0, 0, s, 2 * s, 2 * s], abs=1e-5)
    offsets = model._memory_offsets(clock, memory)[0]
    frame_s = 4 / 22
    centres = (torch.arange(11) * 4 + 1.5) / 22
    expected = torch.round((centres[None, :] - clock[0][:, None]) / frame_s).long()
    assert torch.equal(offsets, expected.clamp(-2, 6))  # the debug preset's -2..+6
    assert offsets[0, 0] == 0 and offsets[0, -1] == 6  # clamped ahead
    assert offsets[4, 0] == -2 and offsets[4, 6] == 0  # 1.165 s is memory frame 6


def test_time_bias_makes_a_head_read_the_memory_at_its_offset():
    from foley_models.models.foley_music.model import TimeBiasedCrossAttention

    torch.manual_seed(0)
    attn = TimeBiasedCrossAttention(8, 2, behind=2, ahead=6, peaks=[0.0, 3.0], dropout=0.0)
    with torch.no_grad():
        attn.q.weight.zero_()  # no content term: only the time bias decides
        attn.q.bias.zero_()
        attn.bias.mul_(200.0)  # sharpen the starting peaks
        attn.kv.weight.copy_(torch.eye(16, 8))  # keys = the memory (unused: q is 0)
        attn.kv.bias.zero_()
        attn.kv.weight[8:] = torch.eye(8)  # values = the memory itself
        attn.out.weight.copy_(torch.eye(8))
        attn.out.bias.zero_()
    memory = torch.randn(1, 10, 8)
    offsets = (torch.arange(10)[None, None, :] - torch.tensor([2, 5])[None, :, None]).clamp(-2, 6)
    y = attn(torch.randn(1, 2, 8), memory, offsets, None)
    # Head 0 (dims 0-3) reads the frame at the clock, head 1 (dims 4-7) the frame 3 later.
    assert torch.allclose(y[0, 0, :4], memory[0, 2, :4], atol=1e-4)
    assert torch.allclose(y[0, 0, 4:], memory[0, 5, 4:], atol=1e-4)
    assert torch.allclose(y[0, 1, :4], memory[0, 5, :4], atol=1e-4)
    assert torch.allclose(y[0, 1, 4:], memory[0, 8, 4:], atol=1e-4)


def test_starting_peaks_spread_over_layers_and_heads():
    from foley_models.models.foley_music.model import bias_peaks

    config = preset("small")
    peaks = bias_peaks(config)
    assert len(peaks) == config.layers and all(len(p) == config.heads for p in peaks)
    flat = sorted(x for layer in peaks for x in layer)
    assert flat[0] == -1.0 and flat[-1] == config.time_bias_ahead / 2
    assert all(max(layer) - min(layer) > config.time_bias_ahead / 4 for layer in peaks)


def test_onset_targets_mark_the_memory_frames_where_notes_start():
    import pretty_midi

    from foley_models.models.clips import Clip

    config = preset("debug", onset_subframes=1)  # 4 pose frames per memory frame at 22 fps
    notes = [pretty_midi.Note(velocity=80, pitch=60, start=s, end=s + 0.1) for s in (0.0, 0.5, 2.2)]
    clip = Clip(np.zeros((44, 3, 65, 1), np.float32), notes, "piano", 0.0, "x", None)
    targets = train.onset_targets([clip], config, frames=44)
    assert targets.shape == (1, 11)
    # 0.5 s is pose frame 11 -> memory frame 2; 2.2 s is past the 2 s clip and not marked.
    assert torch.nonzero(targets[0]).flatten().tolist() == [0, 2]


def test_sub_frame_onset_targets_say_where_in_its_memory_frame_a_note_starts():
    import pretty_midi

    from foley_models.models.clips import Clip

    config = preset("debug", onset_subframes=4)  # 4 pose frames per memory frame: 45 ms bins
    assert config.onset_bin_s == pytest.approx(4 / 22 / 4)
    notes = [pretty_midi.Note(velocity=80, pitch=60, start=s, end=s + 0.1) for s in (0.0, 0.5, 2.2)]
    clip = Clip(np.zeros((44, 3, 65, 1), np.float32), notes, "piano", 0.0, "x", None)
    targets = train.onset_targets([clip], config, frames=44)[0]
    assert targets.shape == (44,)
    # 0.5 s lies in bin 11 (0.500 / 0.04545 = 11.0): 1 there, 0.5 beside it; 0 s in bin 0.
    assert targets[11] == 1.0 and targets[10] == 0.5 and targets[12] == 0.5
    assert targets[0] == 1.0 and targets[1] == 0.5
    assert torch.nonzero(targets).flatten().tolist() == [0, 1, 10, 11, 12]


def test_the_onset_window_gives_each_event_the_head_s_probabilities_around_its_clock():
    model = _model(seed=3, onset_subframes=4, onset_window_behind=2, onset_window_ahead=6)
    c = model.config
    memory = torch.randn(2, 11, c.d_model)
    curve = torch.sigmoid(model.onset_logits(memory))  # [2, 44]
    assert curve.shape == (2, 44)
    # An event whose clock is at 0.5 s (bin 11) reads bins 9..17; one at 1.9 s (bin 41) reads
    # 39..43 and zeros past the clip's last bin.
    times = torch.tensor([[0.5, 1.9], [0.0, 0.5]])
    window = model.onset_window_features(memory, times)
    assert window.shape == (2, 2, 9)
    assert torch.allclose(window[0, 0], curve[0, 9:18])
    assert torch.allclose(window[0, 1, :5], curve[0, 39:44]) and (window[0, 1, 5:] == 0).all()
    assert (window[1, 0, :2] == 0).all() and torch.allclose(window[1, 0, 2:], curve[1, 0:7])
    # Detached: the decoder's loss does not train the onset head.
    assert not window.requires_grad
    tokens = torch.tensor([[vocab.SOS, 230, 40, 220]])
    pose = torch.randn(1, 44, 3, 65, 1)
    loss = model(pose, model.instrument_ids(["piano"], "cpu"), tokens).sum()
    loss.backward()
    assert model.onset_head.weight.grad is None or model.onset_head.weight.grad.abs().sum() == 0
    assert model.onset_window.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="needs the onset head"):
        _model(onset_loss_weight=0.0, onset_window_ahead=4)


def test_teacher_forcing_shows_the_window_the_true_onsets_in_training_only(tiny_dataset):
    from foley_models.models.waveform import onset_peaks

    window = dict(onset_subframes=4, onset_window_behind=2, onset_window_ahead=6)
    config = preset("debug", **window, onset_window_teacher_forcing=1.0)
    task = train.Task(config, tiny_dataset, torch.device("cpu"))
    model = task.model
    batch = task.train_batch(np.random.default_rng(0))
    assert batch["forced"].all()
    seen = []
    original = model.onset_window_features

    def spy(memory, times, curve=None):
        seen.append(curve)
        return original(memory, times, curve)

    model.onset_window_features = spy
    model.train()
    task.loss(batch)
    assert torch.equal(seen[-1], batch["onsets"])  # the true onsets, in the head's shape
    # Outside training the window reads the head's onsets, peak-picked at the threshold.
    model.eval()
    with torch.no_grad():
        task.loss(batch)
        memory = model.encode(batch["pose"], batch["instrument"])
        expected = onset_peaks(torch.sigmoid(model.onset_logits(memory)), model.onset_threshold)
    assert seen[-1] is None and torch.equal(model.onset_curve(memory), expected)
    assert set(expected.unique().tolist()) <= {0.0, 0.5, 1.0}
    # Validation picks the threshold (one of the candidates) and reports the head's F1.
    with torch.no_grad():
        result = task.validate()
    assert 0.0 <= result["val_onset_f1"] <= 1.0
    assert model.onset_threshold.item() == result["val_onset_threshold"]
    # The forced rows are drawn per clip at the configured share.
    half = train.Task(replace(config, onset_window_teacher_forcing=0.5), tiny_dataset, "cpu")
    rng = np.random.default_rng(3)
    share = np.mean([half.train_batch(rng)["forced"].float().mean().item() for _ in range(20)])
    assert 0.3 < share < 0.7


def test_training_loss_adds_the_onset_and_pitch_losses_and_validation_reports_the_control(
    tiny_dataset,
):
    task = train.Task(preset("debug"), tiny_dataset, torch.device("cpu"))
    batch = task.train_batch(np.random.default_rng(0))
    subframes = task.config.onset_subframes
    assert batch["onsets"].shape == (len(batch["pose"]), 11 * subframes)
    assert batch["onsets"].sum() > 0
    loss, metrics = task.loss(batch)
    assert loss.item() == pytest.approx(
        metrics["event_loss"] + metrics["onset_loss"] + metrics["pitch_loss"], rel=1e-5
    )
    assert 0 <= metrics["pitch_accuracy"] <= 1
    plain = preset("debug", onset_loss_weight=0.0, onset_window_ahead=0)
    without = train.Task(plain, tiny_dataset, torch.device("cpu"))
    assert "onsets" not in without.train_batch(np.random.default_rng(0))
    task.model.eval()
    with torch.no_grad():
        result = task.validate()
    assert set(result) == {
        "val_loss",
        "val_accuracy",
        "val_pitch_accuracy",
        "val_shuffled_loss",
        "val_shuffled_accuracy",
    }
    assert result["val_shuffled_loss"] != result["val_loss"]


def test_sampling_filters_and_seeded_sampling_repeat():
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0, -1.0]])
    top2 = generate._filter_logits(logits, top_k=2, top_p=None)
    assert torch.isinf(top2[0, 2:]).all() and not torch.isinf(top2[0, :2]).any()
    probs = torch.softmax(logits, -1)[0]
    nucleus = generate._filter_logits(logits, top_k=None, top_p=float(probs[0] + 0.01))
    assert (~torch.isinf(nucleus[0])).sum() == 2
    model = _model(seed=4)
    memory = model.encode(_pose(b=2), torch.tensor([0, 0]))

    def sample(seed):
        g = torch.Generator().manual_seed(seed)
        return generate.decode_tokens(
            model,
            memory,
            max_events=40,
            end_s=None,
            greedy=False,
            temperature=1.2,
            top_k=20,
            top_p=0.95,
            generator=g,
        )

    assert sample(5) == sample(5)
    assert sample(5) != sample(6)


def test_decoding_stops_at_the_event_limit_and_when_time_passes_the_clip_end():
    model = _model(seed=5)
    with torch.no_grad():  # make time-shifts overwhelmingly likely
        model.head.bias.zero_()
        model.head.bias[vocab.TIME_SHIFT + 31] = 50.0
    memory = model.encode(_pose(b=1), torch.tensor([0]))
    (limited,) = generate.decode_tokens(model, memory, max_events=7, end_s=None)
    assert len(limited) == 7
    (timed,) = generate.decode_tokens(model, memory, max_events=100, end_s=2.0)
    shift = vocab.SHIFT_SECONDS[31]
    assert len(timed) == math.floor(2.0 / shift) + 1  # the shift that passes 2 s ends it


def test_one_training_step_lowers_the_loss_on_a_fixed_batch(tiny_dataset):
    task = train.Task(preset("debug"), tiny_dataset, torch.device("cpu"))
    batch = task.train_batch(np.random.default_rng(0))
    optimizer = torch.optim.Adam(task.model.parameters(), lr=3e-3)
    task.model.train()
    before, _ = task.loss(batch)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    task.model.eval()
    with torch.no_grad():
        after, _ = task.loss(batch)
    assert after.item() < before.item()


def test_validation_accuracy_excludes_padding(tiny_dataset):
    task = train.Task(preset("debug"), tiny_dataset, torch.device("cpu"))
    batch = train.collate(task.val_clips[:4], task.model, task.device)
    y = batch["y"]
    assert (y == vocab.PAD).any()  # this batch has padding...
    _, accuracy, _ = train.loss_and_accuracy(task.model, batch)
    logits = task.model(batch["pose"], batch["instrument"], batch["x"])
    real = y != vocab.PAD
    expected = ((logits.argmax(-1) == y) & real).sum() / real.sum()
    assert accuracy.item() == pytest.approx(expected.item())  # ...that is not counted


def test_checkpoint_round_trip_and_generation_length(tmp_path, tiny_dataset, monkeypatch):
    model = _model(seed=6)
    path = _save(model, tmp_path / "m.pt", step=3)
    gen = load_generator(path, "cpu")
    assert gen.config == model.config
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, gen.model.state_dict()[name])
    pose = np.load(tiny_dataset / "pose" / "violin-00001.npy")[:66]
    (out,) = gen.generate([pose], "violin", seed=0, max_events=40)
    assert out.audio.dtype == np.float32 and out.sample_rate == 22050
    assert len(out.audio) == round(66 / 22 * 22050)
    assert out.midi.instruments[0].program == 40
    # Rendered once, at the rate asked for: the same notes, at 44.1 kHz.
    from foley_models.models.interface import Generator
    from foley_models.render import fluidsynth

    calls = []
    render = fluidsynth.Renderer.render

    def counted(self, *args, **kwargs):
        calls.append(self.sample_rate)
        return render(self, *args, **kwargs)

    monkeypatch.setattr(fluidsynth.Renderer, "render", counted)
    (hi,) = gen.generate([pose], "violin", seed=0, max_events=40, sample_rate=44100)
    assert calls == [44100] and hi.sample_rate == 44100
    assert len(hi.audio) == round(66 / 22 * 44100) and hi.tokens == out.tokens
    assert isinstance(gen, Generator)


def test_generation_leaves_the_global_rng_alone_and_keeps_no_graph(tmp_path, tiny_dataset):
    gen = load_generator(_save(_model(seed=6), tmp_path / "m.pt", step=3), "cpu")
    pose = np.load(tiny_dataset / "pose" / "violin-00001.npy")[:44]
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    (a,) = gen.generate([pose], "violin", seed=5, greedy=False, top_p=0.9, max_events=30)
    assert torch.equal(torch.rand(3), expected)  # the caller's random stream is not reseeded
    (b,) = gen.generate([pose], "violin", seed=5, greedy=False, top_p=0.9, max_events=30)
    assert a.tokens == b.tokens  # and the seed alone decides the sample
    seen = []
    encode = gen.model.encode

    def spy(*args, **kwargs):
        seen.append(torch.is_grad_enabled())
        return encode(*args, **kwargs)

    gen.model.encode = spy
    gen.generate([pose], "violin", seed=5, max_events=10)
    assert seen == [False]  # the pose encoder runs without building a graph
    assert torch.is_grad_enabled()


def test_training_refuses_data_at_another_frame_rate(tmp_path, tiny_dataset):
    import shutil

    from foley_models.data import dataset

    data = tmp_path / "data30"
    shutil.copytree(tiny_dataset, data)
    rows = dataset.read_index(data)
    for row in rows:
        row.fps = 30.0
        row.duration_s = round(row.duration_s * 22 / 30, 4)  # same frames, read at 30 fps
    dataset.write_index(data, rows)
    with pytest.raises(dataset.DatasetError, match="trains on 22 fps poses.*30 fps"):
        train.Task(preset("debug"), data, torch.device("cpu"))


def test_a_checkpoint_from_before_the_time_bias_loads_with_plain_cross_attention(tmp_path):
    model = _model(seed=8, time_bias=False, onset_loss_weight=0.0, onset_window_ahead=0)
    path = _save(model, tmp_path / "old.pt", step=1)
    payload = torch.load(path, weights_only=True)
    old = ("onset_subframes", "onset_window_behind", "onset_window_ahead")
    for key in ("time_bias", "time_bias_behind", "time_bias_ahead", "onset_loss_weight", *old):
        del payload["config"][key]  # the fields older checkpoints do not have
    torch.save(payload, tmp_path / "older.pt")
    gen = load_generator(tmp_path / "older.pt", "cpu")
    assert not gen.config.time_bias and gen.config.onset_loss_weight == 0
    assert isinstance(gen.model.layers[0].cross_attn, torch.nn.MultiheadAttention)


def test_unknown_format_and_corrupt_checkpoints_are_refused(tmp_path):
    model = _model()
    path = _save(model, tmp_path / "m.pt", step=0)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "future.pt")
    with pytest.raises(checkpoint.CheckpointError, match="format 99 is not supported"):
        load_generator(tmp_path / "future.pt", "cpu")
    (tmp_path / "broken.pt").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(checkpoint.CheckpointError, match="not a readable checkpoint"):
        load_generator(tmp_path / "broken.pt", "cpu")
    with pytest.raises(checkpoint.CheckpointError, match="no such checkpoint"):
        load_generator(tmp_path / "missing.pt", "cpu")


def test_generate_refuses_bad_poses_and_unknown_instruments(tmp_path):
    model = _model()
    gen = generate.Generator(model, torch.device("cpu"))
    with pytest.raises(ValueError, match="clip 0: pose shape"):
        gen.generate([np.zeros((44, 3, 25, 1), np.float32)], "violin")
    with pytest.raises(ValueError, match="not \\['banjo'\\]"):
        gen.generate([np.zeros((44, 3, 65, 1), np.float32)], "banjo")
    with pytest.raises(ValueError, match="trained on 22 fps poses, not 30 fps"):
        gen.generate([np.zeros((44, 3, 65, 1), np.float32)], "violin", fps=30)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_cuda_generation_matches_cpu_greedy():
    model = _model(seed=7)
    memory_cpu = model.encode(_pose(b=2), torch.tensor([0, 1]))
    cpu = generate.decode_tokens(model, memory_cpu, max_events=30, end_s=None)
    gpu_model = model.to("cuda")
    memory = gpu_model.encode(_pose(b=2).cuda(), torch.tensor([0, 1]).cuda())
    assert generate.decode_tokens(gpu_model, memory, max_events=30, end_s=None) == cpu


def test_pose_encoder_rejects_mismatched_block_lists():
    with pytest.raises(ValueError, match="one entry per block"):
        PoseEncoder(PoseEncoderConfig(channels=(8, 8), strides=(1,)))


def test_pitch_targets_share_a_frame_between_the_notes_of_a_chord():
    import pretty_midi

    from foley_models.models.clips import Clip

    config = preset("debug")  # memory frames of 4 pose frames (182 ms at 22 fps)
    notes = [
        pretty_midi.Note(velocity=80, pitch=60, start=0.0, end=0.1),
        pretty_midi.Note(velocity=80, pitch=64, start=0.01, end=0.1),
        pretty_midi.Note(velocity=80, pitch=67, start=0.5, end=0.6),
        pretty_midi.Note(velocity=80, pitch=70, start=2.2, end=2.3),  # past the 2 s clip
    ]
    clip = Clip(np.zeros((44, 3, 65, 1), np.float32), notes, "piano", 0.0, "x", None)
    targets = train.pitch_targets([clip], config, frames=44)
    assert targets.shape == (1, 11, 128)
    assert targets[0, 0, 60] == targets[0, 0, 64] == 0.5
    assert targets[0, 2, 67] == 1.0
    assert targets[0].sum() == 2.0  # two frames with onsets, each a distribution
    logits = torch.full((1, 11, 128), -10.0)
    logits[0, 0, 64] = logits[0, 2, 66] = 10.0  # right on the chord, one semitone off after
    loss, accuracy = train.pitch_loss(logits, targets)
    assert accuracy.item() == 0.5
    assert loss.item() == pytest.approx((10.0 + 20.0) / 2, rel=1e-3)
    assert train.pitch_loss(logits, torch.zeros_like(targets))[0].item() == 0.0


def test_the_pitch_head_and_hand_features_are_trained_by_the_pitch_loss(tiny_dataset):
    torch.manual_seed(0)
    task = train.Task(preset("debug"), tiny_dataset, torch.device("cpu"))
    batch = task.train_batch(np.random.default_rng(0))
    _, _, auxiliary = train.loss_and_accuracy(task.model, batch)
    auxiliary["pitch_loss"].backward()
    assert task.model.pitch_head.weight.grad.abs().sum() > 0
    assert task.model.hands.net[0].weight.grad.abs().sum() > 0
    assert task.model.head.weight.grad is None  # the event head is not part of this loss
    paper = FoleyMusic(preset("paper", layers=1, d_model=32, heads=2, ff_dim=32))
    assert not hasattr(paper, "pitch_head") and not hasattr(paper, "hands")
