"""Real music for the synthetic performer: Bach chorales from music21's bundled corpus, arranged
per instrument and performed with varied tempo, transposition, dynamics and timing.

- piano plays the full four-part texture (soprano and alto in the right hand, tenor and bass in
  the left),
- violin plays the soprano line, cello the bass line,
- guitar plays the harmony (the chorale chordified), arpeggiated or strummed.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Playable ranges (MIDI pitches) the arrangement transposes into.
RANGES = {"piano": (33, 96), "violin": (55, 93), "cello": (36, 72), "guitar": (40, 76)}
INSTRUMENTS = tuple(RANGES)


@dataclass(frozen=True)
class Piece:
    key: str  # e.g. "bach/bwv66.6"
    parts: tuple[tuple[tuple[float, float, int], ...], ...]  # (onset_ql, dur_ql, pitch) per part
    chords: tuple[tuple[float, float, tuple[int, ...]], ...]
    length_ql: float


@dataclass(frozen=True)
class PerformedNote:
    start: float
    end: float
    pitch: int
    velocity: int
    hand: int  # 0 = left/fretting/fingering hand, 1 = right/bowing/plucking hand (piano: by part)


def chorale_keys() -> list[str]:
    """Every Bach chorale the corpus holds, as stable keys ("bach/bwv66.6")."""
    from music21 import corpus

    keys = []
    for path in corpus.getComposer("bach"):
        name = path.name.rsplit(".", 1)[0]
        if name.startswith("bwv"):
            keys.append(f"bach/{name}")
    return sorted(set(keys))


@lru_cache(maxsize=512)
def load_piece(key: str) -> Piece | None:
    """Parse a chorale into note tuples; None if it is not a four-part piece."""
    from music21 import corpus

    score = corpus.parse(key).stripTies()
    if len(score.parts) != 4:
        return None
    parts = []
    for part in score.parts:
        notes = []
        for element in part.flatten().notes:
            for pitch in getattr(element, "pitches", ()):
                dur = float(element.duration.quarterLength)
                if dur > 0:
                    notes.append((float(element.offset), dur, int(pitch.midi)))
        parts.append(tuple(notes))
    chords = []
    for chord in score.chordify().flatten().notes:
        dur = float(chord.duration.quarterLength)
        if dur > 0:
            chords.append(
                (float(chord.offset), dur, tuple(sorted(int(p.midi) for p in chord.pitches)))
            )
    length = float(score.highestTime)
    if length <= 0 or not all(parts):
        return None
    return Piece(key=key, parts=tuple(parts), chords=tuple(chords), length_ql=length)


def _fit_range(pitches: list[int], low: int, high: int, shift: int) -> int:
    """A transposition near `shift` (whole octaves added as needed) that fits the range."""
    lo, hi = min(pitches) + shift, max(pitches) + shift
    while lo < low and hi + 12 <= high:
        shift, lo, hi = shift + 12, lo + 12, hi + 12
    while hi > high and lo - 12 >= low:
        shift, lo, hi = shift - 12, lo - 12, hi - 12
    return shift


def perform(piece: Piece, instrument: str, rng: np.random.Generator) -> list[PerformedNote]:
    """The piece arranged for the instrument and performed with this performance's variation."""
    if instrument not in RANGES:
        raise ValueError(f"unknown instrument {instrument!r}; known: {', '.join(RANGES)}")
    bpm = rng.uniform(66, 104)
    spq = 60.0 / bpm  # seconds per quarter
    low, high = RANGES[instrument]
    base_velocity = rng.uniform(55, 95)
    phrase_period = rng.uniform(6.0, 12.0)
    phrase_phase = rng.uniform(0, 2 * np.pi)
    legato = rng.uniform(0.8, 0.97)
    jitter_s = rng.uniform(0.004, 0.015)
    shift = int(rng.integers(-4, 5))

    raw: list[tuple[float, float, int, int]] = []  # onset_ql, dur_ql, pitch, hand
    if instrument == "piano":
        for part_index, part in enumerate(piece.parts):
            hand = 1 if part_index < 2 else 0
            raw += [(on, dur, p, hand) for on, dur, p in part]
    elif instrument in ("violin", "cello"):
        line = piece.parts[0] if instrument == "violin" else piece.parts[3]
        raw = [(on, dur, p, 0) for on, dur, p in line]
    else:  # guitar
        strum = rng.random() < 0.4
        for on, dur, chord in piece.chords:
            voiced = sorted(set(chord))
            if strum:
                for i, p in enumerate(voiced):
                    raw.append((on + i * 0.03 / spq, dur, p, 0))
            else:
                steps = max(1, int(round(dur / 0.5)))
                order = voiced + voiced[1:-1][::-1] if len(voiced) > 2 else voiced
                for s in range(steps):
                    p = order[s % len(order)]
                    raw.append((on + s * dur / steps, dur / steps, p, 0))
    shift = _fit_range([p for _, _, p, _ in raw], low, high, shift)

    notes = []
    for on, dur, pitch, hand in raw:
        p = pitch + shift
        if not low <= p <= high:
            p = min(max(p, low), high)
        start = on * spq + rng.normal(0, jitter_s)
        start = max(0.0, start)
        end = start + max(0.06, dur * spq * legato)
        t = on * spq
        dynamics = 12 * np.sin(2 * np.pi * t / phrase_period + phrase_phase)
        accent = 6 if abs(on - round(on)) < 1e-6 and int(round(on)) % 4 == 0 else 0
        velocity = int(np.clip(base_velocity + dynamics + accent + rng.normal(0, 5), 25, 120))
        # The playing hand for motion: strings/guitar notes are played by both hands (fingers
        # stop the string, the bow/plucking hand sounds it); `hand` marks piano's hand.
        notes.append(PerformedNote(start, end, int(p), velocity, hand))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes
