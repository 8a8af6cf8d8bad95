"""Pose layouts of the Foley Music data release, their skeleton graphs, validation, normalisation
and the Foley augmentation.

- `body65`: float32 [T, 3, 65, M] (x, y, confidence): OpenPose BODY_25 (0-24), then left-hand
  points 1-20 (25-44) and right-hand points 1-20 (45-64); each hand's root is the body wrist
  (left 7, right 4). Pixel coordinates, confidence in [0, 1] (0 = not detected).
- `hands`: float32 [T, 2, 42, M]: left hand (0-20) then right hand (21-41), 21 OpenPose hand
  points each, x/y only; a point at (0, 0) is missing.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

BODY25_EDGES = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11),
    (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19),
    (19, 20), (14, 21), (11, 22), (22, 23), (11, 24),
)  # fmt: skip
# OpenPose hand: 0 wrist; thumb 1-4, index 5-8, middle 9-12, ring 13-16, little 17-20.
HAND21_EDGES = tuple(
    edge
    for finger in range(5)
    for edge in [(0, 1 + 4 * finger)] + [(1 + 4 * finger + j, 2 + 4 * finger + j) for j in range(3)]
)
FINGERTIPS = (4, 8, 12, 16, 20)

# BODY_25 joints used by the synthetic performer and the detectors.
NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST, MID_HIP = range(9)
L_HAND_OFFSET, R_HAND_OFFSET = 24, 44  # body65 index of hand point p (1-20) = offset + p


def _hand_in_body65(offset: int, wrist: int) -> list[tuple[int, int]]:
    def index(p: int) -> int:
        return wrist if p == 0 else offset + p

    return [(index(a), index(b)) for a, b in HAND21_EDGES]


@dataclass(frozen=True)
class Layout:
    name: str
    channels: int  # 3 = x, y, confidence; 2 = x, y
    joints: int
    edges: tuple[tuple[int, int], ...]
    center: int  # the joint ST-GCN's spatial partition measures distances from

    @property
    def has_confidence(self) -> bool:
        return self.channels == 3

    def adjacency(self) -> np.ndarray:
        """Symmetric 0/1 adjacency without self-links, [V, V]."""
        a = np.zeros((self.joints, self.joints), dtype=np.float32)
        for i, j in self.edges:
            a[i, j] = a[j, i] = 1.0
        return a


BODY65 = Layout(
    name="body65",
    channels=3,
    joints=65,
    edges=BODY25_EDGES
    + tuple(_hand_in_body65(L_HAND_OFFSET, L_WRIST))
    + tuple(_hand_in_body65(R_HAND_OFFSET, R_WRIST)),
    center=NECK,
)
HANDS = Layout(
    name="hands",
    channels=2,
    joints=42,
    edges=HAND21_EDGES + tuple((a + 21, b + 21) for a, b in HAND21_EDGES),
    center=0,
)
LAYOUTS = {layout.name: layout for layout in (BODY65, HANDS)}


class PoseError(ValueError):
    """A pose array that does not follow its layout; the message names the file."""


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise PoseError(f"unknown pose layout {name!r}; known: {', '.join(LAYOUTS)}") from None


def validate_pose(
    pose: np.ndarray,
    layout: str | Layout,
    *,
    source: str | Path = "<array>",
    fps: float | None = None,
) -> np.ndarray:
    """Check a pose array against its layout; return it. Raise PoseError naming `source`."""
    layout = get_layout(layout) if isinstance(layout, str) else layout
    where = str(source)
    if not isinstance(pose, np.ndarray):
        raise PoseError(f"{where}: pose is not a numpy array")
    if pose.dtype != np.float32:
        raise PoseError(f"{where}: pose dtype is {pose.dtype}, expected float32")
    if pose.ndim != 4 or pose.shape[1] != layout.channels or pose.shape[2] != layout.joints:
        raise PoseError(
            f"{where}: pose shape {tuple(pose.shape)} does not match layout {layout.name} "
            f"[T, {layout.channels}, {layout.joints}, M]"
        )
    if pose.shape[0] < 1 or pose.shape[3] < 1:
        raise PoseError(f"{where}: pose has no frames or no persons {tuple(pose.shape)}")
    if not np.isfinite(pose).all():
        bad = int((~np.isfinite(pose)).sum())
        raise PoseError(f"{where}: pose contains {bad} NaN or infinite values")
    if layout.has_confidence:
        conf = pose[:, 2]
        if conf.min() < 0.0 or conf.max() > 1.0:
            raise PoseError(
                f"{where}: confidence outside [0, 1] (min {conf.min():.3f}, max {conf.max():.3f})"
            )
    if fps is not None and not (np.isfinite(fps) and 1.0 <= fps <= 240.0):
        raise PoseError(f"{where}: fps {fps} is not a plausible frame rate")
    return pose


def valid_mask(pose: np.ndarray, layout: Layout) -> np.ndarray:
    """[T, V, M] True where a keypoint was detected."""
    if layout.has_confidence:
        return pose[:, 2] > 0
    return (pose[:, 0] != 0) | (pose[:, 1] != 0)


def normalise(pose: np.ndarray, layout: str | Layout) -> np.ndarray:
    """Centre on the clip's mean keypoint and scale so the detected points' central 90% span
    about 2 units; missing points become 0. Returns a new float32 array, same shape."""
    layout = get_layout(layout) if isinstance(layout, str) else layout
    out = pose.astype(np.float32, copy=True)
    mask = valid_mask(pose, layout)
    if not mask.any():
        out[:, :2] = 0.0
        return out
    xs, ys = pose[:, 0][mask], pose[:, 1][mask]
    cx, cy = xs.mean(), ys.mean()
    span = max(
        np.percentile(xs, 95) - np.percentile(xs, 5),
        np.percentile(ys, 95) - np.percentile(ys, 5),
        1e-6,
    )
    out[:, 0] = (pose[:, 0] - cx) / (span / 2)
    out[:, 1] = (pose[:, 1] - cy) / (span / 2)
    out[:, 0][~mask] = 0.0
    out[:, 1][~mask] = 0.0
    return out


ANGLES_DEG = (-10.0, -5.0, 0.0, 5.0, 10.0)
SCALES = (0.9, 1.0, 1.1)
SHIFTS = (-0.2, -0.1, 0.0, 0.1, 0.2)


def augment(pose: np.ndarray, layout: str | Layout, rng: np.random.Generator) -> np.ndarray:
    """The Foley augmentation on a normalised clip: a rotation, scale and shift drawn at the
    clip's start and at its end, interpolated linearly over its frames. Missing points stay 0."""
    layout = get_layout(layout) if isinstance(layout, str) else layout
    t = pose.shape[0]
    draw = np.array(
        [
            [rng.choice(ANGLES_DEG), rng.choice(SCALES), rng.choice(SHIFTS), rng.choice(SHIFTS)]
            for _ in range(2)
        ]
    )
    ramp = np.linspace(0.0, 1.0, t)[:, None]
    angle, scale, dx, dy = (draw[0] + (draw[1] - draw[0]) * ramp).T  # each [T]
    angle = np.deg2rad(angle)
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    x, y = pose[:, 0], pose[:, 1]  # [T, V, M]
    out = pose.astype(np.float32, copy=True)
    out[:, 0] = cos[:, None, None] * x - sin[:, None, None] * y + dx[:, None, None]
    out[:, 1] = sin[:, None, None] * x + cos[:, None, None] * y + dy[:, None, None]
    mask = valid_mask(pose, layout)
    out[:, 0][~mask] = 0.0
    out[:, 1][~mask] = 0.0
    return out
