"""Where the hands are on the body: the features that carry pitch.

In a normalised clip (`layouts.normalise`) every coordinate is relative to the clip's mean
keypoint and scaled by the clip's spread, and the Foley augmentation then rotates, scales and
shifts it. The position of a hand along a keyboard or a neck, which is what sets the pitch,
survives only as a difference between distant joints. ST-GCN's graph convolutions can in
principle learn such differences, but not precisely nor in a 30-minute CPU budget.

`hand_features` computes them directly, per frame: the wrist and the five fingertips of each
hand in a body frame whose origin is the mid-hip (which does not sway with the upper body),
whose x axis runs along the shoulders and whose unit is the shoulder width. The body frame is
smoothed over `smooth` frames (keypoint jitter would otherwise move every hand). The body
frame undoes the augmentation's rotation, scale and shift, so the same hand on the same key gives
the same numbers in every clip. Missing points (confidence 0) are 0, with a 0/1 flag per point.

Only the body65 layout has the joints for a body frame; a model asks for these features only
with that layout (`require_layout`).
"""

import torch
import torch.nn.functional as F

from foley_models.data.layouts import (
    FINGERTIPS,
    L_HAND_OFFSET,
    L_SHOULDER,
    L_WRIST,
    MID_HIP,
    NECK,
    R_HAND_OFFSET,
    R_SHOULDER,
    R_WRIST,
)

POINTS = (
    (L_WRIST, *(L_HAND_OFFSET + p for p in FINGERTIPS)),
    (R_WRIST, *(R_HAND_OFFSET + p for p in FINGERTIPS)),
)
JOINTS = tuple(j for hand in POINTS for j in hand)
FEATURES = 3 * len(JOINTS)  # x, y in the body frame and a detected flag per point


def require_layout(layout: str) -> None:
    if layout != "body65":
        raise ValueError(
            f"hand features need the body65 layout (shoulders, hips, wrists, fingertips); "
            f"this model's encoder reads {layout!r}"
        )


def _masked_smooth(values: torch.Tensor, valid: torch.Tensor, width: int) -> torch.Tensor:
    """values [N, T, D], valid [N, T] -> the mean of the valid values in a centred window of
    `width` frames; frames with none valid in their window take the clip's valid mean."""
    n, t, d = values.shape
    weights = valid.to(values.dtype)[:, None, :]  # [N, 1, T]
    x = values.transpose(1, 2) * weights  # [N, D, T]
    left = width // 2
    kernel = torch.ones(1, 1, width, dtype=values.dtype, device=values.device)

    def window_sum(y: torch.Tensor) -> torch.Tensor:  # [N, K, T] -> [N, K, T]
        k = y.shape[1]
        padded = F.pad(y.reshape(n * k, 1, t), (left, width - 1 - left))
        return F.conv1d(padded, kernel).reshape(n, k, t)

    total, count = window_sum(x), window_sum(weights)
    clip_mean = x.sum(dim=2, keepdim=True) / weights.sum(dim=2, keepdim=True).clamp(min=1)
    smoothed = torch.where(count > 0, total / count.clamp(min=1e-6), clip_mean)
    return smoothed.transpose(1, 2)  # [N, T, D]


def hand_features(pose: torch.Tensor, smooth: int = 9) -> torch.Tensor:
    """Normalised body65 clips [B, T, 3, 65, M] -> [B, T, FEATURES] (the first person's)."""
    p = pose[..., 0]  # [B, T, 3, V]
    xy, confidence = p[:, :, :2], p[:, :, 2]  # [B, T, 2, V], [B, T, V]
    detected = confidence > 0

    def joint(index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return xy[:, :, :, index], detected[:, :, index]

    hip, hip_ok = joint(MID_HIP)
    neck, neck_ok = joint(NECK)
    left, left_ok = joint(L_SHOULDER)
    right, right_ok = joint(R_SHOULDER)
    # The origin: the mid-hip where it was seen nearby, else the neck.
    origin = torch.where(
        (hip_ok.sum(dim=1, keepdim=True) > 0)[..., None],
        _masked_smooth(hip, hip_ok, smooth),
        _masked_smooth(neck, neck_ok, smooth),
    )
    axis = _masked_smooth(left - right, left_ok & right_ok, smooth)  # [B, T, 2]
    width = axis.norm(dim=2, keepdim=True).clamp(min=1e-3)
    ux = axis / width  # along the shoulders (image right when facing the camera)
    uy = torch.stack([-ux[..., 1], ux[..., 0]], dim=2)  # perpendicular (image down)
    points = xy[:, :, :, JOINTS] - origin[..., None]  # [B, T, 2, J]
    x = (points * ux[..., None]).sum(dim=2) / width
    y = (points * uy[..., None]).sum(dim=2) / width
    ok = detected[:, :, JOINTS].to(pose.dtype)
    return torch.cat([x * ok, y * ok, ok], dim=2)


def fourier_features(features: torch.Tensor, bands: int) -> torch.Tensor:
    """[..., FEATURES] -> [..., FEATURES + 4 * bands * len(JOINTS)]: each coordinate also as
    sin and cos of pi * 2^k times it, k < bands (the flags stay as they are).

    A semitone is 0.046 shoulder widths on the synthetic keyboard and less on a neck; a network
    reading the raw coordinates has to build that resolution out of ReLUs, which a small one
    in a CPU budget does not (`benchmarks/pitch_in_motion.py`: a probe names 18% of the pitches
    from the raw features and 50% with 6 bands). The highest band's period, 2 / 2^(bands-1)
    shoulder widths, is 0.0625 at 6 bands."""
    if bands <= 0:
        return features
    coordinates = features[..., : 2 * len(JOINTS)]
    frequencies = torch.pi * 2.0 ** torch.arange(
        bands, dtype=features.dtype, device=features.device
    )
    scaled = (coordinates[..., None] * frequencies).flatten(-2)
    return torch.cat([features, torch.sin(scaled), torch.cos(scaled)], dim=-1)


class HandFeatureEncoder(torch.nn.Module):
    """hand_features (with `fourier_bands` of them, `fourier_features`) at the pose rate ->
    [B, T / downsample, d_model], aligned with the ST-GCN's memory tokens (a strided
    convolution that rounds up like the encoder's)."""

    def __init__(
        self, d_model: int, downsample: int, hidden: int = 128, fourier_bands: int = 0
    ) -> None:
        super().__init__()
        self.fourier_bands = fourier_bands
        inputs = FEATURES + 4 * fourier_bands * len(JOINTS)
        kernel = 2 * downsample - 1
        self.net = torch.nn.Sequential(
            torch.nn.Conv1d(inputs, hidden, kernel, stride=downsample, padding=downsample - 1),
            torch.nn.ReLU(),
            torch.nn.Conv1d(hidden, hidden, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv1d(hidden, d_model, 1),
        )

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        features = fourier_features(hand_features(pose), self.fourier_bands)
        return self.net(features.transpose(1, 2)).transpose(1, 2)
