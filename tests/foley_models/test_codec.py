import random

import pretty_midi
import pytest

from foley_models.data import codec, vocab


def _note(pitch, start, end, velocity=80):
    return pretty_midi.Note(velocity=velocity, pitch=pitch, start=start, end=end)


def test_vocabulary_layout_matches_the_design():
    assert (vocab.NOTE_OFF, vocab.VELOCITY, vocab.TIME_SHIFT) == (88, 176, 208)
    assert (vocab.SOS, vocab.EOS, vocab.PAD, vocab.VOCAB_SIZE) == (240, 241, 242, 243)
    assert vocab.SHIFT_SECONDS[0] == pytest.approx(1 / 65)
    assert vocab.SHIFT_SECONDS[31] == pytest.approx(1.15**31 / 65)
    for b in range(32):
        assert vocab.velocity_bin(vocab.bin_velocity(b)) == b


def test_random_notes_round_trip_within_quantisation_and_velocity_bins():
    rng = random.Random(0)
    notes, t = [], 0.0
    for _ in range(300):
        t += rng.choice([0.0, 0.01, 0.05, 0.2, 0.7, 2.5])
        pitch = rng.randint(21, 108)
        notes.append(_note(pitch, t, t + rng.uniform(0.03, 3.0), rng.randint(21, 108)))
    # No overlaps of one pitch in this test (those are tested separately).
    by_pitch: dict[int, float] = {}
    clean = []
    for n in sorted(notes, key=lambda n: n.start):
        if by_pitch.get(n.pitch, -1) < n.start:
            clean.append(n)
            by_pitch[n.pitch] = n.end
    stats = codec.EncodeStats()
    tokens = codec.encode_notes(clean, stats)
    assert all(0 <= tok < vocab.SOS for tok in tokens)
    decoded = codec.decode_tokens(tokens)
    assert stats.notes_encoded == len(clean) == len(decoded)
    tol = vocab.MIN_SHIFT_S / 2 + 1e-9
    ref = sorted(clean, key=lambda n: (n.pitch, n.start))
    dec = sorted(decoded, key=lambda n: (n.pitch, n.start))
    for a, b in zip(ref, dec, strict=True):
        assert a.pitch == b.pitch
        assert abs(a.start - b.start) <= tol and abs(a.end - b.end) <= tol
        assert vocab.velocity_bin(a.velocity) == vocab.velocity_bin(b.velocity)
        assert abs(a.velocity - b.velocity) <= 3


def test_out_of_range_notes_are_dropped_and_counted():
    stats = codec.EncodeStats()
    tokens = codec.encode_notes([_note(20, 0, 1), _note(109, 0, 1), _note(60, 0, 1)], stats)
    assert stats.dropped_out_of_range == 2 and stats.notes_encoded == 1
    assert [n.pitch for n in codec.decode_tokens(tokens)] == [60]


def test_repeated_and_overlapping_notes_of_one_pitch():
    stats = codec.EncodeStats()
    notes = [
        _note(60, 0.0, 1.0),
        _note(60, 0.5, 1.5),
        _note(60, 1.5, 2.0),
        _note(62, 0, 0.5),
        _note(62, 0, 0.3),
    ]
    decoded = codec.decode_tokens(codec.encode_notes(notes, stats))
    assert stats.truncated_overlaps == 1 and stats.merged_duplicates == 1
    c4 = [t for n in decoded if n.pitch == 60 for t in (n.start, n.end)]
    assert c4 == pytest.approx([0.0, 0.5, 0.5, 1.5, 1.5, 2.0], abs=0.008)
    d4 = [t for n in decoded if n.pitch == 62 for t in (n.start, n.end)]
    assert d4 == pytest.approx([0.0, 0.5], abs=0.008)


def test_empty_midi_encodes_to_nothing_and_decodes_to_no_notes():
    assert codec.encode_midi(pretty_midi.PrettyMIDI()) == []
    assert codec.decode_tokens([vocab.SOS, vocab.EOS]) == []


def test_several_instruments_first_pitched_by_default_merge_on_request():
    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="kit")
    drums.notes = [_note(36, 0, 0.1)]
    violin = pretty_midi.Instrument(program=40, name="violin")
    violin.notes = [_note(76, 0, 1)]
    cello = pretty_midi.Instrument(program=42, name="cello")
    cello.notes = [_note(48, 0, 1)]
    pm.instruments = [drums, violin, cello]
    stats = codec.EncodeStats()
    first = codec.decode_tokens(codec.encode_midi(pm, stats=stats))
    assert [n.pitch for n in first] == [76]
    assert stats.instruments_ignored == ["kit (drums)", "cello"]
    merged = codec.decode_tokens(codec.encode_midi(pm, instrument="merge"))
    assert sorted(n.pitch for n in merged) == [48, 76]
    with pytest.raises(ValueError, match="instrument 5 does not exist"):
        codec.encode_midi(pm, instrument=5)


def test_unterminated_notes_last_one_second_or_until_the_end():
    tokens = [vocab.VELOCITY + 20, vocab.NOTE_ON + 39, vocab.TIME_SHIFT + 0]
    (note,) = codec.decode_tokens(tokens)
    assert note.end - note.start == pytest.approx(1.0)
    assert note.velocity == vocab.bin_velocity(20)
    (capped,) = codec.decode_tokens(tokens, end_s=0.5)
    assert capped.end == pytest.approx(0.5)


def test_decoding_stops_at_eos_skips_specials_and_rejects_unknown_tokens():
    tokens = [
        vocab.SOS,
        vocab.NOTE_ON + 10,
        vocab.TIME_SHIFT + 5,
        vocab.NOTE_OFF + 10,
        vocab.EOS,
        vocab.NOTE_ON + 20,
    ]
    assert [n.pitch for n in codec.decode_tokens(tokens)] == [31]
    with pytest.raises(ValueError, match="outside the 243-token"):
        codec.decode_tokens([243])


def test_default_velocity_is_64_and_long_gaps_use_several_shifts():
    tokens = codec.encode_notes([_note(60, 5.0, 5.5)])
    shifts = [t for t in tokens if vocab.TIME_SHIFT <= t < vocab.SOS]
    assert len(shifts) >= 5  # 5 s needs several 1.17 s shifts
    decoded = codec.decode_tokens([t for t in tokens if not vocab.VELOCITY <= t < vocab.TIME_SHIFT])
    assert decoded[0].velocity == 64 and decoded[0].start == pytest.approx(5.0, abs=0.008)
