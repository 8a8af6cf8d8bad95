"""Keypoints caused by the notes: the synthetic performer's body65 motion.

Geometry lives in body units (BU, about the neck-to-hip distance), x to the image right, y down;
the performer faces the camera, so their right side is on the image left. A `Performer` (body
size, placement, camera scale, sway, detector noise) maps BU to pixels and adds what a keypoint
detector adds: jitter, confidences and dropouts (x = y = confidence = 0).

What causes what (so the music is predictable from the motion):
- piano: each note is assigned to a finger of its hand; the fingertip reaches the key's position,
  lifts, strikes down reaching the bottom at the onset (deeper for louder notes), holds, and
  lifts at the release. The hand follows the keys it is about to play.
- violin, cello: the bow hand changes direction at every note and moves at a speed that follows
  loudness (and stops in rests); the left hand moves along the neck with pitch, the finger for
  the note presses, and long notes get vibrato.
- guitar: the plucking hand's finger strikes the string at each onset (a whole-hand downstroke
  when strumming); the fretting hand moves along the neck with pitch, and each note's fretting
  finger stops the neck at the note's place.
"""

from dataclasses import dataclass

import numpy as np

from foley_models.data.layouts import (
    L_ELBOW,
    L_HAND_OFFSET,
    L_SHOULDER,
    L_WRIST,
    R_ELBOW,
    R_HAND_OFFSET,
    R_SHOULDER,
    R_WRIST,
)
from foley_models.data.synth.music import PerformedNote

# A seated performer facing the camera, BODY_25 joints in BU (neck at the origin).
BASE_BODY = {
    0: (0.0, -0.36), 1: (0.0, 0.0), 2: (-0.36, 0.03), 5: (0.36, 0.03), 8: (0.0, 1.0),
    9: (-0.17, 1.0), 10: (-0.3, 1.32), 11: (-0.3, 1.9), 12: (0.17, 1.0), 13: (0.3, 1.32),
    14: (0.3, 1.9), 15: (-0.07, -0.42), 16: (0.07, -0.42), 17: (-0.15, -0.38), 18: (0.15, -0.38),
    19: (0.36, 1.95), 20: (0.4, 1.93), 21: (0.28, 1.95), 22: (-0.36, 1.95), 23: (-0.4, 1.93),
    24: (-0.28, 1.95),
}  # fmt: skip
UPPER_ARM, FOREARM = 0.52, 0.5
HAND_SCALE = 1.0


@dataclass(frozen=True)
class Performer:
    """One performer's body, placement, habits and detector noise."""

    size: float  # body size factor
    px_per_bu: float  # camera scale
    origin: tuple[float, float]  # neck position in pixels
    sway_amp: float
    sway_hz: float
    sway_phase: float
    jitter_px: float
    dropout: float  # per-keypoint, per-frame chance of a missed detection
    confidence: float  # typical detector confidence

    @classmethod
    def random(cls, rng: np.random.Generator, width: int = 640, height: int = 480) -> "Performer":
        scale = rng.uniform(105, 135)
        return cls(
            size=float(rng.uniform(0.88, 1.12)),
            px_per_bu=float(scale),
            origin=(
                float(width / 2 + rng.uniform(-40, 40)),
                float(height * 0.3 + rng.uniform(-20, 20)),
            ),
            sway_amp=float(rng.uniform(0.01, 0.035)),
            sway_hz=float(rng.uniform(0.12, 0.4)),
            sway_phase=float(rng.uniform(0, 2 * np.pi)),
            jitter_px=float(rng.uniform(0.4, 1.2)),
            dropout=float(rng.uniform(0.005, 0.025)),
            confidence=float(rng.uniform(0.6, 0.9)),
        )


# --- small vectorised geometry ----------------------------------------------------------------


def _smooth(x: np.ndarray, alpha: float) -> np.ndarray:
    """Causal-and-back exponential smoothing along axis 0 (zero phase)."""
    y = x.copy()
    for i in range(1, len(y)):
        y[i] = alpha * y[i] + (1 - alpha) * y[i - 1]
    for i in range(len(y) - 2, -1, -1):
        y[i] = alpha * y[i] + (1 - alpha) * y[i + 1]
    return y


def _hold_last(x: np.ndarray, default: float) -> np.ndarray:
    """Fill NaN (no note sounding) with the last known value: the hand stays where it was."""
    out = x.copy()
    last = default
    for i in range(len(out)):
        if np.isnan(out[i]):
            out[i] = last
        last = out[i]
    return out


