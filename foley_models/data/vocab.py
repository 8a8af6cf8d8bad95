"""The Foley Music (Performance-RNN) event vocabulary: 243 tokens.

| ids     | meaning                                                         |
|---------|-----------------------------------------------------------------|
| 0-87    | note-on, pitch 21-108                                           |
| 88-175  | note-off, pitch 21-108                                          |
| 176-207 | velocity, 32 bins over MIDI velocity 21-108                     |
| 208-239 | time-shift k = id - 208, lasting 1.15**k / 65 s (15.4 ms-1.171 s) |
| 240/241/242 | SOS / EOS / PAD                                             |
"""

import numpy as np

PITCH_MIN, PITCH_MAX = 21, 108  # inclusive: the 88 piano keys
N_PITCHES = PITCH_MAX - PITCH_MIN + 1
NOTE_ON = 0
NOTE_OFF = NOTE_ON + N_PITCHES  # 88
VELOCITY = NOTE_OFF + N_PITCHES  # 176
N_VELOCITY_BINS = 32
TIME_SHIFT = VELOCITY + N_VELOCITY_BINS  # 208
N_TIME_SHIFTS = 32
SOS = TIME_SHIFT + N_TIME_SHIFTS  # 240
EOS = SOS + 1
PAD = SOS + 2
VOCAB_SIZE = PAD + 1  # 243

VELOCITY_MIN, VELOCITY_MAX = 21, 108  # the range the 32 bins cover (inclusive)
_VELOCITY_SPAN = VELOCITY_MAX - VELOCITY_MIN + 1  # 88

# Seconds each time-shift token advances: 1.15**k / 65.
SHIFT_SECONDS = np.array([1.15**k / 65.0 for k in range(N_TIME_SHIFTS)], dtype=np.float64)
MIN_SHIFT_S = float(SHIFT_SECONDS[0])


def velocity_bin(velocity: int) -> int:
    """The bin (0-31) of a MIDI velocity; velocities outside 21-108 are clipped into it."""
    v = min(max(int(velocity), VELOCITY_MIN), VELOCITY_MAX)
    return (v - VELOCITY_MIN) * N_VELOCITY_BINS // _VELOCITY_SPAN


def bin_velocity(bin_index: int) -> int:
    """The MIDI velocity a bin decodes to: the middle of the bin."""
    low = VELOCITY_MIN + -(-bin_index * _VELOCITY_SPAN // N_VELOCITY_BINS)
    high = VELOCITY_MIN + -(-(bin_index + 1) * _VELOCITY_SPAN // N_VELOCITY_BINS) - 1
    return (low + high) // 2


def token_kind(token: int) -> str:
    if NOTE_ON <= token < NOTE_OFF:
        return "note_on"
    if NOTE_OFF <= token < VELOCITY:
        return "note_off"
    if VELOCITY <= token < TIME_SHIFT:
        return "velocity"
    if TIME_SHIFT <= token < SOS:
        return "time_shift"
    if token in (SOS, EOS, PAD):
        return {SOS: "sos", EOS: "eos", PAD: "pad"}[token]
    raise ValueError(f"token {token} is outside the {VOCAB_SIZE}-token vocabulary")
