"""MIDI notes <-> Foley Music event tokens (see vocab.py for the vocabulary).

Encoding rules (documented because real MIDI is messy):
- Which instrument: by default the first non-drum instrument, as the official code encodes
  `instruments[0]`; `instrument="merge"` encodes all non-drum instruments as one stream; an int
  picks that instrument. Drum tracks are never encoded.
- Pitches outside 21-108 are dropped and counted (`EncodeStats.dropped_out_of_range`).
- Time is quantised on an absolute grid: shifts are chosen so that every event lands within
  half the smallest shift (7.7 ms) of its true time; errors never accumulate.
- At one instant note-offs come before note-ons, so a repeated note re-strikes.
- Overlapping notes of one pitch: a new onset of a pitch that is still sounding ends the earlier
  note at that instant (MIDI cannot hold one key twice); counted as `truncated_overlaps`. Two
  notes of one pitch starting together become one (the longer, the louder): `merged_duplicates`.
- Velocity tokens are emitted only when the bin changes; 32 bins over 21-108 (clipped).
- Zero-length notes (after quantisation) are dropped and counted.

Decoding rules:
- Velocity before the first velocity token: 64. Tokens SOS/EOS/PAD are skipped; decoding stops
  at EOS.
- A note-on while the pitch is sounding ends the earlier note there and starts a new one.
- A note-on never closed by a note-off lasts `unterminated_s` (1.0 s, as the official code) or
  until the end of the sequence if that comes first and `clip_to_end` is set.
- A note-off of a pitch that is not sounding is ignored.

Differences from the official release's codec (core/performance_rnn/sequence.py of
chuangg/Foley-Music, read side by side); same vocabulary, other token sequences for almost every
file. Each is a fix (the release loses or misplaces something) or a choice:
- Time (fix): the release fills each gap between consecutive events with the largest shifts
  that fit, dropping the remainder (up to 15 ms per gap, accumulating along the sequence);
  here shifts follow an absolute grid, so no event is more than 7.7 ms from its true time.
- Leading silence (fix): the release starts with the first note, so a window that begins with
  a rest decodes with its notes moved to 0; here the shifts before the first event are kept.
- Velocity (choice): the release writes a velocity token before every note; here only when the
  bin changes (shorter sequences, the same notes).
- Order at one instant (fix): the release keeps the notes' order in a stable sort by time, so a
  note-off can follow a note-on of the same pitch at the same time and cut the new note; here
  note-offs come first, so a repeated note re-strikes.
- Overlaps (choice): overlapping notes of one pitch are truncated and simultaneous duplicates
  merged (counted in EncodeStats); the release encodes them as they come.
- Minimum length (fix): the release's decoder makes every note last at least 0.25 s (half a
  beat at 120 bpm), which lengthens short notes; here a note lasts as long as its tokens say.
- Window end (choice): notes crossing the end of a training window are cut at the window's
  end here (foley_models/models/clips.py), where the release keeps their full length.
The unterminated-note length (1.0 s) and velocity 64 before any velocity token are as the
release.
"""

from dataclasses import dataclass, field

import numpy as np
import pretty_midi

from foley_models.data import vocab


@dataclass
class EncodeStats:
    notes_in: int = 0
    notes_encoded: int = 0
    dropped_out_of_range: int = 0
    dropped_zero_length: int = 0
    truncated_overlaps: int = 0
    merged_duplicates: int = 0
    instruments_ignored: list[str] = field(default_factory=list)


def _pick_notes(pm: pretty_midi.PrettyMIDI, instrument, stats: EncodeStats):
    pitched = [inst for inst in pm.instruments if not inst.is_drum]
    for inst in pm.instruments:
        if inst.is_drum:
            stats.instruments_ignored.append(f"{inst.name or 'drums'} (drums)")
    if not pitched:
        return []
    if instrument == "merge":
        return [n for inst in pitched for n in inst.notes]
    index = 0 if instrument is None else int(instrument)
    if not 0 <= index < len(pitched):
        raise ValueError(f"instrument {index} does not exist ({len(pitched)} pitched)")
    stats.instruments_ignored += [
        inst.name or f"program {inst.program}" for i, inst in enumerate(pitched) if i != index
    ]
    return list(pitched[index].notes)


def shifts_for(delta_s: float) -> list[int]:
    """Time-shift indices (0-31) whose durations add up to delta_s within half the smallest."""
    out = []
    remaining = delta_s
    half = vocab.MIN_SHIFT_S / 2
    while remaining > half:
        k = int(np.searchsorted(vocab.SHIFT_SECONDS, remaining + half, side="right")) - 1
        k = max(k, 0)
        out.append(k)
        remaining -= vocab.SHIFT_SECONDS[k]
    return out


def encode_notes(notes, stats: EncodeStats | None = None) -> list[int]:
    """Tokens (no SOS/EOS) for pretty_midi Notes."""
    stats = stats if stats is not None else EncodeStats()
    stats.notes_in += len(notes)
    kept = []
    for n in notes:
        if not vocab.PITCH_MIN <= n.pitch <= vocab.PITCH_MAX:
            stats.dropped_out_of_range += 1
        elif n.end <= n.start:
            stats.dropped_zero_length += 1
        else:
            kept.append(n)
    kept.sort(key=lambda n: (n.start, n.pitch))
    resolved: list[list | None] = []  # [start, end, pitch, velocity]
    open_index: dict[int, int] = {}
    for n in kept:
        i = open_index.get(n.pitch)
        prev = resolved[i] if i is not None else None
        if prev is not None and prev[1] > n.start:
            if prev[0] >= n.start:  # the same key struck twice at once: one note
                prev[1], prev[3] = max(prev[1], n.end), max(prev[3], n.velocity)
                stats.merged_duplicates += 1
                continue
            prev[1] = n.start
            stats.truncated_overlaps += 1
        resolved.append([n.start, n.end, n.pitch, n.velocity])
        open_index[n.pitch] = len(resolved) - 1
    events = []  # (time, order, kind, pitch, velocity); at one time offs (0) before ons (1)
    for start_s, end_s, pitch, velocity in resolved:
        events.append((start_s, 1, "on", pitch, velocity))
        events.append((end_s, 0, "off", pitch, 0))
    events.sort(key=lambda e: (e[0], e[1], e[3]))

    tokens: list[int] = []
    grid_time = 0.0  # where the emitted shifts have brought us
    current_bin = None
    for time, _, kind, pitch, velocity in events:
        for k in shifts_for(time - grid_time):
            tokens.append(vocab.TIME_SHIFT + k)
            grid_time += vocab.SHIFT_SECONDS[k]
        if kind == "on":
            b = vocab.velocity_bin(velocity)
            if b != current_bin:
                tokens.append(vocab.VELOCITY + b)
                current_bin = b
            tokens.append(vocab.NOTE_ON + pitch - vocab.PITCH_MIN)
            stats.notes_encoded += 1
        else:
            tokens.append(vocab.NOTE_OFF + pitch - vocab.PITCH_MIN)
    return tokens


def encode_midi(
    pm: pretty_midi.PrettyMIDI, *, instrument=None, stats: EncodeStats | None = None
) -> list[int]:
    """Tokens for a PrettyMIDI (see the module docstring for which instrument)."""
    stats = stats if stats is not None else EncodeStats()
    return encode_notes(_pick_notes(pm, instrument, stats), stats)


def decode_tokens(
    tokens, *, unterminated_s: float = 1.0, end_s: float | None = None
) -> list[pretty_midi.Note]:
    """pretty_midi Notes from tokens; notes still sounding get `unterminated_s` (capped at
    `end_s` when given)."""
    time = 0.0
    velocity = 64
    sounding: dict[int, tuple[float, int]] = {}
    notes = []

    def close(pitch, at):
        start, vel = sounding.pop(pitch)
        if at > start:
            notes.append(pretty_midi.Note(velocity=vel, pitch=pitch, start=start, end=at))

    for token in (int(t) for t in tokens):
        if token == vocab.EOS:
            break
        kind = vocab.token_kind(token)
        if kind == "time_shift":
            time += float(vocab.SHIFT_SECONDS[token - vocab.TIME_SHIFT])
        elif kind == "velocity":
            velocity = vocab.bin_velocity(token - vocab.VELOCITY)
        elif kind == "note_on":
            pitch = token - vocab.NOTE_ON + vocab.PITCH_MIN
            if pitch in sounding:
                close(pitch, time)
            sounding[pitch] = (time, velocity)
        elif kind == "note_off":
            pitch = token - vocab.NOTE_OFF + vocab.PITCH_MIN
            if pitch in sounding:
                close(pitch, time)
    for pitch in list(sounding):
        start = sounding[pitch][0]
        end = start + unterminated_s
        if end_s is not None:
            end = min(end, max(end_s, start + vocab.MIN_SHIFT_S))
        close(pitch, end)
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def notes_to_midi(notes, *, program: int = 0, name: str = "") -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program, name=name)
    inst.notes = list(notes)
    pm.instruments.append(inst)
    return pm


def with_sos_eos(tokens: list[int]) -> list[int]:
    return [vocab.SOS, *tokens, vocab.EOS]