def _elbow(shoulder: np.ndarray, wrist: np.ndarray, side: float) -> np.ndarray:
    """Two-link IK: the elbow for a shoulder and wrist ([T, 2]); side +-1 picks the bend."""
    d_vec = wrist - shoulder
    d = np.linalg.norm(d_vec, axis=1, keepdims=True).clip(1e-6, UPPER_ARM + FOREARM - 1e-3)
    a = (UPPER_ARM**2 - FOREARM**2 + d**2) / (2 * d)
    h = np.sqrt(np.clip(UPPER_ARM**2 - a**2, 0, None))
    unit = d_vec / d
    perp = np.stack([-unit[:, 1], unit[:, 0]], axis=1)
    return shoulder + a * unit + side * h * perp


# Hand model: for fingers thumb..little, the base offset (along, across) from the wrist and the
# fan angle of the finger; segment lengths of the three joints after the base.
_FINGER_BASE = ((0.03, 0.035), (0.09, 0.028), (0.095, 0.009), (0.09, -0.01), (0.08, -0.027))
_FINGER_FAN = (0.7, 0.15, 0.0, -0.12, -0.25)
_SEGMENTS = (
    (0.035, 0.03, 0.025),
    (0.04, 0.025, 0.02),
    (0.045, 0.028, 0.02),
    (0.04, 0.025, 0.02),
    (0.03, 0.02, 0.018),
)


def hand_points(
    wrist: np.ndarray, angle: np.ndarray, tip_offset: np.ndarray, side: float
) -> np.ndarray:
    """OpenPose hand points 1-20, [T, 20, 2], for a wrist [T, 2] whose fingers point along
    `angle` [T] (radians, image frame); tip_offset [T, 5, 2] moves each fingertip (the finger's
    joints follow by 1/3, 2/3). `side` mirrors the thumb (+1 right hand, -1 left)."""
    t = len(wrist)
    out = np.zeros((t, 20, 2))
    along = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    across = np.stack([-along[:, 1], along[:, 0]], axis=1) * side
    for f in range(5):
        base_along, base_across = _FINGER_BASE[f]
        base = wrist + HAND_SCALE * (base_along * along + base_across * across)
        fan = angle + side * _FINGER_FAN[f]
        direction = np.stack([np.cos(fan), np.sin(fan)], axis=1)
        point = base
        out[:, 4 * f] = base
        for j, seg in enumerate(_SEGMENTS[f]):
            point = point + HAND_SCALE * seg * direction
            out[:, 4 * f + j + 1] = point + tip_offset[:, f] * (j + 1) / 3
    return out


# --- note-driven trajectories -------------------------------------------------------------------


def _press_profile(times: np.ndarray, notes: list[PerformedNote]) -> np.ndarray:
    """Fingertip depth (BU, positive = down) for notes played by one finger."""
    depth = np.zeros_like(times)
    for n in notes:
        bottom = 0.03 + 0.06 * n.velocity / 127
        lift = -0.05
        profile = np.interp(
            times,
            [n.start - 0.14, n.start - 0.07, n.start, n.end, n.end + 0.08],
            [0.0, lift, bottom, bottom, 0.0],
            left=0.0,
            right=0.0,
        )
        depth = np.where(np.abs(profile) > np.abs(depth), profile, depth)
    return depth


def _reach_profile(
    times: np.ndarray, notes: list[PerformedNote], place, resting: np.ndarray
) -> np.ndarray:
    """Fingertip offset (BU, [T, 2]) for notes played by one finger: the tip moves from where
    the hand holds it (`resting` [T, 2]) to the note's place (`place(pitch)`, an (x, y) point
    on the instrument) in the 0.1 s before the strike, stays there until the release and moves
    back after it. At the onset it is on the note's key or fret: the pitch is in the motion."""
    offset = np.zeros((len(times), 2))
    weight = np.zeros_like(times)
    for n in notes:
        w = np.interp(
            times, [n.start - 0.2, n.start - 0.1, n.end, n.end + 0.08], [0.0, 1.0, 1.0, 0.0]
        )
        closer = (w > weight)[:, None]
        offset = np.where(closer, w[:, None] * (np.asarray(place(n.pitch)) - resting), offset)
        weight = np.maximum(weight, w)
    return offset


