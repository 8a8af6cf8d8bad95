"""Objective metrics against ground-truth MIDI (mir_eval, 50 ms onset tolerance), micro-averaged
over clips (matches, references and estimates summed, then P/R/F), with a pose-shuffled control."""

from dataclasses import dataclass

import mir_eval
import numpy as np


@dataclass
class Counts:
    matched: int = 0
    reference: int = 0
    estimated: int = 0

    def add(self, matched: int, reference: int, estimated: int) -> None:
        self.matched += matched
        self.reference += reference
        self.estimated += estimated

    def f1(self) -> dict:
        p = self.matched / self.estimated if self.estimated else 0.0
        r = self.matched / self.reference if self.reference else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": p, "recall": r, "f1": f}


def onset_matches(ref_onsets: np.ndarray, est_onsets: np.ndarray, window: float = 0.05) -> int:
    if len(ref_onsets) == 0 or len(est_onsets) == 0:
        return 0
    return len(mir_eval.util.match_events(np.asarray(ref_onsets), np.asarray(est_onsets), window))


def note_matches(ref_notes, est_notes, onset_tolerance: float = 0.05) -> int:
    """Onset + pitch matches (offsets ignored), pitch within 50 cents."""
    if not ref_notes or not est_notes:
        return 0

    def arrays(notes):
        intervals = np.array([[n.start, max(n.end, n.start + 1e-3)] for n in notes])
        pitches = mir_eval.util.midi_to_hz(np.array([n.pitch for n in notes], dtype=float))
        return intervals, pitches

    ri, rp = arrays(ref_notes)
    ei, ep = arrays(est_notes)
    return len(
        mir_eval.transcription.match_notes(
            ri, rp, ei, ep, onset_tolerance=onset_tolerance, pitch_tolerance=50.0, offset_ratio=None
        )
    )


def unique_onsets(times, within: float = 0.02) -> np.ndarray:
    merged: list[float] = []
    for t in sorted(times):
        if not merged or t - merged[-1] > within:
            merged.append(float(t))
    return np.array(merged)
