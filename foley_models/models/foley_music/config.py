"""Foley Music configuration and presets (`paper` follows the paper and its official code)."""

from dataclasses import dataclass, field

from foley_models.models.pose_encoder import PoseEncoderConfig
from foley_models.models.presets import choose

INSTRUMENTS = ("piano", "violin", "cello", "guitar")


@dataclass(frozen=True)
class FoleyMusicConfig:
    encoder: PoseEncoderConfig = field(default_factory=PoseEncoderConfig)
    d_model: int = 512
    layers: int = 6
    heads: int = 8
    ff_dim: int = 1024
    dropout: float = 0.1
    max_events: int = 512  # decoder positions (SOS + events)
    clip_s: float = 6.0  # pose clip
    midi_window_s: float = 6.5  # MIDI target window (the sound outlasts the motion)
    instruments: tuple[str, ...] = INSTRUMENTS
    sample_rate: int = 22050  # rendering rate of the generated MIDI
    fps: float = 22.0  # pose frame rate the model is trained on
    # Not in the paper: add a sinusoidal encoding of absolute time (seconds) to the pose memory
    # (each token's frame time) and to every event (the time its prefix has reached), so that
    # cross-attention can align events with motion from the first steps. Off in `paper`.
    time_encoding: bool = False
    # Not in the paper: time-aligned cross-attention. Each head adds a learned bias to its
    # cross-attention logits that depends only on how far a memory token lies ahead of (or
    # behind) the event's clock, in memory frames from -time_bias_behind to +time_bias_ahead
    # (clamped beyond); heads start peaked at different offsets, so from the first step each
    # event reads the motion around and just after "now". Off (plain cross-attention) in `paper`.
    time_bias: bool = False
    time_bias_behind: int = 8
    time_bias_ahead: int = 24
    # Not in the paper: an auxiliary loss (weight; 0 = off) on a linear head over the pose
    # memory that predicts, per memory frame, whether a note starts in it (binary
    # cross-entropy against the MIDI), so the encoder learns onset features quickly.
    onset_loss_weight: float = 0.0
    # The onset head's sub-frames per memory frame. 1: one logit per memory frame (91 ms at
    # `small`), whether a note starts in it. More: the baselines' sub-frame head
    # (waveform.onset_curve_targets: 1 in the sub-frame where a note starts, 0.5 beside it),
    # which makes the encoder say where in its frame the note starts, not only which frame.
    onset_subframes: int = 1
    # Not in the paper: every event reads the onset head's probabilities (detached, so only
    # the onset loss trains the head) at the sub-frames from `onset_window_behind` before its
    # clock to `onset_window_ahead` after it, projected and added to its embedding: "a note
    # starts k sub-frames from now" is then in the decoder's input, and the time-shift that
    # lands on it is a short step to learn. 0 ahead = off.
    onset_window_behind: int = 0
    onset_window_ahead: int = 0
    # With the onset window: the share of training clips whose window reads the clip's true
    # onsets (in the head's target shape) instead of the head. With it (> 0) the window the
    # decoder reads in validation and generation is the head's onsets, peak-picked at the
    # threshold with the best onset F1 on the validation clips (re-picked at every validation,
    # kept in the checkpoint), the baselines' teacher forcing (models/waveform.py): the decoder
    # learns from the first step that a note starts where the window says, and the head learns
    # from the motion where that is.
    onset_window_teacher_forcing: float = 0.0
    # Not in the paper: the hands' positions in a body frame (models/hand_features.py: wrist
    # and fingertips relative to the hips, along the shoulders, in shoulder widths), encoded by
    # a strided convolution and added to the pose memory. They carry the pitch: where a hand
    # is on the keyboard or the neck.
    hand_features: bool = False
    # With hand_features: each coordinate also as sin/cos at this many octave-spaced
    # frequencies (hand_features.fourier_features), so a key's or a fret's exact position, the
    # pitch, is easy to read. 0 = the raw coordinates only.
    hand_fourier_bands: int = 0
    # Not in the paper: an auxiliary loss (weight; 0 = off) on a linear head over the pose
    # memory that predicts the pitch of the notes starting in each memory frame (cross-entropy
    # against their pitch distribution, on frames where a note starts), so the memory carries
    # the pitch where the decoder's cross-attention looks for it.
    pitch_loss_weight: float = 0.0
    # A LayerNorm after the last decoder layer, before the output head (the release's
    # TransformerDecoder has one; on in `paper`, off in `small` and `debug`, whose checkpoints
    # were trained without it).
    final_norm: bool = False
    # Training
    batch_size: int = 16
    lr_scale: float = 1.0  # Noam: lr = scale * d^-0.5 * min(s^-0.5, s * warmup^-1.5)
    warmup_steps: int = 4000
    grad_clip: float = 1.0  # max gradient norm (0 = none; the release clips nothing)
    weight_decay: float = 0.0

    @property
    def d_head(self) -> int:
        return self.d_model // self.heads

    @property
    def onset_bin_s(self) -> float:
        """The onset head's sub-frame, in seconds."""
        return self.encoder.downsample / self.fps / self.onset_subframes


