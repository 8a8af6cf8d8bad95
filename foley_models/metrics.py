"""Objective metrics.

Against ground-truth MIDI (mir_eval, 50 ms onset tolerance), micro-averaged over clips (matches,
references and estimates summed, then P/R/F), with a pose-shuffled control.

Between the motion and the music, for any system (and the reference recording), as the
dance-to-music literature defines them:

- Motion beats (FACT, Li et al. 2021, google-research/mint `tools/calculate_beat_scores.py`):
  local minima of the summed keypoint speed (the moments the body pauses or turns), found like
  scipy's `argrelextrema(envelope, np.less, order=10)` at 60 fps. Order and sigma are set in
  seconds here (10 frames and 3 frames at 60 fps: 1/6 s and 50 ms), so they mean the same at our
  frame rates.
- BeatAlign (FACT): the mean over motion beats of exp(-d^2 / (2 sigma^2)), d the distance to the
  nearest music beat. Bailando's variant (Li et al. 2022, `utils/metrics_new.py`) averages the
  same kernel over music beats instead (nearest motion beat for each).
- Beats Coverage and Beats Hit: music onsets binarised per bin (1 s in LORIS and D2M-GAN, and a
  finer 0.25 s bin here), g for the ground truth, s for the generated; B_t = sum g, B_g = sum s,
  B_a = sum(g and s). LORIS's code (OpenGVLab/LORIS `beats_scores.py`): coverage = B_a / B_g,
  hit = B_a / B_t, averaged per clip, F1 = 2CH / (C + H). D2M-GAN's paper: coverage = B_g / B_t
  (can exceed 1), hit = B_a / B_t.
- Motion-onset alignment (ours): BeatAlign's kernel with the note onsets read from the motion
  by an instrument-aware detector in place of speed minima (see `motion_onset_align`).

Music beats and onsets come from `foley_models.audio_onsets.detect_onsets` (our spectral-flux
detector), not librosa: for solo instruments the notes' onsets are the music's beats, and the
same detector scores every system and the reference recording.
"""

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


# --- motion-music beat metrics ---------------------------------------------------------------
MOTION_ORDER_S = 10 / 60
SIGMA_S = 3 / 60
BINS_S = (1.0, 0.25)


def motion_envelope(pose: np.ndarray) -> np.ndarray:
    """Summed keypoint speed per frame (pixels per frame) of person 0 of a [T, C, V, M] pose.
    Where a keypoint was not detected (confidence 0) its position is interpolated from the
    frames around, so a detection drop-out is neither a jump nor a pause."""
    xy = np.array(pose[:, :2, :, 0], dtype=np.float64)  # [T, 2, V]
    frames = np.arange(len(xy))
    if pose.shape[1] > 2:
        seen = pose[:, 2, :, 0] > 0
        for v in range(xy.shape[2]):
            ok = seen[:, v]
            if ok.all():
                continue
            if ok.sum() < 2:
                xy[:, :, v] = 0.0  # never (or once) seen: no motion
                continue
            for c in range(2):
                xy[:, c, v] = np.interp(frames, frames[ok], xy[ok, c, v])
    envelope = np.zeros(len(xy))
    envelope[1:] = np.linalg.norm(np.diff(xy, axis=0), axis=1).sum(axis=1)
    return envelope


def motion_beats(pose: np.ndarray, fps: float, *, order_s: float = MOTION_ORDER_S) -> np.ndarray:
    """Times (s) of motion beats: frames whose speed is below that of every frame within
    `order` frames on both sides (argrelextrema's strict minimum; the ends need a full window
    on their side too)."""
    envelope = motion_envelope(pose)
    order = max(1, int(round(order_s * fps)))
    n = len(envelope)
    beats = []
    for t in range(1, n):  # frame 0 has no speed
        lo, hi = max(1, t - order), min(n, t + order + 1)
        if t - lo < order or hi - t - 1 < order:
            continue
        neighbours = np.concatenate([envelope[lo:t], envelope[t + 1 : hi]])
        if np.all(envelope[t] < neighbours):
            beats.append(t)
    return np.array(beats, dtype=float) / fps


def _kernel_mean(points: np.ndarray, targets: np.ndarray, sigma_s: float) -> float:
    points, targets = np.asarray(points, dtype=float), np.asarray(targets, dtype=float)
    if len(points) == 0:
        return 0.0
    if len(targets) == 0:
        return 0.0
    nearest = np.min(np.abs(points[:, None] - targets[None, :]), axis=1)
    return float(np.mean(np.exp(-(nearest**2) / (2 * sigma_s**2))))


def beat_align(motion: np.ndarray, music: np.ndarray, *, sigma_s: float = SIGMA_S) -> float:
    """FACT's BeatAlign: for each motion beat, how close the nearest music beat is."""
    return _kernel_mean(motion, music, sigma_s)


def beat_align_music(motion: np.ndarray, music: np.ndarray, *, sigma_s: float = SIGMA_S) -> float:
    """Bailando's variant: for each music beat, how close the nearest motion beat is."""
    return _kernel_mean(music, motion, sigma_s)


def motion_onset_align(
    pose: np.ndarray, fps: float, instrument: str, music: np.ndarray, *, sigma_s: float = SIGMA_S
) -> float | None:
    """BeatAlign's kernel with instrument-aware motion events in place of FACT's speed minima:
    the note onsets our motion detector reads from the keypoints (fingertip strikes for piano
    and guitar, bow direction changes for bowed strings; foley_models.data.motion_onsets).
    FACT's minima suit dance, where a beat is a pause; a player's hand stops after the note
    sounds. None for an instrument the detector does not know."""
    from foley_models.data import motion_onsets

    try:
        events = motion_onsets.detect_onsets(pose, fps, instrument)
    except ValueError:
        return None
    return _kernel_mean(events, music, sigma_s)


def _binarised(onsets: np.ndarray, duration_s: float, bin_s: float) -> np.ndarray:
    n = max(1, int(np.ceil(duration_s / bin_s - 1e-9)))
    bins = np.zeros(n, dtype=bool)
    idx = np.floor(np.asarray(onsets, dtype=float) / bin_s).astype(int)
    bins[idx[(idx >= 0) & (idx < n)]] = True
    return bins


def beats_coverage_hit(
    truth: np.ndarray, generated: np.ndarray, duration_s: float, *, bin_s: float = 1.0
) -> dict:
    """One clip's Beats Coverage and Hit in both definitions (see the module docstring).
    Ratios with an empty denominator are 0."""
    g = _binarised(truth, duration_s, bin_s)
    s = _binarised(generated, duration_s, bin_s)
    b_t, b_g, b_a = int(g.sum()), int(s.sum()), int((g & s).sum())
    cover = b_a / b_g if b_g else 0.0
    hit = b_a / b_t if b_t else 0.0
    return {
        "loris_coverage": cover,
        "loris_hit": hit,
        "loris_f1": 2 * cover * hit / (cover + hit) if cover + hit else 0.0,
        "d2m_coverage": b_g / b_t if b_t else 0.0,
        "d2m_hit": hit,
    }