def _piano(times, notes, rng):
    # Seen from the camera the keyboard is mirrored: low keys on the image right.
    key_x = lambda p: 1.45 - 2.9 * (p - 21) / 87  # noqa: E731
    key_y = 0.95
    wrists, angles, tips = {}, {}, {}
    for hand in (0, 1):  # 0 = left (image right), 1 = right (image left)
        mine = [n for n in notes if n.hand == hand]
        default_x = 0.35 if hand == 0 else -0.35  # left hand on the image right
        target = np.full(len(times), np.nan)
        for n in mine:
            window = (times >= n.start - 0.25) & (times <= n.end)
            target[window] = np.where(
                np.isnan(target[window]), key_x(n.pitch), 0.5 * (target[window] + key_x(n.pitch))
            )
        hand_x = _smooth(_hold_last(target, default_x), 0.5)
        finger_notes: list[list[PerformedNote]] = [[] for _ in range(5)]
        tip = np.zeros((len(times), 5, 2))
        spacing = 0.055
        busy_until = [-1.0] * 5
        for n in sorted(mine, key=lambda n: (n.start, n.pitch)):
            i = min(int(np.searchsorted(times, n.start)), len(times) - 1)
            rel = (key_x(n.pitch) - hand_x[i]) / spacing + 2
            # The nearest finger that is free (not holding a key or just released).
            for order in sorted(range(5), key=lambda o: abs(o - rel)):
                finger = 4 - order if hand == 1 else order
                if busy_until[finger] < n.start - 0.1:
                    break
            else:
                order = int(np.clip(round(rel), 0, 4))
                finger = 4 - order if hand == 1 else order
            busy_until[finger] = n.end + 0.08
            finger_notes[finger].append(n)
        for f in range(5):
            tip[:, f, 1] = _press_profile(times, finger_notes[f])
        wrist = np.stack([hand_x, np.full(len(times), key_y - 0.17)], axis=1)
        wrist[:, 1] += 0.25 * tip[:, :, 1].max(axis=1)
        # Fingers point down towards the keys.
        angle = np.full(len(times), np.pi / 2)
        side = 1.0 if hand == 1 else -1.0
        resting = hand_points(wrist, angle, np.zeros((len(times), 5, 2)), side)
        for f in range(5):
            reach = _reach_profile(
                times, finger_notes[f], lambda p: (key_x(p), 0.0), resting[:, 4 * f + 3]
            )
            tip[:, f, 0] = reach[:, 0]  # the depth of the strike stays _press_profile's
        wrists[hand], angles[hand], tips[hand] = wrist, angle, tip
    instrument = {
        "lines": [((-1.5, key_y), (1.5, key_y)), ((-1.5, key_y + 0.12), (1.5, key_y + 0.12))],
        "bow": None,
    }
    return wrists, angles, tips, instrument


def _bow_track(times, notes, rng, length):
    """Bow position (0 = frog at the string, 1 = tip) over time: direction flips at each note."""
    b, direction = 0.5, 1.0
    events = []
    previous_end = 0.0
    for n in notes:
        direction = -direction
        start = max(n.start, previous_end + 1e-3)
        end = max(n.end, start + 1e-3)
        previous_end = end
        room = (0.95 - b) if direction > 0 else (b - 0.05)
        speed_bu = 0.6 + 1.4 * n.velocity / 127  # louder: faster bow
        travel = min(speed_bu * (end - start) / length, room)
        events.append((start, end, b, b + direction * travel))
        b = b + direction * travel
    cursor = 0.5
    xs, ys = [0.0], [0.5]
    for start, end, b0, b1 in events:
        xs += [start, end]
        ys += [b0, b1]
        cursor = b1
    xs.append(times[-1] + 1.0)
    ys.append(cursor)
    pos = np.interp(times, xs, ys)
    return _smooth(pos, 0.9)