def preset(name: str, **overrides) -> FoleyMusicConfig:
    """`paper`: the paper's model, as its official code builds and trains it. `small`: trains
    on a 2-core CPU in 30 minutes (no ST-GCN dropout, no final LayerNorm, gradients clipped at
    1.0, and the time encoding, time bias, sub-frame onset loss and onset window, hand features
    and pitch loss the paper does not have). `debug`:
    builds in well under a second, for tests."""

    def paper():
        # As the official release: ST-GCN dropout 0.1 in blocks 2-10 (the first has none), a
        # final decoder LayerNorm, no gradient clipping.
        return FoleyMusicConfig(
            encoder=PoseEncoderConfig(dropout=0.1), final_norm=True, grad_clip=0.0
        )

    def small():
        return FoleyMusicConfig(
            # 8 narrower blocks and one temporal stride (T/2: memory tokens every 91 ms) so a
            # 2-core CPU can train it in 30 minutes.
            encoder=PoseEncoderConfig(
                channels=(16, 16, 32, 32, 32, 64, 64, 64),
                strides=(1, 2, 1, 1, 1, 1, 1, 1),
                d_model=192,
            ),
            d_model=192,
            layers=3,
            heads=4,
            ff_dim=384,
            dropout=0.1,
            # 3 s clips with a 3.5 s MIDI window: about twice the updates per CPU minute.
            max_events=256,
            clip_s=3.0,
            midi_window_s=3.5,
            batch_size=16,
            warmup_steps=300,
            lr_scale=1.0,
            time_encoding=True,
            # Offsets in 91 ms memory frames: 0.55 s behind to 1.45 s ahead.
            time_bias=True,
            time_bias_behind=6,
            time_bias_ahead=16,
            # The sub-frame head's loss is a mean over 8 times as many bins as the frame head's
            # was: weight 8 keeps its gradient per memory frame, and 16 (twice that) gave the
            # better head and decoder in 30 CPU minutes (docs/explanation/foley-music.md).
            onset_loss_weight=16.0,
            # 11 ms sub-frames; each event reads them from 45 ms behind to 364 ms ahead.
            onset_subframes=8,
            onset_window_behind=4,
            onset_window_ahead=32,
            onset_window_teacher_forcing=1.0,
            hand_features=True,
            hand_fourier_bands=6,
            pitch_loss_weight=1.0,
        )

    def debug():
        return FoleyMusicConfig(
            encoder=PoseEncoderConfig(
                channels=(8, 8, 16), strides=(2, 1, 2), temporal_kernel=3, d_model=32
            ),
            d_model=32,
            layers=2,
            heads=2,
            ff_dim=64,
            dropout=0.0,
            max_events=128,
            clip_s=2.0,
            midi_window_s=2.5,
            batch_size=4,
            warmup_steps=10,
            time_encoding=True,
            time_bias=True,
            time_bias_behind=2,
            time_bias_ahead=6,
            # One onset logit per memory frame and no onset window: the tests that need them
            # ask for them; the studies' tests generate from one-step debug models whose
            # output this keeps as it was.
            onset_loss_weight=1.0,
            hand_features=True,
            hand_fourier_bands=2,
            pitch_loss_weight=1.0,
        )

    return choose(name, overrides, debug=debug, small=small, paper=paper)
