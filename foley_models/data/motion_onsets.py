"""Note onsets read from keypoints alone: the check that the synthetic motion carries the music.

A deliberately simple detector: piano and guitar, peaks of fingertip speed down towards the keys
or strings; bowed strings, peaks of the bow hand's acceleration along the bow (direction changes).
"""

import numpy as np

from foley_models.data.layouts import FINGERTIPS, L_HAND_OFFSET, R_HAND_OFFSET, R_WRIST


def _fill_missing(track: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linear interpolation over frames where the keypoint was not detected."""
    if valid.all() or not valid.any():
        return track
    idx = np.arange(len(track))
    return np.interp(idx, idx[valid], track[valid])


def _peaks(signal: np.ndarray, threshold: float, min_gap: int) -> np.ndarray:
    """Indices of local maxima above threshold, at least min_gap frames apart (greedy)."""
    candidates = (
        np.where(
            (signal[1:-1] > threshold) & (signal[1:-1] >= signal[:-2]) & (signal[1:-1] > signal[2:])
        )[0]
        + 1
    )
    chosen: list[int] = []
    for i in candidates[np.argsort(-signal[candidates])]:
        if all(abs(i - j) >= min_gap for j in chosen):
            chosen.append(int(i))
    return np.array(sorted(chosen), dtype=int)


def _merge(times: np.ndarray, within: float) -> np.ndarray:
    times = np.sort(times)
    merged: list[float] = []
    for t in times:
        if not merged or t - merged[-1] > within:
            merged.append(float(t))
    return np.array(merged)


def detect_onsets(pose: np.ndarray, fps: float, instrument: str) -> np.ndarray:
    """Onset times (s) from a body65 pose [T, 3, 65, M] (person 0)."""
    xy, valid = pose[:, :2, :, 0].astype(np.float64), pose[:, 2, :, 0] > 0
    if instrument in ("violin", "cello", "viola"):
        # Position of the bow hand along its main axis of motion (the bow).
        track = np.stack([_fill_missing(xy[:, k, R_WRIST], valid[:, R_WRIST]) for k in (0, 1)], 1)
        centred = track - track.mean(axis=0)
        axis = np.linalg.svd(centred, full_matrices=False)[2][0]
        x = centred @ axis
        # Mean velocity over the three frames after and before each frame: the change is a
        # stroke starting when it points the way the hand then goes (not a stroke stopping).
        k = 3
        after = np.zeros_like(x)
        before = np.zeros_like(x)
        after[:-k] = (x[k:] - x[:-k]) / k
        before[k:] = (x[k:] - x[:-k]) / k
        change = after - before
        # Keypoint jitter (px), from the second difference, which is ~0 at constant speed.
        jitter = 1.4826 * np.median(np.abs(np.diff(x, n=2))) / np.sqrt(6)
        moving = np.abs(after) > 2 * jitter * np.sqrt(2) / k + 0.5
        direction = np.where(moving, np.sign(after), 0.0)
        score = np.clip(change * direction, 0, None)
        frames = _peaks(score, 4 * jitter * np.sqrt(6) / k + 1.0, min_gap=3)
        return frames / fps
    if instrument == "piano":
        joints = [L_HAND_OFFSET + t for t in FINGERTIPS] + [R_HAND_OFFSET + t for t in FINGERTIPS]
    elif instrument == "guitar":
        joints = [R_HAND_OFFSET + t for t in FINGERTIPS]
    else:
        raise ValueError(f"no onset detector for {instrument!r}")
    found = []
    for j in joints:
        y = _fill_missing(xy[:, 1, j], valid[:, j])
        # Strikes move the fingertip down (towards keys or strings) fast; slow drifts and
        # returns are not strikes, so the threshold scales with the change of speed.
        speed = np.clip(np.diff(y), 0, None)
        threshold = 2.5 * np.median(np.abs(np.diff(y, n=2))) + 1.5
        found.append((_peaks(speed, threshold, min_gap=3) + 1) / fps)
    return _merge(np.concatenate(found) if found else np.zeros(0), within=0.06)