def _strings(times, notes, rng, instrument):
    t = len(times)
    violin = instrument == "violin"
    low, high = (55, 93) if violin else (36, 72)
    if violin:
        nut, body = np.array([0.95, -0.02]), np.array([0.42, 0.12])
        contact, bow_dir, bow_len = np.array([0.32, 0.16]), np.array([-1.0, 0.12]), 1.1
        fret_angle = np.full(t, -np.pi / 2 - 0.3)
    else:
        nut, body = np.array([0.22, -0.15]), np.array([0.08, 0.95])
        contact, bow_dir, bow_len = np.array([0.05, 1.08]), np.array([-1.0, 0.05]), 1.05
        fret_angle = np.full(t, np.pi - 0.2)
    bow_dir = bow_dir / np.linalg.norm(bow_dir)
    # Left hand along the neck with pitch, vibrato on long notes.
    s = np.full(t, np.nan)
    pressing = np.zeros((t, 5, 2))
    for n in notes:
        on = (times >= n.start - 0.06) & (times < n.end)
        frac = (n.pitch - low) / (high - low)
        s[on] = 0.15 + 0.75 * frac
        if n.end - n.start > 0.35:
            vib = (times >= n.start + 0.15) & (times < n.end)
            s[vib] += 0.012 * np.sin(2 * np.pi * 5.5 * (times[vib] - n.start))
        finger = 1 + (n.pitch - low) % 4
        press = np.interp(
            times,
            [n.start - 0.06, n.start, n.end, n.end + 0.05],
            [0, 0.03, 0.03, 0],
            left=0,
            right=0,
        )
        pressing[:, finger, 1] = np.maximum(pressing[:, finger, 1], press)
    s = _smooth(_hold_last(s, 0.4), 0.6)
    left_wrist = nut[None] + s[:, None] * (body - nut)[None] + np.array([0.05, 0.05])
    b = _bow_track(times, notes, rng, bow_len)
    # The bow hand holds the frog: b = 0 puts the frog at the string, 1 the tip.
    right_wrist = contact[None] + bow_dir[None] * (b[:, None] * bow_len)
    wrists = {0: left_wrist, 1: right_wrist}
    angles = {0: fret_angle, 1: np.full(t, np.arctan2(-bow_dir[1], -bow_dir[0]))}
    tips = {0: pressing, 1: np.zeros((t, 5, 2))}
    inst = {"lines": [(tuple(nut), tuple(body))], "body": tuple(body), "bow": (bow_dir, bow_len)}
    return wrists, angles, tips, inst


def _guitar(times, notes, rng, strum: bool):
    t = len(times)
    nut, hole = np.array([1.0, 0.42]), np.array([-0.2, 0.86])
    along_neck = lambda p: 0.1 + 0.55 * (p - 40) / 36  # noqa: E731
    s = np.full(t, np.nan)
    for n in notes:
        on = (times >= n.start - 0.08) & (times < n.end)
        s[on] = along_neck(n.pitch)
    s = _smooth(_hold_last(s, 0.3), 0.5)
    fret = nut[None] + s[:, None] * (hole - nut)[None] + np.array([0.0, -0.09])
    # Each note's fretting finger stops the neck at the note's place, so a chord's pitches are
    # all in the fretting hand: index to little by pitch (as on the strings), or the nearest
    # finger that is free when that one holds another note of the chord, the thumb last.
    fret_angle = np.full(t, -np.pi / 2 + 0.2)
    resting = hand_points(fret, fret_angle, np.zeros((t, 5, 2)), -1.0)
    finger_notes: list[list[PerformedNote]] = [[] for _ in range(5)]
    busy_until = [-1.0] * 5
    for n in sorted(notes, key=lambda n: (n.start, n.pitch)):
        preferred = 1 + (n.pitch - 40) % 4
        order = sorted(range(5), key=lambda f: (f == 0, abs(f - preferred)))
        finger = next((f for f in order if busy_until[f] < n.start - 0.1), preferred)
        busy_until[finger] = n.end + 0.08
        finger_notes[finger].append(n)
    fret_tip = np.zeros((t, 5, 2))
    for f in range(5):
        fret_tip[:, f] = _reach_profile(
            times,
            finger_notes[f],
            lambda p: nut + along_neck(p) * (hole - nut),
            resting[:, 4 * f + 3],
        )
    pluck_tip = np.zeros((t, 5, 2))
    hand_drop = np.zeros(t)
    if strum:
        # One downstroke per chord, reaching the strings at its first onset; the hand drifts
        # back up until shortly before the next stroke.
        strokes = []
        for n in notes:
            if not strokes or n.start - strokes[-1] > 0.15:
                strokes.append(n.start)
        xs, ys = [], []
        for onset in strokes:
            if not xs or onset - 0.06 > xs[-1] + 0.05:
                xs.append(onset - 0.06)
                ys.append(0.0)
            xs.append(onset + 0.01)
            ys.append(0.25)
        if xs:
            hand_drop = np.interp(times, xs, ys)
    plucking_finger = 1
    for n in [] if strum else notes:
        # Thumb for the bass, index-middle-ring in turn above it.
        if n.pitch < 52:
            finger = 0
        else:
            finger, plucking_finger = plucking_finger, 1 + plucking_finger % 3
        loud = n.velocity / 127
        # The finger draws back, then strikes through the string (down) at the onset.
        prof = np.interp(
            times,
            [n.start - 0.12, n.start - 0.03, n.start, n.start + 0.2],
            [0, -(0.03 + 0.02 * loud), 0.06 + 0.05 * loud, 0],
            left=0,
            right=0,
        )
        current = pluck_tip[:, finger, 1]
        pluck_tip[:, finger, 1] = np.where(np.abs(prof) > np.abs(current), prof, current)
    pluck = hole[None] + np.array([0.0, -0.12]) + np.stack([np.zeros(t), hand_drop], axis=1)
    wrists = {0: fret, 1: pluck}
    angles = {0: fret_angle, 1: np.full(t, np.pi / 2 + 0.3)}
    tips = {0: fret_tip, 1: pluck_tip}
    inst = {"lines": [(tuple(nut), tuple(hole))], "body": tuple(hole), "bow": None}
    return wrists, angles, tips, inst


