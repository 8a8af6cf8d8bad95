"""Hand features: the same hands give the same numbers however the clip was normalised and
augmented, and they follow the pitch the synthetic performer plays."""

import numpy as np
import pytest
import torch

from foley_models.data.layouts import L_WRIST, augment, normalise
from foley_models.models.clips import load_split, random_clip
from foley_models.models.hand_features import (
    FEATURES,
    JOINTS,
    HandFeatureEncoder,
    fourier_features,
    hand_features,
    require_layout,
)


def _clip(tiny_dataset, instrument):
    sources = [
        s for s in load_split(tiny_dataset, "train") if s.performance.instrument == instrument
    ]
    return sources[0]


def test_features_undo_the_normalisation_and_the_augmentation(tiny_dataset):
    source = _clip(tiny_dataset, "cello")
    raw = source.pose[:44]
    plain = hand_features(torch.from_numpy(normalise(raw, "body65"))[None])[0]
    # The Foley augmentation (a rotation, scale and shift ramping over the clip): the body
    # frame moves with the body, so the features stay.
    rng = np.random.default_rng(3)
    turned = augment(normalise(raw, "body65"), "body65", rng)
    moved = hand_features(torch.from_numpy(turned)[None])[0]
    assert plain.shape == (44, FEATURES)
    seen = plain[:, 2 * len(JOINTS) :] > 0
    xy = torch.cat([seen, seen], dim=1)
    assert (plain[:, : 2 * len(JOINTS)][xy] - moved[:, : 2 * len(JOINTS)][xy]).abs().median() < 0.02
    # In image coordinates the augmentation moved the hands by far more than that.
    shift = normalise(raw, "body65")[:, :2, L_WRIST] - turned[:, :2, L_WRIST]
    assert np.abs(shift).max() > 0.05


def test_the_fretting_hand_follows_the_pitch(tiny_dataset):
    source = _clip(tiny_dataset, "cello")
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(40):
        clip = random_clip([source], 3.0, 3.0, rng)  # augmented, as in training
        f = hand_features(torch.from_numpy(clip.pose)[None])[0].numpy()
        for note in clip.notes:
            frame = int(note.start * source.performance.fps) + 2  # the hand has arrived
            if frame < len(f) and f[frame, 2 * len(JOINTS)] > 0:
                rows.append((f[frame, 0], f[frame, len(JOINTS)], note.pitch))
    x, y, pitch = np.array(rows).T
    # The left hand slides along the neck with pitch: its position predicts the pitch.
    position = np.c_[x, y, np.ones_like(x)]
    fit = np.linalg.lstsq(position, pitch, rcond=None)[0]
    assert np.abs(position @ fit - pitch).mean() < 0.35 * pitch.std()


def test_missing_points_are_zero_with_a_flag_and_layouts_without_a_body_are_refused():
    pose = torch.zeros(1, 10, 3, 65, 1)
    pose[:, :, 2] = 1.0
    pose[:, :, :2] = torch.randn(1, 10, 2, 65, 1)
    pose[0, 4, :, JOINTS[0]] = 0.0  # the left wrist lost in frame 4
    f = hand_features(pose)[0]
    assert f[4, 0] == 0 and f[4, len(JOINTS)] == 0 and f[4, 2 * len(JOINTS)] == 0
    assert f[5, 2 * len(JOINTS)] == 1
    assert torch.isfinite(hand_features(torch.zeros(1, 6, 3, 65, 1))).all()  # nothing seen
    with pytest.raises(ValueError, match="body65"):
        require_layout("hands")


@pytest.mark.parametrize("downsample,frames,bands", [(1, 9, 0), (2, 9, 3), (4, 44, 0), (4, 45, 6)])
def test_the_encoder_is_aligned_with_the_memory_tokens(downsample, frames, bands):
    encoder = HandFeatureEncoder(d_model=8, downsample=downsample, hidden=4, fourier_bands=bands)
    out = encoder(torch.randn(2, frames, 3, 65, 1))
    assert out.shape == (2, -(-frames // downsample), 8)


def test_fourier_features_tell_apart_positions_a_semitone_apart():
    """Two keys a semitone apart (0.046 shoulder widths) differ by 0.046 in the raw coordinate;
    with 6 bands the highest band's sin and cos move by about 0.9 (of 2) between them."""
    features = torch.zeros(2, FEATURES)
    features[0, 3], features[1, 3] = 0.5, 0.5 + 0.046
    out = fourier_features(features, 6)
    coordinates = 2 * len(JOINTS)
    assert out.shape == (2, FEATURES + 4 * 6 * len(JOINTS))
    assert torch.equal(out[:, :FEATURES], features)  # the raw features come first, unchanged
    top = [FEATURES + 3 * 6 + 5, FEATURES + coordinates * 6 + 3 * 6 + 5]  # sin, cos of band 5
    expected = torch.tensor([np.sin(np.pi * 32 * 0.5), np.cos(np.pi * 32 * 0.5)])
    assert torch.allclose(out[0, top], expected.float(), atol=1e-5)
    assert (out[1, top] - out[0, top]).norm() > 0.8
    assert torch.equal(fourier_features(features, 0), features)