# --- assembling body65 ------------------------------------------------------------------------


def perform_motion(
    notes: list[PerformedNote],
    instrument: str,
    duration_s: float,
    fps: float,
    performer: Performer,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict]:
    """body65 keypoints [T, 3, 65, 1] in pixels, and the instrument's geometry for drawing."""
    t = max(1, int(round(duration_s * fps)))
    times = np.arange(t) / fps
    if instrument == "piano":
        wrists, angles, tips, inst = _piano(times, notes, rng)
    elif instrument in ("violin", "cello"):
        wrists, angles, tips, inst = _strings(times, notes, rng, instrument)
    elif instrument == "guitar":
        wrists, angles, tips, inst = _guitar(times, notes, rng, strum=rng.random() < 0.4)
    else:
        raise ValueError(f"the synthetic performer does not play {instrument!r}")

    bu = np.zeros((t, 65, 2))
    for joint, (x, y) in BASE_BODY.items():
        bu[:, joint] = (x, y)
    # Hands: left hand = 0 (image right), right hand = 1 (image left).
    bu[:, L_WRIST], bu[:, R_WRIST] = wrists[0], wrists[1]
    # Elbows bend outwards, away from the body.
    bu[:, L_ELBOW] = _elbow(bu[:, L_SHOULDER], wrists[0], side=-1.0)
    bu[:, R_ELBOW] = _elbow(bu[:, R_SHOULDER], wrists[1], side=1.0)
    bu[:, L_HAND_OFFSET + 1 : L_HAND_OFFSET + 21] = hand_points(wrists[0], angles[0], tips[0], -1.0)
    bu[:, R_HAND_OFFSET + 1 : R_HAND_OFFSET + 21] = hand_points(wrists[1], angles[1], tips[1], 1.0)

    # Idle sway of the upper body (head and shoulders more than hips).
    sway = performer.sway_amp * np.sin(2 * np.pi * performer.sway_hz * times + performer.sway_phase)
    upper = [0, 1, 2, 5, 15, 16, 17, 18]
    bu[:, upper, 0] += sway[:, None]
    bu[:, [3, 6], 0] += 0.5 * sway[:, None]

    pixels = performer.origin + bu * performer.size * performer.px_per_bu
    pixels += rng.normal(0, performer.jitter_px, pixels.shape)
    conf = np.clip(rng.normal(performer.confidence, 0.08, (t, 65)), 0.05, 1.0)
    dropped = rng.random((t, 65)) < performer.dropout
    pose = np.zeros((t, 3, 65, 1), dtype=np.float32)
    pose[:, 0, :, 0] = np.where(dropped, 0.0, pixels[..., 0])
    pose[:, 1, :, 0] = np.where(dropped, 0.0, pixels[..., 1])
    pose[:, 2, :, 0] = np.where(dropped, 0.0, conf)

    def to_px(point):
        return tuple(
            np.asarray(performer.origin) + np.asarray(point) * performer.size * performer.px_per_bu
        )

    geometry = {
        "lines": [(to_px(a), to_px(b)) for a, b in inst["lines"]],
        "body": to_px(inst["body"]) if inst.get("body") is not None else None,
        "body_radius": 0.22 * performer.size * performer.px_per_bu,
        "bow": None,
    }
    if inst["bow"] is not None:
        direction, length = inst["bow"]
        geometry["bow"] = (np.asarray(direction), length * performer.size * performer.px_per_bu)
    return pose, geometry
